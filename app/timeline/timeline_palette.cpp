#include "timeline/timeline_palette.hpp"

namespace ravel::gui {

namespace {

// Hues chosen apart from each other and from the running green (degrees, HSV).
struct KindHue {
    SpanKind kind;
    int hue;
    int saturation;
};
constexpr KindHue kHues[] = {
    { SpanKind::WaitMutex, 4, 210 },      // red: the lock waits deadlocks are made of
    { SpanKind::WaitRwlock, 24, 210 },    // orange
    { SpanKind::WaitCond, 46, 200 },      // amber
    { SpanKind::WaitSemaphore, 275, 140 }, // purple
    { SpanKind::WaitBarrier, 178, 170 },  // teal
    { SpanKind::WaitJoin, 218, 170 },     // blue
    { SpanKind::WaitChanSend, 318, 160 }, // magenta
    { SpanKind::WaitChanRecv, 335, 120 }, // pink
    { SpanKind::WaitPipe, 195, 110 },     // slate
    { SpanKind::WaitOther, 0, 0 },        // gray
    { SpanKind::Hold, 205, 60 },          // held: quiet blue-gray (per-lock hues override)
    { SpanKind::HoldContended, 205, 90 },
    { SpanKind::HoldShared, 150, 60 },
    { SpanKind::HoldMany, 210, 25 },
};

} // namespace

TimelinePalette::TimelinePalette(const QPalette& palette)
{
    m_background = palette.color(QPalette::Base);
    m_dark = m_background.lightness() < 128;
    m_text = palette.color(QPalette::Text);
    m_labelBackground = palette.color(QPalette::Window);
    m_dimText = palette.color(QPalette::PlaceholderText);
    if (m_dimText == m_text || !m_dimText.isValid())
        m_dimText = m_dark ? m_text.darker(150) : m_text.lighter(250);
    m_laneAlt = m_dark ? m_background.lighter(115) : m_background.darker(104);
    m_grid = m_dark ? QColor(255, 255, 255, 28) : QColor(0, 0, 0, 22);
    m_selection = palette.color(QPalette::Highlight);
    m_selection.setAlpha(m_dark ? 60 : 40);
    m_selectionOutline = m_dark ? QColor(255, 255, 255) : QColor(0, 0, 0);
    m_playhead = m_dark ? QColor(255, 214, 10) : QColor(20, 20, 20);
    m_finding = QColor::fromHsv(356, 230, m_dark ? 255 : 215);
    m_handoff = m_dark ? QColor(230, 230, 240, 200) : QColor(40, 40, 70, 190);
    m_message = QColor::fromHsv(300, 200, m_dark ? 240 : 160, 210);
    // Muted, so everything that is not plain running stands out.
    m_running = m_dark ? QColor::fromHsv(125, 110, 115) : QColor::fromHsv(120, 70, 205);
    for (const KindHue& k : kHues) {
        int value = m_dark ? 215 : 225;
        int saturation = k.saturation;
        if (k.kind >= SpanKind::Hold)
            value = m_dark ? 150 : 200;
        m_kinds[size_t(k.kind)] = QColor::fromHsv(k.hue, saturation, value);
    }
    m_kinds[size_t(SpanKind::None)] = m_running;
}

QColor TimelinePalette::span(quint8 state) const
{
    size_t k = state & kKindMask;
    QColor c = k < size_t(SpanKind::Count) ? m_kinds[k] : m_kinds[size_t(SpanKind::WaitOther)];
    return isOpenState(state) ? c.darker(m_dark ? 110 : 125) : c;
}

QColor TimelinePalette::lockHold(quint32 object, quint8 state) const
{
    if (spanKindOf(state) == SpanKind::HoldShared)
        return span(state);
    // Golden-ratio steps spread neighbouring object indices far apart over the wheel without the
    // greens around the running colour's hue (a green fork read as "running"): 107 is 0.382 of
    // the 280 degrees left.
    constexpr unsigned kGreenFrom = 80, kGreenTo = 160, kSpan = 360 - (kGreenTo - kGreenFrom);
    int hue = int((kGreenTo + (object * 107u + 40u) % kSpan) % 360u);
    QColor c = QColor::fromHsv(hue, m_dark ? 90 : 70, m_dark ? 150 : 215);
    if (spanKindOf(state) == SpanKind::HoldContended)
        c = QColor::fromHsv(hue, m_dark ? 120 : 105, m_dark ? 165 : 200);
    return isOpenState(state) ? c.darker(115) : c;
}

QColor TimelinePalette::textOn(const QColor& fill) const
{
    return fill.lightness() > 140 ? QColor(20, 20, 20) : QColor(250, 250, 250);
}

std::vector<TimelinePalette::LegendEntry> TimelinePalette::legend(bool messages, bool races, bool misuse) const
{
    using Swatch = LegendEntry::Swatch;
    std::vector<LegendEntry> out;
    out.push_back({ m_running, QStringLiteral("running") });
    const std::pair<SpanKind, const char*> shown[] = {
        { SpanKind::WaitMutex, "mutex" },       { SpanKind::WaitRwlock, "rwlock" },
        { SpanKind::WaitCond, "cond var" },     { SpanKind::WaitSemaphore, "semaphore" },
        { SpanKind::WaitBarrier, "barrier" },   { SpanKind::WaitJoin, "join" },
        { SpanKind::WaitChanSend, "chan send" }, { SpanKind::WaitChanRecv, "chan recv" },
        { SpanKind::WaitOther, "other wait" },  { SpanKind::Hold, "lock held" },
    };
    for (const auto& [kind, text] : shown)
        out.push_back({ m_kinds[size_t(kind)], QString::fromLatin1(text) });
    out.push_back({ span(uint8_t(SpanKind::WaitMutex) | kOpenBit), QStringLiteral("never ended"), Swatch::Hatched });
    out.push_back({ m_handoff, QStringLiteral("unlock → lock"), Swatch::Arrow });
    if (messages)
        out.push_back({ m_message, QStringLiteral("send → receive"), Swatch::Arrow });
    if (races) {
        out.push_back({ m_finding, QStringLiteral("data race: access"), Swatch::RaceMark });
        out.push_back({ m_finding, QStringLiteral("≈ untimed racing access"), Swatch::RaceRange });
    }
    if (misuse)
        out.push_back({ m_finding, QStringLiteral("misuse"), Swatch::Cross });
    return out;
}

} // namespace ravel::gui
