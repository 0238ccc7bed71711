// `ravel report`: placeholder until its implementation lands.
#include "commands.hpp"

namespace ravel::cli {

void addReportCommand(CLI::App& app, int& status)
{
    CLI::App* cmd = app.add_subcommand("report", "Report the findings of a recorded trace (not implemented yet)");
    cmd->callback([&status] { status = 2; });
}

} // namespace ravel::cli
