// The live watchdog over every process of a run: one Watchdog per trace, the main trace's from
// the start and each other process's (a fork, a spawned program, the next image after an exec)
// as soon as its trace appears beside the main one, so a deadlock after `exec` or in a child is
// caught while it hangs. A watchdog whose process has ended is stopped.
//
// Beside them, the run watch: every 200 ms one wait-for graph over every process of the run (the
// target and its descendants, and any process whose trace is watched), from the kernel's view of
// pipes, sockets, FIFOs and waits for children plus the state boards (attach/run_wait.hpp), so a
// deadlock between processes is caught too.
#pragma once

#include "watchdog.hpp"

#include "attach/run_wait.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace ravel::cli {

class ProcessWatch {
public:
    // What to watch for in the trace at a path (its deadlock callback names that trace).
    using MakeWatch = std::function<DeadlockWatch(const std::string& trace)>;

    ProcessWatch() = default;
    ~ProcessWatch();
    ProcessWatch(const ProcessWatch&) = delete;
    ProcessWatch& operator=(const ProcessWatch&) = delete;

    // The run watch: what to call (on the watch's thread) when the processes of the run deadlock.
    struct RunWatch {
        bool enabled = false;
        uint32_t targetPid = 0;
        uint64_t stallTimeoutNs = 3'000'000'000ull;
        std::function<void(const RunDeadlock&)> onDeadlock;
    };

    void start(const std::string& mainTrace, MakeWatch make, RunWatch run);
    // Stops every watchdog (each writes a last calibration pair). Idempotent.
    void stop();

private:
    struct Watched {
        std::string path;
        std::unique_ptr<Watchdog> dog;
        uint64_t endedSinceNs = 0; // when its trace was first seen ended, 0 while it runs
    };
    void run();
    void scan();
    void checkRun();

    std::string m_main;
    MakeWatch m_make;
    uint64_t m_runId = 0;
    std::vector<Watched> m_watched;
    std::set<std::string> m_known; // file names taken or rejected
    RunWatch m_runWatch;
    std::unique_ptr<RunWaitWatch> m_runWait;
    std::map<std::string, std::unique_ptr<LiveTrace>> m_live; // boards of each watched trace, for the run watch
    bool m_runReported = false;
    unsigned m_bigRunSkips = 0;
    std::thread m_thread;
    std::atomic<bool> m_stop { false };
};

} // namespace ravel::cli
