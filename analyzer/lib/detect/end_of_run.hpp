// The findings of a run's last instant: the deadlock in force when the trace ends (a hung program
// killed, or cut short), threads blocked forever at a normal exit, and the misuse the replay met.
#pragma once

#include "base/finding.hpp"

#include <vector>

namespace ravel {

class ReplayModel;

// In report order: the deadlock (or the channel sends that can never be delivered), the threads
// still blocked at a normal exit (a note), then misuse.
std::vector<Finding> endOfRunFindings(const ReplayModel& model);

} // namespace ravel
