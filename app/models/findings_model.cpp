#include "models/findings_model.hpp"

#include "models/finding_focus.hpp"

#include "models/trace_document.hpp"
#include "base/trace_time.hpp"

#include <QColor>
#include <QIcon>
#include <QPainter>
#include <QPixmap>

namespace ravel::gui {

namespace {

// Group rows carry 0 as internal id; a finding row carries its group's row + 1.
constexpr quintptr kGroupId = 0;

// Severity colors mean the same on a light and a dark desktop (red is the deadlock everywhere in
// ravel: the report, the graphs, the timeline), so they are fixed, not palette roles.
QColor groupColor(FindingsModel::Group g)
{
    switch (g) {
    case FindingsModel::Deadlocks:
        return QColor(0xd3, 0x2f, 0x2f);
    case FindingsModel::PotentialDeadlocks:
        return QColor(0xef, 0x6c, 0x00);
    case FindingsModel::DataRaces: // an error too (ravel run exits 66): red, another shade
        return QColor(0xc6, 0x28, 0x28);
    case FindingsModel::LockOrderInversions:
        return QColor(0xf9, 0xa8, 0x25);
    case FindingsModel::Misuse: // an error, as a deadlock is: red, a shade apart
        return QColor(0xe5, 0x39, 0x35);
    default:
        return QColor(0x90, 0x90, 0x90);
    }
}

QIcon dotIcon(FindingsModel::Group g)
{
    static QIcon icons[FindingsModel::GroupCount];
    QIcon& icon = icons[g];
    if (icon.isNull()) {
        QPixmap pm(16, 16);
        pm.fill(Qt::transparent);
        QPainter p(&pm);
        p.setRenderHint(QPainter::Antialiasing);
        p.setPen(Qt::NoPen);
        p.setBrush(groupColor(g));
        p.drawEllipse(QRectF(3, 3, 10, 10));
        icon = QIcon(pm);
    }
    return icon;
}

} // namespace

FindingsModel::FindingsModel(TraceDocument* document, QObject* parent)
    : QAbstractItemModel(parent)
    , m_document(document)
{
    connect(document, &TraceDocument::loaded, this, &FindingsModel::rebuild);
    connect(document, &TraceDocument::closed, this, &FindingsModel::rebuild);
    rebuild();
}

FindingsModel::Group FindingsModel::groupOf(const QString& kind)
{
    if (kind == QLatin1String("deadlock"))
        return Deadlocks;
    if (kind == QLatin1String("potential-deadlock"))
        return PotentialDeadlocks;
    if (kind == QLatin1String("data-race"))
        return DataRaces;
    if (kind == QLatin1String("lock-order-inversion"))
        return LockOrderInversions;
    if (kind == QLatin1String("misuse"))
        return Misuse;
    return Notes;
}

QString FindingsModel::groupTitle(Group group)
{
    switch (group) {
    case Deadlocks:
        return tr("Deadlocks");
    case PotentialDeadlocks:
        return tr("Potential deadlocks");
    case DataRaces:
        return tr("Data races");
    case LockOrderInversions:
        return tr("Lock-order inversions");
    case Misuse:
        return tr("Misuse");
    default:
        return tr("Notes");
    }
}

void FindingsModel::rebuild()
{
    beginResetModel();
    m_groups.clear();
    if (m_document->isLoaded()) {
        std::vector<int> byGroup[GroupCount];
        const auto& findings = m_document->findings();
        for (size_t i = 0; i < findings.size(); i++)
            byGroup[groupOf(QString::fromStdString(findings[i].kind))].push_back(int(i));
        for (int g = 0; g < GroupCount; g++)
            if (!byGroup[g].empty())
                m_groups.push_back({ Group(g), std::move(byGroup[g]) });
    }
    endResetModel();
}

int FindingsModel::findingCount() const
{
    int n = 0;
    for (const GroupRows& g : m_groups)
        n += int(g.findings.size());
    return n;
}

QModelIndex FindingsModel::index(int row, int column, const QModelIndex& parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid())
        return row < int(m_groups.size()) ? createIndex(row, column, kGroupId) : QModelIndex();
    if (parent.internalId() != kGroupId || parent.column() != 0 || parent.row() >= int(m_groups.size()))
        return {};
    if (row >= int(m_groups[parent.row()].findings.size()))
        return {};
    return createIndex(row, column, quintptr(parent.row()) + 1);
}

QModelIndex FindingsModel::parent(const QModelIndex& child) const
{
    if (!child.isValid() || child.internalId() == kGroupId)
        return {};
    return createIndex(int(child.internalId() - 1), 0, kGroupId);
}

int FindingsModel::rowCount(const QModelIndex& parent) const
{
    if (!parent.isValid())
        return int(m_groups.size());
    if (parent.internalId() != kGroupId || parent.column() != 0)
        return 0;
    return int(m_groups[parent.row()].findings.size());
}

int FindingsModel::columnCount(const QModelIndex&) const { return ColumnCount; }

QModelIndex FindingsModel::indexOfFinding(int findingIndex) const
{
    for (size_t g = 0; g < m_groups.size(); g++) {
        const auto& rows = m_groups[g].findings;
        for (size_t r = 0; r < rows.size(); r++)
            if (rows[r] == findingIndex)
                return createIndex(int(r), 0, quintptr(g) + 1);
    }
    return {};
}

QVariant FindingsModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    if (index.internalId() != kGroupId) {
        const GroupRows& g = m_groups[index.internalId() - 1];
        return findingData(g.findings[index.row()], index.column(), role);
    }
    const GroupRows& g = m_groups[index.row()];
    switch (role) {
    case Qt::DisplayRole:
        if (index.column() == TitleColumn)
            return QStringLiteral("%1 (%2)").arg(groupTitle(g.group)).arg(g.findings.size());
        return {};
    case Qt::DecorationRole:
        return index.column() == TitleColumn ? QVariant(dotIcon(g.group)) : QVariant();
    case Qt::FontRole: {
        QFont f;
        f.setBold(true);
        return f;
    }
    case FindingIndexRole:
        return -1;
    case GroupRole:
        return int(g.group);
    case KindRole:
        return QString::fromStdString(m_document->findings()[g.findings.front()].kind);
    case SearchTextRole:
        return groupTitle(g.group);
    default:
        return {};
    }
}

QVariant FindingsModel::findingData(int finding, int column, int role) const
{
    const ravel::Finding& f = m_document->findings()[finding];
    const Group group = groupOf(QString::fromStdString(f.kind));
    switch (role) {
    case Qt::DisplayRole:
        if (column == TitleColumn)
            return QStringLiteral("#%1 %2").arg(finding + 1).arg(QString::fromStdString(f.title));
        // The moment choosing it moves the playhead to (a lock-order cycle's first edge, not the
        // end of the run the analyzer reports it at): the list and the playhead agree.
        return QString::fromStdString(ravel::formatTraceTime(findingTime(f)));
    case Qt::ToolTipRole: {
        QString tip = QStringLiteral("#%1 %2").arg(finding + 1).arg(QString::fromStdString(f.title));
        if (f.certainty != ravel::Verdict::None)
            tip += QStringLiteral("\n") + tr("certainty: %1").arg(QString::fromUtf8(ravel::verdictName(f.certainty)));
        for (const std::string& n : f.notes)
            tip += QStringLiteral("\n") + QString::fromStdString(n);
        return tip;
    }
    case Qt::DecorationRole:
        return column == TitleColumn ? QVariant(dotIcon(group)) : QVariant();
    case Qt::TextAlignmentRole:
        return column == TimeColumn ? QVariant(int(Qt::AlignRight | Qt::AlignVCenter)) : QVariant();
    case FindingIndexRole:
        return finding;
    case KindRole:
        return QString::fromStdString(f.kind);
    case GroupRole:
        return int(group);
    case TimeRole:
        return quint64(findingTime(f));
    case CertaintyRole:
        return QString::fromUtf8(ravel::verdictName(f.certainty));
    case ThreadsRole: {
        QList<quint32> ids;
        for (const ravel::FindingThread& t : f.threads)
            if (!ids.contains(t.id))
                ids << t.id;
        for (const ravel::FindingEdge& e : f.edges)
            if (!ids.contains(e.thread))
                ids << e.thread;
        return QVariant::fromValue(ids);
    }
    case IsErrorRole:
        return ravel::isError(f);
    case SearchTextRole: {
        QStringList parts { QStringLiteral("#%1").arg(finding + 1), QString::fromStdString(f.kind),
                            QString::fromStdString(f.title), groupTitle(group) };
        for (const ravel::FindingObject& o : f.objects)
            parts << QString::fromStdString(o.name);
        for (const ravel::FindingThread& t : f.threads)
            parts << QString::fromStdString(t.name);
        return parts.join(QLatin1Char(' '));
    }
    default:
        return {};
    }
}

QVariant FindingsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    return section == TitleColumn ? tr("Finding") : tr("Time");
}

QHash<int, QByteArray> FindingsModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractItemModel::roleNames();
    names.insert(FindingIndexRole, "findingIndex");
    names.insert(KindRole, "kind");
    names.insert(GroupRole, "group");
    names.insert(TimeRole, "time");
    names.insert(CertaintyRole, "certainty");
    names.insert(ThreadsRole, "threads");
    names.insert(IsErrorRole, "isError");
    names.insert(SearchTextRole, "searchText");
    return names;
}

} // namespace ravel::gui
