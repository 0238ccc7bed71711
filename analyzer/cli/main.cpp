// `ravel`: one binary, one subcommand per job. Errors are one line on stderr, "ravel: <what>";
// usage errors exit with 2, like the usual Unix tools. docs/cli.md is the user's description.
#include "commands.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <exception>
#include <string>

#ifndef RAVEL_VERSION
#define RAVEL_VERSION "0.1.0"
#endif

namespace {

constexpr int kUsageError = 2;

// CLI11 writes sentences ("The following argument was not expected: x"); ravel's lines read
// "ravel: the following ...", with no trailing full stop.
std::string oneLine(std::string what)
{
    for (auto& c : what) {
        if (c == '\n' || c == '\r')
            c = ' ';
    }
    while (!what.empty() && (what.back() == ' ' || what.back() == '.'))
        what.pop_back();
    if (what.size() > 1 && std::isupper(static_cast<unsigned char>(what[0]))
        && !std::isupper(static_cast<unsigned char>(what[1])))
        what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
    return what;
}

// Never throws: the handlers below must not fail on a closed stderr.
template <typename... Args> void say(fmt::format_string<Args...> format, Args&&... args)
{
    std::string line = fmt::format(format, std::forward<Args>(args)...);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string helpHint(const CLI::App& app)
{
    for (const CLI::App* sub : app.get_subcommands())
        return fmt::format(" (see 'ravel {} --help')", sub->get_name());
    return " (see 'ravel --help')";
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app { "ravel: record a C/C++ program's synchronization, find its deadlocks and races", "ravel" };
    app.set_version_flag("--version", "ravel " RAVEL_VERSION);
    app.require_subcommand(1);

    int status = 0;
    ravel::cli::addRunCommand(app, status);
    ravel::cli::addInfoCommand(app, status);
    ravel::cli::addDumpCommand(app, status);
    ravel::cli::addReportCommand(app, status);
    ravel::cli::addGraphCommand(app, status);
    ravel::cli::addImportCommand(app, status);
    ravel::cli::addExportCommand(app, status);
    ravel::cli::addGuiCommand(app, status);
    ravel::cli::addAttachCommand(app, status);

    // In `ravel run [options] -- PROGRAM ARGS`, CLI11 hands the words after "--" back to this
    // app; prefix_command() keeps them verbatim (no option parsing, no "[a,b]" list splitting)
    // for the run command to take. Set after the subcommands exist, so they do not inherit it.
    app.prefix_command();
    app.parse_complete_callback([&app] {
        if (!app.remaining().empty() && !app.got_subcommand("run"))
            throw CLI::ExtrasError(app.remaining());
    });

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::RequiredError& e) {
        // With prefix_command() an unknown first word lands in remaining(), not in an error.
        if (app.get_subcommands().empty() && !app.remaining().empty()) {
            std::string word = app.remaining().front();
            say("ravel: unknown {} '{}' (see 'ravel --help')\n", !word.empty() && word[0] == '-' ? "option" : "command",
                word);
        } else if (app.get_subcommands().empty()) {
            say("ravel: a command is required: run, info or dump (see 'ravel --help')\n");
        } else {
            say("ravel: {}{}\n", oneLine(e.what()), helpHint(app));
        }
        return kUsageError;
    } catch (const CLI::ParseError& e) {
        say("ravel: {}{}\n", oneLine(e.what()), helpHint(app));
        return kUsageError;
    } catch (const std::exception& e) {
        // A command that could not do its work; commands report their own expected failures.
        say("ravel: {}\n", oneLine(e.what()));
        return 1;
    }
    return status;
}
