// Data races found online by the runtime in race mode (RACE / RACE_PREV events, see
// docs/trace-format.md), turned into findings: both accesses, the memory (objects[0], named later
// with the other objects), the locks the racing thread held, and where each thread was created.
#pragma once

#include "base/finding.hpp"

#include <vector>

namespace ravel {

class ReplayModel;

std::vector<Finding> dataRaceFindings(const ReplayModel& model);

} // namespace ravel
