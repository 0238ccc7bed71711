// `ravel import --from std FILE.std [-o FILE.ravel]`: converts a trace of the prediction literature
// into a ravel trace, so every other command (info, report, graph, the GUI) reads it like a run.
#include "commands.hpp"

#include "trace/std_import.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>

namespace ravel::cli {

namespace {

struct ImportOptions {
    std::string from;
    std::string input;
    std::string output;
};

int runImport(const ImportOptions& options)
{
    std::string output = options.output;
    if (output.empty()) {
        std::filesystem::path p(options.input);
        output = p.replace_extension(".ravel").string();
    }
    try {
        auto begin = std::chrono::steady_clock::now();
        StdImportStats s = importStd(options.input, output, options.input);
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        if (s.memoryAccesses || s.atomicBlocks)
            fmt::print(stderr,
                "ravel: warning: {}: {} memory accesses (r/w) and {} atomic-block events (begin/end) were not "
                "imported: ravel does not record memory events yet\n",
                options.input, s.memoryAccesses, s.atomicBlocks);
        if (s.blockedAtEnd)
            fmt::print(stderr, "ravel: note: {} thread{} still waiting when the trace ends (left blocked)\n",
                s.blockedAtEnd, s.blockedAtEnd == 1 ? " is" : "s are");
        if (s.releasedWaits)
            fmt::print(stderr, "ravel: note: {} wait{} written as rel, wait, req/acq (their release and reacquisition on lines of their own)\n",
                s.releasedWaits, s.releasedWaits == 1 ? "" : "s");
        fmt::print(stderr,
            "ravel: imported {}: {} lines, {} threads, {} locks ({} acquisitions, {} reentrant folded), {} locations "
            "-> {} ({} events in {:.2f}s: {:.2f}M lines/s)\n",
            options.input, s.lines, s.threads, s.locks, s.acquisitions, s.nestedAcquisitions, s.locations, output,
            s.events, seconds, seconds > 0 ? double(s.lines) / seconds / 1e6 : 0.0);
        return 0;
    } catch (const StdImportError& e) {
        fmt::print(stderr, "ravel: {}\n", e.what());
        return 1;
    } catch (const TraceError& e) {
        fmt::print(stderr, "ravel: {}\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "ravel: import: {}\n", e.what());
        return 1;
    }
}

} // namespace

void addImportCommand(CLI::App& app, int& status)
{
    auto options = std::make_shared<ImportOptions>();
    CLI::App* cmd = app.add_subcommand("import", "Convert a trace from another format into a ravel trace");
    cmd->add_option("--from", options->from, "input format: std (thread|op(arg)|loc lines, as RAPID reads)")
        ->required()
        ->check(CLI::IsMember({"std"}));
    cmd->add_option("FILE", options->input, "trace to import")->required();
    cmd->add_option("-o,--output", options->output, "ravel trace to write (default: FILE with .ravel)");
    cmd->callback([options, &status] { status = runImport(*options); });
}

} // namespace ravel::cli
