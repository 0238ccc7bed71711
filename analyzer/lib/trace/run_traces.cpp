#include "trace/run_traces.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>

namespace ravel {

namespace {

namespace fs = std::filesystem;

bool readHeader(const std::string& path, RavelFileHeader& h)
{
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
        && pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h);
    close(fd);
    return ok && std::memcmp(h.magic, RAVEL_TRACE_MAGIC, 8) == 0;
}

// "<digits>" or "<digits>.<digits>": the pid and image parts of a per-process trace's name.
bool parsePidPart(const std::string& s, uint32_t& pid, uint32_t& image)
{
    size_t dot = s.find('.');
    std::string a = s.substr(0, dot), b = dot == std::string::npos ? "" : s.substr(dot + 1);
    auto digits = [](const std::string& x) {
        return !x.empty() && x.size() <= 10 && x.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!digits(a) || (dot != std::string::npos && !digits(b)))
        return false;
    pid = static_cast<uint32_t>(std::stoul(a));
    image = b.empty() ? 1 : static_cast<uint32_t>(std::stoul(b));
    return true;
}

std::string stemOf(const std::string& mainName)
{
    std::string stem = mainName;
    if (stem.size() > 6 && stem.compare(stem.size() - 6, 6, ".ravel") == 0)
        stem.resize(stem.size() - 6);
    return stem + ".";
}

bool matchName(const std::string& stem, const std::string& name, uint32_t& pid, uint32_t& image)
{
    if (name.size() <= stem.size() + 6 || name.compare(0, stem.size(), stem) != 0
        || name.compare(name.size() - 6, 6, ".ravel") != 0)
        return false;
    return parsePidPart(name.substr(stem.size(), name.size() - stem.size() - 6), pid, image);
}

} // namespace

bool isRunTraceName(const std::string& mainName, const std::string& fileName)
{
    uint32_t pid, image;
    return matchName(stemOf(mainName), fileName, pid, image);
}

uint64_t traceRunId(const std::string& path)
{
    RavelFileHeader h;
    return readHeader(path, h) && h.version >= 5 ? h.run_id : 0;
}

uint64_t traceStartMonoNs(const std::string& path)
{
    RavelFileHeader h;
    return readHeader(path, h) ? h.start_mono_ns : 0;
}

std::string runFindingsPath(const std::string& mainPath)
{
    fs::path p(mainPath);
    return (p.parent_path() / (stemOf(p.filename().string()) + "findings.json")).string();
}

std::vector<std::string> findRunTraces(const std::string& mainPath)
{
    std::vector<std::string> paths { mainPath };
    RavelFileHeader main;
    if (!readHeader(mainPath, main) || main.version < 5 || main.run_id == 0)
        return paths;
    fs::path p(mainPath);
    std::string stem = stemOf(p.filename().string());
    fs::path dir = p.parent_path();
    DIR* d = opendir(dir.empty() ? "." : dir.c_str());
    if (!d)
        return paths;
    std::vector<std::tuple<uint32_t, uint32_t, std::string>> found;
    while (dirent* entry = readdir(d)) {
        std::string name = entry->d_name;
        uint32_t pid = 0, image = 0;
        if (!matchName(stem, name, pid, image))
            continue;
        std::string path = (dir / name).string();
        RavelFileHeader h;
        // A trace of another run that happened to use the same name is not this run's.
        if (!readHeader(path, h) || h.version < 5 || h.run_id != main.run_id)
            continue;
        found.emplace_back(pid, image, path);
    }
    closedir(d);
    std::sort(found.begin(), found.end());
    for (auto& f : found)
        paths.push_back(std::get<2>(f));
    return paths;
}

std::string traceOfProcess(const std::string& mainPath, uint32_t pid)
{
    std::string found;
    uint64_t latest = 0;
    for (const std::string& path : findRunTraces(mainPath)) {
        RavelFileHeader h;
        if (readHeader(path, h) && h.pid == pid && (found.empty() || h.start_mono_ns >= latest)) {
            found = path;
            latest = h.start_mono_ns;
        }
    }
    if (found.empty())
        throw TraceError(fmt::format("{}: no process {} in the run", mainPath, pid));
    return found;
}

RunTraces openRunTraces(const std::string& mainPath)
{
    RunTraces run;
    run.readers.push_back(std::make_unique<TraceReader>(mainPath));
    std::vector<std::string> paths = findRunTraces(mainPath);
    for (size_t i = 1; i < paths.size(); i++) {
        try {
            run.readers.push_back(std::make_unique<TraceReader>(paths[i]));
        } catch (const TraceError& e) {
            run.warnings.push_back(fmt::format("{} (a trace of another process of the run), left out", e.what()));
        }
    }
    return run;
}

uint64_t runClockOffset(const TraceSummary& main, const TraceSummary& other)
{
    // The monotonic clock is one clock for every process of the machine, and each trace's times
    // count from its start_mono_ns; the wall clock can be stepped between two starts.
    if (main.start_mono_ns && other.start_mono_ns)
        return other.start_mono_ns > main.start_mono_ns ? other.start_mono_ns - main.start_mono_ns : 0;
    return other.start_real_ns > main.start_real_ns ? other.start_real_ns - main.start_real_ns : 0;
}

std::string processLabel(const TraceSummary& s)
{
    std::string command;
    for (const std::string& a : s.argv)
        command += (command.empty() ? "" : " ") + a;
    if (command.empty())
        command = s.program;
    return fmt::format("pid {} ({})", s.pid, command);
}

std::vector<RunProcess> describeProcesses(const RunTraces& run)
{
    const TraceSummary& mainSummary = run.main().summary();
    std::map<uint32_t, RunProcess> byPid;
    // What parents saw: the wait statuses of the children they reaped, and which images ended in
    // a successful exec (their process went on in the next image).
    std::map<uint32_t, uint32_t> reaped;
    std::map<const TraceReader*, bool> execed;
    for (const auto& reader : run.readers) {
        const TraceSummary& s = reader->summary();
        RunProcess& p = byPid[s.pid];
        p.pid = s.pid;
        if (p.images.empty())
            p.parent = s.ppid;
        ProcessImage image;
        image.trace = reader.get();
        image.program = s.program;
        image.argv = s.argv;
        image.image = s.image ? s.image : 1;
        p.images.push_back(std::move(image));
        p.threads += reader->threads().size();
        p.events += reader->eventCount();
        if (reader->eventCount(RAVEL_EV_PROC_WAIT_DONE) == 0 && reader->eventCount(RAVEL_EV_EXEC) == 0)
            continue;
        bool pendingExec = false;
        reader->forEachEvent([&](const Event& e) {
            if (e.kind == RAVEL_EV_PROC_WAIT_DONE && e.obj != 0)
                reaped[static_cast<uint32_t>(e.obj)] = e.aux;
            else if (e.kind == RAVEL_EV_EXEC)
                pendingExec = e.aux == 0;
            return true;
        });
        execed[reader.get()] = pendingExec;
    }
    std::vector<RunProcess> out;
    for (auto& [pid, p] : byPid) {
        std::sort(p.images.begin(), p.images.end(), [](const ProcessImage& a, const ProcessImage& b) {
            return a.image < b.image;
        });
        const TraceSummary& first = p.images.front().trace->summary();
        p.startNs = runClockOffset(mainSummary, first);
        p.parentInRun = byPid.count(p.parent) > 0;
        const TraceReader* last = p.images.back().trace;
        if (pid == mainSummary.pid && (mainSummary.run_end == RAVEL_RUN_EXITED || mainSummary.run_end == RAVEL_RUN_SIGNALED)) {
            p.end = mainSummary.run_end == RAVEL_RUN_EXITED ? RunProcess::End::Exited : RunProcess::End::Signaled;
            p.endValue = mainSummary.run_end_value;
            p.coreDumped = mainSummary.run_end_flags & RAVEL_RUN_F_CORE_DUMPED;
            p.endSource = "ravel run";
        } else if (auto it = reaped.find(pid); it != reaped.end() && (WIFEXITED(it->second) || WIFSIGNALED(it->second))) {
            int status = static_cast<int>(it->second);
            p.end = WIFEXITED(status) ? RunProcess::End::Exited : RunProcess::End::Signaled;
            p.endValue = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
            p.coreDumped = WIFSIGNALED(status) && WCOREDUMP(status);
            p.endSource = "parent";
        } else if (last->summary().ended && !execed[last]) {
            p.end = RunProcess::End::Exited;
            p.endValue = last->summary().exit_status;
            p.endSource = "trace";
        }
        out.push_back(std::move(p));
    }
    std::stable_sort(out.begin(), out.end(), [&](const RunProcess& a, const RunProcess& b) {
        bool am = a.pid == mainSummary.pid, bm = b.pid == mainSummary.pid;
        if (am != bm)
            return am;
        return a.startNs < b.startNs;
    });
    return out;
}

} // namespace ravel
