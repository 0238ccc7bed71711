// RaceView: the Details tab of a data race: its two accesses side by side, the earlier on the
// left. Each column says what the access was (read or write, size, the variable), by which thread,
// when (the earlier one as the range it lies in, with ≈: its time was not recorded) and holding
// what; then its stack and the source of its first frame of the program's own.
#pragma once

#include <QWidget>

class QLabel;
class QTreeView;

namespace ravel::gui {

class SourceView;
class StackModel;
class TraceDocument;
struct RaceAccess;
struct RacePair;

class RaceView : public QWidget {
    Q_OBJECT
public:
    RaceView(TraceDocument* document, QWidget* parent = nullptr);

    // Shows race finding `finding` (an index into the document's findings); false (and nothing
    // shown) when it is not a data race.
    bool showRace(int finding);
    void clear();
    // Times read as precise as one pixel of the timeline (ViewState::nsPerPixel), as in Details.
    void setResolution(double resolutionNs);

    enum Side { Earlier = 0, Later = 1 };
    QLabel* header(Side side) const { return m_columns[side].header; }
    StackModel* stackModel(Side side) const { return m_columns[side].stack; }
    SourceView* sourceView(Side side) const { return m_columns[side].source; }
    QTreeView* stackView(Side side) const { return m_columns[side].view; }

    // "<b>T2</b> (the earlier access): write of 8 bytes to <b>balance</b> · ≈ between 0.4ms and
    // 9.7ms (not timed) · holding no lock"
    static QString describeAccess(const TraceDocument& document, const RacePair& pair, Side side,
                                  double resolutionNs = 0);

private:
    struct Column {
        QLabel* header = nullptr;
        StackModel* stack = nullptr;
        QTreeView* view = nullptr;
        SourceView* source = nullptr;
    };
    Column makeColumn(Side side);
    void showFrame(Side side, int row);
    void describeSides(const RacePair& pair);

    TraceDocument* m_document;
    int m_finding = -1; // the race shown
    double m_resolution = 0;
    Column m_columns[2];
};

} // namespace ravel::gui
