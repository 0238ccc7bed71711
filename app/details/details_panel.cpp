#include "details/details_panel.hpp"

#include "details/race_view.hpp"
#include "details/source_view.hpp"
#include "models/finding_focus.hpp"
#include "models/object_stats_model.hpp"
#include "models/race_pair.hpp"
#include "models/stack_model.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"
#include "models/timeline_index.hpp"
#include "timeline/timeline_ruler.hpp"

#include <QCheckBox>
#include <QDir>
#include <QEvent>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>
#include <optional>
#include <vector>

namespace ravel::gui {

namespace {

// The holds of `thread` at t as the timeline draws them: an exclusive lock's overlap split between
// two holders gives each its part, so Details never names two holders at one instant either.
std::vector<const ravel::HoldSpan*> heldAt(const ravel::ReplayModel& model, const TimelineIndex* index, quint32 thread,
                                           quint64 t)
{
    std::vector<const ravel::HoldSpan*> out;
    for (const ravel::HoldSpan* h : model.heldAt(thread, t)) {
        if (index) {
            const TimelineHoldTimes times = index->holdTimes(index->partOf(model), quint32(h - model.holdSpans().data()), true);
            if (t < times.start || (t >= times.end && h->end != ravel::kOpenEnd))
                continue;
        }
        out.push_back(h);
    }
    return out;
}

} // namespace

DetailsPanel::DetailsPanel(TraceDocument* document, ViewState* state, QWidget* parent)
    : QWidget(parent)
    , m_document(document)
    , m_state(state)
    , m_stack(new StackModel(document, this))
    , m_objects(new ObjectStatsModel(document, this))
    , m_objectProxy(new QSortFilterProxyModel(this))
    , m_summary(new QLabel(this))
    , m_tabs(new QTabWidget(this))
    , m_stackView(new QTreeView(this))
    , m_source(new SourceView(this))
    , m_race(new RaceView(document, this))
    , m_objectView(new QTableView(this))
    , m_onlySelected(new QCheckBox(tr("Only the selected objects"), this))
{
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setObjectName(QStringLiteral("detailsSummary"));
    m_summary->setContentsMargins(4, 2, 4, 2);

    m_stackView->setModel(m_stack);
    m_stackView->setRootIsDecorated(false);
    m_stackView->setUniformRowHeights(true);
    m_stackView->setAllColumnsShowFocus(true);
    m_stackView->header()->setSectionResizeMode(StackModel::FrameColumn, QHeaderView::ResizeToContents);
    m_stackView->header()->setSectionResizeMode(StackModel::FunctionColumn, QHeaderView::Interactive);
    m_stackView->header()->setStretchLastSection(true);
    m_stackView->setObjectName(QStringLiteral("stackView"));
    connect(m_stackView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) { showFrame(current.row()); });

    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(m_stackView);
    split->addWidget(m_source);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);
    m_tabs->addTab(split, tr("Stack and source"));
    // Only while a data race is the chosen finding: its two accesses side by side.
    m_raceTab = m_tabs->addTab(m_race, tr("Race: both accesses"));
    m_tabs->setTabVisible(m_raceTab, false);

    m_objectProxy->setSourceModel(m_objects);
    m_objectProxy->setSortRole(ObjectStatsModel::SortRole);
    m_objectProxy->setFilterRole(ObjectStatsModel::ObjectIndexRole);
    m_objectView->setModel(m_objectProxy);
    m_objectView->setSortingEnabled(true);
    // Hot first, as `ravel info` orders them: the longest total wait on top.
    m_objectView->sortByColumn(ObjectStatsModel::WaitTotalColumn, Qt::DescendingOrder);
    m_objectView->verticalHeader()->hide();
    m_objectView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_objectView->setWordWrap(false);
    m_objectView->setTextElideMode(Qt::ElideRight); // every cell's tooltip is its whole text
    m_objectView->setObjectName(QStringLiteral("objectStatsView"));
    // Every column in the pane's width, no horizontal scroll bar: the numbers as wide as they
    // need, the name at most a third of the width (elided), the notes in whatever is left.
    QHeaderView* columns = m_objectView->horizontalHeader();
    columns->setStretchLastSection(false);
    for (int c = 0; c < ObjectStatsModel::ColumnCount; c++)
        columns->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    columns->setSectionResizeMode(ObjectStatsModel::NameColumn, QHeaderView::Interactive);
    columns->setSectionResizeMode(ObjectStatsModel::NotesColumn, QHeaderView::Stretch);
    // Rows as tall as a line of text, not the style's roomy default: the short pane shows more.
    m_objectView->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_objectView->verticalHeader()->setDefaultSectionSize(m_objectView->fontMetrics().height() + 6);
    connect(m_objects, &QAbstractItemModel::modelReset, this, &DetailsPanel::fitObjectColumns);
    m_objectView->viewport()->installEventFilter(this);
    connect(m_onlySelected, &QCheckBox::toggled, this, &DetailsPanel::onSelectionChanged);
    m_objectsTab = m_tabs->addTab(m_objectView, tr("Objects"));
    m_tabs->setDocumentMode(true);
    // The filter sits beside the tabs, so the table has the page's whole height; only while the
    // Objects tab is shown.
    m_onlySelected->setObjectName(QStringLiteral("onlySelectedObjects"));
    m_tabs->setCornerWidget(m_onlySelected, Qt::TopRightCorner);
    m_onlySelected->setVisible(false);
    connect(m_tabs, &QTabWidget::currentChanged, this,
            [this](int tab) { m_onlySelected->setVisible(tab == m_objectsTab); });

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_summary);
    layout->addWidget(m_tabs, 1);

    connect(state, &ViewState::eventSelected, this, &DetailsPanel::onEventSelected);
    connect(state, &ViewState::findingSelected, this, &DetailsPanel::onEventSelected);
    connect(state, &ViewState::findingSelected, this, [this] { syncRace(false); });
    // Choosing a race (again) shows its two accesses.
    connect(state, &ViewState::findingFocused, this, [this] { syncRace(true); });
    connect(document, &TraceDocument::closed, this, [this] { syncRace(false); });
    // With no event selected the summary is about the playhead's moment: it follows it.
    connect(state, &ViewState::playheadChanged, this, [this] {
        if (!m_state->hasSelectedEvent())
            onEventSelected();
    });
    connect(state, &ViewState::selectionChanged, this, [this] {
        if (!m_state->hasSelectedEvent())
            onEventSelected();
    });
    connect(state, &ViewState::selectionChanged, this, &DetailsPanel::onSelectionChanged);
    connect(document, &TraceDocument::closed, this, &DetailsPanel::onEventSelected);
    connect(document, &TraceDocument::loaded, this, &DetailsPanel::onEventSelected);
    // The precision of times follows the zoom.
    connect(state, &ViewState::visibleRangeChanged, this, &DetailsPanel::onEventSelected);
    connect(state, &ViewState::visibleRangeChanged, this, [this] { m_race->setResolution(m_state->nsPerPixel()); });
    onEventSelected();
}

void DetailsPanel::setTimelineIndex(std::function<const TimelineIndex*()> index)
{
    m_index = std::move(index);
    onEventSelected();
}

QString DetailsPanel::describe(const TraceDocument& document, quint32 thread, quint64 t, const TimelineIndex* index,
                               double res)
{
    if (!document.isLoaded())
        return {};
    const ravel::ReplayModel& model = document.model();
    auto timeText = [res](quint64 ns) { return TimelineRuler::timeAt(ns, res); };
    QString text = QStringLiteral("<b>%1</b>").arg(document.threadName(thread).toHtmlEscaped());
    const ravel::WaitSpan* w = model.blockedAt(thread, t);
    std::pair<quint64, quint64> waitTimes;
    if (w) {
        waitTimes = index ? index->waitTimes(index->partOf(model), quint32(w - model.waitSpans().data()))
                          : std::pair<quint64, quint64>(w->start, w->end);
        if (index && t >= waitTimes.second && w->end == ravel::kOpenEnd)
            w = nullptr; // its thread had exited: no wait after that
    }
    if (w) {
        const auto [lo, hi] = index ? index->clockBounds(index->partOf(model), thread, waitTimes.first)
                                    : std::pair<quint64, quint64>(waitTimes.first, waitTimes.first);
        text += tr(" waits for <b>%1</b> since %2")
                    .arg(document.objectName(w->object).toHtmlEscaped(), TimelineRuler::approxAt(waitTimes.first, lo, hi, res));
        QStringList holders;
        for (const ravel::ModelThread& other : model.threads()) {
            if (other.id == thread)
                continue;
            for (const ravel::HoldSpan* h : heldAt(model, index, other.id, t))
                if (h->object == w->object && !holders.contains(document.threadName(other.id)))
                    holders << document.threadName(other.id);
        }
        if (!holders.isEmpty())
            text += tr(" · held by %1").arg(holders.join(QStringLiteral(", ")).toHtmlEscaped());
        if (w->end == ravel::kOpenEnd && index && waitTimes.second < index->durationNs())
            text += tr(" · until its thread exited at %1").arg(timeText(waitTimes.second));
        else if (w->end == ravel::kOpenEnd)
            text += tr(" · <b>never woken</b> (still waiting when the trace ends)");
        else
            text += tr(" · waited %1").arg(TimelineRuler::durationAt(waitTimes.second - waitTimes.first, res));
    } else {
        // The moment a hold of this thread starts (a clicked hold): `≈` when that start is a range.
        std::optional<TimelineHoldTimes> starting;
        if (index)
            for (const ravel::HoldSpan* h : model.heldAt(thread, t))
                if (h->start == t) {
                    const TimelineHoldTimes times = index->holdTimes(index->partOf(model), quint32(h - model.holdSpans().data()), true);
                    if (times.startUncertain())
                        starting = times;
                }
        const QString when = starting ? TimelineRuler::approxAt(starting->start, starting->startLo, starting->startHi, res)
                                      : timeText(t);
        // Not waiting says little on its own: whether the thread ran then, or was not there.
        const ravel::ModelThread* th = model.thread(thread);
        if (th && t < th->startNs)
            text += tr(" at %1: not started yet (starts at %2)").arg(when, timeText(th->startNs));
        else if (th && th->exitNs != ravel::kOpenEnd && t >= th->exitNs)
            text += tr(" at %1: exited at %2").arg(when, timeText(th->exitNs));
        else
            text += tr(" at %1: running, waiting for nothing").arg(when);
    }
    QStringList held;
    for (const ravel::HoldSpan* h : heldAt(model, index, thread, t)) {
        QString name = document.objectName(h->object);
        if (index) {
            const TimelineHoldTimes times = index->holdTimes(index->partOf(model), quint32(h - model.holdSpans().data()), true);
            if (times.startUncertain() && h->start != t) // at its start the line says so already
                name += tr(" (taken %1)").arg(TimelineRuler::approxAt(times.start, times.startLo, times.startHi, res));
        }
        held << name;
    }
    if (!held.isEmpty())
        text += tr(" · holds %1").arg(held.join(QStringLiteral(", ")).toHtmlEscaped());
    return text;
}

QString DetailsPanel::describeMoment(const TraceDocument& document, quint64 t, const TimelineIndex* index, double res)
{
    if (!document.isLoaded())
        return {};
    auto timeText = [res](quint64 ns) { return TimelineRuler::timeAt(ns, res); };
    const ravel::ReplayModel& model = document.model();
    int alive = 0;
    QStringList blocked;
    int blockedCount = 0;
    for (const ravel::ModelThread& th : model.threads()) {
        if (th.startNs > t || (th.exitNs != ravel::kOpenEnd && th.exitNs <= t))
            continue;
        alive++;
        if (const ravel::WaitSpan* w = model.blockedAt(th.id, t)) {
            if (index && t >= index->waitTimes(index->partOf(model), quint32(w - model.waitSpans().data())).second)
                continue;
            if (++blockedCount <= 3)
                blocked << tr("%1 waits for %2").arg(document.threadName(th.id), document.objectName(w->object));
        }
    }
    QString text = alive == 1 ? tr("At %1: 1 thread alive").arg(timeText(t))
                              : tr("At %1: %2 threads alive").arg(timeText(t)).arg(alive);
    if (blockedCount == 0)
        return text + tr(", none blocked");
    text += tr(", %1 blocked").arg(blockedCount);
    if (blockedCount > blocked.size())
        blocked << tr("…");
    return text + QStringLiteral(" (") + blocked.join(QStringLiteral("; ")).toHtmlEscaped() + QStringLiteral(")");
}

QString DetailsPanel::describeFinding(const TraceDocument& document, int index, double res)
{
    auto timeText = [res](quint64 ns) { return TimelineRuler::timeAt(ns, res); };
    if (!document.isLoaded() || index < 0 || size_t(index) >= document.findings().size())
        return {};
    const ravel::Finding& f = document.findings()[size_t(index)];
    QString text = tr("<b>Finding %1</b>: %2 · at %3")
                       .arg(index + 1)
                       .arg(QString::fromStdString(f.title).toHtmlEscaped(), timeText(findingTime(f)));
    QStringList objects;
    for (quint32 o : findingObjects(document, f))
        objects << document.objectName(o);
    if (objects.size() > 4)
        objects = objects.mid(0, 4) << tr("…");
    if (!objects.isEmpty())
        text += tr(" · on %1").arg(objects.join(QStringLiteral(", ")).toHtmlEscaped());
    if (const auto pair = racePairOf(document.model(), f, index)) {
        const QString why = raceExplanation(
            *pair, [&](quint32 t) { return document.threadName(t); },
            [&](quint32 o) { return document.objectName(o); });
        // `name` in code style, as the report's words quote it.
        QString html = why.toHtmlEscaped();
        html.replace(QRegularExpression(QStringLiteral("`([^`]*)`")), QStringLiteral("<code>\\1</code>"));
        text += QStringLiteral("<br>") + html;
    }
    return text;
}

void DetailsPanel::syncRace(bool focus)
{
    const int finding = m_state->selectedFinding();
    m_race->setResolution(m_state->nsPerPixel());
    const bool race = m_document->isLoaded() && m_race->showRace(finding);
    m_tabs->setTabVisible(m_raceTab, race);
    if (race && focus)
        m_tabs->setCurrentIndex(m_raceTab);
}

void DetailsPanel::onEventSelected()
{
    if (!m_document->isLoaded()) {
        m_summary->setText(tr("No trace open."));
        m_stack->setStack(0);
        m_source->showMessage({});
        return;
    }
    // Always something to read: the chosen finding, then what the selected event, thread or
    // (with nothing selected) the whole program is doing at that moment.
    const TimelineIndex* index = m_index ? m_index() : nullptr;
    const double res = m_state->nsPerPixel();
    QStringList lines;
    if (m_state->selectedFinding() >= 0)
        lines << describeFinding(*m_document, m_state->selectedFinding(), res);
    if (!m_state->hasSelectedEvent()) {
        if (!m_state->selectedThreads().isEmpty())
            lines << describe(*m_document, m_state->selectedThreads().first(), m_state->playhead(), index, res);
        else
            lines << describeMoment(*m_document, m_state->playhead(), index, res);
        lines << QStringLiteral("<i>%1</i>").arg(
            tr("Click a span on the timeline, or choose a finding, to see its stack and source."));
        m_summary->setText(lines.join(QStringLiteral("<br>")));
        m_stack->setStack(0);
        m_source->showMessage({});
        return;
    }
    lines << describe(*m_document, m_state->selectedEventThread(), m_state->selectedEventTime(), index, res);
    m_stack->setStack(m_state->selectedEventStack());
    if (!m_stack->caveat().isEmpty())
        lines << QStringLiteral("<i>%1</i>").arg(m_stack->caveat().toHtmlEscaped());
    m_summary->setText(lines.join(QStringLiteral("<br>")));
    m_stackView->resizeColumnToContents(StackModel::FunctionColumn);
    const int row = m_stack->userFrameRow() >= 0 ? m_stack->userFrameRow() : 0;
    if (m_stack->rowCount() > 0)
        m_stackView->setCurrentIndex(m_stack->index(row, 0));
    else
        m_source->showMessage(tr("No stack was recorded for this event."));
}

void DetailsPanel::showFrame(int row)
{
    if (row < 0 || row >= m_stack->rowCount())
        return;
    const QModelIndex i = m_stack->index(row, 0);
    QString file = i.data(StackModel::FileRole).toString();
    // The symbolizer shows paths under the current directory relative to it.
    if (!file.isEmpty() && QFileInfo(file).isRelative())
        file = QDir::current().absoluteFilePath(file);
    m_source->showFile(file, i.data(StackModel::LineRole).toInt());
}

bool DetailsPanel::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_objectView->viewport() && event->type() == QEvent::Resize)
        fitObjectColumns();
    return QWidget::eventFilter(watched, event);
}

void DetailsPanel::fitObjectColumns()
{
    m_objectView->resizeColumnToContents(ObjectStatsModel::NameColumn);
    const int most = std::max(120, m_objectView->viewport()->width() / 3);
    if (m_objectView->columnWidth(ObjectStatsModel::NameColumn) > most)
        m_objectView->setColumnWidth(ObjectStatsModel::NameColumn, most);
}

void DetailsPanel::onSelectionChanged()
{
    const QList<quint32> objects = m_state->selectedObjects();
    if (!m_onlySelected->isChecked() || objects.isEmpty()) {
        m_objectProxy->setFilterRegularExpression(QRegularExpression());
        return;
    }
    QStringList alternatives;
    for (quint32 o : objects)
        alternatives << QString::number(o);
    m_objectProxy->setFilterRegularExpression(
        QRegularExpression(QStringLiteral("^(%1)$").arg(alternatives.join(QLatin1Char('|')))));
}

} // namespace ravel::gui
