#include "playback/playback_bar.hpp"

#include "models/trace_document.hpp"
#include "models/view_state.hpp"
#include "playback/playback_controller.hpp"
#include "timeline/timeline_ruler.hpp"

#include <QAction>
#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

namespace ravel::gui {

PlaybackBar::PlaybackBar(PlaybackController* controller, TraceDocument* document, ViewState* state, QWidget* parent)
    : QWidget(parent)
    , m_controller(controller)
    , m_document(document)
    , m_state(state)
    , m_layout(new QHBoxLayout(this))
    , m_speed(new QComboBox(this))
    , m_time(new QLabel(this))
{
    using PC = PlaybackController;
    m_prevFinding = makeAction(tr("Previous Finding"), tr("Jump to the previous finding"), QKeySequence(Qt::SHIFT | Qt::Key_N));
    m_prevEvent = makeAction(tr("Previous Event"), tr("Step to the previous event of the selected thread (all threads when none is selected)"), QKeySequence(Qt::Key_Comma));
    m_play = makeAction(tr("Play"), tr("Play / pause the replay"), QKeySequence(Qt::Key_Space));
    m_nextEvent = makeAction(tr("Next Event"), tr("Step to the next event of the selected thread (all threads when none is selected)"), QKeySequence(Qt::Key_Period));
    m_nextFinding = makeAction(tr("Next Finding"), tr("Jump to the next finding"), QKeySequence(Qt::Key_N));
    m_prevEventAll = makeAction(tr("Previous Event of Any Thread"), {}, QKeySequence(Qt::CTRL | Qt::Key_Comma));
    m_nextEventAll = makeAction(tr("Next Event of Any Thread"), {}, QKeySequence(Qt::CTRL | Qt::Key_Period));
    m_faster = makeAction(tr("Faster"), {}, QKeySequence(Qt::Key_BracketRight));
    m_slower = makeAction(tr("Slower"), {}, QKeySequence(Qt::Key_BracketLeft));
    m_start = makeAction(tr("To Start"), {}, QKeySequence(Qt::Key_Home));
    m_end = makeAction(tr("To End"), {}, QKeySequence(Qt::Key_End));

    QStyle* s = style();
    m_prevFinding->setIcon(s->standardIcon(QStyle::SP_MediaSkipBackward));
    m_prevEvent->setIcon(s->standardIcon(QStyle::SP_MediaSeekBackward));
    m_play->setIcon(s->standardIcon(QStyle::SP_MediaPlay));
    m_nextEvent->setIcon(s->standardIcon(QStyle::SP_MediaSeekForward));
    m_nextFinding->setIcon(s->standardIcon(QStyle::SP_MediaSkipForward));

    connect(m_prevFinding, &QAction::triggered, controller, [controller] { controller->jumpFinding(false); });
    connect(m_nextFinding, &QAction::triggered, controller, [controller] { controller->jumpFinding(true); });
    connect(m_prevEvent, &QAction::triggered, controller, [controller] { controller->stepEvent(false); });
    connect(m_nextEvent, &QAction::triggered, controller, [controller] { controller->stepEvent(true); });
    connect(m_prevEventAll, &QAction::triggered, controller, [controller] { controller->stepEvent(false, PC::Scope::AllThreads); });
    connect(m_nextEventAll, &QAction::triggered, controller, [controller] { controller->stepEvent(true, PC::Scope::AllThreads); });
    connect(m_play, &QAction::triggered, controller, &PlaybackController::togglePlay);
    connect(m_faster, &QAction::triggered, controller, &PlaybackController::faster);
    connect(m_slower, &QAction::triggered, controller, &PlaybackController::slower);
    connect(m_start, &QAction::triggered, controller, &PlaybackController::toStart);
    connect(m_end, &QAction::triggered, controller, &PlaybackController::toEnd);

    m_layout->setContentsMargins(4, 2, 4, 2);
    m_layout->setSpacing(2);
    for (QAction* a : { m_prevFinding, m_prevEvent, m_play, m_nextEvent, m_nextFinding }) {
        auto* b = new QToolButton(this);
        b->setDefaultAction(a);
        b->setAutoRaise(true);
        m_layout->addWidget(b);
    }
    for (double sp : PC::speeds())
        m_speed->addItem(sp < 1 ? QStringLiteral("%1x").arg(sp) : QStringLiteral("%1x").arg(int(sp)), sp);
    m_speed->setCurrentIndex(int(PC::speeds().indexOf(controller->speed())));
    m_speed->setToolTip(tr("Replay speed ([ slower, ] faster)"));
    m_speed->setFocusPolicy(Qt::NoFocus);
    m_layout->addWidget(m_speed);
    connect(m_speed, &QComboBox::activated, this,
            [this](int i) { m_controller->setSpeed(m_speed->itemData(i).toDouble()); });
    connect(controller, &PlaybackController::speedChanged, this,
            [this](double sp) { m_speed->setCurrentIndex(int(PlaybackController::speeds().indexOf(sp))); });

    // Fixed-width digits, so the label does not jitter while playing.
    m_time->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_time->setMinimumWidth(m_time->fontMetrics().horizontalAdvance(QStringLiteral("t = 000.000ms / 000.000ms")));
    m_time->setObjectName(QStringLiteral("playheadTime"));
    m_time->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_layout->addSpacing(8);
    m_layout->addWidget(m_time);
    m_layout->addStretch(1);

    connect(controller, &PlaybackController::playingChanged, this, [this](bool playing) {
        m_play->setText(playing ? tr("Pause") : tr("Play"));
        m_play->setIcon(style()->standardIcon(playing ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
    });
    connect(state, &ViewState::playheadChanged, this, &PlaybackBar::updateTime);
    // Zooming changes how many digits a time needs.
    connect(state, &ViewState::visibleRangeChanged, this, &PlaybackBar::updateTime);
    connect(document, &TraceDocument::loaded, this, &PlaybackBar::updateTime);
    connect(document, &TraceDocument::closed, this, &PlaybackBar::updateTime);
    connect(document, &TraceDocument::loaded, this, &PlaybackBar::updateEnabled);
    connect(document, &TraceDocument::closed, this, &PlaybackBar::updateEnabled);
    updateTime();
    updateEnabled();
}

QAction* PlaybackBar::makeAction(const QString& text, const QString& tip, const QKeySequence& key)
{
    auto* a = new QAction(text, this);
    a->setShortcut(key);
    // The window owns the keys: they work wherever the focus is, except in text fields.
    a->setShortcutContext(Qt::WindowShortcut);
    a->setToolTip(tip.isEmpty() ? text : tip);
    if (!key.isEmpty())
        a->setToolTip(a->toolTip() + QStringLiteral(" (%1)").arg(key.toString(QKeySequence::NativeText)));
    addAction(a);
    return a;
}

QList<QAction*> PlaybackBar::runActions() const
{
    auto sep = [this] {
        auto* a = new QAction(const_cast<PlaybackBar*>(this));
        a->setSeparator(true);
        return a;
    };
    return { m_play,          sep(), m_prevEvent, m_nextEvent, m_prevEventAll, m_nextEventAll, sep(),
             m_prevFinding,   m_nextFinding, sep(), m_slower, m_faster, sep(), m_start, m_end };
}

void PlaybackBar::setMinimap(QWidget* minimap)
{
    if (m_minimap) {
        m_layout->removeWidget(m_minimap);
        m_minimap->deleteLater();
    }
    m_minimap = minimap;
    // The minimap takes the stretch's place: the rest of the bar's width.
    delete m_layout->takeAt(m_layout->count() - 1);
    m_layout->addWidget(minimap, 1);
}

void PlaybackBar::updateTime()
{
    if (!m_document->isLoaded()) {
        m_time->setText(QStringLiteral("t = –"));
        return;
    }
    // As precise as one pixel of the timeline, as Details is: at a 15 us view two playhead
    // positions a pixel apart never read the same.
    const double res = m_state->nsPerPixel();
    m_time->setText(QStringLiteral("t = %1 / %2")
                        .arg(TimelineRuler::timeAt(m_state->playhead(), res),
                             TimelineRuler::timeAt(m_document->durationNs(), res)));
}

void PlaybackBar::updateEnabled()
{
    const bool on = m_document->isLoaded();
    for (QAction* a : { m_prevFinding, m_prevEvent, m_play, m_nextEvent, m_nextFinding, m_prevEventAll,
                        m_nextEventAll, m_start, m_end })
        a->setEnabled(on);
}

} // namespace ravel::gui
