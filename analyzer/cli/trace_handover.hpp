// Trace files for the processes of a run that may no longer create them: a server that switches
// to its own user after it starts (`setpriv`, `runuser`, a daemon's `setuid` before it execs or
// forks), whose trace directory belongs to the user who ran `ravel run`. The runtime asks over
// the run's socket (abstract UNIX name "ravel-run-<run id hex>", SOCK_SEQPACKET) for one file by
// its full path; ravel run creates it, gives it to the asking process's user and group (from
// SO_PEERCRED) and passes the descriptor back (SCM_RIGHTS). Only names of that process's own
// traces in the run's directory are granted: "<stem>.<its pid>.ravel" and
// "<stem>.<its pid>.<n>.ravel". docs/trace-format.md, "One run, several traces", describes the
// protocol.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace ravel::cli {

class TraceHandover {
public:
    TraceHandover() = default;
    TraceHandover(const TraceHandover&) = delete;
    TraceHandover& operator=(const TraceHandover&) = delete;
    ~TraceHandover() { stop(); }

    // Listens for the run `runId` whose traces are named after `mainTrace` ("dir/stem.ravel";
    // with no -o the stem has the target's pid, so `mainTrace` may be set later). False (and
    // nothing running) when the name is taken or no socket can be made: the run then goes on,
    // and a process that cannot create its trace says so itself.
    bool start(uint64_t runId, const std::string& traceDir);
    void setMainTrace(const std::string& mainTrace);
    void stop();
    // How many files it handed over (for --verbose).
    unsigned granted() const { return m_granted; }

private:
    void serve();
    void answer(int conn);
    int m_listen = -1;
    int m_wake[2] = { -1, -1 };
    std::string m_dir;
    std::mutex m_stemMutex; // m_stem and m_stemKnown: set by the launcher, read by serve()
    std::string m_stem;     // "stem." once the main trace is known
    std::thread m_thread;
    unsigned m_granted = 0;
    bool m_stemKnown = false;
};

} // namespace ravel::cli
