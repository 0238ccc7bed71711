// `ravel export TRACE --perfetto -o FILE.pftrace|FILE.json`: the run for ui.perfetto.dev, in
// Perfetto's protobuf format (the default for .pftrace and .perfetto-trace) or as Chrome
// trace-event JSON (threads, blocked slices, lock holds, handoff flows, findings; see
// perfetto_export.hpp), optionally cut to a window (--from, --to). `-o -` writes to stdout. A file is written beside its final
// name and renamed into place, so a failed export leaves no partial file and an old one intact.
#include "commands.hpp"

#include "analysis/analysis.hpp"
#include "analysis/run_analysis.hpp"
#include "base/trace_time.hpp"
#include "export/graph_model.hpp"
#include "export/perfetto_export.hpp"
#include "model/replay_model.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/run_traces.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace ravel::cli {

namespace {

constexpr int kUsageError = 2;

struct ExportOptions {
    std::string trace;
    bool perfetto = false;
    std::string output;
    std::string format; // "proto", "json", or empty: by the output's name
    std::string from, to;
    PerfettoOptions how; // from the three above
    bool noFindings = false;
    bool noLockOrder = false;
    bool verbose = false;
    std::optional<uint32_t> pid; // a process of the run other than the main trace's
};

// Where the JSON goes: stdout, the file itself (a device or a FIFO cannot be renamed onto), or a
// temporary beside it that replaces it once complete.
class Output {
public:
    explicit Output(const std::string& path)
        : m_path(path)
    {
        if (path == "-") {
            m_file = stdout;
            return;
        }
        struct stat st { };
        bool special = ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
        m_writing = special ? path : fmt::format("{}.tmp-{}", path, getpid());
        m_file = std::fopen(m_writing.c_str(), "wb");
        if (!m_file)
            throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
        m_temporary = !special;
    }
    ~Output()
    {
        if (m_file && m_file != stdout)
            std::fclose(m_file);
        if (m_temporary)
            std::remove(m_writing.c_str());
    }
    std::FILE* file() const { return m_file; }
    void commit()
    {
        if (m_file == stdout) {
            if (std::fflush(stdout) != 0)
                throw std::runtime_error(fmt::format("cannot write to stdout: {}", std::strerror(errno)));
            return;
        }
        int err = std::ferror(m_file) ? (errno ? errno : EIO) : 0;
        if (std::fclose(m_file) != 0 && !err)
            err = errno;
        m_file = nullptr;
        if (!err && m_temporary && std::rename(m_writing.c_str(), m_path.c_str()) != 0)
            err = errno;
        if (err)
            throw std::runtime_error(fmt::format("cannot write {}: {}", m_path, std::strerror(err)));
        m_temporary = false;
    }
    std::string failure(const std::string& why) const
    {
        return fmt::format("cannot write {}: {}", m_file == stdout ? "to stdout" : m_path, why);
    }

private:
    std::string m_path;
    std::string m_writing;
    std::FILE* m_file = nullptr;
    bool m_temporary = false;
};

void warnOnce(std::vector<std::string>& said, const std::vector<std::string>& lines)
{
    for (const std::string& w : lines) {
        if (std::find(said.begin(), said.end(), w) != said.end())
            continue;
        said.push_back(w);
        fmt::print(stderr, "ravel: warning: {}\n", w);
    }
}

int runExport(const ExportOptions& o)
{
    auto started = std::chrono::steady_clock::now();
    try {
        TraceReader reader(o.pid ? traceOfProcess(o.trace, *o.pid) : o.trace);
        // Opened before the long work, so a bad output path fails at once.
        Output out(o.output);
        RunAnalysis run(reader);
        const ReplayModel& model = run.model();
        Symbolizer sym(reader.modules());
        std::vector<Finding> findings;
        if (!o.noFindings) {
            AnalysisOptions analysis;
            analysis.lockOrder = !o.noLockOrder;
            findings = analyzeTrace(run, sym, analysis);
        }
        SymbolizedNaming naming(model, sym);
        PerfettoStats stats;
        try {
            stats = writePerfetto(model, findings, naming, out.file(), o.how);
        } catch (const std::runtime_error& e) {
            throw std::runtime_error(out.failure(e.what()));
        }
        out.commit();
        std::vector<std::string> said;
        warnOnce(said, reader.warnings());
        warnOnce(said, sym.warnings());
        if (o.verbose) {
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            fmt::print(stderr,
                "==ravel== exported {} {} to {} ({} bytes: {} blocked, {} holds, {} flows, {} "
                "findings) from {} recorded events in {:.2f} s\n",
                stats.events, o.how.format == PerfettoFormat::Proto ? "packets" : "trace events", o.output == "-" ? "stdout" : o.output, stats.bytes, stats.waits, stats.holds, stats.flows,
                stats.findings, model.eventCount(), seconds);
        }
        return 0;
    } catch (const TraceError& e) {
        fmt::print(stderr, "ravel: {}\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "ravel: export: {}\n", e.what());
        return 1;
    }
}

} // namespace

void addExportCommand(CLI::App& app, int& status)
{
    auto options = std::make_shared<ExportOptions>();
    CLI::App* cmd = app.add_subcommand("export",
        "Export a trace for other tools: --perfetto writes what ui.perfetto.dev opens, Perfetto's "
        "protobuf trace (.pftrace) or Chrome trace-event JSON");
    cmd->add_option("TRACE", options->trace, "trace file (.ravel)")->required();
    cmd->add_flag("--perfetto", options->perfetto,
        "Perfetto trace: thread names, blocked slices, lock holds, handoff flows, findings");
    cmd->add_option("-o,--output", options->output, "output file, or - for stdout")->required();
    cmd->add_option("--format", options->format,
           "proto (Perfetto's protobuf trace, compact; the default for a .pftrace or .perfetto-trace "
           "output) or json (Chrome trace-event JSON; the default otherwise)")
        ->check(CLI::IsMember({ "proto", "json" }));
    auto time = [](const std::string& v) {
        return parseTraceTime(v) ? std::string() : "'" + v + "' is not a time such as 1.25s or 1250ms";
    };
    cmd->add_option("--from", options->from, "keep what happens at or after TIME (1.25s, 1250ms, 40us)")
        ->type_name("TIME")
        ->check(time);
    cmd->add_option("--to", options->to, "keep what happens at or before TIME")->type_name("TIME")->check(time);
    cmd->add_flag("--no-findings", options->noFindings, "leave the findings out (skips the analyses)");
    cmd->add_option("--pid", options->pid, "export process PID of the run (its trace beside the main one)")
        ->type_name("PID");
    cmd->add_flag("--no-lock-order", options->noLockOrder, "skip the lock-order analysis: no potential deadlocks");
    cmd->add_flag("-v,--verbose", options->verbose, "print what was written and how long it took");
    cmd->callback([options, &status] {
        if (!options->perfetto)
            throw CLI::ValidationError("export", "choose the output format: --perfetto");
        if (options->output.empty())
            throw CLI::ValidationError("-o", "expected a file name, or - for stdout");
        PerfettoOptions& p = options->how;
        p.format = options->format == "proto" ? PerfettoFormat::Proto
            : options->format == "json"       ? PerfettoFormat::Json
                                              : perfettoFormatFor(options->output);
        if (!options->from.empty())
            p.fromNs = *parseTraceTime(options->from);
        if (!options->to.empty())
            p.toNs = *parseTraceTime(options->to);
        if (p.toNs < p.fromNs)
            throw CLI::ValidationError("--to", fmt::format("{} is before --from {}", options->to, options->from));
        status = runExport(*options);
    });
}

} // namespace ravel::cli
