// PlaybackController: replay of a trace at the playhead, without widgets (the playback bar and the
// tests drive it). Playing advances the playhead in real time scaled by the speed; stepping moves
// it to the next or previous event of the selected thread or of every thread; the finding jumps
// go through focusFinding so they select what the findings list would.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <functional>
#include <optional>

namespace ravel::gui {

class TraceDocument;
class ViewState;

class PlaybackController : public QObject {
    Q_OBJECT
public:
    enum class Scope { SelectedThread, AllThreads };
    // The time of the next (forward) or previous event strictly after / before t, of one thread or
    // of all (thread = nullopt). The timeline's lane index answers this in O(log n); without one
    // the controller scans the replay model's spans.
    using EventNavigator
        = std::function<std::optional<quint64>(quint64 t, std::optional<quint32> thread, bool forward)>;

    PlaybackController(TraceDocument* document, ViewState* state, QObject* parent = nullptr);

    static const QList<double>& speeds(); // 0.25x .. 64x
    double speed() const { return m_speed; }
    void setSpeed(double speed);
    void faster();
    void slower();

    bool isPlaying() const { return m_timer.isActive(); }
    void play();
    void pause();
    void togglePlay();

    // True when the playhead moved.
    bool stepEvent(bool forward, Scope scope = Scope::SelectedThread);
    bool jumpFinding(bool forward);
    void toStart();
    void toEnd();

    void setEventNavigator(EventNavigator navigator) { m_navigator = std::move(navigator); }
    // The fallback: event times from the replay model's hold and wait spans and thread lifetimes.
    std::optional<quint64> scanModel(quint64 t, std::optional<quint32> thread, bool forward) const;

signals:
    void playingChanged(bool playing);
    void speedChanged(double speed);

private:
    void tick();

    TraceDocument* m_document;
    ViewState* m_state;
    QTimer m_timer;
    QElapsedTimer m_clock;
    double m_speed = 1.0;
    double m_carryNs = 0; // sub-nanosecond remainder at slow speeds
    EventNavigator m_navigator;
};

} // namespace ravel::gui
