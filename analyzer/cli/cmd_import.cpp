// `ravel import`: placeholder until its implementation lands.
#include "commands.hpp"

namespace ravel::cli {

void addImportCommand(CLI::App& app, int& status)
{
    CLI::App* cmd = app.add_subcommand("import", "Convert a trace from another format (not implemented yet)");
    cmd->callback([&status] { status = 2; });
}

} // namespace ravel::cli
