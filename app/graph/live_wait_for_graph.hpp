// The wait-for graph of a running program, from the state boards LiveTrace samples: the picture
// the GUI shows while a launched program runs, before there is a trace to replay. The same
// nodes, edges and deadlock reduction as waitForGraphAt. Objects are named as reports name them
// ("mutex forks[1]") from `names` (LiveRun looks their addresses up in the program's symbols as
// it samples), else by address ("mutex 0x5612a040"); node ids are "a<address>", apart from the
// replay's "o<index>".
#pragma once

#include "export/graph_model.hpp"
#include "detect/live_trace.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ravel::gui {

ravel::GraphModel liveWaitForGraph(const std::vector<ravel::ThreadSnapshot>& threads, uint64_t nowNs,
                                   const std::string& program,
                                   const std::map<uint64_t, std::string>* names = nullptr);

} // namespace ravel::gui
