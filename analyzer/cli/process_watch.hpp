// The live watchdog over every process of a run: one Watchdog per trace, the main trace's from
// the start and each other process's (a fork, a spawned program, the next image after an exec)
// as soon as its trace appears beside the main one, so a deadlock after `exec` or in a child is
// caught while it hangs. A watchdog whose process has ended is stopped.
#pragma once

#include "watchdog.hpp"

#include <atomic>
#include <functional>
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

    void start(const std::string& mainTrace, MakeWatch make);
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

    std::string m_main;
    MakeWatch m_make;
    uint64_t m_runId = 0;
    std::vector<Watched> m_watched;
    std::set<std::string> m_known; // file names taken or rejected
    std::thread m_thread;
    std::atomic<bool> m_stop { false };
};

} // namespace ravel::cli
