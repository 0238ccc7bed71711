// Finding: one thing ravel reports (a deadlock, a potential deadlock, a lock-order inversion, API
// misuse, later races), in a form every output shares: the text report, JSON, SARIF, the graphs
// and the GUI's findings list. Stacks stay ids into the trace's stack table until rendered.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ravel {

// How sure a deadlock is (DESIGN.md's verdict table).
enum class Verdict : uint8_t { None = 0, Certain = 1, Likely = 2 };

struct FindingObject {
    std::string id;         // stable within a report: "o<address hex>.<generation>"
    uint64_t address = 0;
    uint32_t generation = 0;
    unsigned kind = 0;      // RAVEL_OBJ_*
    std::string name;       // display name ("account_a", "forks[3]", "mutex at bank.c:42")
    // The C++ type the stacks show it to be, where they say more than the kind: a futex word's
    // primitive ("std::latch", "std::atomic<int>"); "" otherwise.
    std::string type;
    // A futex word of libstdc++'s shared waiter pool, not the object's own (std::barrier,
    // std::atomic<bool>): several objects may wait on it, and its value says nothing of theirs.
    bool poolWord = false;
};

struct FindingHold {
    size_t object = 0;      // index into Finding::objects
    bool shared = false;
    uint32_t stack = 0;     // where it was acquired (stack id, 0 unknown)
    bool stackReused = false; // captured at an earlier acquisition from the same site
    uint64_t sinceNs = 0;
};

struct FindingThread {
    uint32_t id = 0;        // ravel thread id
    uint32_t osTid = 0;
    uint32_t pid = 0;
    std::string name;
    // What the thread waits for (deadlocks): an object index, or -1.
    long waitsFor = -1;
    bool waitShared = false;
    uint64_t waitSinceNs = 0;
    uint32_t waitStack = 0;
    std::vector<uint32_t> wakers;   // the threads it waits for (ravel ids)
    // Channel waits: the operation ("send", "receive", "select"; "" for other waits), a select's
    // cases (object indices, with whether each is a send case), and whether the wakers are
    // presumed (threads that used the channel in the other role, or created it) rather than known.
    std::string waitOp;
    // A futex wait: the value the waiter expected the word to hold (a latch's remaining count).
    bool futexValueKnown = false;
    uint32_t futexValue = 0;
    std::vector<size_t> waitCases;
    std::vector<bool> waitCaseSend;
    bool wakersPresumed = false;
    // The channel's other side is gone for good: every thread that received from it has exited.
    bool otherSideGone = false;
    std::vector<FindingHold> holds; // what it holds that matters to this finding
    // Misuse: what the thread did at waitStack ("locks", "destroyed", "waits on"). A misuse made of
    // two events (a lock after a destroy) names both, the misuse first; one thread may be both.
    std::string action;
    // The object `action` is done to (an index into Finding::objects); -1: objects[0].
    long actionObject = -1;
    // Where the thread was created (data races): its creator's ravel id (0 for the main thread)
    // and the creation stack.
    uint32_t parent = 0;
    uint32_t createStack = 0;
};

// Data races: one access of the pair. The access seen racing comes first, then the earlier one
// it raced with (its site only: the shadow cell keeps a pc, not a stack).
struct FindingAccess {
    uint32_t thread = 0;     // ravel thread id
    uint64_t address = 0;
    uint32_t size = 0;       // bytes (255: 255 or more)
    bool write = false;
    bool atomic = false;
    uint32_t stack = 0;      // stack id
    bool timeKnown = false;  // the earlier access: no time recorded
    uint64_t timeNs = 0;
    bool heldKnown = false;  // the locks the thread held then are known
    std::vector<size_t> held; // indices into Finding::objects
};

// One edge of a lock-order cycle: `thread` requested `to` while holding `from` (and `held`).
struct FindingEdge {
    size_t from = 0;         // object indices into Finding::objects
    size_t to = 0;
    uint32_t thread = 0;     // ravel thread id
    uint32_t fromStack = 0;  // where `from` was acquired
    uint32_t toStack = 0;    // where `to` was requested
    uint64_t timeNs = 0;     // when `to` was requested
    std::vector<size_t> held; // every object the thread held then (includes `from`)
    // Mixed cycles: `to` is a channel the thread sends on ("send") or receives from ("receive")
    // while holding `from`; or `from` is a channel it serves by that operation after requesting `to`.
    std::string toOp;
    std::string fromOp;
    // Patterns (Finding::instances > 1): the distinct locks taken at this position over every
    // instance, e.g. 64 when each of 64 bucket locks was taken before the global one; `from` is one.
    uint64_t fromLocks = 1;
};

struct Finding {
    std::string kind;       // "deadlock", "potential-deadlock", "lock-order-inversion", "misuse", ...
    Verdict certainty = Verdict::None; // deadlocks: certain or likely
    std::string title;      // one line: "deadlock: 2 threads wait for each other's mutexes"
    uint64_t timeNs = 0;    // when it formed (or was seen), from the trace start
    std::vector<FindingThread> threads;
    std::vector<FindingObject> objects;
    std::vector<std::string> notes; // what was assumed, what could not be seen
    // Potential deadlocks and inversions: the cycle's edges (one example cycle), how many cycles
    // of this pattern (distinct cycle of acquire sites) the run had, and more example cycles.
    std::vector<FindingEdge> edges;
    uint64_t instances = 0;
    std::vector<std::vector<FindingEdge>> moreExamples;
    // Lock-order findings stand for strongly connected components of the lock graph (one finding
    // per bug): how many locks and distinct lock-to-lock edges they hold, how many distinct
    // patterns of acquire sites the cycles counted in `instances` make, and whether `instances`
    // is only a lower bound (the search stopped at its budget). 0 / false for other kinds.
    uint64_t componentLocks = 0;
    uint64_t componentEdges = 0;
    uint64_t patterns = 0;
    bool instancesAtLeast = false;
    // Data races: the two accesses (objects[0] is the memory they touched; `instances` counts how
    // often this pair of sites raced).
    std::vector<FindingAccess> accesses;
    // A stable identity across runs (hash of kind and the sites involved), for SARIF
    // partialFingerprints and suppressions.
    std::string fingerprint;
};

const char* verdictName(Verdict v); // "certain", "likely", ""

} // namespace ravel
