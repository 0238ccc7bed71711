// `ravel gui [TRACE] [ARGS]`: starts ravel-gui, the Qt timeline, on a trace. The GUI is its own
// binary (the CLI links no Qt), found beside `ravel` (the build tree's bin/, an installed bindir)
// or in the bindir ravel was configured to install into. It replaces this process (exec), so its
// exit status and signals are the GUI's own, and the arguments reach it verbatim.
#include "commands.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <unistd.h>

#ifndef RAVEL_INSTALL_FULL_BINDIR
#define RAVEL_INSTALL_FULL_BINDIR "/usr/local/bin"
#endif

namespace ravel::cli {

namespace {

namespace fs = std::filesystem;

constexpr int kUsageError = 2;
constexpr int kNotRunnable = 126;

std::vector<fs::path> guiCandidates()
{
    std::vector<fs::path> dirs;
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec)
        dirs.push_back(exe.parent_path());
    fs::path installed(RAVEL_INSTALL_FULL_BINDIR);
    if (std::find(dirs.begin(), dirs.end(), installed) == dirs.end())
        dirs.push_back(installed);
    return dirs;
}

int runGui(const std::vector<std::string>& args)
{
    std::vector<fs::path> dirs = guiCandidates();
    fs::path gui;
    for (const fs::path& dir : dirs) {
        fs::path candidate = dir / "ravel-gui";
        if (::access(candidate.c_str(), F_OK) == 0) {
            gui = candidate;
            break;
        }
    }
    if (gui.empty()) {
        std::string looked;
        for (const fs::path& dir : dirs)
            looked += (looked.empty() ? "" : " and ") + dir.string();
        fmt::print(stderr,
            "ravel: gui: cannot find ravel-gui (looked in {}); build it with -DRAVEL_BUILD_GUI=ON "
            "(it needs Qt 6) or install it\n",
            looked);
        return kUsageError;
    }
    std::vector<char*> argv;
    std::string name = "ravel-gui";
    argv.push_back(name.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    std::fflush(stderr);
    ::execv(gui.c_str(), argv.data());
    fmt::print(stderr, "ravel: gui: cannot run {}: {}\n", gui.string(), std::strerror(errno));
    return kNotRunnable;
}

} // namespace

void addGuiCommand(CLI::App& app, int& status)
{
    CLI::App* cmd = app.add_subcommand("gui",
        "Open a trace in ravel-gui, the timeline and wait-for graph viewer "
        "(arguments after the trace go to ravel-gui)");
    // Everything, options included, is ravel-gui's: kept verbatim and in order.
    cmd->prefix_command();
    cmd->allow_extras();
    cmd->footer("Usage: ravel gui [TRACE] [ravel-gui options]. ravel-gui is looked for beside ravel, then "
                "in " RAVEL_INSTALL_FULL_BINDIR "; without it: exit status 2.");
    cmd->callback([cmd, &status] { status = runGui(cmd->remaining()); });
}

} // namespace ravel::cli
