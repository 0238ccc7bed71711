// FindingsModel: the findings of a trace as a tree grouped by kind (Deadlocks, Potential deadlocks,
// Data races, Lock-order inversions, Misuse, Notes), in report order inside each group so the
// numbers match `ravel report` and `ravel graph --finding N`. Only groups with findings appear.
#pragma once

#include <QAbstractItemModel>

#include <vector>

namespace ravel::gui {

class TraceDocument;

class FindingsModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { TitleColumn, TimeColumn, ColumnCount };
    enum Role {
        FindingIndexRole = Qt::UserRole + 1, // int: index into TraceDocument::findings(), -1 on a group
        KindRole,       // QString: "deadlock", "potential-deadlock", ... (group: its first finding's)
        GroupRole,      // int: Group
        TimeRole,       // quint64 ns from the trace start: the finding's moment (findingTime)
        CertaintyRole,  // QString: "certain", "likely" or ""
        ThreadsRole,    // QList<quint32>: ravel thread ids involved
        IsErrorRole,    // bool: makes `ravel run` exit 66
        SearchTextRole, // QString: title, kind, objects, threads: what the search box matches
    };
    enum Group { Deadlocks, PotentialDeadlocks, DataRaces, LockOrderInversions, Misuse, Notes, GroupCount };

    explicit FindingsModel(TraceDocument* document, QObject* parent = nullptr);

    static Group groupOf(const QString& kind);
    static QString groupTitle(Group group);

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    // The model index (column 0) of finding `findingIndex`, invalid when there is none.
    QModelIndex indexOfFinding(int findingIndex) const;
    int findingCount() const;

private:
    void rebuild();
    QVariant findingData(int finding, int column, int role) const;

    struct GroupRows {
        Group group;
        std::vector<int> findings; // indices into TraceDocument::findings()
    };
    TraceDocument* m_document;
    std::vector<GroupRows> m_groups; // non-empty groups, in Group order
};

} // namespace ravel::gui
