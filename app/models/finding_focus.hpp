// What selecting a finding means for the shared view state, in one place for the findings list, the
// playback bar's "next finding" and the command line's --select-finding: the playhead moves to the
// moment the finding formed, its threads and objects become the selection, and the first thread's
// wait (or the cycle's first edge) becomes the selected event so the details show its stack. It
// does so every time, also for the finding already selected: choosing it again brings it back.
#pragma once

#include "base/finding.hpp"

#include <QList>

#include <optional>
#include <utility>

namespace ravel::gui {

class TraceDocument;
class ViewState;

// The finding's moment, where choosing it puts the playhead: a deadlock when its cycle closed; a
// potential deadlock (or inversion) its first edge's second acquisition; a misuse the call; a data
// race the second access; anything else (a snapshot) its own time.
quint64 findingTime(const ravel::Finding& f);
// The stretch of time the finding is about, for bringing it into view: from the earliest wait,
// edge or access it names to its moment (both equal for an instant such as a misuse).
std::pair<quint64, quint64> findingExtent(const ravel::Finding& f);
QList<quint32> findingThreads(const ravel::Finding& f);
QList<quint32> findingObjects(const TraceDocument& document, const ravel::Finding& f);

// Selects finding `index` (into document.findings()) and announces it with
// ViewState::findingFocused even when it was selected already; -1 clears the finding selection.
// A finding of another process of the run makes that process's part the active one first (its
// threads, objects and stacks are in that part's ids).
void focusFinding(TraceDocument& document, ViewState& state, int index);

// The finding after (forward) or before the playhead in time order (report order among equal
// times; the selected finding, when the playhead is at its moment, counts as the current place),
// wrapping around at either end: with any finding at all there always is one. nullopt when none.
std::optional<int> adjacentFinding(const TraceDocument& document, const ViewState& state, bool forward);

} // namespace ravel::gui
