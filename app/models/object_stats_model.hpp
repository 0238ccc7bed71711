// ObjectStatsModel: one row per synchronization object with the statistics `ravel info` prints
// (acquisitions, contention, waits, wait and hold times), taken from the document's TraceStats
// (analyzer/lib/trace_stats.hpp), never recounted here. Empty until the document's background
// statistics pass has finished (TraceDocument::statsReady).
#pragma once

#include <QAbstractTableModel>

namespace ravel::gui {

class TraceDocument;

class ObjectStatsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        NameColumn,
        KindColumn,
        AcquisitionsColumn,
        ContendedColumn,
        WaitsColumn,
        WaitTotalColumn,
        WaitMaxColumn,
        HoldTotalColumn,
        HoldMaxColumn,
        NotesColumn,
        ColumnCount
    };
    enum Role {
        ObjectIndexRole = Qt::UserRole + 1, // quint32: index into ReplayModel::objects()
        SortRole,                           // the raw number (ns, counts) or the text
        IsThreadRole,                       // bool: a joined thread, not a lock
    };

    explicit ObjectStatsModel(TraceDocument* document, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    int rowOfObject(quint32 objectIndex) const; // -1 when absent
    // What the Notes column says for one object: failures, waits, posts, who is stuck at the end.
    QString notes(int row) const;

private:
    void rebuild();

    TraceDocument* m_document;
    int m_rows = 0;
};

} // namespace ravel::gui
