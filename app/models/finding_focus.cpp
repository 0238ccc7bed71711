#include "models/finding_focus.hpp"

#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <algorithm>
#include <tuple>
#include <vector>

namespace ravel::gui {

quint64 findingTime(const ravel::Finding& f)
{
    if (f.timeNs)
        return f.timeNs;
    quint64 t = 0;
    for (const ravel::FindingEdge& e : f.edges)
        t = std::max<quint64>(t, e.timeNs);
    for (const ravel::FindingThread& th : f.threads)
        t = std::max<quint64>(t, th.waitSinceNs);
    return t;
}

QList<quint32> findingThreads(const ravel::Finding& f)
{
    QList<quint32> ids;
    for (const ravel::FindingThread& t : f.threads)
        if (!ids.contains(t.id))
            ids << t.id;
    for (const ravel::FindingEdge& e : f.edges)
        if (!ids.contains(e.thread))
            ids << e.thread;
    return ids;
}

QList<quint32> findingObjects(const TraceDocument& document, const ravel::Finding& f)
{
    QList<quint32> out;
    for (const ravel::FindingObject& o : f.objects) {
        int i = document.objectIndex(o.address, o.generation);
        if (i >= 0 && !out.contains(quint32(i)))
            out << quint32(i);
    }
    return out;
}

void focusFinding(const TraceDocument& document, ViewState& state, int index)
{
    if (!document.isLoaded() || index < 0 || index >= int(document.findings().size())) {
        state.setSelectedFinding(-1);
        return;
    }
    const ravel::Finding& f = document.findings()[index];
    state.setPlayhead(findingTime(f));
    state.setSelectedThreads(findingThreads(f));
    state.setSelectedObjects(findingObjects(document, f));
    // The details pane shows where the first waiting thread is stuck, or where the cycle's first
    // edge asked for its lock: the stack a person reads first.
    auto waiter = std::find_if(f.threads.begin(), f.threads.end(), [](const auto& t) { return t.waitsFor >= 0; });
    if (waiter != f.threads.end())
        state.setSelectedEvent(waiter->id, waiter->waitSinceNs, waiter->waitStack);
    else if (!f.edges.empty())
        state.setSelectedEvent(f.edges.front().thread, f.edges.front().timeNs, f.edges.front().toStack);
    else if (!f.threads.empty())
        state.setSelectedEvent(f.threads.front().id, findingTime(f), f.threads.front().waitStack);
    state.setSelectedFinding(index);
}

std::optional<int> adjacentFinding(const TraceDocument& document, const ViewState& state, bool forward)
{
    if (!document.isLoaded() || document.findings().empty())
        return std::nullopt;
    const auto& findings = document.findings();
    // Time order, report order among equal times: the key of each finding.
    auto key = [&](int i) { return std::make_tuple(findingTime(findings[i]), i); };
    std::vector<int> order(findings.size());
    for (size_t i = 0; i < order.size(); i++)
        order[i] = int(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return key(a) < key(b); });
    const int current = state.selectedFinding();
    if (current >= 0 && current < int(findings.size())) {
        auto it = std::find(order.begin(), order.end(), current);
        if (forward)
            return it + 1 != order.end() ? std::optional<int>(*(it + 1)) : std::nullopt;
        return it != order.begin() ? std::optional<int>(*(it - 1)) : std::nullopt;
    }
    const quint64 t = state.playhead();
    if (forward) {
        for (int i : order)
            if (findingTime(findings[i]) >= t)
                return i;
        return std::nullopt;
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it)
        if (findingTime(findings[*it]) <= t)
            return *it;
    return std::nullopt;
}

} // namespace ravel::gui
