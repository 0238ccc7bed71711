#include "timeline/timeline_ruler.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace ravel::gui {

namespace {

struct Unit {
    quint64 ns;
    const char* suffix;
};

// The unit for labels every `step` ns: seconds from 100 ms steps on ("0.5s"), and so on down.
Unit unitFor(quint64 step)
{
    if (step >= 100'000'000)
        return { 1'000'000'000, "s" };
    if (step >= 100'000)
        return { 1'000'000, "ms" };
    if (step >= 100)
        return { 1'000, "us" };
    return { 1, "ns" };
}

QString number(double value, int decimals)
{
    QString s = QString::number(value, 'f', decimals);
    if (s.contains(QLatin1Char('.'))) {
        while (s.endsWith(QLatin1Char('0')))
            s.chop(1);
        if (s.endsWith(QLatin1Char('.')))
            s.chop(1);
    }
    return s;
}

int decimalsFor(quint64 step, quint64 unit)
{
    int decimals = 0;
    for (quint64 u = unit; u > 1 && step % u != 0; u /= 10)
        decimals++;
    return decimals;
}

} // namespace

quint64 TimelineRuler::step(double nsPerPixel, double minSpacingPx)
{
    const double want = std::max(1.0, nsPerPixel * minSpacingPx);
    quint64 pow10 = 1;
    while (double(pow10) * 10 <= want && pow10 < 1'000'000'000'000'000ull)
        pow10 *= 10;
    for (quint64 m : { 1, 2, 5, 10 })
        if (double(pow10 * m) >= want)
            return pow10 * m;
    return pow10 * 10;
}

QString TimelineRuler::label(quint64 t, quint64 step)
{
    Unit u = unitFor(step);
    return number(double(t) / double(u.ns), decimalsFor(step, u.ns)) + QLatin1String(u.suffix);
}

QString TimelineRuler::duration(quint64 ns)
{
    if (ns < 1000)
        return QStringLiteral("%1 ns").arg(ns);
    const std::pair<double, const char*> units[] = { { 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" } };
    for (const auto& [scale, suffix] : units) {
        double v = double(ns) / scale;
        if (v >= 1) {
            int decimals = v >= 100 ? 0 : v >= 10 ? 1 : 2;
            return number(v, decimals) + QLatin1Char(' ') + QLatin1String(suffix);
        }
    }
    return QStringLiteral("%1 ns").arg(ns);
}

namespace {

// Decimals of `unit` that show `resolution` ns, at least `minimum`, at most down to the nanosecond.
int decimalsShowing(double unit, double resolution, int minimum)
{
    int decimals = minimum;
    if (resolution > 0)
        decimals = std::max(decimals, int(std::ceil(std::log10(unit / std::max(resolution, 1.0)) - 1e-9)));
    return std::clamp(decimals, 0, int(std::lround(std::log10(unit))));
}

} // namespace

QString TimelineRuler::timeAt(quint64 ns, double resolutionNs)
{
    // The units and least decimals of formatTraceTime (what the command line prints and parses).
    const std::tuple<double, const char*, int> units[] = { { 1e9, "s", 3 }, { 1e6, "ms", 1 }, { 1e3, "us", 1 } };
    for (const auto& [scale, suffix, minimum] : units)
        if (double(ns) >= scale)
            return QString::number(double(ns) / scale, 'f', decimalsShowing(scale, resolutionNs, minimum))
                + QLatin1String(suffix);
    return QStringLiteral("%1ns").arg(ns);
}

QString TimelineRuler::durationAt(quint64 ns, double resolutionNs)
{
    if (resolutionNs <= 0 || ns < 1000)
        return duration(ns);
    const std::pair<double, const char*> units[] = { { 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" } };
    for (const auto& [scale, suffix] : units) {
        const double v = double(ns) / scale;
        if (v >= 1) {
            const int significant = v >= 100 ? 0 : v >= 10 ? 1 : 2;
            return number(v, decimalsShowing(scale, resolutionNs, significant)) + QLatin1Char(' ') + QLatin1String(suffix);
        }
    }
    return duration(ns);
}

QString TimelineRuler::approxTime(quint64 lo, quint64 hi, double resolutionNs)
{
    if (hi < lo)
        std::swap(lo, hi);
    if (double(hi - lo) <= std::max(resolutionNs, 0.0))
        return QStringLiteral("≈") + timeAt(lo + (hi - lo) / 2, resolutionNs);
    return QStringLiteral("≈ between %1 and %2").arg(timeAt(lo, resolutionNs), timeAt(hi, resolutionNs));
}

QString TimelineRuler::approxAt(quint64 t, quint64 lo, quint64 hi, double resolutionNs)
{
    if (hi < lo)
        std::swap(lo, hi);
    if (lo == hi && lo == t)
        return timeAt(t, resolutionNs);
    if (double(hi - lo) <= std::max(resolutionNs, 0.0))
        return QStringLiteral("≈") + timeAt(t, resolutionNs);
    return QStringLiteral("≈%1 (between %2 and %3)")
        .arg(timeAt(t, resolutionNs), timeAt(lo, resolutionNs), timeAt(hi, resolutionNs));
}

TimelineRuler::Ticks TimelineRuler::ticks(quint64 from, quint64 to, double widthPx, double minSpacingPx)
{
    Ticks out;
    if (to <= from || widthPx < 1)
        return out;
    const double nsPerPixel = double(to - from) / widthPx;
    out.step = step(nsPerPixel, minSpacingPx);
    const quint64 minor = std::max<quint64>(1, out.step / 5);
    // Relative labels when an absolute one would be long: "1204040us" helps nobody.
    quint64 base = 0;
    if (label(to, out.step).size() > 8) {
        const quint64 decade = out.step * 10;
        base = from / decade * decade;
        Unit u = unitFor(std::max(base, decade));
        out.base = number(double(base) / double(u.ns), decimalsFor(decade, u.ns)) + QLatin1String(u.suffix);
    }
    for (quint64 t = (from + minor - 1) / minor * minor; t < to; t += minor) {
        Tick tick;
        tick.timeNs = t;
        if (t % out.step == 0) {
            if (!out.base.isEmpty())
                tick.label = QLatin1Char('+') + label(t - base, out.step);
            else
                tick.label = label(t, out.step);
        }
        out.ticks.push_back(tick);
    }
    return out;
}

} // namespace ravel::gui
