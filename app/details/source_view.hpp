// SourceView: the source file around a frame's line, read-only, with line numbers and the line
// itself highlighted in the palette's highlight color (light and dark themes alike).
#pragma once

#include <QPlainTextEdit>

namespace ravel::gui {

class SourceView : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit SourceView(QWidget* parent = nullptr);

    // Shows `path` with `line` (1-based) centered and highlighted. False (and a message shown in
    // the view instead) when the file is not on disk or cannot be read.
    bool showFile(const QString& path, int line);
    void showMessage(const QString& message);
    QString currentFile() const { return m_file; }
    int currentLine() const { return m_line; }

private:
    QString m_file;
    int m_line = 0;
};

} // namespace ravel::gui
