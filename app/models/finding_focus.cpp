#include "models/finding_focus.hpp"

#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <QString>

#include <algorithm>
#include <climits>
#include <tuple>
#include <vector>

namespace ravel::gui {

namespace {

bool isLockOrder(const ravel::Finding& f) { return f.kind == "potential-deadlock" || f.kind == "lock-order-inversion"; }

} // namespace

quint64 findingTime(const ravel::Finding& f)
{
    // A lock-order cycle is seen where its first edge takes its second lock: the pattern's start.
    if (isLockOrder(f) && !f.edges.empty() && f.edges.front().timeNs)
        return f.edges.front().timeNs;
    // A race: the access seen racing, the second of the pair (the analyzer's own time too).
    if (f.kind == "data-race" && !f.accesses.empty() && f.accesses.front().timeNs)
        return f.accesses.front().timeNs;
    if (f.timeNs)
        return f.timeNs;
    quint64 t = 0;
    for (const ravel::FindingEdge& e : f.edges)
        t = std::max<quint64>(t, e.timeNs);
    for (const ravel::FindingThread& th : f.threads)
        t = std::max<quint64>(t, th.waitSinceNs);
    return t;
}

std::pair<quint64, quint64> findingExtent(const ravel::Finding& f)
{
    const quint64 moment = findingTime(f);
    quint64 from = moment, to = moment;
    auto take = [&](quint64 t) {
        if (!t)
            return;
        from = std::min(from, t);
        to = std::max(to, t);
    };
    for (const ravel::FindingThread& th : f.threads)
        if (th.waitsFor >= 0)
            take(th.waitSinceNs);
    for (const ravel::FindingEdge& e : f.edges)
        take(e.timeNs);
    for (const ravel::FindingAccess& a : f.accesses)
        if (a.timeKnown || &a == &f.accesses.front())
            take(a.timeNs);
    return { from, to };
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
    for (const ravel::FindingAccess& a : f.accesses)
        if (!ids.contains(a.thread))
            ids << a.thread;
    return ids;
}

QList<quint32> findingObjects(const TraceDocument& document, const ravel::Finding& f)
{
    QList<quint32> out;
    for (const ravel::FindingObject& o : f.objects) {
        int i = document.objectIndex(o.address, o.generation);
        // Some findings (misuse) carry the generation only in their id, "o<address>.<generation>".
        if (i < 0 && o.id.find('.') != std::string::npos) {
            const quint32 generation = QString::fromStdString(o.id.substr(o.id.rfind('.') + 1)).toUInt();
            i = document.objectIndex(o.address, generation);
        }
        if (i >= 0 && !out.contains(quint32(i)))
            out << quint32(i);
    }
    return out;
}

void focusFinding(TraceDocument& document, ViewState& state, int index)
{
    if (!document.isLoaded() || index < 0 || index >= int(document.findings().size())) {
        state.setSelectedFinding(-1);
        return;
    }
    document.setActivePart(document.findingPart(index));
    const ravel::Finding& f = document.findings()[size_t(index)];
    state.setPlayhead(findingTime(f));
    state.setSelectedThreads(findingThreads(f));
    state.setSelectedObjects(findingObjects(document, f));
    // The details pane shows where the first waiting thread is stuck, or where the cycle's first
    // edge asked for its lock, or the racing access: the stack a person reads first.
    auto waiter = std::find_if(f.threads.begin(), f.threads.end(), [](const auto& t) { return t.waitsFor >= 0; });
    if (waiter != f.threads.end())
        state.setSelectedEvent(waiter->id, waiter->waitSinceNs, waiter->waitStack);
    else if (!f.edges.empty())
        state.setSelectedEvent(f.edges.front().thread, f.edges.front().timeNs, f.edges.front().toStack);
    else if (!f.accesses.empty())
        state.setSelectedEvent(f.accesses.front().thread, findingTime(f), f.accesses.front().stack);
    else if (!f.threads.empty())
        state.setSelectedEvent(f.threads.front().id, findingTime(f), f.threads.front().waitStack);
    state.setSelectedFinding(index);
    state.announceFindingFocused(index);
}

std::optional<int> adjacentFinding(const TraceDocument& document, const ViewState& state, bool forward)
{
    if (!document.isLoaded() || document.findings().empty())
        return std::nullopt;
    const auto& findings = document.findings();
    // Time order, report order among equal times: the key of each finding.
    // The playhead stops at the trace's end: so do the moments compared with it.
    auto moment = [&](int i) {
        const quint64 m = findingTime(findings[size_t(i)]);
        return state.duration() ? std::min(m, state.duration()) : m;
    };
    auto key = [&](int i) { return std::make_tuple(moment(i), i); };
    std::vector<int> order(findings.size());
    for (size_t i = 0; i < order.size(); i++)
        order[i] = int(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return key(a) < key(b); });
    // Where we are: the selected finding when the playhead is at its moment; otherwise the
    // playhead itself, and a finding exactly there is the next one (or the previous one).
    const quint64 t = state.playhead();
    const int current = state.selectedFinding();
    std::tuple<quint64, int> here(t, forward ? -1 : INT_MAX);
    if (current >= 0 && current < int(findings.size()) && moment(current) == t)
        here = key(current);
    if (forward) {
        for (int i : order)
            if (key(i) > here)
                return i;
        return order.front();
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it)
        if (key(*it) < here)
            return *it;
    return order.back();
}

} // namespace ravel::gui
