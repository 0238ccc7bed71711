// StackModel: the frames of one recorded stack (innermost first) with function and file:line, as
// the Symbolizer gives them. The program's own first frame is marked (UserFrameRole) because that
// is the line a person wants to read; the details pane opens its source.
#pragma once

#include "symbols/symbolizer.hpp"

#include <QAbstractTableModel>

#include <vector>

namespace ravel::gui {

class TraceDocument;

class StackModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { FrameColumn, FunctionColumn, LocationColumn, ColumnCount };
    enum Role {
        FileRole = Qt::UserRole + 1, // QString: the source path as recorded in debug info ("" unknown)
        LineRole,                    // int, 0 unknown
        UserFrameRole,               // bool: the first frame of the program's own code
        ModuleRole,                  // QString
    };

    explicit StackModel(TraceDocument* document, QObject* parent = nullptr);

    // Shows stack `stack` (the event's stack field; the reused bit is honoured). 0 clears.
    void setStack(quint32 stack);
    quint32 stack() const { return m_stack; }
    // The row of the first user frame, or -1.
    int userFrameRow() const { return m_userRow; }
    // "captured at an earlier acquisition from the same site" and similar caveats, or "".
    QString caveat() const { return m_caveat; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    TraceDocument* m_document;
    quint32 m_stack = 0;
    std::vector<ravel::Frame> m_frames;
    int m_userRow = -1;
    QString m_caveat;
};

} // namespace ravel::gui
