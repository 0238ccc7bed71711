#include "playback/playback_controller.hpp"

#include "models/finding_focus.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <algorithm>
#include <cmath>

namespace ravel::gui {

PlaybackController::PlaybackController(TraceDocument* document, ViewState* state, QObject* parent)
    : QObject(parent)
    , m_document(document)
    , m_state(state)
{
    // About one playhead move per frame; painting follows the playhead, so more would be wasted.
    m_timer.setInterval(16);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &PlaybackController::tick);
    connect(document, &TraceDocument::closed, this, &PlaybackController::pause);
    connect(document, &TraceDocument::loaded, this, &PlaybackController::pause);
}

const QList<double>& PlaybackController::speeds()
{
    static const QList<double> s { 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64 };
    return s;
}

void PlaybackController::setSpeed(double speed)
{
    speed = std::clamp(speed, speeds().front(), speeds().back());
    if (speed == m_speed)
        return;
    m_speed = speed;
    emit speedChanged(speed);
}

void PlaybackController::faster()
{
    for (double s : speeds())
        if (s > m_speed) {
            setSpeed(s);
            return;
        }
}

void PlaybackController::slower()
{
    for (auto it = speeds().rbegin(); it != speeds().rend(); ++it)
        if (*it < m_speed) {
            setSpeed(*it);
            return;
        }
}

void PlaybackController::play()
{
    if (!m_document->isLoaded() || isPlaying())
        return;
    // Playing from the end starts over, as a media player does.
    if (m_state->playhead() >= m_document->durationNs())
        m_state->setPlayhead(0);
    m_carryNs = 0;
    m_clock.start();
    m_timer.start();
    emit playingChanged(true);
}

void PlaybackController::pause()
{
    if (!isPlaying())
        return;
    m_timer.stop();
    emit playingChanged(false);
}

void PlaybackController::togglePlay()
{
    if (isPlaying())
        pause();
    else
        play();
}

void PlaybackController::tick()
{
    if (!m_document->isLoaded()) {
        pause();
        return;
    }
    const double advance = double(m_clock.nsecsElapsed()) * m_speed + m_carryNs;
    m_clock.restart();
    const auto whole = quint64(std::floor(advance));
    m_carryNs = advance - double(whole);
    const quint64 end = m_document->durationNs();
    const quint64 next = std::min(end, m_state->playhead() + whole);
    m_state->setPlayhead(next);
    if (next >= end)
        pause();
}

std::optional<quint64> PlaybackController::scanModel(quint64 t, std::optional<quint32> thread, bool forward) const
{
    if (!m_document->isLoaded())
        return std::nullopt;
    const ravel::ReplayModel& model = m_document->model();
    std::optional<quint64> best;
    auto consider = [&](quint64 time) {
        if (time == ravel::kOpenEnd)
            return;
        if (forward ? time > t && (!best || time < *best) : time < t && (!best || time > *best))
            best = time;
    };
    auto considerThread = [&](const ravel::ModelThread& th) {
        consider(th.startNs);
        consider(th.exitNs);
        for (uint32_t i : th.holds) {
            consider(model.holdSpans()[i].start);
            consider(model.holdSpans()[i].end);
        }
        for (uint32_t i : th.waits) {
            consider(model.waitSpans()[i].start);
            consider(model.waitSpans()[i].end);
        }
    };
    if (thread) {
        if (const ravel::ModelThread* th = model.thread(*thread))
            considerThread(*th);
    } else {
        for (const ravel::ModelThread& th : model.threads())
            considerThread(th);
    }
    return best;
}

bool PlaybackController::stepEvent(bool forward, Scope scope)
{
    if (!m_document->isLoaded())
        return false;
    pause();
    std::optional<quint32> thread;
    if (scope == Scope::SelectedThread && !m_state->selectedThreads().isEmpty())
        thread = m_state->selectedThreads().first();
    const quint64 t = m_state->playhead();
    std::optional<quint64> next = m_navigator ? m_navigator(t, thread, forward) : scanModel(t, thread, forward);
    if (!next)
        return false;
    m_state->setPlayhead(*next);
    return m_state->playhead() != t;
}

bool PlaybackController::jumpFinding(bool forward)
{
    pause();
    std::optional<int> next = adjacentFinding(*m_document, *m_state, forward);
    if (!next)
        return false;
    focusFinding(*m_document, *m_state, *next);
    return true;
}

void PlaybackController::toStart()
{
    pause();
    m_state->setPlayhead(0);
}

void PlaybackController::toEnd()
{
    pause();
    m_state->setPlayhead(m_document->durationNs());
}

} // namespace ravel::gui
