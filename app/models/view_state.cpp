#include "models/view_state.hpp"

#include <algorithm>

namespace ravel::gui {

ViewState::ViewState(QObject* parent)
    : QObject(parent)
{
}

void ViewState::setDuration(quint64 ns)
{
    m_duration = ns;
    if (m_duration && m_playhead > m_duration)
        setPlayhead(m_duration);
}

void ViewState::reset(quint64 durationNs)
{
    m_duration = durationNs;
    setSelectedFinding(-1);
    setSelectedThreads({});
    setSelectedObjects({});
    clearSelectedEvent();
    setPlayhead(0);
    setVisibleRange(0, durationNs);
}

void ViewState::setPlayhead(quint64 ns)
{
    if (m_duration)
        ns = std::min(ns, m_duration);
    if (ns == m_playhead)
        return;
    m_playhead = ns;
    emit playheadChanged(ns);
}

void ViewState::setVisibleRange(quint64 from, quint64 to)
{
    if (to < from)
        std::swap(from, to);
    if (from == m_visibleFrom && to == m_visibleTo)
        return;
    m_visibleFrom = from;
    m_visibleTo = to;
    emit visibleRangeChanged(from, to);
}

double ViewState::nsPerPixel() const
{
    return m_visibleTo > m_visibleFrom ? double(m_visibleTo - m_visibleFrom) / double(std::max(1, m_viewWidth)) : 0.0;
}

void ViewState::setViewWidth(int pixels)
{
    pixels = std::max(1, pixels);
    if (pixels == m_viewWidth)
        return;
    m_viewWidth = pixels;
    emit visibleRangeChanged(m_visibleFrom, m_visibleTo); // the precision of times changed
}

void ViewState::setSelectedThreads(const QList<quint32>& ravelTids)
{
    if (ravelTids == m_threads)
        return;
    m_threads = ravelTids;
    emit selectionChanged();
}

void ViewState::setSelectedObjects(const QList<quint32>& objectIndices)
{
    if (objectIndices == m_objects)
        return;
    m_objects = objectIndices;
    emit selectionChanged();
}

void ViewState::setSelectedFinding(int index)
{
    if (index < -1)
        index = -1;
    if (index == m_finding)
        return;
    m_finding = index;
    emit findingSelected(index);
}

void ViewState::setSelectedEvent(quint32 thread, quint64 timeNs, quint32 stack)
{
    if (m_hasEvent && thread == m_eventThread && timeNs == m_eventTime && stack == m_eventStack)
        return;
    m_hasEvent = true;
    m_eventThread = thread;
    m_eventTime = timeNs;
    m_eventStack = stack;
    emit eventSelected();
}

void ViewState::clearSelectedEvent()
{
    if (!m_hasEvent)
        return;
    m_hasEvent = false;
    m_eventThread = 0;
    m_eventTime = 0;
    m_eventStack = 0;
    emit eventSelected();
}

} // namespace ravel::gui
