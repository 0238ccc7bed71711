// The reader's passes over the events: every event of the trace in global order (a k-way merge
// of the threads' streams, decoding each chunk again as a cursor reaches it), one thread's events,
// and the shared pass that feeds one merge to several consumers on their own cores.
#include "trace/trace_reader.hpp"
#include "trace/internal/reader_impl.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace ravel {

using detail::Cursor;
using detail::ThreadStream;

// A big trace is merged on a second thread while the caller consumes (a shared pass with one
// consumer): decoding and merging cost about as much as a typical pass's own work, so the two
// halves overlap on two cores. The callback always runs on the calling thread, in the same order
// as without the second thread.
void TraceReader::forEachEvent(const std::function<bool(const Event&)>& fn) const
{
    constexpr uint64_t kPipeAbove = 1u << 16;
    if (m_impl->eventCount < kPipeAbove || std::thread::hardware_concurrency() < 2) {
        detail::mergeEvents(m_impl->streams, m_impl->objects, [&](const Cursor& k, uint64_t t) {
            Event e;
            k.fill(e, t);
            if (m_impl->shiftNs)
                m_impl->shift(e);
            return fn(e);
        });
        return;
    }
    SharedEventPass pass(*this, 1);
    pass.forEachEvent(fn);
}

void forEachEventVia(const TraceReader& trace, SharedEventPass*& pass, const std::function<bool(const Event&)>& fn)
{
    if (SharedEventPass* shared = std::exchange(pass, nullptr))
        shared->forEachEvent(fn);
    else
        trace.forEachEvent(fn);
}

void TraceReader::forEachThreadEvent(uint32_t thread, const std::function<bool(const Event&)>& fn) const
{
    auto& v = m_impl->streams;
    auto it
        = std::lower_bound(v.begin(), v.end(), thread, [](const ThreadStream& s, uint32_t id) { return s.tid < id; });
    if (it == v.end() || it->tid != thread || it->n == 0)
        return;
    detail::ChunkDecoder decoder;
    Cursor c;
    c.start(*it, decoder);
    for (; c.i < c.n; c.advance()) {
        Event e = c.event();
        if (m_impl->shiftNs)
            m_impl->shift(e);
        if (!fn(e))
            return;
    }
}

// The shared pass: the last consumer to arrive starts the producer (a thread of its own); batches sit in a small ring until every consumer still reading
// has taken them.
struct SharedEventPass::Impl {
    static constexpr size_t kBatch = 8192;
    static constexpr size_t kRing = 4;

    const TraceReader& trace;
    unsigned consumers;
    std::mutex mutex;
    std::condition_variable cv;
    unsigned arrived = 0, reading = 0;
    // Every batch buffer keeps kBatch slots (allocated once, swapped between the producer and the
    // ring): the merge writes events into place, with no per-event bookkeeping.
    std::vector<Event> ring[kRing];
    size_t ringCount[kRing] = {};
    unsigned pending[kRing] = {}; // consumers that have not finished batch slot i
    uint64_t produced = 0;        // batches published so far (slot = index % kRing)
    bool done = false;
    std::exception_ptr error;
    std::thread producer;

    Impl(const TraceReader& t, unsigned n)
        : trace(t)
        , consumers(n)
    {
    }

    void produce()
    {
        try {
            std::vector<Event> batch(kBatch);
            for (std::vector<Event>& r : ring)
                r.resize(kBatch);
            Event* out = batch.data();
            size_t used = 0;
            auto publish = [&] {
                std::unique_lock lock(mutex);
                const size_t slot = produced % kRing;
                cv.wait(lock, [&] { return pending[slot] == 0 || reading == 0; });
                if (reading == 0)
                    return false;
                ring[slot].swap(batch);
                ringCount[slot] = used;
                pending[slot] = reading;
                ++produced;
                cv.notify_all();
                out = batch.data();
                used = 0;
                return true;
            };
            bool more = true;
            detail::mergeEvents(trace.m_impl->streams, trace.m_impl->objects, [&](const Cursor& k, uint64_t t) {
                k.fill(out[used], t);
                if (trace.m_impl->shiftNs)
                    trace.m_impl->shift(out[used]);
                if (++used < kBatch)
                    return true;
                return more = publish();
            }, /*prefetch=*/true);
            if (more && used > 0)
                publish();
        } catch (...) {
            std::lock_guard lock(mutex);
            error = std::current_exception();
        }
        std::lock_guard lock(mutex);
        done = true;
        cv.notify_all();
    }
};

SharedEventPass::SharedEventPass(const TraceReader& trace, unsigned consumers)
    : m_impl(new Impl(trace, consumers))
{
}

SharedEventPass::~SharedEventPass()
{
    if (m_impl->producer.joinable())
        m_impl->producer.join();
    delete m_impl;
}

void SharedEventPass::forEachEvent(const std::function<bool(const Event&)>& fn)
{
    Impl& d = *m_impl;
    {
        std::unique_lock lock(d.mutex);
        ++d.arrived;
        ++d.reading;
        if (d.arrived == d.consumers)
            d.producer = std::thread([&d] { d.produce(); });
        else
            d.cv.wait(lock, [&] { return d.arrived == d.consumers; });
    }
    uint64_t next = 0; // the next batch this consumer reads
    bool want = true;
    std::exception_ptr mine;
    for (;;) {
        std::unique_lock lock(d.mutex);
        d.cv.wait(lock, [&] { return d.produced > next || d.done; });
        if (d.produced <= next)
            break;
        const size_t slot = next % Impl::kRing;
        lock.unlock();
        if (want) {
            try {
                const Event* batch = d.ring[slot].data();
                // The batch was written on another core: fetch ahead, so the callback does not
                // wait for each cache line to come over.
                constexpr size_t kAhead = 16;
                for (size_t i = 0, n = d.ringCount[slot]; i < n; ++i) {
                    if (i + kAhead < n)
                        __builtin_prefetch(batch + i + kAhead);
                    if (!fn(batch[i])) {
                        want = false;
                        break;
                    }
                }
            } catch (...) {
                mine = std::current_exception();
                want = false;
            }
        }
        lock.lock();
        --d.pending[slot];
        ++next;
        if (!want) {
            // Leaving: the batches it has not read no longer wait for it.
            for (uint64_t b = next; b < d.produced; ++b)
                --d.pending[b % Impl::kRing];
            --d.reading;
            d.cv.notify_all();
            break;
        }
        d.cv.notify_all();
    }
    if (want) {
        std::lock_guard lock(d.mutex);
        --d.reading;
        d.cv.notify_all();
    }
    if (mine)
        std::rethrow_exception(mine);
    std::lock_guard lock(d.mutex);
    if (d.error)
        std::rethrow_exception(d.error);
}

} // namespace ravel
