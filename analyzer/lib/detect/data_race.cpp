#include "detect/data_race.hpp"

#include "model/replay_model.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

namespace ravel {

namespace {

bool isLockKind(unsigned kind)
{
    return kind == RAVEL_OBJ_MUTEX || kind == RAVEL_OBJ_RWLOCK || kind == RAVEL_OBJ_SPIN;
}

struct HeldLock {
    uint64_t address;
    unsigned kind;
};

struct RaceEvents {
    Event cur;
    Event prev;
    bool complete = false;
    std::vector<HeldLock> held; // what the racing thread held at the access, in program order
};

FindingAccess accessOf(const Event& e, uint32_t thread)
{
    FindingAccess a;
    a.thread = thread;
    a.address = e.obj;
    a.size = e.aux >> 24;
    a.write = e.flags & RAVEL_F_RACE_WRITE;
    a.atomic = e.flags & RAVEL_F_RACE_ATOMIC;
    a.stack = e.stack;
    return a;
}

const char* verbOf(const FindingAccess& a)
{
    if (a.atomic)
        return a.write ? "atomic write" : "atomic read";
    return a.write ? "write" : "read";
}

} // namespace

std::vector<Finding> dataRaceFindings(const ReplayModel& model)
{
    const TraceReader& trace = model.trace();
    std::vector<RaceEvents> races;
    std::map<uint32_t, uint64_t> counts; // race id -> occurrences
    uint64_t unreported = 0;
    for (const ThreadInfo& ti : trace.threads()) {
        if (!trace.threadEventCount(ti.id, RAVEL_EV_RACE) && !trace.threadEventCount(ti.id, RAVEL_EV_RACE_COUNT))
            continue;
        bool pending = false;
        // The thread's own holds, replayed in its program order: exact at the access, and the
        // report's model (Retain::EndState) keeps no spans to ask.
        std::vector<HeldLock> held;
        trace.forEachThreadEvent(ti.id, [&](const Event& e) {
            if (e.kind == RAVEL_EV_ACQUIRED && isLockKind(e.objKind())) {
                held.push_back({ e.obj, e.objKind() });
                pending = false;
            } else if (e.kind == RAVEL_EV_RELEASE && isLockKind(e.objKind())) {
                for (size_t i = held.size(); i-- > 0;)
                    if (held[i].address == e.obj) {
                        held.erase(held.begin() + std::ptrdiff_t(i));
                        break;
                    }
                pending = false;
            } else if (e.kind == RAVEL_EV_RACE) {
                races.push_back({e, {}, false, held});
                pending = true;
            } else if (e.kind == RAVEL_EV_RACE_PREV && pending) {
                races.back().prev = e;
                races.back().complete = true;
                pending = false;
            } else if (e.kind == RAVEL_EV_RACE_COUNT) {
                if (e.obj == 0)
                    unreported += e.aux;
                else
                    counts[static_cast<uint32_t>(e.obj)] = e.aux;
            } else {
                pending = false;
            }
            return true;
        });
    }

    std::vector<Finding> out;
    for (const RaceEvents& r : races) {
        if (!r.complete)
            continue; // a RACE whose RACE_PREV the trace lost: nothing to pair it with
        Finding f;
        f.kind = "data-race";
        f.timeNs = r.cur.time_ns;
        FindingObject mem;
        mem.address = r.cur.obj;
        mem.kind = RAVEL_OBJ_MEMORY;
        mem.id = fmt::format("m{:x}", mem.address);
        // A local whose address escaped: the stack it lives on says whose (globals and heap
        // blocks are named later, from the symbols and the access's stack).
        for (const ThreadInfo& ti : trace.threads())
            if (mem.address >= ti.stack_lo && mem.address < ti.stack_hi)
                mem.name = fmt::format("a local variable on T{}'s stack", ti.id);
        f.objects.push_back(mem);

        FindingAccess cur = accessOf(r.cur, r.cur.thread);
        cur.timeKnown = true;
        cur.timeNs = r.cur.time_ns;
        cur.heldKnown = true;
        for (const HeldLock& h : r.held) {
            FindingObject lock;
            lock.address = h.address;
            lock.kind = h.kind;
            // The generation alive at the access: the latest one created by then.
            for (const ObjectRecord& o : model.objects())
                if (o.address == h.address && o.kind == h.kind && o.firstNs <= r.cur.time_ns)
                    lock.generation = std::max(lock.generation, o.generation);
            lock.id = fmt::format("o{:x}.{}", lock.address, lock.generation);
            cur.held.push_back(f.objects.size());
            f.objects.push_back(lock);
        }
        FindingAccess prev = accessOf(r.prev, r.prev.aux & 0xffffff);
        f.accesses = {cur, prev};

        for (uint32_t id : {cur.thread, prev.thread}) {
            if (id == 0 || (f.threads.size() == 1 && f.threads[0].id == id))
                continue;
            FindingThread t;
            t.id = id;
            for (const ThreadInfo& ti : trace.threads()) {
                if (ti.id != id)
                    continue;
                t.osTid = ti.os_tid;
                t.pid = ti.pid;
                t.name = ti.name;
                t.parent = ti.parent;
                t.createStack = ti.create_stack;
            }
            f.threads.push_back(t);
        }
        uint32_t raceId = r.cur.aux & 0xffffff;
        auto it = counts.find(raceId);
        f.instances = it != counts.end() ? it->second : 1;
        f.title = fmt::format("{} by T{} races with an earlier {} by T{}", verbOf(cur), cur.thread, verbOf(prev),
                              prev.thread);
        f.notes.push_back(fmt::format("the earlier access is shown by its site only: its thread's stack then "
                                      "was not recorded"));
        if (f.instances > 1)
            f.notes.push_back(fmt::format("this pair of sites raced {} times; reported once", f.instances));
        out.push_back(std::move(f));
    }
    if (unreported && !out.empty())
        out.back().notes.push_back(
            fmt::format("{} more distinct pairs of racing sites were found but not reported (the runtime's table was full)",
                        unreported));
    return out;
}

} // namespace ravel
