#include "models/stack_model.hpp"

#include "models/trace_document.hpp"
#include "model/objects.hpp"

#include <QFont>
#include <QGuiApplication>
#include <QPalette>

namespace ravel::gui {

StackModel::StackModel(TraceDocument* document, QObject* parent)
    : QAbstractTableModel(parent)
    , m_document(document)
{
    connect(document, &TraceDocument::closed, this, [this] { setStack(0); });
}

void StackModel::setStack(quint32 stack)
{
    beginResetModel();
    m_stack = stack;
    m_frames.clear();
    m_userRow = -1;
    m_caveat.clear();
    if (m_document->isLoaded() && stack) {
        const ravel::StackTrace* s = m_document->trace().stack(ravel::stackIdOf(stack));
        if (s) {
            m_frames = m_document->symbolizer().symbolizeStack(s->frames);
            if (const ravel::Frame* u = ravel::Symbolizer::userFrame(m_frames))
                m_userRow = int(u - m_frames.data());
            if (s->site_only)
                m_caveat = tr("Only the calling site was recorded, not the whole call path.");
        } else {
            m_caveat = tr("The stack of this event was not recorded.");
        }
#ifdef RAVEL_STACK_REUSED
        if (stack & RAVEL_STACK_REUSED)
            m_caveat = tr("Stack captured at an earlier call from the same site; callers may differ.");
#endif
    }
    endResetModel();
}

int StackModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_frames.size()); }
int StackModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant StackModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ravel::Frame& f = m_frames[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case FrameColumn:
            return QStringLiteral("#%1").arg(index.row());
        case FunctionColumn:
            return QString::fromStdString(f.function) + (f.inlined ? tr(" (inlined)") : QString());
        default: {
            // The file name reads at a glance; the full path is in the tooltip and FileRole.
            QString site = QString::fromStdString(ravel::Symbolizer::site(f));
            const int slash = int(site.lastIndexOf(QLatin1Char('/')));
            return slash >= 0 ? site.mid(slash + 1) : site;
        }
        }
    case Qt::ToolTipRole:
        return QStringLiteral("%1\n%2\n%3 0x%4")
            .arg(QString::fromStdString(f.function), QString::fromStdString(ravel::Symbolizer::site(f)),
                 QString::fromStdString(f.module))
            .arg(f.address, 0, 16);
    case Qt::FontRole:
        if (index.row() == m_userRow) {
            QFont font;
            font.setBold(true);
            return font;
        }
        return {};
    case Qt::ForegroundRole:
        // Library frames recede; the palette's placeholder color reads on light and dark themes.
        if (m_userRow >= 0 && index.row() < m_userRow)
            return QGuiApplication::palette().brush(QPalette::PlaceholderText);
        return {};
    case FileRole:
        return QString::fromStdString(f.file);
    case LineRole:
        return int(f.line);
    case UserFrameRole:
        return index.row() == m_userRow;
    case ModuleRole:
        return QString::fromStdString(f.module);
    default:
        return {};
    }
}

QVariant StackModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case FrameColumn:
        return tr("#");
    case FunctionColumn:
        return tr("Function");
    default:
        return tr("Location");
    }
}

} // namespace ravel::gui
