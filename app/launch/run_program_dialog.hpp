// RunProgramDialog: File > Run Program…: the program (typed, chosen from the recent ones, or
// picked with a file chooser), its arguments (split as a shell would), the working directory and
// environment variables to set, and where the trace goes. Tab goes through the fields first
// (Program, Arguments, Working directory, Environment, Trace), then the buttons beside them; Enter
// runs. Accepted requests are remembered (QSettings, newest first) and
// offered again the next time.
#pragma once

#include "launch/run_request.hpp"

#include <QDialog>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace ravel::gui {

class RunProgramDialog : public QDialog {
    Q_OBJECT
public:
    explicit RunProgramDialog(QWidget* parent = nullptr);

    RunRequest request() const;
    void setRequest(const RunRequest& request);
    // Where the trace is written: shown, and editable or chosen with its Browse….
    QString tracePath() const;
    void setTracePath(const QString& path);
    // "<the last trace's folder, else the app's data folder>/runs/<program>.<date-time>.ravel"
    static QString defaultTracePath(const QString& program);

    // Newest first, at most kRecent.
    static QList<RunRequest> recentRequests();
    static void remember(const RunRequest& request);
    static constexpr int kRecent = 10;

    // Why the request cannot run (no such program, no such directory, a bad variable name), or "".
    static QString problem(const RunRequest& request);

    void accept() override;

private:
    void chooseProgram();
    void chooseDirectory();
    void chooseTrace();
    void addVariable(const QString& name = {}, const QString& value = {});
    void recentChosen(int index);
    void updateOk();

    QComboBox* m_program;
    QLineEdit* m_arguments;
    QLineEdit* m_directory;
    QTableWidget* m_environment;
    QLineEdit* m_trace;
    QLabel* m_problem;
    QPushButton* m_ok = nullptr;
    QList<RunRequest> m_recent;
    bool m_traceChosen = false; // typed or browsed: no longer follows the program
};

} // namespace ravel::gui
