// The wait-for graph of a running program, from the state boards LiveTrace samples: the picture
// the GUI shows while a launched program runs, before there is a trace to replay. The same
// nodes, edges and deadlock reduction as waitForGraphAt; objects are known only by address
// until the trace is read ("mutex 0x5612a040"), so node ids are "a<address>", apart from the
// replay's "o<index>".
#pragma once

#include "export/graph_model.hpp"
#include "detect/live_trace.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ravel::gui {

ravel::GraphModel liveWaitForGraph(
    const std::vector<ravel::ThreadSnapshot>& threads, uint64_t nowNs, const std::string& program);

} // namespace ravel::gui
