// The global order of a decoded trace (internal to ravel_core): the index of per-object sequence
// numbers, and the k-way merge of the threads' cursors with the causal corrections that
// docs/trace-format.md ("Global order") specifies.
#pragma once

#include "trace/internal/thread_cursor.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace ravel::detail {

// For the causal merge: which per-object sequence numbers exist in the trace. Sequence numbers of
// one object are nearly always a dense range; only then (or when a bitmap of the range is cheap)
// can the merge know that a predecessor exists and wait for it.
struct ObjectSeqs {
    uint64_t obj = 0;
    uint32_t base = 0; // first sequence number seen; others are kept as signed offsets from it
    int64_t lo = 0, hi = 0;
    uint64_t count = 0;
    enum Mode : uint8_t { Dense, Bitmap, Unknown } mode = Dense;
    size_t bits = 0; // index of the first word in ObjectIndex::bitmap

    bool exists(uint32_t seq, const std::vector<uint64_t>& bitmap) const
    {
        int64_t off = int32_t(seq - base);
        if (off < lo || off > hi || mode == Unknown)
            return false;
        if (mode == Dense)
            return true;
        uint64_t b = uint64_t(off - lo);
        return bitmap[bits + b / 64] >> (b % 64) & 1;
    }
};

class ObjectIndex {
public:
    // Returns the index of obj's entry, creating it.
    uint32_t insert(uint64_t obj)
    {
        if ((m_used + 1) * 2 > m_keys.size())
            grow();
        size_t mask = m_keys.size() - 1;
        for (size_t h = hash(obj) & mask;; h = (h + 1) & mask) {
            if (m_keys[h] == obj + 1)
                return m_vals[h];
            if (m_keys[h] == 0) {
                m_keys[h] = obj + 1;
                m_vals[h] = uint32_t(objects.size());
                ++m_used;
                objects.push_back(ObjectSeqs { obj });
                return m_vals[h];
            }
        }
    }
    uint32_t find(uint64_t obj) const
    {
        if (m_keys.empty())
            return NotFound;
        size_t mask = m_keys.size() - 1;
        for (size_t h = hash(obj) & mask;; h = (h + 1) & mask) {
            if (m_keys[h] == obj + 1)
                return m_vals[h];
            if (m_keys[h] == 0)
                return NotFound;
        }
    }
    static constexpr uint32_t NotFound = ~0u;
    std::vector<ObjectSeqs> objects;
    std::vector<uint64_t> bitmap;

private:
    static size_t hash(uint64_t k) { return size_t((k * 0x9E3779B97F4A7C15ull) >> 20); }
    void grow()
    {
        std::vector<uint64_t> keys(std::max<size_t>(64, m_keys.size() * 2));
        std::vector<uint32_t> vals(keys.size());
        size_t mask = keys.size() - 1;
        for (size_t j = 0; j < m_keys.size(); ++j) {
            if (!m_keys[j])
                continue;
            size_t h = hash(m_keys[j] - 1) & mask;
            while (keys[h])
                h = (h + 1) & mask;
            keys[h] = m_keys[j];
            vals[h] = m_vals[j];
        }
        m_keys.swap(keys);
        m_vals.swap(vals);
    }
    std::vector<uint64_t> m_keys; // obj + 1; 0 = empty
    std::vector<uint32_t> m_vals;
    size_t m_used = 0;
};

// The k-way merge; fn(const Cursor&, uint64_t time) takes each event (Cursor::fill makes it an
// Event). The current thread stays outside the heap and keeps the floor while its next
// event is not later than the heap's earliest; a switch swaps it with the heap's top (one sift
// down), so a busy interleaving of threads costs a few comparisons per switch.
// `prefetch`: decode chunks ahead on a thread of its own (a big trace's pass).
template <class F>
void mergeEvents(const std::vector<ThreadStream>& streams, const ObjectIndex& objects, F&& fn, bool prefetch = false)
{
    ChunkDecoder decoder;
    struct Delivered {
        uint32_t last = 0; // highest sequence number delivered
        bool any = false;
        uint32_t holder = 0; // cursor + 1 of the exclusive holder, 0 = free
        uint32_t depth = 0; // recursive acquisitions by the holder
        uint32_t waiters = 0; // held-back cursors waiting on this object
    };
    std::vector<Delivered> state(objects.objects.size());
    std::vector<Cursor> cur;
    cur.reserve(streams.size());
    // After `cur`: stopped before the cursors it decodes for are gone.
    std::optional<ChunkPrefetcher> ahead;
    if (prefetch)
        ahead.emplace();
    for (const ThreadStream& s : streams) {
        if (s.n == 0)
            continue;
        cur.emplace_back();
        cur.back().prefetcher = ahead ? &*ahead : nullptr;
        cur.back().start(s, decoder);
    }
    // Heap entries carry their key, so ordering them touches no cursor.
    struct Entry {
        uint64_t time;
        uint32_t tid;
        uint32_t cursor;
    };
    auto later = [](const Entry& a, const Entry& b) { return a.time > b.time || (a.time == b.time && a.tid > b.tid); };
    auto entry = [&](uint32_t c) { return Entry { cur[c].time, cur[c].tid, c }; };
    std::vector<Entry> heap;
    heap.reserve(cur.size());
    for (uint32_t i = 0; i < cur.size(); ++i)
        heap.push_back(entry(i));
    std::make_heap(heap.begin(), heap.end(), later);
    auto siftDown = [&](Entry e) {
        const size_t n = heap.size();
        size_t i = 0;
        for (;;) {
            size_t m = 2 * i + 1;
            if (m >= n)
                break;
            if (m + 1 < n && later(heap[m], heap[m + 1]))
                ++m;
            if (!later(e, heap[m]))
                break;
            heap[i] = heap[m];
            i = m;
        }
        heap[i] = e;
    };
    auto push = [&](uint32_t c) {
        heap.push_back(entry(c));
        std::push_heap(heap.begin(), heap.end(), later);
    };
    std::vector<uint32_t> held; // cursors whose next event must wait for another thread's
    constexpr uint32_t None = ~0u;
    std::vector<uint32_t> heldOn(cur.size(), None); // the object a held cursor's event waits on
    // The next event goes without waiting: it closed a cycle of waits, or the clocks prove that
    // what is about to be delivered came after it.
    std::vector<uint8_t> exempt(cur.size(), 0);
    // No more than the smallest latest() of the held cursors (recomputed when it is passed).
    uint64_t heldLatest = UINT64_MAX;
    std::vector<uint32_t> chain;

    auto objectOf = [&](Cursor& c) {
        const uint64_t obj = c.rec().word & RAVEL_OBJ_MASK;
        if (obj == c.cachedObj[0])
            return c.cachedIndex[0];
        if (obj != c.cachedObj[1]) {
            c.cachedObj[1] = obj;
            c.cachedIndex[1] = objects.find(obj);
        }
        std::swap(c.cachedObj[0], c.cachedObj[1]);
        std::swap(c.cachedIndex[0], c.cachedIndex[1]);
        return c.cachedIndex[0];
    };
    // Times as delivered never decrease: an event held back for causality takes the time of the
    // event it waited for when its own (interpolated) time is earlier.
    uint64_t now = 0;
    auto deliver = [&](const Cursor& k) {
        now = std::max(now, k.time);
        return fn(k, now);
    };
    auto exclusive = [](const RavelEvent& e) {
        return (unsigned(e.word >> 48) & 0xff) == RAVEL_EV_ACQUIRED && !((e.word >> 56) & RAVEL_F_SHARED);
    };
    auto mustWait = [&](uint32_t c, uint32_t o) {
        const RavelEvent& e = cur[c].rec();
        const Delivered& d = state[o];
        // Another thread holds it exclusively: its release comes first, unless that thread has no
        // events left to release it with (it died holding it, or the trace ends).
        if ((unsigned(e.word >> 48) & 0xff) == RAVEL_EV_ACQUIRED && d.holder && d.holder != c + 1
            && cur[d.holder - 1].i < cur[d.holder - 1].n)
            return true;
        if (!isSequenced(unsigned(e.word >> 48) & 0xff) || e.aux == 0) // aux 0: not sequenced
            return false;
        const uint32_t pred = e.aux - 1;
        if (!objects.objects[o].exists(pred, objects.bitmap))
            return false;
        return !d.any || int32_t(pred - d.last) > 0;
    };
    auto unhold = [&](size_t j) {
        const uint32_t h = held[j];
        --state[heldOn[h]].waiters;
        heldOn[h] = None;
        held[j] = held.back();
        held.pop_back();
    };
    // The thread whose release c's acquisition waits for, None when c waits for a sequence number
    // (whose owner the merge does not know) or for nothing.
    auto blockerOf = [&](uint32_t c, uint32_t o) {
        const RavelEvent& e = cur[c].rec();
        const Delivered& d = state[o];
        if ((unsigned(e.word >> 48) & 0xff) == RAVEL_EV_ACQUIRED && d.holder && d.holder != c + 1
            && cur[d.holder - 1].i < cur[d.holder - 1].n)
            return d.holder - 1;
        return None;
    };
    // Only a wait for the release by a holder that is itself held back can be overruled by the
    // clocks: a sequence number is taken under the object's own lock, which beats clocks read on
    // two different cores, and a holder that can still run will release (its placed times may lag
    // the clocks, but delivering the acquisition first would show two holders: a misuse check
    // then reports a destroy of a locked mutex that never happened).
    auto overrulable = [&](uint32_t h) {
        const uint32_t b = blockerOf(h, heldOn[h]);
        return b != None && heldOn[b] != None;
    };
    // Noted for every wait for a holder (whether the holder is held back may change later).
    auto noteLatest = [&](uint32_t h) {
        if (blockerOf(h, heldOn[h]) != None)
            heldLatest = std::min(heldLatest, cur[h].latest());
    };
    auto holdBack = [&](uint32_t c, uint32_t o) {
        ++state[o].waiters;
        heldOn[c] = o;
        held.push_back(c);
        noteLatest(c);
    };
    // Holding c back on o would close a cycle of "waits for the holder's release" (A holds X and
    // waits for B's release of L, B holds L and waits for A's release of X): no thread of the
    // cycle could ever go on, and everything after would be delivered at the end of the trace.
    // A real run cannot do that while every acquisition succeeded, so one of the acquisitions
    // was placed too early (an uncontended one is ordered by its interpolated time only). The
    // cycle is broken at an acquisition that did not block (uncontended, trylock, a timed lock
    // that got it at once): its holder constraint is the inferred one. Returns the cursor to let
    // go, None when there is no cycle.
    auto cycleVictim = [&](uint32_t c, uint32_t o) {
        chain.clear();
        chain.push_back(c);
        uint32_t y = blockerOf(c, o);
        for (size_t steps = 0; y != None && steps <= cur.size(); ++steps) {
            if (y == c) {
                for (uint32_t m : chain)
                    if (!((cur[m].rec().word >> 56) & RAVEL_F_CONTENDED))
                        return m;
                return c;
            }
            if (heldOn[y] == None)
                return None;
            chain.push_back(y);
            y = blockerOf(y, heldOn[y]);
        }
        return None;
    };
    // Lets go of every held event that the clocks prove came before `earliest` (its thread's next
    // stamp is earlier): whatever it waits for was misplaced. Bounds any hold-back by the held
    // thread's next stamp, also where cycleVictim cannot see the cycle (a sequence number's
    // owner). Returns whether it let any go.
    auto releaseProvenEarlier = [&](uint64_t earliest) {
        bool any = false;
        heldLatest = UINT64_MAX;
        for (size_t j = 0; j < held.size();) {
            const uint32_t h = held[j];
            if (overrulable(h) && cur[h].latest() < earliest) {
                unhold(j);
                exempt[h] = 1;
                push(h);
                any = true;
            } else {
                noteLatest(h);
                ++j;
            }
        }
        return any;
    };
    auto wake = [&](uint32_t o) {
        for (size_t j = 0; j < held.size() && state[o].waiters;) {
            uint32_t h = held[j];
            if (heldOn[h] != o) {
                ++j;
            } else if (!mustWait(h, o)) {
                unhold(j);
                push(h);
            } else {
                noteLatest(h); // its wait may have become one for a holder's release
                ++j;
            }
        }
    };
    auto delivered = [&](uint32_t c, uint32_t o) {
        const RavelEvent& e = cur[c].rec();
        Delivered& d = state[o];
        const unsigned kind = unsigned(e.word >> 48) & 0xff;
        if (kind == RAVEL_EV_RELEASE) {
            if (d.holder == c + 1 && --d.depth == 0)
                d.holder = 0;
        } else {
            if (e.aux != 0) {
                if (!d.any || int32_t(e.aux - d.last) > 0)
                    d.last = e.aux;
                d.any = true;
            }
            if (exclusive(e)) {
                if (d.holder == c + 1) {
                    ++d.depth;
                } else {
                    d.holder = c + 1;
                    d.depth = 1;
                }
            }
        }
        if (d.waiters)
            wake(o);
    };

    for (;;) {
        uint32_t c;
        bool force = false;
        if (!heap.empty()) {
            c = heap.front().cursor;
            Entry last = heap.back();
            heap.pop_back();
            if (!heap.empty())
                siftDown(last);
        } else if (!held.empty()) {
            // Every remaining thread waits for something that will not come (a cycle, which only
            // a damaged trace has): release the earliest rather than stall.
            auto it = std::min_element(
                held.begin(), held.end(), [&](uint32_t a, uint32_t b) { return later(entry(b), entry(a)); });
            c = *it;
            unhold(size_t(it - held.begin()));
            force = true;
        } else {
            break;
        }
        for (;;) {
            Cursor& k = cur[c];
            if (k.t0 > heldLatest && releaseProvenEarlier(k.t0)) {
                push(c);
                break;
            }
            const unsigned kind = unsigned(k.rec().word >> 48) & 0xff;
            if (isOrdered(kind)) {
                const uint32_t o = objectOf(k);
                if (o == ObjectIndex::NotFound) {
                    if (!deliver(k))
                        return;
                } else {
                    if (!force && !exempt[c] && mustWait(c, o)) {
                        const uint32_t victim = cycleVictim(c, o);
                        if (victim != c) {
                            holdBack(c, o);
                            if (victim != None) {
                                for (size_t j = 0; j < held.size(); ++j)
                                    if (held[j] == victim) {
                                        unhold(j);
                                        break;
                                    }
                                exempt[victim] = 1;
                                push(victim);
                            }
                            break;
                        }
                    }
                    if (!deliver(k))
                        return;
                    delivered(c, o);
                }
            } else if (!deliver(k)) {
                return;
            }
            force = false;
            exempt[c] = 0;
            k.advance();
            if (k.i == k.n) {
                // A thread that ends holding a lock will never release it: whoever waits for
                // that release may go now.
                if (!held.empty())
                    for (uint32_t o = 0; o < state.size(); ++o)
                        if (state[o].holder == c + 1 && state[o].waiters)
                            wake(o);
                break;
            }
            if (!heap.empty() && later(entry(c), heap.front())) {
                const uint32_t next = heap.front().cursor;
                siftDown(entry(c));
                c = next;
            }
        }
    }
}

} // namespace ravel::detail
