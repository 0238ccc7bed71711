#include "timeline/minimap_widget.hpp"

#include "models/trace_document.hpp"
#include "models/view_state.hpp"
#include "timeline/timeline_palette.hpp"

#include <QCoreApplication>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>

namespace ravel::gui {

namespace {
constexpr size_t kBins = 4096;
constexpr int kStrip = 5; // the severity strip at the bottom
} // namespace

MinimapWidget::MinimapWidget(TraceDocument* document, ViewState* state, QWidget* parent)
    : QWidget(parent)
    , m_document(document)
    , m_state(state)
{
    setMouseTracking(false);
    setToolTip(tr("The whole run: event density, blocked threads (bottom strip) and findings (red). "
                  "Click or drag to move the timeline there."));
    setAccessibleName(tr("Minimap"));
    connect(document, &TraceDocument::loaded, this, &MinimapWidget::startDensity);
    connect(document, &TraceDocument::closed, this, &MinimapWidget::clear);
    connect(QCoreApplication::instance(), &QCoreApplication::aboutToQuit, this, &MinimapWidget::cancelDensity);
    auto repaint = [this] { update(); };
    connect(state, &ViewState::visibleRangeChanged, this, repaint);
    connect(state, &ViewState::playheadChanged, this, repaint);
    connect(state, &ViewState::findingSelected, this, repaint);
    if (document->isLoaded())
        startDensity();
}

MinimapWidget::~MinimapWidget()
{
    cancelDensity();
}

QSize MinimapWidget::sizeHint() const { return QSize(600, 34); }
QSize MinimapWidget::minimumSizeHint() const { return QSize(100, 24); }

void MinimapWidget::startDensity()
{
    clear();
    if (!m_document->isLoaded())
        return;
    m_marks = TimelineIndex::findingMarksOf(m_document->findings(), duration());
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    m_cancel = cancel;
    const ReplayModel* model = &m_document->model();
    auto* job = new QFutureWatcher<std::vector<TimelineDensityBin>>(this);
    m_job = job;
    connect(job, &QFutureWatcher<std::vector<TimelineDensityBin>>::finished, this, [this, job] {
        job->deleteLater();
        if (job != m_job)
            return;
        m_job = nullptr;
        if (job->future().resultCount() == 0 || !m_document->isLoaded())
            return;
        m_density = job->future().result();
        update();
        emit densityReady();
    });
    job->setFuture(QtConcurrent::run([model, cancel] { return TimelineIndex::densityOf(*model, kBins, cancel.get()); }));
    update();
}

void MinimapWidget::cancelDensity()
{
    if (!m_job)
        return;
    // The worker reads the document's model, which may go once this returns.
    m_cancel->store(true);
    m_job->disconnect(this);
    m_job->waitForFinished();
    m_job->deleteLater();
    m_job = nullptr;
}

void MinimapWidget::clear()
{
    cancelDensity();
    m_density.clear();
    m_marks.clear();
    update();
}

quint64 MinimapWidget::duration() const
{
    return std::max<quint64>(m_document->durationNs(), 1);
}

double MinimapWidget::xOf(quint64 t) const
{
    return double(t) / double(duration()) * width();
}

quint64 MinimapWidget::timeAt(double x) const
{
    return quint64(std::clamp(x / std::max(1, width()), 0.0, 1.0) * double(duration()));
}

void MinimapWidget::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    TimelinePalette palette(this->palette());
    p.fillRect(rect(), palette.labelBackground());
    if (!m_document->isLoaded())
        return;
    const int w = width(), h = height();
    const int barsHeight = h - kStrip - 2;
    if (!m_density.empty() && w > 0) {
        // Bins per pixel column: the sum for the bars, the most severe wait for the strip.
        std::vector<quint64> sums(size_t(w), 0);
        std::vector<quint8> states(size_t(w), 0);
        for (size_t b = 0; b < m_density.size(); b++) {
            size_t x = std::min<size_t>(size_t(w) - 1, b * size_t(w) / m_density.size());
            sums[x] += m_density[b].spans;
            if (TimelineRow::moreSevere(m_density[b].state, states[x]))
                states[x] = m_density[b].state;
        }
        const double top = std::log1p(double(*std::max_element(sums.begin(), sums.end())));
        QColor bar = palette.text();
        bar.setAlpha(110);
        for (int x = 0; x < w; x++) {
            if (sums[size_t(x)] && top > 0) {
                const int bh = std::max(1, int(std::lround(std::log1p(double(sums[size_t(x)])) / top * barsHeight)));
                p.fillRect(x, 1 + barsHeight - bh, 1, bh, bar);
            }
            if (states[size_t(x)])
                p.fillRect(x, h - kStrip, 1, kStrip, palette.span(states[size_t(x)]));
        }
    }
    for (const TimelineFindingMark& m : m_marks) {
        const int x = int(xOf(m.timeNs));
        const bool selected = m.finding == m_state->selectedFinding();
        p.fillRect(x - (selected ? 2 : 1), 0, selected ? 4 : 2, h, palette.finding());
    }
    // The visible range: a box, at least a few pixels wide so one can grab it zoomed far in.
    if (m_state->visibleTo() > m_state->visibleFrom()) {
        double x0 = xOf(m_state->visibleFrom()), x1 = xOf(m_state->visibleTo());
        if (x1 - x0 < 5) {
            const double c = (x0 + x1) / 2;
            x0 = c - 2.5;
            x1 = c + 2.5;
        }
        QColor fill = palette.selection();
        p.fillRect(QRectF(x0, 0, x1 - x0, h), fill);
        p.setPen(QPen(palette.text(), 1));
        p.drawRect(QRectF(x0, 0.5, x1 - x0, h - 1.5));
    }
    const double ph = std::round(xOf(m_state->playhead())) + 0.5;
    p.setPen(QPen(palette.playhead(), 1.5));
    p.drawLine(QPointF(ph, 0), QPointF(ph, h));
}

void MinimapWidget::centerAt(double x)
{
    const quint64 d = duration();
    quint64 width = m_state->visibleTo() > m_state->visibleFrom() ? m_state->visibleTo() - m_state->visibleFrom() : d;
    width = std::min(width, d);
    const quint64 c = timeAt(x);
    quint64 from = c - std::min(c, width / 2);
    from = std::min(from, d - width);
    m_state->setVisibleRange(from, from + width);
}

void MinimapWidget::mousePressEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton || !m_document->isLoaded())
        return QWidget::mousePressEvent(event);
    const double x = event->position().x();
    const double x0 = xOf(m_state->visibleFrom()), x1 = xOf(m_state->visibleTo());
    // Grabbing the box drags it from where it was taken; elsewhere it jumps there first.
    m_grab = (x >= x0 && x <= x1) ? x - (x0 + x1) / 2 : 0;
    m_dragging = true;
    centerAt(x - m_grab);
    event->accept();
}

void MinimapWidget::mouseMoveEvent(QMouseEvent* event)
{
    if (m_dragging)
        centerAt(event->position().x() - m_grab);
    event->accept();
}

void MinimapWidget::mouseReleaseEvent(QMouseEvent* event)
{
    m_dragging = false;
    event->accept();
}

void MinimapWidget::wheelEvent(QWheelEvent* event)
{
    if (!m_document->isLoaded() || event->angleDelta().y() == 0)
        return QWidget::wheelEvent(event);
    const quint64 d = duration();
    const quint64 from = m_state->visibleTo() > m_state->visibleFrom() ? m_state->visibleFrom() : 0;
    const quint64 to = m_state->visibleTo() > m_state->visibleFrom() ? m_state->visibleTo() : d;
    const double factor = std::pow(0.7, event->angleDelta().y() / 120.0);
    const double width = std::clamp(double(to - from) * factor, 200.0, double(d));
    const double c = (double(from) + double(to)) / 2;
    const double f = std::clamp(c - width / 2, 0.0, double(d) - width);
    m_state->setVisibleRange(quint64(f), quint64(f + width));
    event->accept();
}

} // namespace ravel::gui
