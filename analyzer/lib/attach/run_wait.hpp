// The wait-for graph across the processes of a run (DESIGN.md, "Who can wake a blocked thread"):
// a parent that writes a child's whole input before reading its output, a `waitpid` for a child
// blocked on a full pipe, a ring of processes each reading from the next, both ends of a
// socketpair reading first. Each process's watchdog sees only its own threads, and the runtime
// never sees a read inside glibc (`fgets` reads through an internal call), so these waits are read
// from the kernel: /proc/PID/task/*/syscall says which thread sleeps in read, write, poll, open or
// wait4 on which descriptor, /proc/PID/fd and fdinfo say which pipe, FIFO or socket that is and
// which processes hold its other end, and sock_diag pairs a UNIX socket with its peer. The state
// boards of recorded processes add their lock, condition-variable and channel waits, so a lock
// held across a pipe write is part of the same graph.
//
// A thread counts as blocked in a system call only when two samples agree and it has not run at
// all in between (/proc/PID/task/TID/schedstat): a loop that reads a busy pipe is never mistaken
// for a stuck one.
#pragma once

#include "attach/descriptors.hpp"
#include "base/finding.hpp"
#include "model/thread_snapshot.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ravel {

// One process of the run as the watch samples it: its state boards when it records (nullptr:
// it runs without the runtime, or its trace is not open yet).
struct RunProcessInput {
    uint32_t pid = 0;
    const std::vector<ThreadSnapshot>* board = nullptr;
};

// What a deadlocked thread waits in.
enum class RunWaitKind : uint8_t {
    Board,      // a wait the runtime recorded (a lock, a condition variable, a join...): see `board`
    PipeRead,   // read from an empty pipe or FIFO
    PipeWrite,  // write to a full pipe or FIFO
    SocketRecv, // receive on a UNIX socket whose peer sends nothing
    SocketSend, // send to a UNIX socket whose peer does not receive
    FifoOpen,   // open of a FIFO that nobody opens from the other side
    Child,      // waitpid / waitid for a child process
    Poll,       // poll, ppoll, select, pselect or epoll_wait on several descriptors (an OR wait)
};

// One end of a pipe or socket in one process.
struct RunPipeEnd {
    uint32_t pid = 0;
    int fd = -1;
    bool readable = false;
    bool writable = false;
};

// A pipe, FIFO or socket (pair) one of the deadlocked threads waits on.
struct RunPipe {
    Descriptor::Type type = Descriptor::Type::Pipe;
    uint64_t inode = 0;
    uint64_t peerInode = 0;         // a socket's peer: the side that must act
    std::string path;               // a FIFO's
    std::vector<RunPipeEnd> ends;   // every descriptor on it in the run (for a socket: its own side)
    std::vector<RunPipeEnd> peerEnds; // a socket's peer side
};

struct RunWaitThread {
    uint32_t pid = 0;
    uint32_t osTid = 0;
    uint32_t traceTid = 0;          // its ravel id in its process's trace; 0 when not recorded
    std::string name;               // the kernel's comm
    RunWaitKind kind = RunWaitKind::Board;
    int fd = -1;                    // the descriptor of a pipe, socket or FIFO wait
    size_t bytes = 0;               // a read's or write's size as asked
    long child = 0;                 // Child: the pid waited for, -1 any child
    std::string path;               // FifoOpen: the FIFO's path
    std::vector<size_t> pipes;      // indices into RunDeadlock::pipes (several for a poll)
    std::vector<int> polledFds;     // Poll: the descriptors polled, in order
    std::string pollCall = "poll";  // Poll: "poll", "select" or "epoll_wait"
    ThreadSnapshot board;           // Board: what its state board says (object, holds, stacks)
    std::vector<size_t> wakers;     // indices into RunDeadlock::threads of who could wake it
    bool exact = true;              // its wakers are known exactly
};

struct RunDeadlock {
    Verdict verdict = Verdict::None;
    std::vector<RunWaitThread> threads; // the cycle first, in the order they wait on each other
    size_t cycle = 0;                   // threads[0, cycle) form the cycle; the rest hang on it
    std::vector<RunPipe> pipes;
    std::map<uint32_t, std::string> commands; // pid -> command line, for every process involved
    std::vector<std::string> notes;
    uint64_t firstSeenNs = 0;     // CLOCK_MONOTONIC of the first sample that saw it
    uint64_t confirmedNs = 0;     // and of the sample that confirmed it
    bool spansProcesses() const;
};

// Decides, sample by sample, whether the processes of a run are deadlocked through pipes,
// sockets, FIFOs or waits for children (deadlocks inside one process's recorded primitives alone
// are its own watchdog's). Not thread-safe; one per run.
class RunWaitWatch {
public:
    explicit RunWaitWatch(uint64_t stallTimeoutNs = 3'000'000'000ull)
        : m_stallNs(stallTimeoutNs)
    {
    }
    // Reads the kernel's view of every process and returns the deadlock once, when two samples
    // in a row agree on it (a likely one only once it has lasted the stall timeout); nullopt
    // otherwise, also while nothing sits in a watched call. nowNs: CLOCK_MONOTONIC.
    std::optional<RunDeadlock> observe(const std::vector<RunProcessInput>& processes, uint64_t nowNs);

private:
    struct Signature {
        uint32_t pid, tid;
        long syscall;
        uint64_t a0, a1, a2, runNs;
        bool operator==(const Signature&) const = default;
    };
    uint64_t m_stallNs;
    std::vector<Signature> m_previous; // the last sample's deadlocked set, as seen
    uint64_t m_firstSeenNs = 0;
    bool m_reported = false;
};

// "pipe #1", "FIFO /tmp/x", "socket pair #2": how a report names pipes[i].
std::string runPipeName(const RunDeadlock& d, size_t i);
// A command line as a report shows it: argv[0] by its file name, at most 60 characters.
std::string runShortCommand(const std::string& command);
// "fd 4 in pid 100 (./prog)"-style list of a set of ends.
std::string runEndsText(const RunDeadlock& d, const std::vector<RunPipeEnd>& ends);

} // namespace ravel
