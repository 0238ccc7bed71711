#include "attach/run_wait_report.hpp"

#include "symbols/frame_json.hpp"

#include "attach/process_snapshot.hpp"
#include "trace/kind_names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace ravel {

namespace {

struct Style {
    bool on;
    std::string bold(const std::string& s) const { return on ? "\x1b[1m" + s + "\x1b[0m" : s; }
    std::string red(const std::string& s) const { return on ? "\x1b[1;31m" + s + "\x1b[0m" : s; }
    std::string blue(const std::string& s) const { return on ? "\x1b[34m" + s + "\x1b[0m" : s; }
};

// Below main or a thread's start routine is the C library starting things: left out.
void cutBelowMain(std::vector<Frame>& frames)
{
    for (size_t i = 0; i < frames.size(); i++) {
        const std::string& fn = frames[i].function;
        if (fn == "main") {
            frames.resize(i + 1);
            return;
        }
 if (i > 0 && frames[i].module.find("libravel_rt") != std::string::npos) { // the runtime's wrapper of main
            frames.resize(i);
            return;
        }
        if (i > 0 && (fn == "start_thread" || fn == "clone3" || fn == "clone" || fn == "__libc_start_main")) {
            frames.resize(i);
            return;
        }
    }
}

std::string processLabel(const RunDeadlock& d, uint32_t pid)
{
    auto it = d.commands.find(pid);
    if (it == d.commands.end() || it->second.empty())
        return fmt::format("pid {}", pid);
    std::string cmd = runShortCommand(it->second);
    return fmt::format("pid {} ({})", pid, cmd);
}

std::string threadLabel(const RunWaitThread& t)
{
    std::string s = t.traceTid ? fmt::format("T{}", t.traceTid) : std::string("thread");
    if (!t.name.empty())
        s += fmt::format(" \"{}\"", t.name);
    return s;
}

std::string bytesText(size_t n)
{
    if (n == 0)
        return "";
    if (n % (1 << 20) == 0)
        return fmt::format(" {} MiB", n >> 20);
    if (n % 1024 == 0)
        return fmt::format(" {} KiB", n >> 10);
    return fmt::format(" {} bytes", n);
}

// The ends that can act on pipe `p` for a thread waiting in `kind`: the write ends for a reader,
// the read ends for a writer, the peer side for a socket.
std::vector<RunPipeEnd> actingEnds(const RunPipe& p, RunWaitKind kind, bool pollIn)
{
    if (p.type == Descriptor::Type::Socket)
        return p.peerEnds;
    bool wantWriters = kind == RunWaitKind::PipeRead || (kind == RunWaitKind::Poll && pollIn);
    std::vector<RunPipeEnd> out;
    for (const RunPipeEnd& e : p.ends)
        if (wantWriters ? e.writable : e.readable)
            out.push_back(e);
    return out;
}

std::string heldBy(const RunDeadlock& d, const std::vector<RunPipeEnd>& ends)
{
    return ends.empty() ? "no process" : runEndsText(d, ends);
}

std::string waitLine(const RunDeadlock& d, const RunWaitThread& t, const RunWaitStacks& stacks, const Style& st)
{
    auto pipe = [&](size_t k) { return st.bold(runPipeName(d, t.pipes[k])); };
    switch (t.kind) {
    case RunWaitKind::PipeRead:
        return fmt::format("reads from {} (fd {}), which is empty; only {} can write to it", pipe(0), t.fd,
                           heldBy(d, actingEnds(d.pipes[t.pipes[0]], t.kind, true)));
    case RunWaitKind::PipeWrite:
        return fmt::format("writes{} to {} (fd {}), which is full; only {} can read it", bytesText(t.bytes), pipe(0),
                           t.fd, heldBy(d, actingEnds(d.pipes[t.pipes[0]], t.kind, false)));
    case RunWaitKind::SocketRecv:
        return fmt::format("receives on {} (fd {}); its other side is {}", pipe(0), t.fd,
                           heldBy(d, d.pipes[t.pipes[0]].peerEnds));
    case RunWaitKind::SocketSend:
        return fmt::format("sends{} on {} (fd {}), whose other side does not receive: {}", bytesText(t.bytes),
                           pipe(0), t.fd, heldBy(d, d.pipes[t.pipes[0]].peerEnds));
    case RunWaitKind::FifoOpen:
        return fmt::format("opens FIFO {} and waits for a process to open its other end", st.bold(t.path));
    case RunWaitKind::Child:
        if (t.child > 0)
            return fmt::format("waits for its child {} to exit", processLabel(d, uint32_t(t.child)));
        return "waits for any of its children to exit";
    case RunWaitKind::Poll: {
        std::string fds;
        for (int fd : t.polledFds)
            fds += (fds.empty() ? "" : ", ") + std::to_string(fd);
        std::string pipes;
        for (size_t k = 0; k < t.pipes.size(); k++)
            pipes += (pipes.empty() ? "" : ", ") + runPipeName(d, t.pipes[k]);
        return fmt::format("waits in {} on fd{} {} without a timeout, and nobody can make them ready ({})",
                           t.pollCall, t.polledFds.size() == 1 ? "" : "s", fds, pipes);
    }
    case RunWaitKind::Board:
        break;
    }
    unsigned kind = t.board.blockedFlags & 0x0f;
    auto name = stacks.objectNames.find({ t.pid, t.board.blockedOn });
    std::string shown = name != stacks.objectNames.end() ? name->second : fmt::format("0x{:x}", t.board.blockedOn);
    std::string kindName(objectKindName(kind));
    std::string object = shown.starts_with(kindName) ? st.bold(shown) : fmt::format("{} {}", kindName, st.bold(shown));
    std::string by;
    for (size_t w : t.wakers) {
        const RunWaitThread& o = d.threads[w];
        by += (by.empty() ? "" : ", ") + fmt::format("{} of pid {}", threadLabel(o), o.pid);
    }
    bool isLock = kind == RAVEL_OBJ_MUTEX || kind == RAVEL_OBJ_RWLOCK || kind == RAVEL_OBJ_SPIN;
    if (kind == RAVEL_OBJ_THREAD)
        return "waits to join a thread: " + (by.empty() ? std::string("it") : by);
    return fmt::format("waits for {}{}", object,
                       by.empty() ? "" : fmt::format(", {} {}", isLock ? "held by" : "which only these can wake:", by));
}

void appendFrames(std::string& out, const std::vector<Frame>* frames, size_t maxFrames, const Style& st)
{
    if (!frames || frames->empty()) {
        out += "      (its stack could not be read)\n";
        return;
    }
    size_t shown = std::min(frames->size(), maxFrames);
    for (size_t i = 0; i < shown; i++) {
        const Frame& fr = (*frames)[i];
        std::string where = Symbolizer::site(fr);
        if (where.empty())
            where = fr.module.empty() ? fmt::format("0x{:x}", fr.address) : fr.module.substr(fr.module.rfind('/') + 1);
        out += fmt::format("      #{:<2} {:<32} {}\n", i, st.bold(fr.function), st.blue(where));
    }
    if (frames->size() > shown)
        out += fmt::format("      ... {} more frames\n", frames->size() - shown);
}

using json = nlohmann::ordered_json;

std::string hexText(uint64_t v) { return fmt::format("0x{:x}", v); }


const char* callName(RunWaitKind k)
{
    switch (k) {
    case RunWaitKind::PipeRead: return "read";
    case RunWaitKind::PipeWrite: return "write";
    case RunWaitKind::SocketRecv: return "recv";
    case RunWaitKind::SocketSend: return "send";
    case RunWaitKind::FifoOpen: return "open";
    case RunWaitKind::Child: return "waitpid";
    case RunWaitKind::Poll: return "poll";
    case RunWaitKind::Board: break;
    }
    return nullptr;
}

const char* pipeTypeName(Descriptor::Type t)
{
    return t == Descriptor::Type::Socket ? "socket" : t == Descriptor::Type::Fifo ? "fifo" : "pipe";
}

json endsJson(const std::vector<RunPipeEnd>& ends, bool wantRead, bool wantWrite)
{
    json out = json::array();
    for (const RunPipeEnd& e : ends)
        if ((wantRead && e.readable) || (wantWrite && e.writable))
            out.push_back(json { { "pid", e.pid }, { "fd", e.fd } });
    return out;
}

} // namespace

json runDeadlockJson(const RunDeadlock& d, const RunWaitStacks& stacks, uint64_t timeNs, uint64_t firstSeenNs)
{
    Style plain { false };
    json objects = json::array();
    std::set<std::string> objectIds;
    auto addObject = [&](const std::string& id, const std::string& kind, const std::string& name, uint64_t address,
                         json extra) {
        if (!objectIds.insert(id).second)
            return id;
        json o { { "id", id }, { "kind", kind }, { "name", name }, { "address", hexText(address) }, { "generation", 0 } };
        for (auto& [k, v] : extra.items())
            o[k] = v;
        objects.push_back(std::move(o));
        return id;
    };
    // Pipes are named by their inode, processes by their pid, recorded objects by their address in
    // their process (so the same address in two processes is two objects).
    std::vector<std::string> pipeIds;
    for (size_t i = 0; i < d.pipes.size(); i++) {
        const RunPipe& p = d.pipes[i];
        json extra { { "type", pipeTypeName(p.type) }, { "inode", p.inode } };
        if (p.type == Descriptor::Type::Fifo)
            extra["path"] = p.path;
        if (p.type == Descriptor::Type::Socket) {
            extra["peer_inode"] = p.peerInode;
            extra["ends"] = endsJson(p.ends, true, true);
            extra["peer_ends"] = endsJson(p.peerEnds, true, true);
        } else {
            extra["read_ends"] = endsJson(p.ends, true, false);
            extra["write_ends"] = endsJson(p.ends, false, true);
        }
        pipeIds.push_back(addObject(fmt::format("o{:x}.0", p.inode), pipeTypeName(p.type), runPipeName(d, i), p.inode,
                                    std::move(extra)));
    }
    auto boardObject = [&](uint32_t pid, uint64_t address, unsigned kind) {
        auto name = stacks.objectNames.find({ pid, address });
        std::string shown = name != stacks.objectNames.end() ? name->second : hexText(address);
        return addObject(fmt::format("o{:x}.{}", address, pid), std::string(objectKindName(kind)), shown, address,
                         json { { "pid", pid } });
    };
    std::set<std::string> functions;
    json threads = json::array();
    for (const RunWaitThread& t : d.threads) {
        json wait;
        if (t.kind == RunWaitKind::Board)
            wait["object"] = boardObject(t.pid, t.board.blockedOn, t.board.blockedFlags & 0x0f);
        else if (t.kind == RunWaitKind::Child && t.child > 0)
            wait["object"] = addObject(fmt::format("o{:x}.0", uint64_t(t.child)), "process",
                                       processLabel(d, uint32_t(t.child)), uint64_t(t.child), json::object());
        else if (t.kind == RunWaitKind::Child)
            wait["object"] = addObject(fmt::format("o0.{}", t.pid), "process", fmt::format("any child of pid {}", t.pid),
                                       0, json::object());
        else if (!t.pipes.empty())
            wait["object"] = pipeIds[t.pipes[0]];
        else // an open of a FIFO: the FIFO by its path
            wait["object"] = addObject(fmt::format("o0.{}", t.osTid), "fifo", "FIFO " + t.path, 0,
                                       json { { "path", t.path } });
        wait["shared"] = false;
        wait["since_ns"] = firstSeenNs;
        json stack = json::array();
        if (auto it = stacks.frames.find(t.osTid); it != stacks.frames.end()) {
            for (const Frame& fr : it->second)
                stack.push_back(frameJson(fr));
            if (const Frame* u = Symbolizer::userFrame(it->second))
                functions.insert(u->function);
        }
        wait["stack"] = std::move(stack);
        // `wakers` are ravel ids within the thread's own process, as in every finding; across
        // processes the kernel's tids say who: `waker_tids`.
        json wakers = json::array(), wakerTids = json::array();
        for (size_t w : t.wakers) {
            const RunWaitThread& o = d.threads[w];
            if (o.pid == t.pid && o.traceTid)
                wakers.push_back(o.traceTid);
            wakerTids.push_back(o.osTid);
        }
        wait["wakers"] = std::move(wakers);
        wait["waker_tids"] = std::move(wakerTids);
        wait["wakers_presumed"] = !t.exact;
        wait["call"] = callName(t.kind) ? json(callName(t.kind)) : json(nullptr);
        wait["fd"] = t.fd >= 0 ? json(t.fd) : json(nullptr);
        if (t.kind == RunWaitKind::Poll) {
            wait["call"] = t.pollCall;
            wait["fds"] = t.polledFds;
            json cases = json::array();
            for (size_t p : t.pipes)
                cases.push_back(pipeIds[p]);
            wait["objects"] = std::move(cases);
        }
        if (t.kind == RunWaitKind::FifoOpen)
            wait["path"] = t.path;
        if (t.kind == RunWaitKind::Child)
            wait["child"] = t.child;
        if (t.bytes)
            wait["bytes"] = t.bytes;
        wait["what"] = waitLine(d, t, stacks, plain);
        json holds = json::array();
        for (uint64_t h : t.board.held)
            holds.push_back(json { { "object", boardObject(t.pid, h, RAVEL_OBJ_MUTEX) },
                                   { "shared", false },
                                   { "since_ns", nullptr },
                                   { "stack", json::array() },
                                   { "stack_reused", false } });
        threads.push_back(json { { "id", t.traceTid },
                                 { "os_tid", t.osTid },
                                 { "name", t.name },
                                 { "pid", t.pid },
                                 { "in_cycle", &t - d.threads.data() < std::ptrdiff_t(d.cycle) },
                                 { "waits_for", std::move(wait) },
                                 { "holds", std::move(holds) } });
    }
    json processes = json::array();
    for (const auto& [pid, command] : d.commands)
        processes.push_back(json { { "pid", pid }, { "command", command } });
    json notes = json::array();
    for (const std::string& n : d.notes)
        notes.push_back(n);
    for (const std::string& w : stacks.warnings)
        notes.push_back(w);
    // Stable across runs: the kind, the kinds of what the cycle waits in, the user functions.
    uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&](const std::string& s) {
        for (unsigned char c : s)
            h = (h ^ c) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull;
    };
    mix("deadlock");
    mix("run");
    std::set<std::string> calls;
    for (size_t i = 0; i < d.cycle; i++)
        calls.insert(callName(d.threads[i].kind) ? callName(d.threads[i].kind) : "board");
    for (const std::string& c : calls)
        mix("c:" + c);
    for (const std::string& f : functions)
        mix("f:" + f);
    json f;
    f["kind"] = "deadlock";
    f["certainty"] = verdictName(d.verdict);
    f["error"] = true;
    f["title"] = runDeadlockTitle(d);
    f["time_ns"] = timeNs;
    f["fingerprint"] = fmt::format("{:016x}", h);
    f["scope"] = "run";
    f["processes"] = std::move(processes);
    f["threads"] = std::move(threads);
    f["objects"] = std::move(objects);
    f["edges"] = json::array();
    f["instances"] = 0;
    f["more_examples"] = json::array();
    f["notes"] = std::move(notes);
    return f;
}

RunWaitStacks captureRunWaitStacks(const RunDeadlock& d)
{
    RunWaitStacks out;
    std::set<uint32_t> pids;
    for (const RunWaitThread& t : d.threads)
        pids.insert(t.pid);
    for (uint32_t pid : pids) {
        try {
            ProcessSnapshot snap = snapshotProcess(pid);
            Symbolizer sym(snap.modules);
            for (const SnapshotThread& st : snap.threads) {
                bool wanted = std::any_of(d.threads.begin(), d.threads.end(),
                                          [&](const RunWaitThread& t) { return t.osTid == st.task.osTid; });
                if (!wanted || st.frames.empty())
                    continue;
                std::vector<Frame> frames = sym.symbolizeStack(st.frames, true);
                cutBelowMain(frames);
                out.frames[st.task.osTid] = std::move(frames);
            }
            for (const RunWaitThread& t : d.threads) {
                if (t.pid != pid || t.kind != RunWaitKind::Board || !t.board.blockedOn)
                    continue;
                out.objectNames[{ pid, t.board.blockedOn }]
                    = sym.objectName(t.board.blockedOn, t.board.blockedFlags & 0x0f, {});
                for (uint64_t h : t.board.held)
                    out.objectNames[{ pid, h }] = sym.objectName(h, RAVEL_OBJ_MUTEX, {});
            }
        } catch (const std::exception& e) {
            out.warnings.push_back(fmt::format("the stacks of pid {} could not be read: {}", pid, e.what()));
        }
    }
    return out;
}

std::string runDeadlockTitle(const RunDeadlock& d)
{
    std::set<uint32_t> pids;
    size_t fifos = 0, children = 0, locks = 0, other = 0;
    for (size_t i = 0; i < d.cycle; i++) {
        const RunWaitThread& t = d.threads[i];
        pids.insert(t.pid);
        switch (t.kind) {
        case RunWaitKind::PipeRead:
        case RunWaitKind::PipeWrite:
        case RunWaitKind::Poll:
        case RunWaitKind::SocketRecv:
        case RunWaitKind::SocketSend:
            break; // counted by the pipes they wait on, below
        case RunWaitKind::FifoOpen:
            fifos++;
            break;
        case RunWaitKind::Child:
            children++;
            break;
        case RunWaitKind::Board: {
            unsigned k = t.board.blockedFlags & 0x0f;
            (k == RAVEL_OBJ_MUTEX || k == RAVEL_OBJ_RWLOCK || k == RAVEL_OBJ_SPIN ? locks : other)++;
            break;
        }
        }
    }
    // A read or write on a FIFO's descriptor is a FIFO wait too, not an anonymous pipe's.
    std::set<size_t> pipeSet, socketSet, fifoSet;
    for (size_t i = 0; i < d.cycle; i++)
        for (size_t p : d.threads[i].pipes)
            (d.pipes[p].type == Descriptor::Type::Socket ? socketSet
                 : d.pipes[p].type == Descriptor::Type::Fifo ? fifoSet
                                                              : pipeSet)
                .insert(p);
    fifos += fifoSet.size();
    size_t pipes = pipeSet.size();
    size_t sockets = socketSet.size();
    std::vector<std::string> parts;
    if (pipes)
        parts.push_back(pipes == 1 ? "a pipe" : "pipes");
    if (sockets)
        parts.push_back(sockets == 1 ? "a socket pair" : "socket pairs");
    if (fifos)
        parts.push_back(fifos == 1 ? "a FIFO" : "FIFOs");
    if (children)
        parts.push_back(children == 1 ? "a wait for a child" : "waits for children");
    if (locks)
        parts.push_back(locks == 1 ? "a lock" : "locks");
    if (other)
        parts.push_back(other == 1 ? "a condition or semaphore" : "conditions or semaphores");
    std::string list;
    for (size_t i = 0; i < parts.size(); i++)
        list += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
    std::string title;
    if (pids.size() > 1)
        title = fmt::format("{} processes wait for each other through {}", pids.size(), list);
    else if (d.cycle == 1)
        title = fmt::format("a thread of pid {} waits forever on {} that only it could serve", *pids.begin(), list);
    else
        title = fmt::format("{} threads of pid {} wait for each other through {}", d.cycle, *pids.begin(), list);
    size_t more = d.threads.size() - d.cycle;
    if (more)
        title += fmt::format("; {} more thread{} blocked on them", more, more == 1 ? "" : "s");
    return title;
}

std::string renderRunDeadlockText(const RunDeadlock& d, const RunWaitStacks& stacks, bool color, size_t maxFrames)
{
    Style st { color };
    std::string head = fmt::format("deadlock ({})", verdictName(d.verdict));
    std::string out = fmt::format("==ravel== {}: {}\n", st.red("ERROR"), st.bold(head + ": " + runDeadlockTitle(d)));
    for (size_t i = 0; i < d.threads.size(); i++) {
        const RunWaitThread& t = d.threads[i];
        if (i == d.cycle)
            out += "\n  blocked on them:\n";
        out += fmt::format("\n  {}, {} (tid {}) {}:\n", st.bold(processLabel(d, t.pid)), st.bold(threadLabel(t)), t.osTid,
                           waitLine(d, t, stacks, st));
        auto it = stacks.frames.find(t.osTid);
        appendFrames(out, it == stacks.frames.end() ? nullptr : &it->second, maxFrames, st);
        for (uint64_t h : t.board.held) {
            auto name = stacks.objectNames.find({ t.pid, h });
            out += fmt::format("    it holds {}\n",
                               st.bold(name != stacks.objectNames.end() ? name->second : fmt::format("0x{:x}", h)));
        }
    }
    if (!d.pipes.empty())
        out += "\n";
    for (size_t i = 0; i < d.pipes.size(); i++) {
        const RunPipe& p = d.pipes[i];
        if (p.type == Descriptor::Type::Socket) {
            out += fmt::format("  {}: one side {}; the other side {}\n", runPipeName(d, i), heldBy(d, p.ends),
                               heldBy(d, p.peerEnds));
            continue;
        }
        std::vector<RunPipeEnd> readers, writers;
        for (const RunPipeEnd& e : p.ends) {
            if (e.readable)
                readers.push_back(e);
            if (e.writable)
                writers.push_back(e);
        }
        out += fmt::format("  {} (inode {}): read end {}; write end {}\n", runPipeName(d, i), p.inode, heldBy(d, readers),
                           heldBy(d, writers));
    }
    for (const std::string& n : d.notes)
        out += fmt::format("\n  note: {}\n", n);
    for (const std::string& w : stacks.warnings)
        out += fmt::format("\n  note: {}\n", w);
    std::string where;
    for (const RunWaitThread& t : d.threads) {
        auto it = stacks.frames.find(t.osTid);
        if (it == stacks.frames.end())
            continue;
        if (const Frame* u = Symbolizer::userFrame(it->second)) {
            where = fmt::format(" in {} {}", u->function, Symbolizer::site(*u));
            break;
        }
    }
    out += fmt::format("\n==ravel== SUMMARY: {}{}\n", head, where);
    return out;
}

} // namespace ravel
