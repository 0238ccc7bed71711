#include "timeline/timeline_view.hpp"

#include "models/finding_focus.hpp"
#include "models/race_pair.hpp"
#include "models/timeline_state.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"
#include "timeline/timeline_object_names.hpp"
#include "timeline/timeline_palette.hpp"
#include "timeline/timeline_ruler.hpp"

#include "model/objects.hpp"

#include <QCoreApplication>
#include <QFileInfo>
#include <QHelpEvent>
#include <QImage>
#include <QKeyEvent>
#include <QPainter>
#include <QScrollBar>
#include <QSvgGenerator>
#include <QToolTip>
#include <QWheelEvent>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <map>
#include <cmath>

namespace ravel::gui {

namespace {

// Never closer than this: below a few ns the trace's own clock cannot tell events apart.
constexpr quint64 kMinRangeNs = 200;
constexpr double kZoomStep = 0.7;   // one key press or wheel notch
constexpr double kPanStep = 0.125;  // of the visible width per key press
constexpr int kPlayheadGrab = 4;    // px either side of the playhead line that grab it

} // namespace

TimelineView::TimelineView(TraceDocument* document, ViewState* state, QWidget* parent)
    : QAbstractScrollArea(parent)
    , m_document(document)
    , m_state(state)
{
    setFocusPolicy(Qt::StrongFocus);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    // Always on, or its appearing would shrink the time area and make the zoom jump.
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOn);
    viewport()->setMouseTracking(true);
    viewport()->setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(320, 160);
    setAccessibleName(tr("Timeline"));

    connect(document, &TraceDocument::loaded, this, &TimelineView::startBuild);
    connect(document, &TraceDocument::closed, this, &TimelineView::dropIndex);
    connect(document, &TraceDocument::loadStarted, this, [this] { viewport()->update(); });
    // Last chance before the document's data can go away with the application.
    connect(QCoreApplication::instance(), &QCoreApplication::aboutToQuit, this, &TimelineView::cancelBuild);

    auto repaint = [this] { viewport()->update(); };
    connect(state, &ViewState::visibleRangeChanged, this, repaint);
    connect(state, &ViewState::playheadChanged, this, [this](quint64 ns) {
        followPlayhead(ns);
        viewport()->update();
    });
    connect(state, &ViewState::selectionChanged, this, [this] {
        if (!m_state->selectedThreads().isEmpty())
            ensureLaneVisible(m_state->selectedThreads().first());
        viewport()->update();
    });
    connect(state, &ViewState::eventSelected, this, [this] {
        syncSelectedSpan();
        viewport()->update();
    });
    connect(state, &ViewState::findingFocused, this, &TimelineView::focusFinding);
    connect(state, &ViewState::findingSelected, this, repaint);
    // The selected span was of the part the selection was in.
    connect(document, &TraceDocument::activePartChanged, this, [this] {
        m_selectedType = TimelineFrame::SpanType::None;
        viewport()->update();
    });
    if (document->isLoaded())
        startBuild();
}

TimelineView::~TimelineView()
{
    cancelBuild();
}

void TimelineView::startBuild()
{
    cancelBuild();
    dropIndex();
    if (!m_document->isLoaded())
        return;
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    m_cancel = cancel;
    std::vector<TimelineSource> sources = timelineSourcesOf(*m_document);
    std::vector<Finding> findings = m_document->findings();
    std::vector<int> findingPart(findings.size());
    for (size_t i = 0; i < findings.size(); i++)
        findingPart[i] = m_document->findingPart(int(i));
    auto* watcher = new QFutureWatcher<std::shared_ptr<TimelineIndex>>(this);
    m_build = watcher;
    connect(watcher, &QFutureWatcher<std::shared_ptr<TimelineIndex>>::finished, this, [this, watcher] {
        watcher->deleteLater();
        if (watcher != m_build)
            return;
        m_build = nullptr;
        if (watcher->future().resultCount() == 0)
            return;
        std::shared_ptr<TimelineIndex> built = watcher->future().result();
        if (!built || !m_document->isLoaded())
            return;
        m_index = std::move(built);
        m_names = std::make_unique<TimelineObjectNames>(m_document->model(0), m_document->symbolizer(0));
        for (int part = 1; part < m_document->partCount(); part++)
            m_names->addPart(m_document->model(part), m_document->symbolizer(part));
        m_collapsed.assign(m_index->groups().size(), false);
        relayout();
        syncSelectedSpan();
        // Now that the lanes are known: the finding chosen meanwhile is brought into view again
        // (its lanes scrolled to), or, while nobody has zoomed yet, the run's activity fills the
        // view rather than its empty start-up.
        if (m_state->selectedFinding() >= 0)
            focusFinding(m_state->selectedFinding());
        else if (m_state->visibleFrom() == 0 && m_state->visibleTo() == m_index->durationNs()) {
            fit();
            // The playhead where the activity starts, in view, not at 0 before the empty
            // start-up: Details then tells of a moment with something in it.
            if (m_state->playhead() == 0)
                m_state->setPlayhead(m_index->activityRange().first);
        }
        viewport()->update();
        emit indexChanged();
    });
    watcher->setFuture(QtConcurrent::run([sources = std::move(sources), findings = std::move(findings),
                                          findingPart = std::move(findingPart), cancel] {
        return std::shared_ptr<TimelineIndex>(TimelineIndex::build(sources, findings, findingPart, cancel.get()));
    }));
    viewport()->update();
}

void TimelineView::cancelBuild()
{
    if (!m_build)
        return;
    // The worker reads the document's model: it must be done before the model can go.
    m_cancel->store(true);
    m_build->disconnect(this);
    m_build->waitForFinished();
    m_build->deleteLater();
    m_build = nullptr;
}

void TimelineView::dropIndex()
{
    cancelBuild();
    m_names.reset();
    const bool had = m_index != nullptr;
    m_index.reset();
    m_layout = TimelineLayout();
    m_selectedType = TimelineFrame::SpanType::None;
    verticalScrollBar()->setRange(0, 0);
    viewport()->update();
    if (had)
        emit indexChanged();
}

void TimelineView::relayout()
{
    if (!m_index)
        return;
    m_layout.build(*m_index, m_collapsed);
    QFont bold = font();
    bold.setBold(true);
    QFontMetrics fm(bold);
    int widest = 0;
    for (const TimelineLane& lane : m_index->lanes())
        widest = std::max(widest, fm.horizontalAdvance(QStringLiteral("⚠ ") + lane.label()));
    // A run's process headers too ("▾ pid 101 worker", indented by depth), up to the clamp.
    if (m_index->groups().size() > 1)
        for (const TimelineProcessGroup& g : m_index->groups())
            widest = std::max(widest, fm.horizontalAdvance(QStringLiteral("▾ ") + g.name) + 10 * std::min(g.depth, 4) - 8);
    m_labelWidth = std::clamp(widest + 24, 120, 260);
    const int visible = viewport()->height() - TimelineLayout::kRulerHeight - legendHeight(viewport()->width());
    verticalScrollBar()->setRange(0, std::max(0, m_layout.contentHeight() - visible));
    verticalScrollBar()->setPageStep(std::max(1, visible));
    verticalScrollBar()->setSingleStep(20);
}

quint64 TimelineView::visibleFrom() const
{
    return m_state->visibleTo() > m_state->visibleFrom() ? m_state->visibleFrom() : 0;
}

quint64 TimelineView::visibleTo() const
{
    if (m_state->visibleTo() > m_state->visibleFrom())
        return m_state->visibleTo();
    quint64 d = m_index ? m_index->durationNs() : m_document->durationNs();
    return std::max<quint64>(d, 1);
}

int TimelineView::neededHeight() const
{
    if (!m_index)
        return 0;
    return TimelineLayout::kRulerHeight + m_layout.contentHeight() + legendHeight(viewport()->width())
        + 2 * frameWidth() + 8;
}

int TimelineView::legendHeight(int width) const
{
    return TimelineFrameBuilder::legendHeightFor(width, font(), m_index.get());
}

TimelineFrame TimelineView::currentFrame(const QSize& size) const
{
    TimelineFrame f;
    f.size = size;
    f.labelWidth = m_labelWidth;
    f.legendHeight = legendHeight(size.width());
    f.from = visibleFrom();
    f.to = visibleTo();
    f.scrollY = verticalScrollBar()->value();
    f.playhead = m_state->playhead();
    f.selectedThreads = m_state->selectedThreads();
    f.selectedObjects = m_state->selectedObjects();
    f.selectedPart = m_document->isLoaded() ? m_document->activePart() : 0;
    f.selectedType = m_selectedType;
    f.selectedRef = m_selectedRef;
    f.selectedFinding = m_state->selectedFinding();
    f.showKeys = m_showKeys;
    if (m_build)
        f.placeholder = tr("Building the timeline…");
    else if (m_document->isLoading())
        f.placeholder = tr("Loading the trace…");
    else if (!m_document->isLoaded())
        f.placeholder = m_placeholder.isEmpty() ? tr("Open a trace (File > Open) to see its timeline") : m_placeholder;
    return f;
}

void TimelineView::renderTimeline(QPainter& painter, const QSize& size)
{
    renderFrame(painter, currentFrame(size));
}

void TimelineView::renderFrame(QPainter& painter, const TimelineFrame& frame)
{
    TimelinePalette palette(this->palette());
    TimelineFrameBuilder builder(m_index.get(), m_index ? &m_layout : nullptr, palette, font(), m_names.get());
    builder.build(frame).paint(painter);
}

void TimelineView::paintEvent(QPaintEvent*)
{
    QPainter painter(viewport());
    renderTimeline(painter, viewport()->size());
}

namespace {

// The picture's title on one line, or on two when one is too narrow (broken at a space; the
// second elided only if even two lines cannot hold it): a PNG has no tooltip to show the rest.
QStringList titleLines(const QString& title, const QFontMetrics& fm, int width)
{
    if (fm.horizontalAdvance(title) <= width)
        return { title };
    int cut = int(title.size());
    while (cut > 0 && (title[cut - 1] != QLatin1Char(' ') || fm.horizontalAdvance(title.left(cut - 1)) > width))
        cut--;
    if (cut <= 1)
        return { fm.elidedText(title, Qt::ElideRight, width) };
    return { title.left(cut - 1), fm.elidedText(title.mid(cut), Qt::ElideRight, width) };
}

} // namespace

int TimelineView::exportTitleHeight(int width) const
{
    QFont bold = font();
    bold.setBold(true);
    const QFontMetrics fm(bold);
    const double res = double(visibleTo() - visibleFrom()) / std::max(1, width - m_labelWidth);
    return kExportTitleHeight + (titleLines(exportTitle(res), fm, width - 16).size() - 1) * fm.height();
}

QSize TimelineView::defaultExportSize() const
{
    // As wide as a screen, and tall enough for every lane, the ruler, the legend and the title.
    const int width = std::max(viewport()->width(), 1600);
    const int lanes = m_index ? m_layout.contentHeight() : 400;
    const int height = exportTitleHeight(width) + TimelineLayout::kRulerHeight + lanes + legendHeight(width) + 2;
    return QSize(width, std::clamp(height, 200, 8000));
}

QString TimelineView::exportTitle(double resolutionNs) const
{
    // Times, not durations, and as precise as the picture: a 15 us range must not read
    // "31.0ms to 31.0ms".
    const double res = resolutionNs > 0 ? resolutionNs : currentFrame(viewport()->size()).nsPerPixel();
    QString title = QFileInfo(m_document->path()).fileName();
    title += QStringLiteral(" — %1 to %2")
                 .arg(TimelineRuler::timeAt(visibleFrom(), res), TimelineRuler::timeAt(visibleTo(), res));
    if (m_document->isLoaded())
        title += QStringLiteral(", playhead at %1").arg(TimelineRuler::timeAt(m_state->playhead(), res));
    const int finding = m_state->selectedFinding();
    if (m_document->isLoaded() && finding >= 0 && size_t(finding) < m_document->findings().size())
        title += QStringLiteral(" · finding %1: %2")
                     .arg(finding + 1)
                     .arg(QString::fromStdString(m_document->findings()[size_t(finding)].title));
    return title;
}

void TimelineView::renderExport(QPainter& painter, const QSize& size)
{
    painter.fillRect(QRect(QPoint(0, 0), size), palette().color(QPalette::Base));
    // The title: which trace, which stretch of it, which finding.
    QFont bold = font();
    bold.setBold(true);
    painter.setFont(bold);
    painter.setPen(palette().color(QPalette::Text));
    const int titleHeight = exportTitleHeight(size.width());
    TimelineFrame frame = currentFrame(QSize(size.width(), size.height() - titleHeight));
    const QRect titleRect(8, 0, size.width() - 16, titleHeight);
    painter.drawText(titleRect, int(Qt::AlignLeft | Qt::AlignVCenter),
                     titleLines(exportTitle(frame.nsPerPixel()), QFontMetrics(bold), titleRect.width()).join(QLatin1Char('\n')));
    // Every lane from the top when they fit; else from where the view is scrolled.
    const int lanesShown = frame.timeArea().height();
    if (m_layout.contentHeight() <= lanesShown)
        frame.scrollY = 0;
    frame.showKeys = false;
    painter.save();
    painter.translate(0, titleHeight);
    painter.setClipRect(QRect(QPoint(0, 0), frame.size));
    renderFrame(painter, frame);
    painter.restore();
}

bool TimelineView::exportImage(const QString& path, QString* error, QSize size)
{
    auto fail = [&](const QString& message) {
        if (error)
            *error = message;
        return false;
    };
    if (!m_index)
        return fail(tr("%1: nothing to export, no timeline is shown").arg(path));
    if (!size.isValid() || size.isEmpty())
        size = defaultExportSize();
    if (size.width() < 200 || size.height() < 120 || size.width() > 20000 || size.height() > 20000)
        return fail(tr("%1: a timeline picture is 200x120 to 20000x20000 pixels, not %2x%3")
                        .arg(path)
                        .arg(size.width())
                        .arg(size.height()));
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("png")) {
        QImage image(size, QImage::Format_ARGB32_Premultiplied);
        image.fill(palette().color(QPalette::Base));
        {
            QPainter painter(&image);
            renderExport(painter, size);
        }
        if (!image.save(path, "PNG"))
            return fail(tr("%1: cannot write the PNG file").arg(path));
        return true;
    }
    if (suffix == QLatin1String("svg")) {
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setSize(size);
        svg.setViewBox(QRect(QPoint(0, 0), size));
        svg.setTitle(exportTitle(currentFrame(QSize(size.width(), size.height() - exportTitleHeight(size.width()))).nsPerPixel()));
        svg.setDescription(QFileInfo(m_document->path()).fileName());
        QPainter painter;
        if (!painter.begin(&svg))
            return fail(tr("%1: cannot write the SVG file").arg(path));
        renderExport(painter, size);
        painter.end();
        if (!QFileInfo(path).isFile() || QFileInfo(path).size() == 0)
            return fail(tr("%1: cannot write the SVG file").arg(path));
        return true;
    }
    return fail(tr("%1: unknown image type (use .png or .svg)").arg(path));
}

void TimelineView::setPlaceholder(const QString& text)
{
    m_placeholder = text;
    viewport()->update();
}

void TimelineView::resizeEvent(QResizeEvent* event)
{
    QAbstractScrollArea::resizeEvent(event);
    relayout();
    m_state->setViewWidth(currentFrame(viewport()->size()).timeArea().width());
}

void TimelineView::scrollContentsBy(int, int)
{
    viewport()->update();
}

void TimelineView::changeEvent(QEvent* event)
{
    // A new desktop palette (light <-> dark) or font: colors and label widths follow.
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange) {
        relayout();
        viewport()->update();
    }
    QAbstractScrollArea::changeEvent(event);
}

void TimelineView::setRange(quint64 from, quint64 to, quint64 maxTo)
{
    const quint64 duration = std::max<quint64>(m_index ? m_index->durationNs() : m_document->durationNs(), 1);
    if (to < from)
        std::swap(from, to);
    const quint64 end = std::max(maxTo, duration);
    quint64 width = std::clamp<quint64>(to - from, std::min(kMinRangeNs, duration), duration);
    // Keep the range inside the run (or up to `maxTo`, a little past its end, so that what happens
    // at the very end is not drawn in the last pixels): pan stops at either end instead of
    // shrinking the range.
    if (from > end - width)
        from = end - width;
    m_state->setVisibleRange(from, from + width);
}

void TimelineView::zoomBy(double factor, std::optional<quint64> anchor)
{
    const quint64 from = visibleFrom(), to = visibleTo();
    // The keys zoom around the playhead while it is in view (a finding stays where it is on
    // screen), else around the middle.
    const quint64 playhead = m_state->playhead();
    const quint64 at = anchor.value_or(playhead >= from && playhead <= to ? playhead : from + (to - from) / 2);
    const double left = double(at - std::min(at, from)) * factor;
    const double right = double(std::max(at, to) - at) * factor;
    const double width = left + right;
    // A range already past the end (a finding at the end brought into view) may stay so.
    const quint64 maxTo = std::max(to, m_index ? m_index->durationNs() : m_document->durationNs());
    if (width < double(kMinRangeNs) && factor < 1) {
        const double scale = double(kMinRangeNs) / std::max(width, 1.0);
        setRange(quint64(std::max(0.0, double(at) - left * scale)), quint64(double(at) + right * scale), maxTo);
        return;
    }
    const double newFrom = std::max(0.0, double(at) - left);
    setRange(quint64(newFrom), quint64(newFrom + width), maxTo);
}

void TimelineView::panBy(double fraction)
{
    const quint64 from = visibleFrom(), to = visibleTo();
    const double delta = double(to - from) * fraction;
    if (delta < 0 && double(from) < -delta)
        setRange(0, to - from);
    else
        setRange(quint64(double(from) + delta), quint64(double(to) + delta));
}

void TimelineView::fit()
{
    const quint64 duration = std::max<quint64>(m_index ? m_index->durationNs() : m_document->durationNs(), 1);
    if (!m_index) {
        setRange(0, duration);
        return;
    }
    // What happened, with a margin either side: not the empty start-up before the first lock.
    const auto [first, last] = m_index->activityRange();
    const quint64 pad = std::max<quint64>((last - first) / 25, kMinRangeNs / 2);
    setRange(first - std::min(first, pad), std::min(duration, last + pad));
}

void TimelineView::focusFinding(int index)
{
    if (!m_document->isLoaded() || index < 0 || size_t(index) >= m_document->findings().size())
        return;
    const Finding& f = m_document->findings()[size_t(index)];
    const quint64 duration = std::max<quint64>(m_index ? m_index->durationNs() : m_document->durationNs(), 1);
    const quint64 moment = std::min(findingTime(f), duration);
    auto [from, to] = findingExtent(f);
    // A race: its earlier access too, the latest it can have been (its range's end).
    if (m_index)
        for (const TimelineRaceMark& m : m_index->raceMarks())
            if (m.finding == index)
                from = std::min(from, m.firstToNs);
    to = std::min(to, duration);
    from = std::min(from, to);
    const QList<quint32> threads = findingThreads(f);
    // A stretch that is most of the run (a lock-order cycle whose two edges are far apart) would
    // show nothing of either: then, as for an instant, the moment itself.
    // A race is the exception: its two accesses are the point, however far apart.
    if (to - from > duration / 4 && f.kind != "data-race")
        from = to = moment;
    quint64 width;
    if (to > from) {
        // Its own stretch with room around it; at least a fiftieth of the run and 20 us.
        const quint64 extent = to - from;
        width = std::max<quint64>({ extent + extent / 2, duration / 50, 20'000 });
    } else {
        // An instant (a misuse, a race, one edge): what its thread did just before and after,
        // three times over, at least 20 us and at most a fiftieth of the run.
        quint64 around = 0;
        if (m_index && !threads.isEmpty()) {
            const int part = m_document->findingPart(index);
            const auto before = m_index->prevEventTime(moment, threads.first(), part);
            const auto after = m_index->nextEventTime(moment, threads.first(), part);
            around = std::max(after.value_or(moment), moment) - std::min(before.value_or(moment), moment);
        }
        width = std::max<quint64>(20'000, std::min<quint64>(around * 3, std::max<quint64>(duration / 50, 20'000)));
    }
    width = std::min(width, duration);
    const quint64 extent = to - from;
    // The stretch centred; the moment never nearer the right edge than a tenth of the width,
    // even at the very end of the run (the range then runs a little past it).
    const quint64 centre = from + extent / 2;
    quint64 start = centre - std::min(centre, width / 2);
    if (moment + width / 10 > start + width)
        start = moment + width / 10 - width;
    setRange(start, start + width, duration + width / 10);
    if (!threads.isEmpty())
        ensureLaneVisible(threads.first());
    viewport()->update();
}

void TimelineView::zoomToSelection()
{
    if (!m_index)
        return;
    const int part = m_document->activePart();
    if (part >= m_index->partCount())
        return;
    const ReplayModel& model = m_index->model(part);
    const quint64 end = m_index->durationNs();
    std::optional<std::pair<quint64, quint64>> range;
    if (m_selectedType == TimelineFrame::SpanType::Wait && m_selectedRef < model.waitSpans().size()) {
        const WaitSpan& w = model.waitSpans()[m_selectedRef];
        range = { w.start, std::min<quint64>(w.end, end) };
    } else if (m_selectedType == TimelineFrame::SpanType::Hold && m_selectedRef < model.holdSpans().size()) {
        const HoldSpan& h = model.holdSpans()[m_selectedRef];
        range = { h.start, std::min<quint64>(h.end, end) };
    } else if (!m_state->selectedThreads().isEmpty()) {
        for (quint32 tid : m_state->selectedThreads()) {
            int li = m_index->laneOf(part, tid);
            if (li < 0)
                continue;
            const TimelineLane& lane = m_index->lanes()[size_t(li)];
            range = range ? std::pair(std::min(range->first, lane.startNs), std::max(range->second, lane.endNs))
                          : std::pair(lane.startNs, lane.endNs);
        }
    } else if (m_state->selectedFinding() >= 0) {
        for (const TimelineFindingMark& m : m_index->findingMarks())
            if (m.finding == m_state->selectedFinding())
                range = { m.timeNs - std::min<quint64>(m.timeNs, end / 20), std::min(end, m.timeNs + end / 20) };
    }
    if (!range)
        return;
    const quint64 pad = std::max<quint64>((range->second - range->first) / 10, kMinRangeNs / 2);
    setRange(range->first - std::min(range->first, pad), range->second + pad);
}

void TimelineView::setKeysOverlayVisible(bool visible)
{
    if (m_showKeys == visible)
        return;
    m_showKeys = visible;
    viewport()->update();
}

void TimelineView::keyPressEvent(QKeyEvent* event)
{
    switch (event->key()) {
    case Qt::Key_W:
    case Qt::Key_Up:
        zoomBy(kZoomStep);
        break;
    case Qt::Key_S:
    case Qt::Key_Down:
        zoomBy(1 / kZoomStep);
        break;
    case Qt::Key_A:
    case Qt::Key_Left:
        panBy(-kPanStep);
        break;
    case Qt::Key_D:
    case Qt::Key_Right:
        panBy(kPanStep);
        break;
    case Qt::Key_PageUp:
        verticalScrollBar()->triggerAction(QAbstractSlider::SliderPageStepSub);
        break;
    case Qt::Key_PageDown:
        verticalScrollBar()->triggerAction(QAbstractSlider::SliderPageStepAdd);
        break;
    case Qt::Key_Z:
        zoomToSelection();
        break;
    case Qt::Key_F:
        fit();
        break;
    case Qt::Key_Question:
        setKeysOverlayVisible(!m_showKeys);
        break;
    case Qt::Key_Escape:
        if (m_showKeys) {
            setKeysOverlayVisible(false);
        } else {
            m_selectedType = TimelineFrame::SpanType::None;
            m_state->clearSelectedEvent();
            m_state->setSelectedThreads({});
            m_state->setSelectedObjects({});
            viewport()->update();
        }
        break;
    default:
        QAbstractScrollArea::keyPressEvent(event);
        return;
    }
    event->accept();
}

void TimelineView::wheelEvent(QWheelEvent* event)
{
    const QPoint delta = event->angleDelta();
    if (event->modifiers() & Qt::ShiftModifier) {
        // Lanes scroll; some platforms turn shift+wheel into a horizontal delta.
        const int d = delta.y() ? delta.y() : delta.x();
        verticalScrollBar()->setValue(verticalScrollBar()->value() - d / 2);
    } else if (delta.y() != 0) {
        const TimelineFrame f = currentFrame(viewport()->size());
        const double x = event->position().x();
        std::optional<quint64> anchor;
        if (x >= f.labelWidth)
            anchor = std::min(f.timeAt(x), f.to);
        zoomBy(std::pow(kZoomStep, delta.y() / 120.0), anchor);
    } else if (delta.x() != 0) {
        panBy(-delta.x() / 120.0 * kPanStep);
    }
    event->accept();
}

int TimelineView::playheadX() const
{
    return int(std::lround(currentFrame(viewport()->size()).xOf(m_state->playhead())));
}

void TimelineView::mousePressEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton || !m_index)
        return QAbstractScrollArea::mousePressEvent(event);
    const TimelineFrame f = currentFrame(viewport()->size());
    const QPoint pos = event->position().toPoint();
    m_pressPos = pos;
    m_pressFrom = f.from;
    m_pressTo = f.to;
    if (pos.x() >= f.labelWidth && (pos.y() < TimelineLayout::kRulerHeight || std::abs(pos.x() - playheadX()) <= kPlayheadGrab)) {
        m_drag = Drag::Playhead;
        m_state->setPlayhead(std::min(f.timeAt(pos.x()), f.to));
    } else {
        m_drag = Drag::Pending;
    }
    event->accept();
}

void TimelineView::mouseMoveEvent(QMouseEvent* event)
{
    const QPoint pos = event->position().toPoint();
    const TimelineFrame f = currentFrame(viewport()->size());
    if (m_drag == Drag::Playhead) {
        m_state->setPlayhead(std::min(f.timeAt(std::max(pos.x(), f.labelWidth)), f.to));
    } else if (m_drag == Drag::Pending && (pos - m_pressPos).manhattanLength() > 3) {
        m_drag = Drag::Pan;
        viewport()->setCursor(Qt::ClosedHandCursor);
    }
    if (m_drag == Drag::Pan) {
        // Relative to where the drag began, so rounding never accumulates.
        const double ns = double(pos.x() - m_pressPos.x()) * double(m_pressTo - m_pressFrom) / f.timeArea().width();
        const double from = std::max(0.0, double(m_pressFrom) - ns);
        setRange(quint64(from), quint64(from) + (m_pressTo - m_pressFrom));
        if (pos.y() != m_pressPos.y()) {
            verticalScrollBar()->setValue(verticalScrollBar()->value() - (pos.y() - m_pressPos.y()));
            m_pressPos.setY(pos.y());
        }
    }
    if (m_drag == Drag::None && m_index) {
        const bool onPlayhead = pos.x() >= f.labelWidth
            && (pos.y() < TimelineLayout::kRulerHeight || std::abs(pos.x() - playheadX()) <= kPlayheadGrab);
        viewport()->setCursor(onPlayhead ? Qt::SizeHorCursor : Qt::ArrowCursor);
    }
    event->accept();
}

void TimelineView::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton)
        return QAbstractScrollArea::mouseReleaseEvent(event);
    if (m_drag == Drag::Pending) {
        int race = raceAt(event->position().toPoint());
        if (race < 0)
            race = findingMarkAt(event->position().toPoint());
        if (race >= 0 && !(event->modifiers() & Qt::ControlModifier))
            ravel::gui::focusFinding(*m_document, *m_state, race);
        else
            selectAt(event->position().toPoint(), event->modifiers() & Qt::ControlModifier);
    }
    m_drag = Drag::None;
    viewport()->setCursor(Qt::ArrowCursor);
    event->accept();
}

TimelineView::Hit TimelineView::hitAt(const QPoint& pos) const
{
    Hit hit;
    if (!m_index)
        return hit;
    const TimelineFrame f = currentFrame(viewport()->size());
    const QRect area = f.timeArea();
    if (pos.y() < area.top() || pos.y() > area.bottom())
        return hit;
    TimelineLayout::Hit l = m_layout.hitTest(f.contentY(pos.y()));
    hit.lane = l.lane;
    hit.row = l.row;
    hit.group = l.group;
    hit.inLabels = pos.x() < f.labelWidth;
    if (hit.lane < 0 || hit.inLabels || hit.row < -1)
        return hit;
    hit.time = f.timeAt(pos.x());
    const TimelineLane& lane = m_index->lanes()[size_t(hit.lane)];
    const TimelineRow& row = hit.row == -1 ? lane.state : lane.shownHoldRow(hit.row);
    // The same query the frame drew, around the cursor: what is under it is what was painted.
    const double p = f.nsPerPixel();
    const quint64 slop = quint64(3 * p);
    std::vector<TimelineItem> items;
    row.query(hit.time - std::min(hit.time, slop), hit.time + slop + 1, p, items);
    double best = 1e9;
    for (const TimelineItem& item : items) {
        const double x0 = f.xOf(item.start), x1 = std::max(f.xOf(item.end), x0 + 1);
        const double d = pos.x() < x0 ? x0 - pos.x() : pos.x() > x1 ? pos.x() - x1 : 0;
        if (d <= 3 && d < best) {
            best = d;
            hit.item = item;
            hit.onItem = true;
        }
    }
    return hit;
}

void TimelineView::selectAt(const QPoint& pos, bool add)
{
    const Hit hit = hitAt(pos);
    if (hit.group >= 0 && m_index->groups().size() > 1) {
        setGroupCollapsed(hit.group, !isGroupCollapsed(hit.group));
        return;
    }
    if (hit.lane < 0) {
        if (!add) {
            m_selectedType = TimelineFrame::SpanType::None;
            m_state->clearSelectedEvent();
            m_state->setSelectedThreads({});
            m_state->setSelectedObjects({});
        }
        viewport()->update();
        return;
    }
    const TimelineLane& hitLane = m_index->lanes()[size_t(hit.lane)];
    // Another process's lane: the selection moves into that process (ids are each part's own).
    if (hitLane.part != m_document->activePart()) {
        m_document->setActivePart(hitLane.part);
        add = false;
    }
    const ReplayModel& model = m_index->model(hitLane.part);
    const quint32 thread = hitLane.thread;
    QList<quint32> threads = add ? m_state->selectedThreads() : QList<quint32>();
    if (!threads.contains(thread))
        threads.append(thread);
    if (add || !hit.onItem) {
        if (!add) {
            m_selectedType = TimelineFrame::SpanType::None;
            m_state->clearSelectedEvent();
            m_state->setSelectedObjects({});
        }
        m_state->setSelectedThreads(threads);
        viewport()->update();
        return;
    }
    if (hit.row == -1) {
        const WaitSpan& w = model.waitSpans()[hit.item.ref];
        m_selectedType = TimelineFrame::SpanType::Wait;
        m_selectedRef = hit.item.ref;
        m_state->setSelectedThreads(threads);
        m_state->setSelectedObjects({ w.object });
        m_state->setSelectedEvent(w.thread, w.start, w.stack);
    } else {
        const HoldSpan& h = model.holdSpans()[hit.item.ref];
        m_selectedType = TimelineFrame::SpanType::Hold;
        m_selectedRef = hit.item.ref;
        m_state->setSelectedThreads(threads);
        m_state->setSelectedObjects({ h.object });
        m_state->setSelectedEvent(h.thread, h.start, h.stack);
    }
    viewport()->update();
}

void TimelineView::syncSelectedSpan()
{
    if (!m_index || !m_state->hasSelectedEvent()) {
        m_selectedType = TimelineFrame::SpanType::None;
        return;
    }
    if (m_document->activePart() >= m_index->partCount()) {
        m_selectedType = TimelineFrame::SpanType::None;
        return;
    }
    const ReplayModel& model = m_index->model(m_document->activePart());
    const quint32 thread = m_state->selectedEventThread();
    const quint64 t = m_state->selectedEventTime();
    // A click here already chose the span; another view's event is matched to the span it starts.
    if (m_selectedType == TimelineFrame::SpanType::Wait && m_selectedRef < model.waitSpans().size()
        && model.waitSpans()[m_selectedRef].thread == thread && model.waitSpans()[m_selectedRef].start == t)
        return;
    if (m_selectedType == TimelineFrame::SpanType::Hold && m_selectedRef < model.holdSpans().size()
        && model.holdSpans()[m_selectedRef].thread == thread && model.holdSpans()[m_selectedRef].start == t)
        return;
    m_selectedType = TimelineFrame::SpanType::None;
    if (const WaitSpan* w = model.blockedAt(thread, t); w && w->start == t) {
        m_selectedType = TimelineFrame::SpanType::Wait;
        m_selectedRef = quint32(w - model.waitSpans().data());
        return;
    }
    for (const HoldSpan* h : model.heldAt(thread, t)) {
        if (h->start == t) {
            m_selectedType = TimelineFrame::SpanType::Hold;
            m_selectedRef = quint32(h - model.holdSpans().data());
            return;
        }
    }
}

void TimelineView::ensureLaneVisible(quint32 thread)
{
    if (!m_index)
        return;
    const int li = m_index->laneOf(m_document->activePart(), thread);
    if (li < 0)
        return;
    // A lane in a collapsed process: the process opens, so what was chosen can be seen.
    const int group = m_index->processes()[size_t(processOfLane(li))].group;
    if (isGroupCollapsed(group))
        setGroupCollapsed(group, false);
    const TimelineLayout::Lane& g = m_layout.lanes()[size_t(li)];
    const int visible = viewport()->height() - TimelineLayout::kRulerHeight - legendHeight(viewport()->width());
    QScrollBar* bar = verticalScrollBar();
    if (g.top < bar->value())
        bar->setValue(g.top);
    else if (g.top + g.height > bar->value() + visible)
        bar->setValue(g.top + g.height - visible);
}

void TimelineView::followPlayhead(quint64 ns)
{
    // While the user drags the playhead, the view stays put; otherwise (playback, a finding
    // selected elsewhere) a playhead leaving the view brings the view along.
    if (m_drag == Drag::Playhead)
        return;
    const quint64 from = visibleFrom(), to = visibleTo();
    if (ns >= from && ns <= to)
        return;
    const quint64 width = to - from;
    setRange(ns - std::min(ns, width / 2), ns - std::min(ns, width / 2) + width);
}

QRect TimelineView::laneStateRect(quint32 thread) const
{
    if (!m_index)
        return {};
    const int li = m_index->laneOf(m_document->activePart(), thread);
    if (li < 0 || m_layout.lanes()[size_t(li)].height == 0)
        return {};
    const TimelineFrame f = currentFrame(viewport()->size());
    const TimelineLayout::Lane& g = m_layout.lanes()[size_t(li)];
    return QRect(f.labelWidth, f.widgetY(g.stateTop), f.timeArea().width(), TimelineLayout::kStateHeight);
}

int TimelineView::raceAt(const QPoint& pos) const
{
    if (!m_index)
        return -1;
    const TimelineFrame f = currentFrame(viewport()->size());
    if (!f.timeArea().contains(pos))
        return -1;
    // The second access's marker wins over a range that covers it (the range is wide).
    int inRange = -1;
    for (const TimelineRaceMark& m : m_index->raceMarks()) {
        const auto g = TimelineFrameBuilder::raceGeometry(f, *m_index, m_layout, m);
        if (!g)
            continue;
        if (g->second.adjusted(-2, 0, 2, 0).contains(pos))
            return m.finding;
        if (inRange < 0 && g->first.adjusted(-2, 0, 2, 0).contains(pos))
            inRange = m.finding;
    }
    return inRange;
}

int TimelineView::findingMarkAt(const QPoint& pos) const
{
    if (!m_index)
        return -1;
    const TimelineFrame f = currentFrame(viewport()->size());
    if (!f.timeArea().contains(pos))
        return -1;
    for (const TimelineFindingMark& m : m_index->findingMarks())
        if (const auto r = TimelineFrameBuilder::findingMarkRect(f, *m_index, m_layout, m); r && r->adjusted(-2, 0, 2, 0).contains(pos))
            return m.finding;
    return -1;
}

QRect TimelineView::findingMarkRect(int finding) const
{
    if (!m_index)
        return {};
    const TimelineFrame f = currentFrame(viewport()->size());
    for (const TimelineFindingMark& m : m_index->findingMarks())
        if (m.finding == finding)
            if (const auto r = TimelineFrameBuilder::findingMarkRect(f, *m_index, m_layout, m))
                return r->toAlignedRect().intersected(f.timeArea());
    return {};
}

std::pair<QRect, QRect> TimelineView::raceMarkerRects(int finding) const
{
    if (!m_index)
        return {};
    const TimelineFrame f = currentFrame(viewport()->size());
    for (const TimelineRaceMark& m : m_index->raceMarks())
        if (m.finding == finding)
            if (const auto g = TimelineFrameBuilder::raceGeometry(f, *m_index, m_layout, m))
                return { g->second.toAlignedRect(), g->first.toAlignedRect() };
    return {};
}

QString TimelineView::raceTooltip(int finding, const QPoint& pos) const
{
    const Finding& fi = m_document->findings()[size_t(finding)];
    const int part = m_document->findingPart(finding);
    const auto pair = racePairOf(m_document->model(part), fi, finding);
    if (!pair)
        return {};
    const TimelineFrame f = currentFrame(viewport()->size());
    const QString var = pair->variable.isEmpty() ? tr("memory") : pair->variable.toHtmlEscaped();
    QString text = tr("<b>Data race on %1</b> (finding %2)").arg(var).arg(finding + 1);
    const double tolerance = 2 * f.nsPerPixel();
    for (const TimelineRaceMark& m : m_index->raceMarks()) {
        if (m.finding != finding)
            continue;
        const auto g = TimelineFrameBuilder::raceGeometry(f, *m_index, m_layout, m);
        const bool onSecond = g && g->second.adjusted(-2, 0, 2, 0).contains(pos);
        const RaceAccess& a = onSecond ? pair->second : pair->first;
        text += QStringLiteral("<br>") + tr("%1: %2").arg(m_document->threadName(part, a.thread).toHtmlEscaped(), accessWhat(a));
        if (a.timeKnown)
            text += tr(" at %1").arg(TimelineRuler::timeAt(a.earliestNs, f.nsPerPixel()));
        else if (double(a.latestNs - a.earliestNs) <= tolerance)
            text += tr(" at ≈%1 (not timed)").arg(TimelineRuler::timeAt(a.latestNs, f.nsPerPixel()));
        else
            text += tr(", not timed: ≈ between %1 and %2").arg(TimelineRuler::timeAt(a.earliestNs, f.nsPerPixel()),
                                                                 TimelineRuler::timeAt(a.latestNs, f.nsPerPixel()));
        text += QStringLiteral("<br><i>") + tr("click to choose the finding") + QStringLiteral("</i>");
        break;
    }
    return text;
}

QString TimelineView::tooltipAt(const QPoint& pos)
{
    if (const int race = raceAt(pos); race >= 0)
        return raceTooltip(race, pos);
    if (const int mark = findingMarkAt(pos); mark >= 0 && size_t(mark) < m_document->findings().size()) {
        const Finding& f = m_document->findings()[size_t(mark)];
        const double res = currentFrame(viewport()->size()).nsPerPixel();
        return QStringLiteral("<b>%1</b><br>%2 %3<br><i>%4</i>")
            .arg(tr("Finding %1: misuse").arg(mark + 1), QString::fromStdString(f.title).toHtmlEscaped(),
                 tr("at %1").arg(TimelineRuler::timeAt(findingTime(f), res)), tr("click to choose the finding"));
    }
    const Hit hit = hitAt(pos);
    if (hit.group >= 0 && m_index && m_index->groups().size() > 1)
        return groupTooltip(hit.group);
    if (hit.lane < 0 || !m_index || !m_names)
        return {};
    const TimelineLane& lane = m_index->lanes()[size_t(hit.lane)];
    const int part = lane.part;
    const ReplayModel& model = m_index->model(part);
    const QString who = lane.label().toHtmlEscaped();
    const quint64 end = m_index->durationNs();
    // Times to the precision of the zoom; an end the trace cannot place is a range, with `≈`.
    const double res = currentFrame(viewport()->size()).nsPerPixel();
    auto kindName = [&](quint32 object) {
        return QString::fromUtf8(objectKindName(model.objects()[object].kind).data());
    };
    auto waitSince = [&](quint32 ref) {
        const WaitSpan& w = model.waitSpans()[ref];
        const auto [start, stop] = m_index->waitTimes(part, ref);
        const auto [lo, hi] = m_index->clockBounds(part, w.thread, start);
        QString s = tr("since %1").arg(TimelineRuler::approxAt(start, lo, hi, res));
        if (w.end == kOpenEnd && lane.exited && stop == lane.endNs)
            return s + tr(", until the thread exited at %1 (%2; the trace saw the wait never end)")
                           .arg(TimelineRuler::timeAt(stop, res), TimelineRuler::durationAt(stop - start, res));
        if (w.end == kOpenEnd)
            return s + QStringLiteral(", ") + tr("still blocked when the trace ends")
                + QStringLiteral(" (%1)").arg(TimelineRuler::durationAt(end - start, res));
        return s + tr(", for %1").arg(TimelineRuler::durationAt(stop - start, res));
    };
    auto sinceFor = [&](const TimelineHoldTimes& t, bool split, bool open, const char* openText) {
        QString s = tr("since %1").arg(TimelineRuler::approxAt(t.start, t.startLo, t.startHi, res));
        if (open)
            return s + QStringLiteral(", ") + tr(openText) + QStringLiteral(" (%1)").arg(TimelineRuler::durationAt(end - t.start, res));
        const bool approx = (t.startUncertain() || t.endUncertain()) && double(std::max(t.startHi - t.startLo, t.endHi - t.endLo)) > res;
        s += tr(", for %1%2").arg(approx ? QStringLiteral("≈") : QString(), TimelineRuler::durationAt(t.end - t.start, res));
        if (t.endUncertain())
            s += QStringLiteral("<br>") + tr("released %1").arg(TimelineRuler::approxAt(t.end, t.endLo, t.endHi, res));
        if (split)
            s += QStringLiteral("<br><i>") + tr("another thread's hold of it overlaps by the interpolated times; "
                                               "the handover is somewhere in the hatched part")
                + QStringLiteral("</i>");
        else if (approx)
            s += QStringLiteral("<br><i>") + tr("times between two clock stamps are interpolated") + QStringLiteral("</i>");
        return s;
    };
    if (hit.inLabels || hit.row < -1) {
        QString text = QStringLiteral("<b>%1</b><br>%2").arg(who, tr("started at %1").arg(TimelineRuler::timeAt(lane.startNs, res)));
        if (lane.exited)
            text += QStringLiteral("<br>") + tr("exited at %1").arg(TimelineRuler::timeAt(lane.endNs, res));
        if (lane.deadlocked)
            text += QStringLiteral("<br><b>") + tr("deadlocked") + QStringLiteral("</b>");
        return text;
    }
    if (!hit.onItem) {
        if (hit.row == -1 && hit.time >= lane.startNs && hit.time < lane.endNs)
            return QStringLiteral("<b>%1</b> %2").arg(who, tr("running"));
        return {};
    }
    const TimelineItem& item = hit.item;
    QString fold;
    if (item.count > 1)
        fold = (item.countSaturated() ? tr("over %1 spans in this pixel; the most severe:")
                                      : tr("%1 spans in this pixel; the most severe:"))
                   .arg(item.count) + QStringLiteral("<br>");
    if (hit.row == -1) {
        const WaitSpan& w = model.waitSpans()[item.ref];
        QString verb = waitKindOf(w) == SpanKind::WaitJoin ? tr("waits to join") : tr("waits for");
        if (w.op == ChanOp::Send)
            verb = tr("waits to send on");
        else if (w.op == ChanOp::Recv)
            verb = tr("waits to receive from");
        else if (w.op == ChanOp::Select)
            verb = tr("waits in a select on");
        QString text = fold + QStringLiteral("<b>%1</b> %2 %3 <b>%4</b><br>%5")
                                  .arg(who, verb, kindName(w.object), m_names->name(part, w.object).toHtmlEscaped(),
                                       waitSince(item.ref));
        if (w.op == ChanOp::Select && w.caseCount > 1)
            text += QStringLiteral("<br>") + tr("(and %1 more channels)").arg(w.caseCount - 1);
        if (const ModelChannel* chan = model.channel(w.object)) {
            const quint64 at = std::clamp<quint64>(hit.time, w.start, std::min<quint64>(w.end, end));
            if (chan->capacity == 0)
                text += QStringLiteral("<br>") + tr("unbuffered channel");
            else if (chan->capacity == UINT32_MAX)
                text += QStringLiteral("<br>") + tr("%1 messages buffered then (unbounded)").arg(model.occupancyAt(w.object, at));
            else
                text += QStringLiteral("<br>") + tr("%1 of %2 buffered then").arg(model.occupancyAt(w.object, at)).arg(chan->capacity);
        }
        if (w.outcome == WaitOutcome::Failed)
            text += QStringLiteral("<br>") + tr("gave up (timed out or failed)");
        return text;
    }
    const HoldSpan& h = model.holdSpans()[item.ref];
    QString text = fold + QStringLiteral("<b>%1</b> %2 %3 <b>%4</b><br>%5")
                              .arg(who, (h.flags & RAVEL_F_SHARED) ? tr("holds (shared)") : tr("holds"), kindName(h.object),
                                   m_names->name(part, h.object).toHtmlEscaped(),
                                   sinceFor(m_index->holdTimes(part, item.ref, true), isUncertainState(item.state), h.end == kOpenEnd, "still held when the trace ends"));
    if (h.flags & RAVEL_F_CONTENDED)
        text += QStringLiteral("<br>") + tr("had to wait for it");
    if (h.depth)
        text += QStringLiteral("<br>") + tr("re-locked %1 more times inside").arg(h.depth);
    if (lane.overflow && hit.row == TimelineLane::kShownHoldRows - 1)
        text += QStringLiteral("<br>") + tr("(this row folds sub-rows %1 to %2)").arg(hit.row + 1).arg(lane.holdRows.size());
    return text;
}

int TimelineView::processOfLane(int lane) const
{
    const std::vector<TimelineProcess>& processes = m_index->processes();
    auto it = std::upper_bound(processes.begin(), processes.end(), lane,
                               [](int v, const TimelineProcess& p) { return v < p.firstLane; });
    return it == processes.begin() ? 0 : int(it - processes.begin()) - 1;
}

bool TimelineView::isGroupCollapsed(int group) const
{
    return group >= 0 && size_t(group) < m_collapsed.size() && m_collapsed[size_t(group)];
}

void TimelineView::setGroupCollapsed(int group, bool collapsed)
{
    if (!m_index || group < 0 || size_t(group) >= m_collapsed.size() || m_collapsed[size_t(group)] == collapsed)
        return;
    m_collapsed[size_t(group)] = collapsed;
    relayout();
    viewport()->update();
    emit layoutChanged();
}

QRect TimelineView::groupHeaderRect(int group) const
{
    if (!m_index || group < 0 || size_t(group) >= m_layout.groups().size())
        return {};
    const TimelineFrame f = currentFrame(viewport()->size());
    return QRect(0, f.widgetY(m_layout.groups()[size_t(group)].top), viewport()->width(),
                 TimelineLayout::kProcessHeight)
        .intersected(QRect(0, f.timeArea().top(), viewport()->width(), f.timeArea().height()));
}

QString TimelineView::groupTooltip(int group) const
{
    const TimelineProcessGroup& g = m_index->groups()[size_t(group)];
    for (const TraceDocument::Process& p : m_document->processes()) {
        if (p.pid != g.pid)
            continue;
        QString text = QStringLiteral("<b>%1</b><br>%2").arg(tr("pid %1").arg(p.pid), p.command.toHtmlEscaped());
        if (p.parentInRun)
            text += QStringLiteral("<br>") + tr("started by pid %1 at %2").arg(p.parent).arg(TimelineRuler::timeAt(p.startNs, 1000));
        text += QStringLiteral("<br>") + (p.end.isEmpty() ? tr("how it ended is not known") : p.end);
        if (p.parts.size() > 1)
            text += QStringLiteral("<br>") + tr("%1 images (it exec'd %2 times)").arg(p.parts.size()).arg(p.parts.size() - 1);
        text += QStringLiteral("<br><i>%1</i>").arg(isGroupCollapsed(group) ? tr("click to show its threads")
                                                                           : tr("click to fold its threads away"));
        return text;
    }
    return {};
}

std::vector<TimelineSource> TimelineView::timelineSourcesOf(const TraceDocument& document)
{
    std::vector<TimelineSource> out;
    if (!document.isMultiProcess()) {
        TimelineSource s;
        s.model = &document.model(0);
        s.pid = document.trace(0).summary().pid;
        out.push_back(s);
        return out;
    }
    // Depth: how many recorded parents each process has above it.
    std::map<quint32, int> depth;
    for (const TraceDocument::Process& p : document.processes())
        depth[p.pid] = p.parentInRun && depth.count(p.parent) ? depth[p.parent] + 1 : 0;
    for (const TraceDocument::Process& p : document.processes()) {
        size_t threads = 0;
        for (int part : p.parts)
            threads += document.model(part).threads().size();
        const QString program = QFileInfo(QString::fromStdString(document.trace(p.parts.back()).summary().program)).fileName();
        // The end first: a long command line is what gets elided.
        QStringList detail;
        detail << (p.end.isEmpty() ? tr("end unknown") : p.end);
        detail << (threads == 1 ? tr("1 thread") : tr("%1 threads").arg(threads));
        if (p.parentInRun)
            detail << tr("child of pid %1").arg(p.parent);
        detail << p.command;
        for (size_t i = 0; i < p.parts.size(); i++) {
            const int part = p.parts[i];
            const TraceSummary& summary = document.trace(part).summary();
            TimelineSource s;
            s.model = &document.model(part);
            s.part = part;
            s.pid = p.pid;
            s.depth = depth[p.pid];
            s.firstImage = i == 0;
            if (i + 1 < p.parts.size())
                s.execNs = document.trace(p.parts[i + 1]).timeShift();
            if (i == 0) {
                s.groupName = tr("pid %1 %2").arg(p.pid).arg(program);
                s.groupDetail = detail.join(QStringLiteral("  ·  "));
            }
            if (p.parts.size() > 1) {
                QStringList argv;
                for (const std::string& a : summary.argv)
                    argv << QString::fromStdString(a);
                const QString command = argv.isEmpty() ? QString::fromStdString(summary.program) : argv.join(QLatin1Char(' '));
                if (summary.origin == RAVEL_ORIGIN_FORKED)
                    s.imageLabel = tr("image %1: forked from pid %2").arg(i + 1).arg(summary.ppid);
                else if (i == 0)
                    s.imageLabel = tr("image %1: %2").arg(i + 1).arg(command);
                else
                    s.imageLabel = tr("image %1: exec %2").arg(i + 1).arg(command);
            }
            out.push_back(s);
        }
    }
    return out;
}

bool TimelineView::viewportEvent(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const QString text = tooltipAt(help->pos());
        if (text.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), text, viewport());
        return true;
    }
    return QAbstractScrollArea::viewportEvent(event);
}

} // namespace ravel::gui
