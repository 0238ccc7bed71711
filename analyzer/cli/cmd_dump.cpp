// `ravel dump TRACE`: every event, one per line, symbolized, in the reader's global order:
//
//      1.204563s  T2 worker   ACQUIRED   mutex account_a (0x55d0c0de4040)  seq=17  at transfer bank.c:12
//
// Traces hold millions of events, so output goes through one buffer and symbolization is cached
// per stack id (the same few hundred sites repeat).
#include "commands.hpp"

#include "model/objects.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/run_traces.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <sys/wait.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

namespace ravel::cli {

namespace {

struct DumpOptions {
    std::string trace;
    std::optional<uint32_t> thread;
    std::optional<uint64_t> limit;
    std::optional<uint32_t> pid;
    bool stacks = false;
};

std::string errnoName(uint32_t err)
{
    if (err == 0)
        return "0";
    if (const char* name = strerrorname_np(int(err)))
        return name;
    return fmt::format("{}", err);
}

std::string modifiers(const Event& e)
{
    std::string out;
    auto add = [&](const char* m) {
        out += out.empty() ? "" : ",";
        out += m;
    };
    if (e.flags & RAVEL_F_SHARED)
        add("shared");
    if (e.flags & RAVEL_F_TRY)
        add("try");
    if (e.flags & RAVEL_F_TIMED)
        add("timed");
    if (e.flags & RAVEL_F_CONTENDED)
        add("contended");
    return out;
}

class Dumper {
public:
    Dumper(const TraceReader& reader, const DumpOptions& options)
        : m_reader(reader)
        , m_options(options)
        , m_symbolizer(reader.modules())
        , m_tracker(reader.threads())
        , m_namer(m_symbolizer, reader)
    {
        for (const ThreadInfo& t : reader.threads())
            m_threadWidth = std::max(m_threadWidth, threadLabel(t.id).size());
        for (unsigned k = 0; k < m_kinds.size(); ++k)
            m_kinds[k] = fmt::format("  {:<13}", eventKindName(k));
    }

    ~Dumper() { flush(); }

    bool onEvent(const Event& e)
    {
        size_t known = m_tracker.objects().size();
        uint32_t object = m_tracker.onEvent(e);
        // Name every object when it first appears, filtered out or not, so "#2" numbering is the
        // same as in `ravel info`.
        if (object != kNoObject && object >= known)
            objectText(object);
        if (m_options.thread && e.thread != *m_options.thread)
            return true;
        if (m_options.limit && m_printed >= *m_options.limit)
            return false;
        ++m_printed;
        print(e, object);
        if (m_out.size() > (1u << 16))
            flush();
        return true;
    }

    const std::vector<std::string>& symbolizerWarnings() const { return m_symbolizer.warnings(); }

    void flush()
    {
        std::fwrite(m_out.data(), 1, m_out.size(), stdout);
        m_out.clear();
    }

private:
    std::string threadLabel(uint32_t id) const
    {
        const ThreadInfo* t = m_reader.thread(id);
        return t && !t->name.empty() ? fmt::format("T{} {}", id, t->name) : fmt::format("T{}", id);
    }

    // Per-line pieces are formatted once per thread, object and site and then only copied: dumps
    // run to millions of lines.
    const std::string& threadColumn(uint32_t id)
    {
        auto [it, fresh] = m_threadColumns.try_emplace(id);
        if (fresh)
            it->second = fmt::format("  {:<{}}", threadLabel(id), m_threadWidth);
        return it->second;
    }

    const std::string& threadLabelCached(uint32_t id)
    {
        auto [it, fresh] = m_threadLabels.try_emplace(id);
        if (fresh)
            it->second = threadLabel(id);
        return it->second;
    }

    // " mutex account_a (0x55d0c0de4040)"
    const std::string& objectText(uint32_t object)
    {
        if (object >= m_objectTexts.size())
            m_objectTexts.resize(object + 1);
        std::string& text = m_objectTexts[object];
        if (text.empty()) {
            const ObjectRecord& r = m_tracker.objects()[object];
            const std::string& name = m_namer.name(object, r);
            std::string_view kind = objectKindName(r.kind);
            // "mutex at bank.c:42" already says its kind; "mutex mutex at ..." would stutter.
            bool named = name.find(" at ") == std::string::npos && name.rfind(std::string(kind) + " ", 0) != 0;
            text = named ? fmt::format(" {} {} (0x{:x})", kind, name, r.address) : fmt::format(" {} (0x{:x})", name, r.address);
        }
        return text;
    }

    void append(const std::string& s) { m_out.append(s.data(), s.data() + s.size()); }

    // " at function file:line" of the first frame that is the program's own.
    const std::string& siteText(uint32_t stack)
    {
        auto [it, fresh] = m_sites.try_emplace(stack);
        if (!fresh)
            return it->second;
        const StackTrace* s = m_reader.stack(stack);
        if (!s)
            return it->second;
        std::vector<Frame> frames = m_symbolizer.symbolizeStack(s->frames);
        const Frame* f = Symbolizer::userFrame(frames);
        if (!f && !frames.empty())
            f = &frames.front();
        if (f) {
            std::string where = Symbolizer::site(*f);
            it->second = where.empty() ? fmt::format("  at {}", f->function) : fmt::format("  at {} {}", f->function, where);
        }
        return it->second;
    }

    void printStack(uint32_t stack, bool reused)
    {
        const StackTrace* s = m_reader.stack(stack);
        if (!s)
            return;
        if (s->site_only || reused)
            fmt::format_to(std::back_inserter(m_out), "        ({})\n", s->site_only ? "call site only" : "stack of an earlier event at this site");
        unsigned n = 0;
        for (const Frame& f : m_symbolizer.symbolizeStack(s->frames)) {
            std::string where = Symbolizer::site(f);
            if (f.inlined)
                fmt::format_to(std::back_inserter(m_out), "        #{:<2} {:>18} {}{}{}  (inlined)\n", n, "", f.function,
                    where.empty() ? "" : "  ", where);
            else
                fmt::format_to(std::back_inserter(m_out), "        #{:<2} 0x{:016x} {}{}{}\n", n++, f.address, f.function,
                    where.empty() ? "" : "  ", where);
        }
    }

    void print(const Event& e, uint32_t object)
    {
        auto out = std::back_inserter(m_out);
        fmt::format_to(out, FMT_COMPILE("{:4}.{:06}s"), e.time_ns / 1000000000, (e.time_ns % 1000000000) / 1000);
        append(threadColumn(e.thread));
        append(m_kinds[e.kind]);
        if (object != kNoObject)
            append(objectText(object));
        switch (e.kind) {
        case RAVEL_EV_ACQUIRED:
        case RAVEL_EV_WOKEN:
        case RAVEL_EV_SIGNAL:
        case RAVEL_EV_BROADCAST:
            fmt::format_to(out, FMT_COMPILE("  seq={}"), e.aux);
            break;
        case RAVEL_EV_ACQ_FAIL:
        case RAVEL_EV_WAIT_FAIL:
            fmt::format_to(out, "  {}", errnoName(e.aux));
            break;
        case RAVEL_EV_JOIN_DONE:
        case RAVEL_EV_EXEC:
        case RAVEL_EV_DESTROY:
            if (e.aux) // a failed call; success is the norm and says nothing
                fmt::format_to(out, "  {}", errnoName(e.aux));
            break;
        case RAVEL_EV_INIT:
            fmt::format_to(out, "  arg={}", e.aux);
            break;
        case RAVEL_EV_THREAD_START:
            if (e.aux)
                fmt::format_to(out, " parent=T{}", e.aux);
            break;
        case RAVEL_EV_THREAD_CREATE:
        case RAVEL_EV_THREAD_NAME:
            fmt::format_to(out, " {}", threadLabelCached(e.aux));
            if (e.obj)
                fmt::format_to(out, " (pthread 0x{:x})", e.obj);
            break;
        case RAVEL_EV_FORK:
            fmt::format_to(out, " child pid {}{}", e.aux, e.obj == 1 ? " (posix_spawn)" : "");
            break;
        case RAVEL_EV_FORK_CHILD:
            fmt::format_to(out, " parent pid {}", e.aux);
            break;
        case RAVEL_EV_PROC_WAIT_REQ: {
            int32_t asked = static_cast<int32_t>(e.aux);
            if (asked == -1)
                fmt::format_to(out, " any child");
            else if (asked > 0)
                fmt::format_to(out, " pid {}", asked);
            else
                fmt::format_to(out, " process group {}", asked == 0 ? std::string("own") : std::to_string(-asked));
            if (e.flags & RAVEL_F_TRY)
                fmt::format_to(out, " [nohang]");
            break;
        }
        case RAVEL_EV_PROC_WAIT_DONE: {
            int st = static_cast<int>(e.aux);
            if (e.obj == 0)
                fmt::format_to(out, " {}", e.aux ? "failed: " + errnoName(e.aux) : std::string("no child changed state"));
            else if (WIFEXITED(st))
                fmt::format_to(out, " pid {} exited {}", e.obj, WEXITSTATUS(st));
            else if (WIFSIGNALED(st))
                fmt::format_to(out, " pid {} killed by signal {}{}", e.obj, WTERMSIG(st), WCOREDUMP(st) ? " (core dumped)" : "");
            else if (WIFSTOPPED(st))
                fmt::format_to(out, " pid {} stopped by signal {}", e.obj, WSTOPSIG(st));
            else
                fmt::format_to(out, " pid {} continued", e.obj);
            break;
        }
        case RAVEL_EV_PROC_EXIT:
            fmt::format_to(out, " status {}", static_cast<int32_t>(e.aux));
            break;
        case RAVEL_EV_FREE:
            fmt::format_to(out, " [0x{:x}, +{})", e.obj, e.aux);
            break;
        case RAVEL_EV_LOST:
            fmt::format_to(out, " {} events not recorded", e.aux);
            break;
        case RAVEL_EV_MARK:
            fmt::format_to(out, " {}", e.aux);
            break;
        default:
            break;
        }
        if (std::string m = modifiers(e); !m.empty() && object != kNoObject)
            fmt::format_to(out, "  [{}]", m);
        uint32_t stack = stackIdOf(e.stack);
        if (stack)
            append(siteText(stack));
        while (m_out.size() && m_out.data()[m_out.size() - 1] == ' ')
            m_out.resize(m_out.size() - 1);
        m_out.push_back('\n');
        if (m_options.stacks && stack)
            printStack(stack, stack != e.stack);
    }

    const TraceReader& m_reader;
    const DumpOptions& m_options;
    Symbolizer m_symbolizer;
    ObjectTracker m_tracker;
    ObjectNamer m_namer;
    fmt::memory_buffer m_out;
    size_t m_threadWidth = 2;
    std::array<std::string, 256> m_kinds; // by event kind, padded
    std::vector<std::string> m_objectTexts;
    std::unordered_map<uint32_t, std::string> m_threadColumns;
    uint64_t m_printed = 0;
    std::unordered_map<uint32_t, std::string> m_sites;
    std::unordered_map<uint32_t, std::string> m_threadLabels;
};

int runDump(const DumpOptions& options)
{
    try {
        // The run's processes one after the other, each in a section of its own (thread ids and
        // times are each trace's own), the main trace first.
        RunTraces run = openRunTraces(options.trace);
        if (options.thread) {
            bool found = false;
            uint32_t last = 0;
            for (const auto& r : run.readers) {
                if (options.pid && r->summary().pid != *options.pid)
                    continue;
                found = found || r->thread(*options.thread);
                for (const ThreadInfo& t : r->threads())
                    last = std::max(last, t.id);
            }
            if (!found) {
                fmt::print(stderr, "ravel: dump: --thread T{}: {} has no such thread (its threads are T1 to T{})\n",
                           *options.thread, options.trace, last);
                return 1;
            }
        }
        bool sections = run.readers.size() > 1;
        bool any = false;
        for (size_t i = 0; i < run.readers.size(); i++) {
            const TraceReader& reader = *run.readers[i];
            if (options.pid && reader.summary().pid != *options.pid)
                continue;
            any = true;
            if (sections) {
                std::fflush(stdout);
                std::string head = fmt::format("{}== {}: {} ==\n", i ? "\n" : "", processLabel(reader.summary()),
                                               reader.summary().path);
                std::fwrite(head.data(), 1, head.size(), stdout);
            }
            Dumper dumper(reader, options);
            reader.forEachEvent([&](const Event& e) { return dumper.onEvent(e); });
            dumper.flush();
            std::fflush(stdout);
            // At the end, where a user reading a long dump sees them; the reader also warns while
            // streaming.
            for (const std::string& w : reader.warnings())
                fmt::print(stderr, "ravel: warning: {}\n", w);
            for (const std::string& w : dumper.symbolizerWarnings())
                fmt::print(stderr, "ravel: warning: {}\n", w);
        }
        for (const std::string& w : run.warnings)
            fmt::print(stderr, "ravel: warning: {}\n", w);
        if (options.pid && !any) {
            fmt::print(stderr, "ravel: dump: no process {} in the run of {}\n", *options.pid, options.trace);
            return 1;
        }
        return 0;
    } catch (const TraceError& e) {
        fmt::print(stderr, "ravel: {}\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "ravel: dump: {}\n", e.what());
        return 1;
    }
}

} // namespace

void addDumpCommand(CLI::App& app, int& status)
{
    auto options = std::make_shared<DumpOptions>();
    CLI::App* cmd = app.add_subcommand("dump", "Print every event of a trace, one per line, symbolized");
    cmd->add_option("TRACE", options->trace, "trace file (.ravel)")->required();
    // "3" or "T3", as the output writes it.
    cmd->add_option_function<std::string>(
           "--thread",
           [options](const std::string& value) {
               std::string digits = !value.empty() && (value[0] == 'T' || value[0] == 't') ? value.substr(1) : value;
               uint32_t id = 0;
               auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
               if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
                   throw CLI::ValidationError("--thread", "expected a thread id like 3 or T3, got '" + value + "'");
               options->thread = id;
           },
           "only the events of thread N (T<N> in the output; N or TN)")
        ->type_name("N");
    cmd->add_option("--limit", options->limit, "stop after N events (of each process)");
    cmd->add_option("--pid", options->pid, "only the process PID of the run (each process is a section)")
        ->type_name("PID");
    cmd->add_flag("--stacks", options->stacks, "print the symbolized stack under each event");
    cmd->callback([options, &status] { status = runDump(*options); });
}

} // namespace ravel::cli
