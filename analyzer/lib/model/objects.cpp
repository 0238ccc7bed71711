#include "model/objects.hpp"

#include "base/large_array.hpp"
#include "model/channels.hpp"
#include "symbols/symbolizer.hpp"

#include <fmt/format.h>

namespace ravel {


// ---- AddressMap ----

AddressMap::AddressMap()
{
    m_shift = 64 - 10;
    m_slots.assign(size_t(1) << 10, Slot {kEmpty, 0});
}

void AddressMap::set(uint64_t key, uint32_t value)
{
    if ((m_size + 1) * 2 > m_slots.size())
        grow();
    size_t mask = m_slots.size() - 1;
    for (size_t i = slotFor(key);; i = (i + 1) & mask) {
        Slot& s = m_slots[i];
        if (s.key == key) {
            s.value = value;
            return;
        }
        if (s.key == kEmpty) {
            s = Slot {key, value};
            ++m_size;
            return;
        }
    }
}

void AddressMap::grow()
{
    std::vector<Slot> old = std::move(m_slots);
    m_slots.assign(old.size() * 2, Slot {kEmpty, 0});
    --m_shift;
    m_size = 0;
    for (const Slot& s : old)
        if (s.key != kEmpty)
            set(s.key, s.value);
}

// ---- ObjectTracker ----

ObjectTracker::ObjectTracker(const std::vector<ThreadInfo>& threads)
{
    for (const ThreadInfo& t : threads)
        if (t.stack_hi > t.stack_lo)
            m_threadStacks[t.id] = {t.stack_lo, t.stack_hi};
}

void ObjectTracker::reserveFor(const TraceReader& trace)
{
    PagePopulator populate;
    populate.reserve(m_objects, trace.eventCount(RAVEL_EV_INIT) + trace.eventCount(RAVEL_EV_CHAN_CREATE) + 1024);
    populate.run();
}

uint32_t ObjectTracker::create(const Event& e, unsigned kind)
{
    uint32_t previous = m_current.find(e.obj);
    ObjectRecord r;
    r.address = e.obj;
    r.kind = uint8_t(kind);
    r.firstStack = stackIdOf(e.stack);
    r.firstThread = e.thread;
    r.firstNs = e.time_ns;
    if (previous != kNoObject) {
        r.generation = m_objects[previous].generation + 1;
        retire(previous);
    }
    uint32_t index = uint32_t(m_objects.size());
    m_objects.push_back(r);
    m_current.set(e.obj, index);
    if (auto it = m_live.find(e.obj); it != m_live.end()) {
        it->second = index;
    } else if (!m_spareNodes.empty()) {
        auto node = std::move(m_spareNodes.back());
        m_spareNodes.pop_back();
        node.key() = e.obj;
        node.mapped() = index;
        m_live.insert(std::move(node));
    } else {
        m_live.emplace(e.obj, index);
    }
    return index;
}

void ObjectTracker::retire(uint32_t index)
{
    ObjectRecord& r = m_objects[index];
    if (r.retired)
        return;
    r.retired = true;
    auto it = m_live.find(r.address);
    if (it != m_live.end() && it->second == index)
        spare(it);
}

std::map<uint64_t, uint32_t>::iterator ObjectTracker::spare(std::map<uint64_t, uint32_t>::iterator it)
{
    auto next = std::next(it);
    if (m_spareNodes.size() < kSpareNodes)
        m_spareNodes.push_back(m_live.extract(it));
    else
        m_live.erase(it);
    return next;
}

void ObjectTracker::retireRange(uint64_t lo, uint64_t hi, unsigned keepKind, std::vector<uint32_t>* retired)
{
    auto it = m_live.lower_bound(lo);
    while (it != m_live.end() && it->first < hi) {
        // A held lock's memory cannot be released (that would be a use after free in the
        // program): a FREE that seems to cover one comes from the previous block at that address,
        // placed after the new lock's acquisition because uncontended events are ordered only by
        // interpolated times. Its identity stays.
        if ((keepKind != RAVEL_OBJ_NONE && m_objects[it->second].kind == keepKind) || m_objects[it->second].holders) {
            ++it;
            continue;
        }
        m_objects[it->second].retired = true;
        if (retired)
            retired->push_back(it->second);
        it = spare(it);
    }
}

uint32_t ObjectTracker::lookup(const Event& e, unsigned kind)
{
    uint32_t index = m_current.find(e.obj);
    if (index == kNoObject)
        return create(e, kind);
    ObjectRecord& r = m_objects[index];
    // An address reused as another kind of object (a stack frame reused by a later call) is a new
    // object even when no event said the old one was gone.
    if (r.retired || (kind != RAVEL_OBJ_NONE && r.kind != RAVEL_OBJ_NONE && r.kind != kind))
        return create(e, kind);
    // firstStack stays the creating event's: a command that names objects as they appear (dump)
    // and one that names them at the end (info) must agree.
    if (r.kind == RAVEL_OBJ_NONE)
        r.kind = uint8_t(kind);
    return index;
}

uint32_t ObjectTracker::onEvent(const Event& e)
{
    switch (e.kind) {
    case RAVEL_EV_INIT: {
        // Initializing a lock that some thread holds cannot happen in a correct program; in a
        // trace it means the INIT is placed too late (uncontended acquisitions are ordered across
        // threads only by interpolated times). Keep the held object rather than split its holds
        // across two generations.
        uint32_t index = m_current.find(e.obj);
        if (index != kNoObject && !m_objects[index].retired && m_objects[index].holders
            && m_objects[index].kind == e.objKind())
            return index;
        return create(e, e.objKind());
    }
    case RAVEL_EV_DESTROY: {
        uint32_t index = lookup(e, e.objKind());
        if (!m_objects[index].holders) // destroying a held lock is misuse, reported as such
            retire(index);
        return index;
    }
    case RAVEL_EV_FREE:
        m_freed.clear();
        if (e.aux != 0)
            retireRange(e.obj, e.obj + e.aux, RAVEL_OBJ_NONE, &m_freed);
        return kNoObject;
    case RAVEL_EV_THREAD_EXIT: {
        // Its stack is gone, but the thread object itself (its pthread_t, at the top of that
        // stack) lives on until it is joined: a join after the exit is the same thread.
        auto it = m_threadStacks.find(e.thread);
        if (it != m_threadStacks.end())
            retireRange(it->second.first, it->second.second, RAVEL_OBJ_THREAD);
        return kNoObject;
    }
    case RAVEL_EV_THREAD_START:
    case RAVEL_EV_THREAD_CREATE: {
        // A pthread_t is the address of the thread's descriptor, reused once a thread is joined:
        // a thread starting there is a new thread object.
        if (e.obj == 0)
            return kNoObject;
        if (e.kind == RAVEL_EV_THREAD_START)
            m_pthreadThread[e.obj] = e.thread;
        else if (e.aux != 0)
            m_pthreadThread[e.obj] = e.aux;
        uint32_t tid = m_pthreadThread[e.obj];
        uint32_t index = m_current.find(e.obj);
        if (index == kNoObject)
            return kNoObject;
        ObjectRecord& r = m_objects[index];
        // A join may be requested before the joined thread has started (its pthread_t is known to
        // the creator at once): that object is this thread, not a predecessor at the address.
        if (!r.retired && r.kind == RAVEL_OBJ_THREAD && r.threadId == 0)
            r.threadId = tid;
        else if (r.threadId != tid)
            retire(index);
        return kNoObject;
    }
    case RAVEL_EV_JOIN_REQ:
    case RAVEL_EV_JOIN_DONE:
    case RAVEL_EV_DETACH: {
        uint32_t index = lookup(e, RAVEL_OBJ_THREAD);
        ObjectRecord& r = m_objects[index];
        if (r.threadId == 0) {
            if (e.kind != RAVEL_EV_JOIN_DONE && e.aux != 0) {
                r.threadId = e.aux;
            } else {
                auto it = m_pthreadThread.find(e.obj);
                if (it != m_pthreadThread.end())
                    r.threadId = it->second;
            }
        }
        return index;
    }
    case RAVEL_EV_ACQUIRED: {
        uint32_t index = lookup(e, e.objKind());
        m_objects[index].holders++;
        return index;
    }
    case RAVEL_EV_OWNER_DEAD: {
        // The dead owner's acquisition passed to this thread: one holder, not two.
        uint32_t index = lookup(e, RAVEL_OBJ_MUTEX);
        if (m_objects[index].holders > 1)
            m_objects[index].holders--;
        return index;
    }
    case RAVEL_EV_DESTROY_REQ:
    case RAVEL_EV_INIT_FAIL:
        return lookup(e, e.objKind());
    case RAVEL_EV_RELEASE: {
        uint32_t index = lookup(e, e.objKind());
        if (m_objects[index].holders)
            m_objects[index].holders--;
        return index;
    }
    case RAVEL_EV_CHAN_CREATE:
        return create(e, RAVEL_OBJ_CHAN);
    case RAVEL_EV_SEND_REQ:
    case RAVEL_EV_SENT:
    case RAVEL_EV_RECV_REQ:
    case RAVEL_EV_RECEIVED:
    case RAVEL_EV_CHAN_CLOSE:
    case RAVEL_EV_CHAN_FAIL:
    case RAVEL_EV_SELECT_CASE:
    case RAVEL_EV_SELECT_DONE:
        // A select's timeout or default names no channel.
        return e.obj ? lookup(e, RAVEL_OBJ_CHAN) : kNoObject;
    case RAVEL_EV_OBJ_NAME:
        return e.obj ? lookup(e, e.objKind()) : kNoObject;
    case RAVEL_EV_ACQ_REQ:
    case RAVEL_EV_ACQ_FAIL:
    case RAVEL_EV_WAIT_REQ:
    case RAVEL_EV_WOKEN:
    case RAVEL_EV_WAIT_FAIL:
    case RAVEL_EV_SIGNAL:
    case RAVEL_EV_BROADCAST:
    case RAVEL_EV_PASS:
        return lookup(e, e.objKind());
    default:
        return kNoObject;
    }
}

// ---- ObjectNamer ----

ObjectNamer::ObjectNamer(Symbolizer& symbolizer, const TraceReader& reader)
    : m_symbolizer(symbolizer)
    , m_reader(reader)
{
}

const std::string& ObjectNamer::name(uint32_t index, const ObjectRecord& object)
{
    if (index >= m_names.size())
        m_names.resize(index + 1);
    std::string& out = m_names[index];
    if (!out.empty())
        return out;

    std::string base;
    if (object.kind == RAVEL_OBJ_THREAD) {
        // A joined thread is best known by its ravel id and name, as in the threads table.
        const ThreadInfo* t = object.threadId ? m_reader.thread(object.threadId) : nullptr;
        if (t)
            base = t->name.empty() ? fmt::format("T{}", t->id) : fmt::format("T{} {}", t->id, t->name);
        else
            base = fmt::format("thread 0x{:x}", object.address);
    } else if (std::string given = objectNameAt(m_reader, object.address, object.firstNs); !given.empty()) {
        // A name the program gave (a channel's constructor name, ravel_name) says what the
        // programmer calls it, better than where it happens to live.
        base = given;
    } else {
        std::vector<Frame> frames;
        if (const StackTrace* s = m_reader.stack(object.firstStack))
            frames = m_symbolizer.symbolizeStack(s->frames);
        base = m_symbolizer.objectName(object.address, object.kind, frames);
    }
    unsigned n = ++m_seen[base];
    out = n == 1 ? base : fmt::format("{} #{}", base, n);
    // "x #2" could itself be a variable's name only in theory; count it as seen so it stays unique.
    if (n > 1)
        ++m_seen[out];
    return out;
}

} // namespace ravel
