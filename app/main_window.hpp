// MainWindow: the one window of ravel-gui (DESIGN.md, "The GUI"). It owns the TraceDocument and
// the ViewState and places the views around them; it holds no analysis logic.
#pragma once

#include <QMainWindow>

namespace ravel::gui {

class TraceDocument;
class ViewState;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    TraceDocument* document() const { return m_document; }
    ViewState* viewState() const { return m_state; }

    void openTrace(const QString& path);

private:
    TraceDocument* m_document;
    ViewState* m_state;
};

} // namespace ravel::gui
