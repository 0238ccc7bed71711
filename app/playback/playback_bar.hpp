// PlaybackBar: the strip above the timeline: previous/next finding, previous/next event, play and
// pause, the speed, "t = 1.204s" (the unit the CLI and the ruler use), and room for the minimap.
// Its actions carry the keyboard shortcuts and also fill the window's Run menu.
#pragma once

#include <QWidget>

class QAction;
class QComboBox;
class QHBoxLayout;
class QLabel;

namespace ravel::gui {

class PlaybackController;
class TraceDocument;
class ViewState;

class PlaybackBar : public QWidget {
    Q_OBJECT
public:
    PlaybackBar(PlaybackController* controller, TraceDocument* document, ViewState* state, QWidget* parent = nullptr);

    QList<QAction*> runActions() const; // in menu order, separators included
    QAction* playAction() const { return m_play; }
    QLabel* timeLabel() const { return m_time; }
    // The minimap (G3's MinimapWidget) fills the rest of the bar.
    void setMinimap(QWidget* minimap);

private:
    QAction* makeAction(const QString& text, const QString& tip, const QKeySequence& key);
    void updateTime();
    void updateEnabled();

    PlaybackController* m_controller;
    TraceDocument* m_document;
    ViewState* m_state;
    QHBoxLayout* m_layout;
    QComboBox* m_speed;
    QLabel* m_time;
    QWidget* m_minimap = nullptr;
    QAction* m_prevFinding;
    QAction* m_prevEvent;
    QAction* m_play;
    QAction* m_nextEvent;
    QAction* m_nextFinding;
    QAction* m_prevEventAll;
    QAction* m_nextEventAll;
    QAction* m_faster;
    QAction* m_slower;
    QAction* m_start;
    QAction* m_end;
};

} // namespace ravel::gui
