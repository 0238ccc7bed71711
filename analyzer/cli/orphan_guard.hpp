// What keeps a program from living on unwatched when `ravel run` is killed (SIGKILL cannot be
// caught, so ravel cannot clean up itself): a small guard process, started beside the program,
// that holds one end of a socket pair whose other end only ravel has. When ravel ends normally it
// first releases the guard (one byte); when the connection closes without that byte, ravel died while the
// program ran, and the guard records that in the trace (RAVEL_RUN_ORPHANED) and sends SIGKILL to
// the program's whole process group.
//
// The guard starts in a process group of its own, before the program, and then joins the
// program's process group: whoever kills that group ends the guard with it,
// a kill of ravel's own group (a supervisor's, a test's time limit) leaves the guard to act, and
// the group id cannot be reused while the guard is in it. It is not ravel's child (it is forked
// twice), so the program stays ravel's only child. It ignores every signal it can.
//
// PR_SET_PDEATHSIG in the program covers the case where the guard dies with ravel (the kernel
// kills the program when ravel's main thread exits), but only for the program itself, not for
// processes it forked: those are the guard's job.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace ravel::cli {

class OrphanGuard {
public:
    OrphanGuard() = default;
    ~OrphanGuard(); // releases: a guard must never outlive the decision to keep the program
    OrphanGuard(const OrphanGuard&) = delete;
    OrphanGuard& operator=(const OrphanGuard&) = delete;

    // Starts the guard, before the program: once this returns it is out of ravel's process
    // group, so no kill of that group can take it before it guards anything. Call while ravel
    // has a single thread. False when no guard could be started (then only PR_SET_PDEATHSIG
    // protects the program).
    bool start();
    // Right after the program is forked: guard the process group `group` (the program's pid),
    // whose main trace is `tracePath` (empty: none). A guard released or gone before this
    // exits without acting.
    void watch(pid_t group, const std::string& tracePath, uint64_t launchMonoNs);
    // The program ended (or is left stopped on purpose): the guard exits without acting.
    void release();
    bool active() const { return m_fd >= 0; }

private:
    int m_fd = -1; // ravel's end of the lifeline
};

} // namespace ravel::cli
