// RacePair: a data-race finding as the timeline and the details pane show it: the two accesses,
// each with its thread, what it did, when (the second exactly; the first, whose time the runtime
// does not record, as the range it must lie in) and the locks its thread held then (recorded for
// the second; for the first what the trace proves), and in words why nothing orders them.
//
// The first access's range: it was made before the second (its shadow cell was there to be
// found), by a thread alive then, and after every release by its thread of a lock the second
// access's thread took afterwards (a release/acquire pair would have ordered it before the
// second access). Other orderings the runtime saw (joins, messages, atomics) are not replayed
// here: the range may be wider than the truth, never narrower.
#pragma once

#include "base/finding.hpp"

#include <QList>
#include <QString>

#include <functional>
#include <optional>

namespace ravel {
class ReplayModel;
}

namespace ravel::gui {

struct RaceAccess {
    quint32 thread = 0;
    bool write = false;
    bool atomic = false;
    quint32 size = 0;
    quint32 stack = 0;
    bool timeKnown = false;    // the second access: stamped by the runtime
    quint64 earliestNs = 0;    // when it happened: exactly (timeKnown), else within this range
    quint64 latestNs = 0;
    bool heldKnown = false;    // `held` is every lock the thread held then
    QList<quint32> held;       // model object indices (locks)
    QList<quint32> notHeld;    // locks it certainly did not hold (the other side held them exclusively)
    quint64 orderedAfterNs = 0; // earliestNs came from this thread's release of `orderedAfterLock`
    std::optional<quint32> orderedAfterLock;
};

struct RacePair {
    int finding = -1;          // index into the document's findings
    QString variable;          // "balance", "names._M_impl._M_finish", or "" when unnamed
    quint64 address = 0;
    RaceAccess second;         // the access seen racing (the finding's moment)
    RaceAccess first;          // the earlier one it raced with
};

// The pair of finding `f` (a data race with both accesses), or nullopt.
std::optional<RacePair> racePairOf(const ravel::ReplayModel& model, const ravel::Finding& f, int findingIndex);

// "write of 8 bytes" / "atomic read of 4 bytes"
QString accessWhat(const RaceAccess& a);
// "wrote" / "read"
QString accessVerb(const RaceAccess& a);

// Why the two are unordered, in words (plain text, names as given):
// "T3 wrote `balance` holding `balance_lock`; T2 wrote it holding no lock; nothing orders T3's write
//  after T2's: T2 released no lock that T3 took afterwards, and no join, message or
//  release/acquire atomic links them."
QString raceExplanation(const RacePair& pair, const std::function<QString(quint32)>& threadName,
                        const std::function<QString(quint32)>& objectName);

} // namespace ravel::gui
