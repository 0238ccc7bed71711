// Helpers for end-to-end tests: run a real command (ravel, an example, a Debian program) with a
// time limit and capture what a user would see: stdout, stderr and the exit status as a shell
// reports it (128+N for death by signal N). Also the paths of the build tree and small text
// helpers for `ravel dump` output. Header-only: every e2e test binary includes it.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

// The build-tree locations, given by tests/e2e/CMakeLists.txt.
#ifndef RAVEL_E2E_BINARY_DIR
#error "RAVEL_E2E_BINARY_DIR (the build tree) must be defined by the build"
#endif

namespace ravel::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline fs::path buildDir() { return fs::path(RAVEL_E2E_BINARY_DIR); }
#ifdef RAVEL_BIN_DIR
inline fs::path binDir() { return fs::path(RAVEL_BIN_DIR); }
#else
inline fs::path binDir() { return buildDir() / "bin"; }
#endif
#ifdef RAVEL_LIB_DIR
inline fs::path libDir() { return fs::path(RAVEL_LIB_DIR); }
#else
inline fs::path libDir() { return buildDir() / "lib"; }
#endif
#ifdef RAVEL_EXAMPLES_BIN
inline fs::path examplesDir() { return fs::path(RAVEL_EXAMPLES_BIN); }
#else
inline fs::path examplesDir() { return binDir() / "examples"; }
#endif
inline std::string ravelBinary() { return (binDir() / "ravel").string(); }
inline std::string runtimeLibrary() { return (libDir() / "libravel_rt.so").string(); }
inline std::string example(const std::string& name) { return (examplesDir() / name).string(); }
// A probe program built for these tests only (tests/e2e/CMakeLists.txt, ravel_e2e_helper).
inline std::string helper(const std::string& name) { return (std::filesystem::path(RAVEL_E2E_HELPERS_DIR) / name).string(); }

// The developer's own settings must not leak into what the tests expect: a RAVEL_OPTIONS with
// quiet=1 or a flight recorder, or an LD_PRELOAD, would change every result. Cleared once, when
// the test binary starts.
inline const bool kEnvironmentCleared = [] {
    for (const char* name : {"RAVEL_OPTIONS", "RAVEL_RUNTIME", "RAVEL_TRACE_FILE", "LD_PRELOAD"})
        unsetenv(name);
    return true;
}();

struct RunResult {
    int status = -1;        // exit code, or 128+N when killed by signal N (as a shell reports it)
    int signal = 0;         // N when killed by a signal
    bool timedOut = false;  // we killed it (SIGKILL to its process group) at the time limit
    std::string out;        // stdout, unless redirected to a file
    std::string err;        // stderr
    std::chrono::milliseconds elapsed {0};
    long maxRssKb = 0;      // peak resident set of the command, or of its largest waited-for descendant
};

struct RunOptions {
    std::chrono::milliseconds timeout = 60s;
    std::string stdinFile;  // empty: /dev/null
    std::string stdoutFile; // empty: captured in RunResult::out
    std::vector<std::string> env; // extra NAME=value entries
    std::string cwd;              // empty: the test's own
};

inline RunOptions withTimeout(std::chrono::milliseconds timeout)
{
    RunOptions o;
    o.timeout = timeout;
    return o;
}

// A started command. The child leads its own process group so a time-out kills everything it
// started (ravel and its target).
class Process {
public:
    Process(const std::vector<std::string>& argv, const RunOptions& options = {})
        : m_options(options)
    {
        int outPipe[2], errPipe[2];
        if (pipe2(outPipe, O_CLOEXEC) != 0 || pipe2(errPipe, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
        m_start = std::chrono::steady_clock::now();
        m_pid = fork();
        if (m_pid < 0)
            throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
        if (m_pid == 0) {
            setpgid(0, 0);
            if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0)
                _exit(127);
            int in = open(options.stdinFile.empty() ? "/dev/null" : options.stdinFile.c_str(), O_RDONLY);
            int out = options.stdoutFile.empty() ? outPipe[1]
                                                 : open(options.stdoutFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (in < 0 || out < 0)
                _exit(127);
            dup2(in, 0);
            dup2(out, 1);
            dup2(errPipe[1], 2);
            for (const auto& e : options.env)
                putenv(const_cast<char*>(e.c_str()));
            std::vector<char*> args;
            for (const auto& a : argv)
                args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execvp(args[0], args.data());
            std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
            _exit(127);
        }
        setpgid(m_pid, m_pid); // also here: no race with an early kill
        close(outPipe[1]);
        close(errPipe[1]);
        m_outFd = outPipe[0];
        m_errFd = errPipe[0];
    }
    ~Process()
    {
        if (m_pid > 0 && !m_reaped) {
            kill(-m_pid, SIGKILL);
            waitpid(m_pid, nullptr, 0);
        }
        if (m_outFd >= 0)
            close(m_outFd);
        if (m_errFd >= 0)
            close(m_errFd);
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return m_pid; }

    // Reads output until the command exits or the time limit passes (then SIGKILL to the group).
    RunResult wait()
    {
        RunResult r;
        auto deadline = m_start + m_options.timeout;
        bool killed = false;
        while (m_outFd >= 0 || m_errFd >= 0) {
            pollfd fds[2];
            int n = 0;
            if (m_outFd >= 0)
                fds[n++] = {m_outFd, POLLIN, 0};
            if (m_errFd >= 0)
                fds[n++] = {m_errFd, POLLIN, 0};
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left <= 0ms && !killed) {
                kill(-m_pid, SIGKILL);
                killed = true;
                r.timedOut = true;
                deadline = std::chrono::steady_clock::now() + 5s; // grace to drain the pipes
                continue;
            }
            if (left <= 0ms)
                break; // something else in the group keeps the pipes open
            int rc = poll(fds, n, static_cast<int>(std::min<int64_t>(left.count(), 100)));
            if (rc < 0 && errno != EINTR)
                break;
            for (int i = 0; i < n; i++) {
                if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                char buf[65536];
                ssize_t got = read(fds[i].fd, buf, sizeof buf);
                int& fd = fds[i].fd == m_outFd ? m_outFd : m_errFd;
                std::string& sink = fds[i].fd == m_outFd ? r.out : r.err;
                if (got > 0) {
                    sink.append(buf, static_cast<size_t>(got));
                } else if (got == 0 || errno != EINTR) {
                    close(fd);
                    fd = -1;
                }
            }
        }
        int status = 0;
        rusage usage {};
        for (;;) {
            pid_t w = wait4(m_pid, &status, WNOHANG, &usage);
            if (w == m_pid)
                break;
            if (std::chrono::steady_clock::now() > deadline && !killed) {
                kill(-m_pid, SIGKILL);
                killed = true;
                r.timedOut = true;
            }
            std::this_thread::sleep_for(5ms);
        }
        m_reaped = true;
        r.maxRssKb = usage.ru_maxrss;
        r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - m_start);
        if (WIFEXITED(status)) {
            r.status = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            r.signal = WTERMSIG(status);
            r.status = 128 + r.signal;
        }
        return r;
    }

private:
    RunOptions m_options;
    pid_t m_pid = -1;
    bool m_reaped = false;
    int m_outFd = -1, m_errFd = -1;
    std::chrono::steady_clock::time_point m_start;
};

inline RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {})
{
    Process p(argv, options);
    return p.wait();
}

// `ravel run -q -o TRACE -- PROGRAM ARGS...`
inline RunResult ravelRun(const std::string& trace, const std::vector<std::string>& program, const RunOptions& options = {})
{
    std::vector<std::string> argv {ravelBinary(), "run", "-q", "-o", trace, "--"};
    argv.insert(argv.end(), program.begin(), program.end());
    return run(argv, options);
}

// A fresh directory for one test's traces and files, removed when the test passes and kept (its
// path printed) when it fails, for a look at the trace.
class TempDir {
public:
    explicit TempDir(const std::string& tag)
    {
        std::string pattern = (fs::temp_directory_path() / ("ravel-e2e-" + tag + "-XXXXXX")).string();
        if (!mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
        m_path = pattern;
    }
    ~TempDir()
    {
        if (m_keep || ::testing::Test::HasFailure()) {
            std::fprintf(stderr, "kept for inspection: %s\n", m_path.c_str());
            return;
        }
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name) const { return (m_path / name).string(); }
    const fs::path& path() const { return m_path; }
    void keep() { m_keep = true; }

private:
    fs::path m_path;
    bool m_keep = false;
};

// `ravel info TRACE --json`, parsed. Returns nullopt (and the run in *result) when it fails.
inline std::optional<nlohmann::json> infoJson(const std::string& trace, RunResult* result = nullptr)
{
    RunResult r = run({ravelBinary(), "info", trace, "--json"});
    if (result)
        *result = r;
    if (r.status != 0)
        return std::nullopt;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded())
        return std::nullopt;
    return j;
}

// The line of `marker` ("@case:role", a comment in a helper's source) in the file at `path`, or 0:
// tests name source lines by marker, so an edit above them does not break the test.
inline int markedLineIn(const std::string& path, const std::string& marker)
{
    std::ifstream in(path);
    std::string line;
    for (int n = 1; std::getline(in, line); n++) {
        size_t at = line.find(marker);
        if (at != std::string::npos && (at + marker.size() == line.size() || line[at + marker.size()] == ' '))
            return n;
    }
    return 0;
}

// A JSON report's stack (an array of frames) has a frame at file:line (`file` a suffix or part of
// the frame's path).
inline bool stackNamesLine(const nlohmann::json& stack, const std::string& file, int line)
{
    if (!stack.is_array())
        return false;
    for (const nlohmann::json& frame : stack)
        if (frame["file"].is_string() && frame["file"].get<std::string>().find(file) != std::string::npos
            && frame["line"] == line)
            return true;
    return false;
}

// `ravel report --format json TRACE` parsed; the report must exit 0 or 66
// with JSON on stdout. With `text`, the text report of the same trace too.
inline nlohmann::json reportJson(const std::string& trace, RunResult* text = nullptr)
{
    RunResult r = run({ravelBinary(), "report", "--format", "json", trace});
    EXPECT_TRUE(r.status == 0 || r.status == 66) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    if (text)
        *text = run({ravelBinary(), "report", trace});
    return j;
}

// The report's first finding of this kind ("deadlock", "potential-deadlock", ...); nullptr if none.
inline const nlohmann::json* findingOfKind(const nlohmann::json& report, const std::string& kind)
{
    if (!report.is_object() || !report.contains("findings"))
        return nullptr;
    for (const nlohmann::json& f : report["findings"])
        if (f["kind"] == kind)
            return &f;
    return nullptr;
}

// The entry of objects[] with this name (and kind, when given); nullptr when there is none.
inline const nlohmann::json* findObject(const nlohmann::json& info, const std::string& name, const std::string& kind = {})
{
    if (!info.contains("objects") || !info["objects"].is_array())
        return nullptr;
    for (const auto& o : info["objects"]) {
        if (o.value("name", "") == name && (kind.empty() || o.value("kind", "") == kind))
            return &o;
    }
    return nullptr;
}

inline int64_t count(const nlohmann::json* object, const char* field)
{
    if (!object || !object->contains(field) || !(*object)[field].is_number())
        return -1;
    return (*object)[field].get<int64_t>();
}

inline bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Whether `word` occurs in `line` as a whole name: not inside a longer identifier, and not as
// the prefix of an element or member (`accounts` does not match `accounts[3].m`).
inline bool containsName(const std::string& line, const std::string& word)
{
    for (size_t at = line.find(word); at != std::string::npos; at = line.find(word, at + 1)) {
        bool startOk = at == 0 || !isWordChar(line[at - 1]);
        size_t end = at + word.size();
        bool endOk = end == line.size() || (!isWordChar(line[end]) && line[end] != '[' && line[end] != '.');
        if (startOk && endOk)
            return true;
    }
    return false;
}

// Lines of `ravel dump` output with event kind `kind` (ACQUIRED, SIGNAL, ...) acting on the object
// named `object` (any object when empty).
inline std::vector<std::string> dumpLines(const std::string& dump, const std::string& kind, const std::string& object = {})
{
    std::vector<std::string> lines;
    std::istringstream in(dump);
    for (std::string line; std::getline(in, line);) {
        if (containsName(line, kind) && (object.empty() || containsName(line, object)))
            lines.push_back(line);
    }
    return lines;
}

inline size_t countLines(const std::string& text)
{
    size_t n = 0;
    for (char c : text)
        n += c == '\n';
    if (!text.empty() && text.back() != '\n')
        n++;
    return n;
}

// The direct children of a process (from /proc), e.g. the target that `ravel run` started.
inline std::vector<pid_t> childrenOf(pid_t parent)
{
    std::vector<pid_t> kids;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
            continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line))
            continue;
        // pid (comm) state ppid ...: comm may hold spaces and parentheses, so parse after the last ')'.
        size_t close = line.rfind(')');
        if (close == std::string::npos)
            continue;
        std::istringstream rest(line.substr(close + 1));
        std::string state;
        long ppid = 0;
        rest >> state >> ppid;
        if (ppid == parent)
            kids.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return kids;
}

inline std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void writeFile(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

} // namespace ravel::e2e
