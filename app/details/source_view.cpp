#include "details/source_view.hpp"

#include <QFile>
#include <QFileInfo>
#include <QFontDatabase>
#include <QTextBlock>
#include <QTextStream>

namespace ravel::gui {

namespace {
// A source file bigger than this is not a source file a person reads in a pane.
constexpr qint64 kMaxSourceBytes = 4 << 20;
} // namespace

SourceView::SourceView(QWidget* parent)
    : QPlainTextEdit(parent)
{
    setReadOnly(true);
    setLineWrapMode(QPlainTextEdit::NoWrap);
    setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    setObjectName(QStringLiteral("sourceView"));
}

void SourceView::showMessage(const QString& message)
{
    m_file.clear();
    m_line = 0;
    setExtraSelections({});
    setPlainText(message);
}

bool SourceView::showFile(const QString& path, int line)
{
    if (path.isEmpty()) {
        showMessage(tr("No source line is known for this frame."));
        return false;
    }
    QFile file(path);
    if (!QFileInfo(path).isFile() || QFileInfo(path).size() > kMaxSourceBytes || !file.open(QIODevice::ReadOnly)) {
        showMessage(tr("%1:%2 is not on this machine (or cannot be read).").arg(path).arg(line));
        return false;
    }
    if (path != m_file) {
        // Line numbers are part of the text: cheap, and they copy along with the code.
        QTextStream in(&file);
        QStringList lines;
        while (!in.atEnd())
            lines << in.readLine();
        const int width = int(QString::number(lines.size()).size());
        for (int i = 0; i < lines.size(); i++)
            lines[i] = QStringLiteral("%1 │ %2").arg(i + 1, width).arg(lines[i]);
        setPlainText(lines.join(QLatin1Char('\n')));
        m_file = path;
    }
    m_line = line;
    QList<QTextEdit::ExtraSelection> marks;
    QTextBlock block = document()->findBlockByNumber(std::max(0, line - 1));
    if (line > 0 && block.isValid()) {
        QTextEdit::ExtraSelection mark;
        QColor color = palette().color(QPalette::Highlight);
        color.setAlpha(90);
        mark.format.setBackground(color);
        mark.format.setProperty(QTextFormat::FullWidthSelection, true);
        mark.cursor = QTextCursor(block);
        marks << mark;
        QTextCursor c(block);
        setTextCursor(c);
        centerCursor();
    }
    setExtraSelections(marks);
    return true;
}

} // namespace ravel::gui
