// TimelinePalette: the timeline's colors, derived from the desktop palette (light or dark) so
// spans keep their meaning and their contrast on either. Blocked kinds use saturated hues that
// stand out from the muted "running" green; a lock wait is red because a lock cycle is what the
// user came to find; held locks take a soft hue per lock so one lock reads as one color.
#pragma once

#include "models/timeline_state.hpp"

#include <QColor>
#include <QPalette>
#include <QString>

#include <vector>

namespace ravel::gui {

class TimelinePalette {
public:
    explicit TimelinePalette(const QPalette& palette = QPalette());

    bool isDark() const { return m_dark; }

    QColor background() const { return m_background; }
    QColor laneAlternate() const { return m_laneAlt; }
    QColor labelBackground() const { return m_labelBackground; }
    QColor text() const { return m_text; }
    QColor dimText() const { return m_dimText; }
    QColor grid() const { return m_grid; }
    QColor selection() const { return m_selection; }
    QColor selectionOutline() const { return m_selectionOutline; }
    QColor playhead() const { return m_playhead; }
    QColor finding() const { return m_finding; }
    QColor handoffArrow() const { return m_handoff; }
    QColor messageArrow() const { return m_message; }

    QColor running() const { return m_running; }
    // A span of the state or hold rows: its kind's color, darker when it never ended.
    QColor span(quint8 state) const;
    // A single lock's hold: a soft hue of its own, so one lock reads as one color across lanes.
    QColor lockHold(quint32 object, quint8 state) const;
    // Text drawn on top of a span filled with `fill`.
    QColor textOn(const QColor& fill) const;

    struct LegendEntry {
        enum class Swatch : quint8 {
            Fill,      // a span's color
            Hatched,   // "never ended"
            Arrow,     // a handoff or message arrow
            RaceMark,  // a race's timed access: a red bar across the lane
            RaceRange, // a race's untimed access: the faded, hatched range it lies in
            Cross,     // a misuse: a red cross on its thread's lane
        };
        QColor color;
        QString text;
        Swatch swatch = Swatch::Fill;
    };
    // The states and the handoff arrow always; message arrows, race and misuse markers when the
    // trace has them.
    std::vector<LegendEntry> legend(bool messages = false, bool races = false, bool misuse = false) const;

private:
    bool m_dark = false;
    QColor m_background, m_laneAlt, m_labelBackground, m_text, m_dimText, m_grid, m_selection,
        m_selectionOutline, m_playhead, m_finding, m_handoff, m_message, m_running;
    QColor m_kinds[size_t(SpanKind::Count)];
};

} // namespace ravel::gui
