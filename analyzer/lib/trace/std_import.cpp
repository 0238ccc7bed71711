#include "trace/std_import.hpp"

#include "trace/trace_reader.hpp"
#include "trace/trace_writer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <functional>
#include <string_view>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ravel {

namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMaxLine = 64 * 1024;    // longer is not STD (a binary file, a lost newline)
constexpr uint64_t kNsPerLine = 1000;      // line n happens at n microseconds
constexpr unsigned kMaxLocDigits = 15;     // its BCD form plus one still fits 64 bits
constexpr unsigned kMaxLockDigits = 11;    // its BCD form fits below 2^44

// Synthetic address ranges, all below 2^48 and disjoint. A lock whose name ends in digits ("L3")
// lives at kLockBase | BCD(3) = 0x100000000003, so reports that can only show an address still
// let a person find the lock; other names (and collisions) take sequential addresses.
constexpr uint64_t kLockBase = 0x1000'0000'0000;
constexpr uint64_t kCondOfLock = 0x1000'0000'0000; // added to a lock's address: its monitor's wait set
constexpr uint64_t kOtherLockBase = 0x5000'0000'0000;
constexpr uint64_t kPthreadBase = 0x7000'0000'0000;

struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view> {}(s); }
};
using NameMap = std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>>;

enum class Op { Acq, Rel, Req, Read, Write, Fork, Join, Begin, End, Wait, Notify, NotifyAll, Unknown };

Op parseOp(std::string_view s)
{
    static const std::pair<std::string_view, Op> ops[] = {{"acq", Op::Acq}, {"rel", Op::Rel}, {"req", Op::Req},
        {"r", Op::Read}, {"w", Op::Write}, {"fork", Op::Fork}, {"join", Op::Join}, {"begin", Op::Begin},
        {"end", Op::End}, {"wait", Op::Wait}, {"notify", Op::Notify}, {"notifyAll", Op::NotifyAll}};
    for (const auto& [name, op] : ops)
        if (s == name)
            return op;
    return Op::Unknown;
}

// Decimal digits read as hex digits: 45 -> 0x45, so "0x45" in a report reads as loc 45.
uint64_t bcd(std::string_view digits)
{
    uint64_t v = 0;
    for (char c : digits)
        v = v << 4 | uint64_t(c - '0');
    return v;
}

bool allDigits(std::string_view s)
{
    if (s.empty())
        return false;
    for (char c : s)
        if (c < '0' || c > '9')
            return false;
    return true;
}

// Input text quoted in an error line: cut, with bytes a terminal would misread escaped.
std::string quote(std::string_view s)
{
    constexpr size_t kMax = 60;
    std::string out = "'";
    for (size_t i = 0; i < s.size() && i < kMax; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f || c == '\\')
            out += fmt::format("\\x{:02x}", c);
        else
            out += char(c);
    }
    if (s.size() > kMax)
        out += "...";
    return out + "'";
}

struct Lock {
    std::string name;
    uint64_t address = 0;
    uint32_t seq = 0;     // per-object sequence numbers, taken in global order
    uint32_t condSeq = 0;
    uint32_t owner = 0; // tid of the thread holding it, 0 when free
    uint64_t ownerLine = 0;
    uint64_t cond() const { return address + kCondOfLock; }
};

struct Held {
    uint32_t lock;
    uint32_t depth; // Java reentrancy: acquisitions not yet matched by a release
};

struct Thread {
    std::string name;
    uint32_t tid = 0;
    uint32_t parent = 0;
    uint64_t pthread = 0;
    bool started = false, exited = false, forked = false;
    uint64_t startNs = 0, exitNs = 0;
    uint64_t startLine = 0, forkLine = 0, joinLine = 0;
    std::vector<Held> held;
    uint32_t reqLock = kNone; // a req(l) not yet followed by its acq(l): blocked
    uint64_t reqLine = 0, reqIndex = 0;
    uint32_t waitLock = kNone; // in wait(l) until its next event
    uint32_t waitDepth = 0, waitStack = 0;
    uint64_t waitLine = 0;
    bool waitReleased = false; // the rel/wait/acq dialect: the wait's release and reacquisition are lines of their own
    uint32_t lastRel = kNone;  // the lock this thread's previous line released entirely
    uint32_t lastRelDepth = 0;

    Held* holding(uint32_t lock)
    {
        for (Held& h : held)
            if (h.lock == lock)
                return &h;
        return nullptr;
    }
};

class StdImporter {
public:
    StdImporter(TraceWriter& writer, std::string display)
        : m_writer(writer)
        , m_display(std::move(display))
    {
    }

    void line(std::string_view text, uint64_t lineNo);
    void finish(StdImportStats& stats);

private:
    [[noreturn]] void fail(std::string_view what) const
    {
        throw StdImportError(fmt::format("{}:{}: {}", m_display, m_lineNo, what));
    }
    Thread& thread(std::string_view name);
    uint32_t lock(std::string_view name);
    uint32_t stackFor(std::string_view loc);
    void emit(Thread& t, unsigned kind, uint64_t obj, uint32_t aux = 0, uint32_t stack = 0, unsigned flags = 0)
    {
        m_writer.event(t.tid, m_lineNs + m_sub++, kind, obj, aux, stack, flags);
    }
    void start(Thread& t);
    void exit(Thread& t);
    void wake(Thread& t);
    void take(Thread& t, uint32_t id, const char* what);

    TraceWriter& m_writer;
    std::string m_display;
    std::deque<Thread> m_threads; // index = tid - 1; a deque so references survive growth
    NameMap m_threadIds;
    Thread* m_lastThread = nullptr; // consecutive lines are usually one thread's: skip the hash
    std::vector<Lock> m_locks;
    NameMap m_lockIds;
    std::unordered_set<uint64_t> m_lockAddresses;
    std::unordered_map<uint64_t, uint32_t> m_stacks; // loc -> stack id
    uint64_t m_lineNo = 0;
    uint64_t m_lineNs = 0;
    uint64_t m_sub = 0;   // events emitted for the current line: ns after the line's time
    uint64_t m_index = 0; // non-blank lines so far
    StdImportStats m_stats;
};

Thread& StdImporter::thread(std::string_view name)
{
    if (m_lastThread && m_lastThread->name == name)
        return *m_lastThread;
    auto it = m_threadIds.find(name);
    if (it != m_threadIds.end())
        return *(m_lastThread = &m_threads[it->second - 1]);
    Thread& t = m_threads.emplace_back();
    t.name = std::string(name);
    t.tid = uint32_t(m_threads.size());
    t.pthread = kPthreadBase + (uint64_t(t.tid) << 12);
    m_threadIds.emplace(t.name, t.tid);
    return *(m_lastThread = &t);
}

uint32_t StdImporter::lock(std::string_view name)
{
    auto it = m_lockIds.find(name);
    if (it != m_lockIds.end())
        return it->second;
    Lock l;
    l.name = std::string(name);
    size_t digits = 0;
    while (digits < name.size() && name[name.size() - 1 - digits] >= '0' && name[name.size() - 1 - digits] <= '9')
        ++digits;
    uint64_t readable = digits > 0 && digits <= kMaxLockDigits ? kLockBase | bcd(name.substr(name.size() - digits)) : 0;
    if (readable && m_lockAddresses.insert(readable).second)
        l.address = readable;
    else
        l.address = kOtherLockBase + 16 * uint64_t(m_locks.size());
    uint32_t id = uint32_t(m_locks.size());
    m_locks.push_back(std::move(l));
    m_lockIds.emplace(m_locks.back().name, id);
    return id;
}

uint32_t StdImporter::stackFor(std::string_view loc)
{
    if (!allDigits(loc))
        fail(fmt::format("location {} is not a number", quote(loc)));
    while (loc.size() > 1 && loc.front() == '0')
        loc.remove_prefix(1);
    if (loc.size() > kMaxLocDigits)
        fail(fmt::format("location {} is too large (at most {} digits)", quote(loc), kMaxLocDigits));
    uint64_t code = bcd(loc);
    auto [it, fresh] = m_stacks.try_emplace(code, uint32_t(m_stacks.size() + 1));
    if (fresh) {
        // The symbolizer looks a return address up at address - 1: store loc + 1 so it shows "0x<loc>".
        m_writer.stack(it->second, {code + 1}, true);
    }
    return it->second;
}

void StdImporter::start(Thread& t)
{
    t.started = true;
    t.startLine = m_lineNo;
    t.startNs = m_lineNs + m_sub;
    emit(t, RAVEL_EV_THREAD_START, t.pthread, t.parent, 0, RAVEL_OBJ_THREAD);
}

void StdImporter::exit(Thread& t)
{
    t.exited = true;
    t.exitNs = m_lineNs + m_sub;
    emit(t, RAVEL_EV_THREAD_EXIT, t.pthread, 0, 0, RAVEL_OBJ_THREAD);
}

// The thread left Object.wait: it was notified (or woke spuriously) and reacquired the monitor
// with the depth it had.
void StdImporter::wake(Thread& t)
{
    Lock& l = m_locks[t.waitLock];
    emit(t, RAVEL_EV_WOKEN, l.cond(), ++l.condSeq, t.waitStack, RAVEL_OBJ_COND);
    if (t.waitReleased) {
        // The dialect reacquires with a req/acq line of its own, which line() checks and emits.
        t.waitReleased = false;
        t.waitLock = kNone;
        return;
    }
    take(t, t.waitLock, "the end of its wait");
    emit(t, RAVEL_EV_ACQUIRED, l.address, ++l.seq, t.waitStack, RAVEL_OBJ_MUTEX);
    t.held.push_back({t.waitLock, t.waitDepth});
    ++m_stats.acquisitions;
    t.waitLock = kNone;
}

// A lock that another thread holds cannot be taken: such a trace was not recorded from a run.
void StdImporter::take(Thread& t, uint32_t id, const char* what)
{
    Lock& l = m_locks[id];
    if (l.owner != 0 && l.owner != t.tid)
        fail(fmt::format("{} of {} by thread {} while thread {} holds it (acquired at line {}): "
                         "two threads cannot hold one lock",
            what, l.name, t.name, m_threads[l.owner - 1].name, l.ownerLine));
    l.owner = t.tid;
    l.ownerLine = m_lineNo;
}

void StdImporter::line(std::string_view text, uint64_t lineNo)
{
    m_lineNo = lineNo;
    m_stats.lines = lineNo;
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    if (text.empty())
        return;
    m_lineNs = lineNo * kNsPerLine;
    m_sub = 0;
    ++m_index;
    for (char c : text)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
            fail(fmt::format("control character 0x{:02x} in {}: not an STD trace", unsigned(c), quote(text)));

    size_t bar1 = text.find('|');
    size_t bar2 = bar1 == std::string_view::npos ? bar1 : text.find('|', bar1 + 1);
    if (bar2 == std::string_view::npos)
        fail(fmt::format("expected 'thread|op(arg)|loc', found {}", quote(text)));
    if (text.find('|', bar2 + 1) != std::string_view::npos)
        fail(fmt::format("too many fields in {}: expected 'thread|op(arg)|loc'", quote(text)));
    std::string_view threadName = text.substr(0, bar1);
    std::string_view opField = text.substr(bar1 + 1, bar2 - bar1 - 1);
    std::string_view loc = text.substr(bar2 + 1);
    if (threadName.empty())
        fail("empty thread name");
    size_t paren = opField.find('(');
    Op op = parseOp(opField.substr(0, paren));
    if (op == Op::Unknown)
        fail(fmt::format("unknown operation {}", quote(opField)));
    // Transaction markers are written with and without an argument; both are only counted.
    const bool marker = op == Op::Begin || op == Op::End;
    if (!marker && (paren == std::string_view::npos || opField.back() != ')'))
        fail(fmt::format("malformed operation {}: expected {}(arg)", quote(opField), opField.substr(0, paren)));
    std::string_view arg
        = paren == std::string_view::npos ? std::string_view() : opField.substr(paren + 1, opField.size() - paren - 2);
    if (arg.empty() && !marker)
        fail(fmt::format("operation {} has no argument", quote(opField)));
    if (arg.find_first_of("()") != std::string_view::npos)
        fail(fmt::format("malformed operation {}: expected one argument", quote(opField)));
    uint32_t stack = stackFor(loc);

    Thread& t = thread(threadName);
    if (t.exited)
        fail(fmt::format("thread {} has an event after it was joined at line {}", t.name, t.joinLine));
    if (!t.started)
        start(t);
    if (t.waitLock != kNone) {
        if (t.waitReleased && !((op == Op::Acq || op == Op::Req) && lock(arg) == t.waitLock))
            fail(fmt::format("wait({0}) of thread {1} at line {2} came after rel({0}) but is not followed by "
                             "req({0}) or acq({0})",
                m_locks[t.waitLock].name, t.name, t.waitLine));
        wake(t);
    }
    const uint32_t lastRel = t.lastRel;
    const uint32_t lastRelDepth = t.lastRelDepth;
    t.lastRel = kNone;
    if (t.reqLock != kNone && !(op == Op::Acq && lock(arg) == t.reqLock))
        fail(fmt::format("req({}) of thread {} at line {} is not followed by acq({})", m_locks[t.reqLock].name, t.name,
            t.reqLine, m_locks[t.reqLock].name));

    switch (op) {
    case Op::Acq: {
        uint32_t id = lock(arg);
        bool requested = t.reqLock == id;
        t.reqLock = kNone;
        if (Held* h = t.holding(id)) {
            // Reentrant: a Java monitor the thread holds never blocks it. Folded into the outer hold,
            // so it adds no lock-order edge and no self-deadlock.
            ++h->depth;
            ++m_stats.nestedAcquisitions;
            break;
        }
        take(t, id, "acq");
        Lock& l = m_locks[id];
        // Lines of other threads between req and acq: the thread waited.
        unsigned flags = RAVEL_OBJ_MUTEX | (requested && m_index > t.reqIndex + 1 ? RAVEL_F_CONTENDED : 0);
        emit(t, RAVEL_EV_ACQUIRED, l.address, ++l.seq, stack, flags);
        t.held.push_back({id, 1});
        ++m_stats.acquisitions;
        break;
    }
    case Op::Req: {
        uint32_t id = lock(arg);
        if (t.holding(id))
            break; // reentrant: cannot block
        emit(t, RAVEL_EV_ACQ_REQ, m_locks[id].address, 0, stack, RAVEL_OBJ_MUTEX);
        t.reqLock = id;
        t.reqLine = m_lineNo;
        t.reqIndex = m_index;
        break;
    }
    case Op::Rel: {
        uint32_t id = lock(arg);
        Held* h = t.holding(id);
        if (!h) {
            const Lock& l = m_locks[id];
            if (l.owner != 0)
                fail(fmt::format("rel({0}) by thread {1}, which does not hold {0} (thread {2} holds it since line {3})",
                    l.name, t.name, m_threads[l.owner - 1].name, l.ownerLine));
            fail(fmt::format("rel({0}) by thread {1}, which does not hold {0}", l.name, t.name));
        }
        if (--h->depth > 0)
            break;
        t.held.erase(t.held.begin() + (h - t.held.data()));
        m_locks[id].owner = 0;
        t.lastRel = id;
        t.lastRelDepth = 1;
        emit(t, RAVEL_EV_RELEASE, m_locks[id].address, 0, stack, RAVEL_OBJ_MUTEX);
        break;
    }
    case Op::Fork: {
        Thread& child = thread(arg);
        if (&child == &t)
            fail(fmt::format("thread {} forks itself", t.name));
        if (child.forked)
            fail(fmt::format("thread {} was already forked at line {}", child.name, child.forkLine));
        if (child.started)
            fail(fmt::format("fork({}) after {} started at line {}", child.name, child.name, child.startLine));
        child.forked = true;
        child.forkLine = m_lineNo;
        child.parent = t.tid;
        emit(t, RAVEL_EV_THREAD_CREATE, child.pthread, child.tid, stack, RAVEL_OBJ_THREAD);
        break;
    }
    case Op::Join: {
        Thread& child = thread(arg);
        if (&child == &t)
            fail(fmt::format("thread {} joins itself", t.name));
        if (child.reqLock != kNone)
            fail(fmt::format("join({}): {} is still blocked in req({}) from line {}", child.name, child.name,
                m_locks[child.reqLock].name, child.reqLine));
        if (child.waitLock != kNone)
            fail(fmt::format("join({}): {} is still blocked in wait({}) from line {}", child.name, child.name,
                m_locks[child.waitLock].name, child.waitLine));
        if (!child.exited) {
            // A joined thread has ended; its last event was its last line.
            if (!child.started)
                start(child);
            exit(child);
            child.joinLine = m_lineNo;
        }
        emit(t, RAVEL_EV_JOIN_REQ, child.pthread, child.tid, stack, RAVEL_OBJ_THREAD);
        emit(t, RAVEL_EV_JOIN_DONE, child.pthread, 0, stack, RAVEL_OBJ_THREAD);
        break;
    }
    case Op::Wait: {
        uint32_t id = lock(arg);
        Held* h = t.holding(id);
        if (!h && lastRel == id) {
            // The dialect of several public benchmark sets: rel(l), wait(l), then req(l)/acq(l). The
            // monitor was released by the line before; the wait ends at the thread's next line.
            t.waitLock = id;
            t.waitDepth = lastRelDepth;
            t.waitStack = stack;
            t.waitLine = m_lineNo;
            t.waitReleased = true;
            emit(t, RAVEL_EV_WAIT_REQ, m_locks[id].cond(), 0, stack, RAVEL_OBJ_COND);
            ++m_stats.releasedWaits;
            break;
        }
        if (!h)
            fail(fmt::format("wait({0}) by thread {1}, which does not hold {0}", m_locks[id].name, t.name));
        // Object.wait releases the monitor whatever its depth and blocks until the thread's next
        // event, where wake() reacquires it.
        t.waitLock = id;
        t.waitDepth = h->depth;
        t.waitStack = stack;
        t.waitLine = m_lineNo;
        t.held.erase(t.held.begin() + (h - t.held.data()));
        m_locks[id].owner = 0;
        emit(t, RAVEL_EV_WAIT_REQ, m_locks[id].cond(), 0, stack, RAVEL_OBJ_COND);
        emit(t, RAVEL_EV_RELEASE, m_locks[id].address, 0, stack, RAVEL_OBJ_MUTEX);
        break;
    }
    case Op::Notify:
    case Op::NotifyAll: {
        Lock& l = m_locks[lock(arg)];
        emit(t, op == Op::Notify ? RAVEL_EV_SIGNAL : RAVEL_EV_BROADCAST, l.cond(), ++l.condSeq, stack, RAVEL_OBJ_COND);
        break;
    }
    case Op::Read:
    case Op::Write:
        ++m_stats.memoryAccesses;
        break;
    case Op::Begin:
    case Op::End:
        ++m_stats.atomicBlocks;
        break;
    case Op::Unknown:
        break;
    }
}

void StdImporter::finish(StdImportStats& stats)
{
    if (m_index == 0)
        throw StdImportError(fmt::format("{}: no events (an STD trace has one event per line)", m_display));
    m_lineNs = (m_lineNo + 1) * kNsPerLine;
    m_sub = 0;
    uint32_t blocked = 0;
    std::vector<WriterThread> table;
    for (Thread& t : m_threads) {
        // A thread still waiting when the trace ends is left blocked, as a hung run would be. The end
        // of the file is no thread's exit: only a join says a thread ended, so the others are left
        // running, as threads alive when a process ends are.
        if (t.reqLock != kNone || t.waitLock != kNone)
            ++blocked;
        else if (!t.started)
            start(t); // forked, never seen: it started, and nothing says it ended
        WriterThread w;
        w.tid = t.tid;
        w.parent = t.parent;
        w.pthread = t.pthread;
        w.startNs = t.startNs;
        w.exitNs = t.exitNs;
        w.exited = t.exited;
        w.name = t.name;
        table.push_back(std::move(w));
    }
    uint64_t endNs = m_lineNs + m_sub;
    m_writer.finish(table, endNs, blocked == 0, 0);
    stats = m_stats;
    stats.events = m_writer.eventCount();
    stats.threads = uint32_t(m_threads.size());
    stats.locks = uint32_t(m_locks.size());
    stats.locations = uint32_t(m_stacks.size());
    stats.blockedAtEnd = blocked;
}

// Where the raw trace is written before compaction: an anonymous memory file when the input is
// small enough, else a file beside the output. Compacting reads it through a mapping, whose
// readahead also pulls in the unused tail of every thread's last chunk, and on disk a trace of
// thousands of short threads is thousands of scattered extents: measured here, 4000 threads made
// deleting the raw file alone take 10-15 s; in memory, nothing. Removed or closed when done.
class RawFile {
public:
    static constexpr off_t kMemoryLimit = 256 << 20; // input bytes; raw traces are smaller than their STD text

    RawFile(const std::string& outPath, off_t inputSize)
    {
        if (inputSize <= kMemoryLimit)
            m_memfd = ::memfd_create("ravel-import", MFD_CLOEXEC);
        if (m_memfd >= 0) {
            m_path = fmt::format("/proc/self/fd/{}", m_memfd);
            return;
        }
        std::string path = outPath + ".raw-XXXXXX";
        int fd = ::mkstemp(path.data());
        if (fd < 0)
            throw TraceError(fmt::format("{}: cannot create: {}", outPath, std::strerror(errno)));
        ::close(fd);
        m_path = path;
        m_unlink = true;
    }
    ~RawFile()
    {
        if (m_memfd >= 0)
            ::close(m_memfd);
        if (m_unlink)
            ::unlink(m_path.c_str());
    }
    RawFile(const RawFile&) = delete;
    RawFile& operator=(const RawFile&) = delete;
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
    int m_memfd = -1;
    bool m_unlink = false;
};

} // namespace

StdImportStats importStd(const std::string& stdPath, const std::string& outPath, const std::string& displayName)
{
    int in = ::open(stdPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0)
        throw StdImportError(fmt::format("{}: cannot open: {}", displayName, std::strerror(errno)));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer {in};
    struct stat st {};
    if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode))
        throw StdImportError(fmt::format("{}: not a regular file", displayName));

    // compactTrace writes the output through a rename: a failed import leaves nothing behind.
    RawFile raw(outPath, st.st_size);

    StdImportStats stats;
    {
        TraceWriter writer(raw.path());
        RavelFileHeader& h = writer.header();
        char* abs = ::realpath(stdPath.c_str(), nullptr);
        std::string program = abs ? abs : stdPath;
        std::free(abs);
        std::snprintf(h.program, sizeof h.program, "%s", program.c_str());
        size_t argvLen = std::min(displayName.size() + 1, sizeof h.argv);
        std::memcpy(h.argv, displayName.c_str(), argvLen);
        h.argv_len = uint32_t(argvLen);
        h.pid = 1; // a Java run has no pid we know; one process
        h.start_real_ns = uint64_t(st.st_mtim.tv_sec) * 1'000'000'000ull + uint64_t(st.st_mtim.tv_nsec);

        StdImporter importer(writer, displayName);
        std::vector<char> buf(1 << 20);
        size_t have = 0;
        uint64_t lineNo = 0;
        for (;;) {
            ssize_t n = ::read(in, buf.data() + have, buf.size() - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw StdImportError(fmt::format("{}: cannot read: {}", displayName, std::strerror(errno)));
            have += size_t(n);
            size_t begin = 0;
            for (;;) {
                const void* nl = std::memchr(buf.data() + begin, '\n', have - begin);
                if (!nl)
                    break;
                size_t end = size_t(static_cast<const char*>(nl) - buf.data());
                importer.line(std::string_view(buf.data() + begin, end - begin), ++lineNo);
                begin = end + 1;
            }
            if (n == 0) {
                if (begin < have) // a last line without its newline
                    importer.line(std::string_view(buf.data() + begin, have - begin), ++lineNo);
                break;
            }
            if (have - begin > kMaxLine)
                throw StdImportError(fmt::format(
                    "{}:{}: line longer than {} bytes: not an STD trace", displayName, lineNo + 1, kMaxLine));
            std::memmove(buf.data(), buf.data() + begin, have - begin);
            have -= begin;
        }
        importer.finish(stats);
    }
    compactTrace(raw.path(), outPath);
    return stats;
}

} // namespace ravel
