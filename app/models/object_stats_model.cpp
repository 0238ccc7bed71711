#include "models/object_stats_model.hpp"

#include "models/trace_document.hpp"
#include "model/objects.hpp"

namespace ravel::gui {

namespace {

// ObjectStats::signals is spelled like Qt's keyword macro.
#pragma push_macro("signals")
#undef signals
uint64_t signalCount(const ravel::ObjectStats& o) { return o.signals; }
#pragma pop_macro("signals")

QString duration(uint64_t ns) { return ns ? QString::fromStdString(ravel::formatDuration(ns)) : QStringLiteral("–"); }

} // namespace

ObjectStatsModel::ObjectStatsModel(TraceDocument* document, QObject* parent)
    : QAbstractTableModel(parent)
    , m_document(document)
{
    connect(document, &TraceDocument::statsReady, this, &ObjectStatsModel::rebuild);
    connect(document, &TraceDocument::closed, this, &ObjectStatsModel::rebuild);
    connect(document, &TraceDocument::loaded, this, &ObjectStatsModel::rebuild);
    connect(document, &TraceDocument::activePartChanged, this, &ObjectStatsModel::rebuild); // its objects
    rebuild();
}

void ObjectStatsModel::rebuild()
{
    beginResetModel();
    const ravel::TraceStats* stats = m_document->stats();
    m_rows = stats ? int(stats->objects.size()) : 0;
    endResetModel();
}

int ObjectStatsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : m_rows; }
int ObjectStatsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

int ObjectStatsModel::rowOfObject(quint32 objectIndex) const
{
    return int(objectIndex) < m_rows ? int(objectIndex) : -1;
}

QString ObjectStatsModel::notes(int row) const
{
    const ravel::ObjectStats& o = m_document->stats()->objects[row];
    QStringList parts;
    auto add = [&](uint64_t n, const QString& what) {
        if (n)
            parts << QStringLiteral("%1 %2").arg(n).arg(what);
    };
    add(o.sharedAcquisitions, tr("shared"));
    add(o.failed, tr("failed"));
    add(o.waitTimeouts, o.waitTimeouts == 1 ? tr("timeout") : tr("timeouts"));
    add(o.waits, o.waits == 1 ? tr("wait") : tr("waits"));
    if (o.object.kind == RAVEL_OBJ_SEM)
        add(signalCount(o), signalCount(o) == 1 ? tr("post") : tr("posts"));
    else
        add(signalCount(o), signalCount(o) == 1 ? tr("signal") : tr("signals"));
    add(o.broadcasts, o.broadcasts == 1 ? tr("broadcast") : tr("broadcasts"));
    add(o.passes, o.passes == 1 ? tr("pass") : tr("passes"));
    add(o.blockedAtEnd, tr("still waiting at end"));
    if (o.heldAtEnd)
        parts << tr("held at end");
    return parts.join(QStringLiteral(", "));
}

QVariant ObjectStatsModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ravel::ObjectStats& o = m_document->stats()->objects[index.row()];
    const auto row = quint32(index.row());
    if (role == ObjectIndexRole)
        return row;
    if (role == IsThreadRole)
        return o.object.kind == RAVEL_OBJ_THREAD;
    if (role == Qt::TextAlignmentRole) {
        const bool number = index.column() >= AcquisitionsColumn && index.column() <= HoldMaxColumn;
        return number ? QVariant(int(Qt::AlignRight | Qt::AlignVCenter)) : QVariant();
    }
    if (role == SortRole) {
        switch (index.column()) {
        case NameColumn:
            return m_document->objectName(row);
        case KindColumn:
            return QString::fromUtf8(ravel::objectKindName(o.object.kind).data(),
                                     qsizetype(ravel::objectKindName(o.object.kind).size()));
        case AcquisitionsColumn:
            return quint64(o.acquisitions);
        case ContendedColumn:
            return quint64(o.contended);
        case WaitsColumn:
            return quint64(o.waits);
        case WaitTotalColumn:
            return quint64(o.waitNsTotal);
        case WaitMaxColumn:
            return quint64(o.waitNsMax);
        case HoldTotalColumn:
            return quint64(o.holdNsTotal);
        case HoldMaxColumn:
            return quint64(o.holdNsMax);
        default:
            return notes(index.row());
        }
    }
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole)
        return {};
    switch (index.column()) {
    case NameColumn:
        return m_document->objectName(row);
    case KindColumn:
        return QString::fromUtf8(ravel::objectKindName(o.object.kind).data(),
                                 qsizetype(ravel::objectKindName(o.object.kind).size()));
    case AcquisitionsColumn:
        return QString::number(o.acquisitions);
    case ContendedColumn:
        if (!o.acquisitions)
            return QString::number(o.contended);
        return QStringLiteral("%1 (%2%)").arg(o.contended).arg(100.0 * double(o.contended) / double(o.acquisitions), 0, 'f', 0);
    case WaitsColumn:
        return QString::number(o.waits);
    case WaitTotalColumn:
        return duration(o.waitNsTotal);
    case WaitMaxColumn:
        return duration(o.waitNsMax);
    case HoldTotalColumn:
        return duration(o.holdNsTotal);
    case HoldMaxColumn:
        return duration(o.holdNsMax);
    default:
        return notes(index.row());
    }
}

QVariant ObjectStatsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Object");
    case KindColumn:
        return tr("Kind");
    case AcquisitionsColumn:
        return tr("Acquired");
    case ContendedColumn:
        return tr("Contended");
    case WaitsColumn:
        return tr("Waits");
    case WaitTotalColumn:
        return tr("Wait total");
    case WaitMaxColumn:
        return tr("Wait max");
    case HoldTotalColumn:
        return tr("Held total");
    case HoldMaxColumn:
        return tr("Held max");
    default:
        return tr("Notes");
    }
}

} // namespace ravel::gui
