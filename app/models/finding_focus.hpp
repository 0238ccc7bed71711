// What selecting a finding means for the shared view state, in one place for the findings list, the
// playback bar's "next finding" and the command line's --select-finding: the playhead moves to the
// moment the finding formed, its threads and objects become the selection, and the first thread's
// wait (or the cycle's first edge) becomes the selected event so the details show its stack.
#pragma once

#include "base/finding.hpp"

#include <QList>

#include <optional>

namespace ravel::gui {

class TraceDocument;
class ViewState;

// When the finding formed: a deadlock's cycle closing, a potential deadlock's last edge, a misuse's
// call; the finding's own time when it has one.
quint64 findingTime(const ravel::Finding& f);
QList<quint32> findingThreads(const ravel::Finding& f);
QList<quint32> findingObjects(const TraceDocument& document, const ravel::Finding& f);

// Selects finding `index` (into document.findings()); -1 clears the finding selection only.
void focusFinding(const TraceDocument& document, ViewState& state, int index);

// The finding after (forward) or before the current one in time order; the current one is the
// selected finding, else the playhead's position. nullopt at either end.
std::optional<int> adjacentFinding(const TraceDocument& document, const ViewState& state, bool forward);

} // namespace ravel::gui
