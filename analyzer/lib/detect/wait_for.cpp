#include "detect/wait_for.hpp"

#include <algorithm>
#include <unordered_map>

namespace ravel {

Deadlock reduceWaitFor(const std::vector<WaitNode>& nodes)
{
    std::unordered_map<uint32_t, size_t> index;
    index.reserve(nodes.size() * 2);
    for (size_t i = 0; i < nodes.size(); i++)
        index[nodes[i].thread] = i;

    // canProceed[i]: node i will run again. Seeded by the running threads, then propagated until
    // nothing changes. Each round is O(edges); at most one round per node.
    std::vector<char> can(nodes.size(), 0);
    for (size_t i = 0; i < nodes.size(); i++)
        can[i] = !nodes[i].blocked;
    auto wakerCan = [&](uint32_t t) {
        auto it = index.find(t);
        return it == index.end() || can[it->second];
    };
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < nodes.size(); i++) {
            if (can[i])
                continue;
            const WaitNode& n = nodes[i];
            bool ok;
            if (n.mode == WaitMode::And)
                ok = !n.wakers.empty() && std::all_of(n.wakers.begin(), n.wakers.end(), wakerCan);
            else
                ok = std::any_of(n.wakers.begin(), n.wakers.end(), wakerCan);
            if (ok) {
                can[i] = 1;
                changed = true;
            }
        }
    }

    Deadlock d;
    bool exact = true;
    for (size_t i = 0; i < nodes.size(); i++) {
        if (!can[i]) {
            d.threads.push_back(nodes[i].thread);
            exact = exact && nodes[i].exact;
        }
    }
    if (d.threads.empty())
        return d;
    std::sort(d.threads.begin(), d.threads.end());
    d.verdict = exact ? Verdict::Certain : Verdict::Likely;

    // The cycle: repeatedly drop deadlocked threads that no other deadlocked thread waits for
    // (they hang on the cycle without being part of it). What remains is every cycle and knot.
    std::vector<uint32_t> core = d.threads;
    for (bool changed = true; changed;) {
        changed = false;
        std::vector<uint32_t> next;
        for (uint32_t t : core) {
            bool waitedOn = false;
            for (uint32_t u : core) {
                const WaitNode& n = nodes[index[u]];
                if (std::find(n.wakers.begin(), n.wakers.end(), t) != n.wakers.end()) {
                    waitedOn = true;
                    break;
                }
            }
            if (waitedOn)
                next.push_back(t);
            else
                changed = true;
        }
        core.swap(next);
    }
    d.cycle = core.empty() ? d.threads : core;
    return d;
}

} // namespace ravel
