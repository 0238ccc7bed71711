// TimelineRuler: tick spacing and the time labels of the ruler, in DESIGN.md's units ("0.5s",
// "250ms", "40us"), and durations for tooltips. Deep in a long run absolute labels would read
// "1204040us", so ticks are then labelled relative to a base time shown once ("1.204s +40us").
#pragma once

#include <QString>
#include <QtGlobal>

#include <vector>

namespace ravel::gui {

class TimelineRuler {
public:
    struct Tick {
        quint64 timeNs = 0;
        QString label; // empty for minor ticks
    };
    struct Ticks {
        quint64 step = 0;        // ns between major ticks
        QString base;            // non-empty: labels are relative to this time ("1.204s")
        std::vector<Tick> ticks; // majors with labels, minors (step / 5) without
    };

    // Ticks of [from, to) over widthPx pixels, majors at least minSpacingPx apart.
    static Ticks ticks(quint64 from, quint64 to, double widthPx, double minSpacingPx = 90);
    // The major step for nsPerPixel: 1, 2 or 5 times a power of ten, at least minSpacingPx apart.
    static quint64 step(double nsPerPixel, double minSpacingPx);
    // "250ms", "0.5s", "40us", "12ns": t in the unit that suits `step`, with the decimals it needs.
    static QString label(quint64 t, quint64 step);
    // A duration for people: "7.81 ms", "146 us", "2.3 s", "12 ns" (3 significant digits).
    static QString duration(quint64 ns);

    // Times and durations to the precision of the view: resolutionNs is what one pixel of the
    // timeline spans (TimelineFrame::nsPerPixel, ViewState::nsPerPixel); 0 means no view (the
    // default precision). Zoomed out these read as formatTraceTime and duration() do ("31.0ms",
    // "7.81 ms"); at 15 ns per pixel "31.01234ms" and "7.812 us", so two instants a pixel apart
    // never read the same.
    static QString timeAt(quint64 ns, double resolutionNs);
    static QString durationAt(quint64 ns, double resolutionNs);
    // A time the trace knows only to lie in [lo, hi] (interpolated, or an overlap split): "≈31.0123ms"
    // when the range is within a pixel, else "≈ between 31.0121ms and 31.0125ms".
    static QString approxTime(quint64 lo, quint64 hi, double resolutionNs);
    // An instant placed at t, known to lie in [lo, hi]: "31.01234ms" when exact (lo == hi),
    // "≈31.01234ms" when the range is within a pixel, else "≈31.01234ms (between 31.0ms and 32.0ms)".
    static QString approxAt(quint64 t, quint64 lo, quint64 hi, double resolutionNs);
};

} // namespace ravel::gui
