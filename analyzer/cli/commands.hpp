// The subcommands of `ravel`. Each adds itself to the app; its callback stores the process exit
// status in `status`.
#pragma once

#include <CLI/CLI.hpp>

namespace ravel::cli {

void addRunCommand(CLI::App& app, int& status);
void addInfoCommand(CLI::App& app, int& status);
void addDumpCommand(CLI::App& app, int& status);
void addReportCommand(CLI::App& app, int& status);
void addGraphCommand(CLI::App& app, int& status);
void addImportCommand(CLI::App& app, int& status);
void addExportCommand(CLI::App& app, int& status);
void addGuiCommand(CLI::App& app, int& status);
void addAttachCommand(CLI::App& app, int& status);

// `ravel report TRACE --format FORMAT [-o OUTPUT]`, as the report command runs it (RAVEL_OPTIONS
// included): `ravel attach` prints its snapshot's report so. Returns the report's exit status.
int reportTrace(const std::string& trace, const std::string& format, const std::string& output);

} // namespace ravel::cli
