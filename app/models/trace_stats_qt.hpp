// trace_stats.hpp for code that also includes Qt: ObjectStats has a field named `signals`, which Qt
// defines as a keyword macro. Include this instead of trace_stats.hpp anywhere under app/.
#pragma once

#pragma push_macro("signals")
#undef signals
#include "model/trace_stats.hpp"
#pragma pop_macro("signals")
