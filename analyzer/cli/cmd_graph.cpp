// `ravel graph`: placeholder until its implementation lands.
#include "commands.hpp"

namespace ravel::cli {

void addGraphCommand(CLI::App& app, int& status)
{
    CLI::App* cmd = app.add_subcommand("graph", "Draw the wait-for or lock-order graph of a trace (not implemented yet)");
    cmd->callback([&status] { status = 2; });
}

} // namespace ravel::cli
