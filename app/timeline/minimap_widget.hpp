// MinimapWidget: the whole run at a glance above the timeline — event density as bars, a strip
// colored by the most severe wait of each moment, the findings as red marks, the visible range as
// a box and the playhead as a line. Click or drag to move the visible range there (its width
// kept); the wheel zooms it. Needs only the document and the view state: its density is computed
// on a worker when a trace loads (one pass over the spans).
#pragma once

#include "models/timeline_index.hpp"

#include <QFutureWatcher>
#include <QWidget>

#include <atomic>
#include <memory>
#include <vector>

namespace ravel::gui {

class TraceDocument;
class ViewState;

class MinimapWidget : public QWidget {
    Q_OBJECT
public:
    MinimapWidget(TraceDocument* document, ViewState* state, QWidget* parent = nullptr);
    ~MinimapWidget() override;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    bool hasDensity() const { return !m_density.empty(); }
    // x of time t in this widget, and the time at x.
    double xOf(quint64 t) const;
    quint64 timeAt(double x) const;

signals:
    void densityReady();

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;

private:
    void startDensity();
    void cancelDensity();
    void clear();
    void centerAt(double x);
    quint64 duration() const;

    TraceDocument* m_document;
    ViewState* m_state;
    std::vector<TimelineDensityBin> m_density;
    std::vector<TimelineFindingMark> m_marks;
    QFutureWatcher<std::vector<TimelineDensityBin>>* m_job = nullptr;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    bool m_dragging = false;
    double m_grab = 0; // where in the visible box the drag took it, in px from its center
};

} // namespace ravel::gui
