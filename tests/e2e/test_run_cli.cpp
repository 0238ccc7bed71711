// `ravel run` as a user meets it: the program behaves exactly as without ravel (stdin, stdout,
// stderr, exit status, signals, Ctrl-C), the trace lands where the manual says, a program the
// runtime cannot enter runs anyway with one line saying so, and mistakes get one error line.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

using namespace ravel::e2e;

namespace {

std::vector<std::string> ravelRunArgs(std::vector<std::string> options, const std::vector<std::string>& program)
{
    std::vector<std::string> argv { ravelBinary(), "run" };
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("--");
    argv.insert(argv.end(), program.begin(), program.end());
    return argv;
}

// Runs `ravel run OPTIONS -- PROGRAM` with `dir` as the working directory (for default names).
RunResult ravelRunIn(const TempDir& dir, const std::vector<std::string>& options,
    const std::vector<std::string>& program, RunOptions runOptions = {})
{
    std::vector<std::string> argv { "/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", dir.path().string() };
    auto ravel = ravelRunArgs(options, program);
    argv.insert(argv.end(), ravel.begin(), ravel.end());
    return run(argv, runOptions);
}

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

bool waitForFile(const std::string& path, std::chrono::milliseconds limit = 10s)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!fs::exists(path)) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

class RunCli : public ::testing::Test {
protected:
    void SetUp() override
    {
        // The developer's own settings must not leak into what the tests expect.
        unsetenv("RAVEL_OPTIONS");
        unsetenv("RAVEL_RUNTIME");
        unsetenv("RAVEL_TRACE_FILE");
        unsetenv("LD_PRELOAD");
    }
    TempDir dir { "run-cli" };
};

TEST_F(RunCli, ExitStatusOfTheProgramPassesThrough)
{
    EXPECT_EQ(ravelRun(dir.file("t0.ravel"), { "/bin/true" }).status, 0);
    EXPECT_EQ(ravelRun(dir.file("t1.ravel"), { "/bin/false" }).status, 1);
    EXPECT_EQ(ravelRun(dir.file("t3.ravel"), { "sh", "-c", "exit 3" }).status, 3);
    EXPECT_EQ(ravelRun(dir.file("t255.ravel"), { "sh", "-c", "exit 255" }).status, 255);
}

TEST_F(RunCli, DeathBySignalBecomes128PlusTheSignal)
{
    RunResult r = ravelRun(dir.file("segv.ravel"), { "sh", "-c", "kill -SEGV $$" });
    EXPECT_EQ(r.status, 139);
    EXPECT_EQ(r.signal, 0) << "ravel itself must exit, not die";
    EXPECT_EQ(ravelRun(dir.file("kill.ravel"), { "sh", "-c", "kill -KILL $$" }).status, 137);
}

TEST_F(RunCli, StdinStdoutAndStderrPassThroughUnchanged)
{
    std::string input;
    for (int i = 0; i < 5000; i++)
        input += "line " + std::to_string(i) + "\n";
    writeFile(dir.file("input"), input);
    RunOptions options;
    options.stdinFile = dir.file("input");
    RunResult r = ravelRun(dir.file("cat.ravel"), { "cat" }, options);
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, input);

    r = ravelRun(dir.file("err.ravel"), { "sh", "-c", "echo to-out; echo to-err >&2" });
    EXPECT_EQ(r.out, "to-out\n");
    EXPECT_EQ(r.err, "to-err\n");
}

TEST_F(RunCli, StderrReaderThatHasGoneDoesNotChangeTheStatus)
{
    // `ravel run ... 2>&1 | head -1`: the summary line meets a pipe nobody reads any more.
    std::string script = "{ \"$0\" run -o \"$1\" -- sh -c 'sleep 0.3; exit 9'; echo $? > \"$2\"; } 2>&1 | true";
    RunResult r = run({ "/bin/sh", "-c", script, ravelBinary(), dir.file("pipe.ravel"), dir.file("status") });
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(readFile(dir.file("status")), "9\n");
}

TEST_F(RunCli, ArgumentsReachTheProgramVerbatim)
{
    RunResult r = ravelRun(dir.file("printf.ravel"), { "printf", "<%s>\\n", "[a,b]", "", "-v", "--", "a b", "-o" });
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "<[a,b]>\n<>\n<-v>\n<-->\n<a b>\n<-o>\n");

    // Without "--", everything from PROGRAM on is still the program's.
    r = run({ ravelBinary(), "run", "-q", "-o", dir.file("p2.ravel"), "printf", "<%s>\\n", "-q", "-o", "x" });
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "<-q>\n<-o>\n<x>\n");
}

TEST_F(RunCli, DefaultTraceIsNamedAfterTheProgramAndItsPid)
{
    RunResult r = ravelRunIn(dir, {}, { "sh", "-c", "echo $$; echo \"$RAVEL_TRACE_FILE\"" });
    ASSERT_EQ(r.status, 0) << r.err;
    auto out = lines(r.out);
    ASSERT_EQ(out.size(), 2u) << r.out;
    std::string name = "sh." + out[0] + ".ravel";
    EXPECT_EQ(out[1], (fs::canonical(dir.path()) / name).string())
        << "absolute, so a child that changes directory agrees";
    EXPECT_TRUE(fs::exists(dir.file(name)));
    EXPECT_EQ(r.err.rfind("==ravel== trace: " + name + " (", 0), 0u) << r.err;
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
}

TEST_F(RunCli, SummaryIsOneLineWithCountsAndQuietRemovesIt)
{
    RunResult r = run(ravelRunArgs({ "-o", dir.file("s.ravel") }, { "sh", "-c", "echo oops >&2" }));
    ASSERT_EQ(r.status, 0);
    auto err = lines(r.err);
    ASSERT_EQ(err.size(), 2u) << r.err;
    EXPECT_EQ(err[0], "oops");
    // (std::regex would be shorter, but GCC 12 warns inside it under ASan, and warnings are errors.)
    std::string prefix = "==ravel== trace: " + dir.file("s.ravel") + " (";
    ASSERT_EQ(err[1].rfind(prefix, 0), 0u) << err[1];
    unsigned long long events = 0, threads = 0, bytes = 0;
    char close = 0;
    EXPECT_EQ(std::sscanf(err[1].c_str() + prefix.size(), "%llu events, %llu threads, %llu bytes%c", &events, &threads,
                  &bytes, &close),
        4)
        << err[1];
    EXPECT_EQ(close, ')');
    EXPECT_GE(threads, 1u);
    EXPECT_GT(bytes, 4096u);

    r = run(ravelRunArgs({ "-q", "-o", dir.file("q.ravel") }, { "sh", "-c", "echo oops >&2" }));
    EXPECT_EQ(r.err, "oops\n");
}

TEST_F(RunCli, OutputOptionReplacesAnOldFile)
{
    // The runtime creates its trace with O_EXCL and would divert to old.<pid>.ravel: ravel must
    // clear the way first.
    writeFile(dir.file("old.ravel"), "stale");
    RunResult r = ravelRun(dir.file("old.ravel"), { "sh", "-c", "echo $RAVEL_TRACE_FILE" });
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, dir.file("old.ravel") + "\n");
    EXPECT_EQ(readFile(dir.file("old.ravel")).substr(0, 8), "RAVELTRC");
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir.path()))
        files.push_back(entry.path().filename().string());
    EXPECT_EQ(files, std::vector<std::string> { "old.ravel" });
}

TEST_F(RunCli, StaticProgramRunsUnrecordedWithOneLine)
{
    std::string program = helper("e2e_static_exit");
    RunResult r = run(ravelRunArgs({ "-o", dir.file("static.ravel") }, { program, "5" }));
    EXPECT_EQ(r.status, 5);
    EXPECT_EQ(r.out, "static ok\n");
    EXPECT_EQ(r.err, "ravel: cannot record " + program + ": statically linked; running it without recording\n");
}

TEST_F(RunCli, SetuidProgramRunsUnrecordedWithOneLine)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "making a set-user-ID file owned by someone else needs root";
    // A copy of sh owned by nobody: running it changes the effective uid, so the loader would
    // run in secure mode and ignore the runtime.
    std::string program = dir.file("suid-sh");
    fs::copy_file("/bin/sh", program);
    fs::permissions(dir.path(), fs::perms::all, fs::perm_options::add); // nobody may reach it
    if (chown(program.c_str(), 65534, 65534) != 0)
        GTEST_SKIP() << "cannot give a file to nobody here (a user namespace?): " << std::strerror(errno);
    ASSERT_EQ(chmod(program.c_str(), 04755), 0);
    RunResult r = run(ravelRunArgs({ "-o", dir.file("suid.ravel") }, { program, "-c", "exit 7" }));
    EXPECT_EQ(r.status, 7);
    EXPECT_EQ(r.err, "ravel: cannot record " + program + ": setuid; running it without recording\n");
}

TEST_F(RunCli, UnwritableWorkingDirectoryIsOneLineBeforeTheProgramRuns)
{
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
        GTEST_SKIP() << "needs root and setpriv to run ravel as a user who cannot write here";
    fs::permissions(dir.path(),
        fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read
            | fs::perms::others_exec);
    std::string script = "cd \"$0\" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$1\" run -- sh -c "
                         "'echo ran'";
    RunResult r = run({ "/bin/sh", "-c", script, dir.path().string(), ravelBinary() });
    if (r.status == 126 || r.status == 127) // setpriv could not start ravel as nobody
        GTEST_SKIP() << "nobody cannot reach the ravel binary: " << r.err;
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(r.out, "") << "the program must not have run";
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("cannot write the trace into"), std::string::npos) << r.err;
}

TEST_F(RunCli, ScriptsAreRecordedThroughTheirInterpreter)
{
    std::string script = dir.file("script.sh");
    writeFile(script, "#!/bin/sh\necho script ran\nexit 4\n");
    fs::permissions(script, fs::perms::owner_all);
    RunResult r = ravelRun(dir.file("script.ravel"), { script });
    EXPECT_EQ(r.status, 4);
    EXPECT_EQ(r.out, "script ran\n");
    EXPECT_EQ(r.err, "") << "no 'cannot record' for a script whose interpreter is dynamic";

    // No #! line: run by /bin/sh, as a shell would.
    std::string bare = dir.file("bare");
    writeFile(bare, "echo bare ran\nexit 6\n");
    fs::permissions(bare, fs::perms::owner_all);
    r = ravelRun(dir.file("bare.ravel"), { bare });
    EXPECT_EQ(r.status, 6);
    EXPECT_EQ(r.out, "bare ran\n");
}

TEST_F(RunCli, ProgramThatCannotRunGetsOneLineAndTheShellStatus)
{
    RunResult r = ravelRun(dir.file("x.ravel"), { "/nonexistent/program" });
    EXPECT_EQ(r.status, 127);
    EXPECT_EQ(r.err, "ravel: cannot run /nonexistent/program: No such file or directory\n");

    r = ravelRun(dir.file("x.ravel"), { "ravel-no-such-program-in-path" });
    EXPECT_EQ(r.status, 127);
    EXPECT_EQ(countLines(r.err), 1u) << r.err;

    writeFile(dir.file("data"), "not a program\n");
    r = ravelRun(dir.file("x.ravel"), { dir.file("data") });
    EXPECT_EQ(r.status, 126);
    EXPECT_EQ(r.err, "ravel: cannot run " + dir.file("data") + ": Permission denied\n");

    r = ravelRun(dir.file("x.ravel"), { dir.path().string() });
    EXPECT_EQ(r.status, 126);
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
}

TEST_F(RunCli, CtrlCReachesTheProgramAndRavelOutlivesIt)
{
    // A SIGINT to ravel's whole process group, as a terminal whose foreground ravel kept sends it:
    // the program, in a group of its own, gets it once through ravel, decides what happens, and
    // ravel waits and reports its status.
    std::string ready = dir.file("ready");
    Process p(ravelRunArgs({ "-q", "-o", dir.file("int.ravel") },
        { "sh", "-c", "trap 'echo interrupted; exit 42' INT; touch \"$0\"; while :; do sleep 0.05; done", ready }));
    ASSERT_TRUE(waitForFile(ready));
    kill(-p.pid(), SIGINT);
    RunResult r = p.wait();
    EXPECT_EQ(r.status, 42) << "130 would mean ravel died of the SIGINT itself";
    EXPECT_EQ(r.out, "interrupted\n");

    // A program that does not catch it dies of it; ravel reports 128+2.
    Process q(ravelRunArgs(
        { "-q", "-o", dir.file("int2.ravel") }, { "sh", "-c", "touch \"$0\"; exec sleep 30", dir.file("ready2") }));
    ASSERT_TRUE(waitForFile(dir.file("ready2")));
    std::this_thread::sleep_for(100ms); // let the exec happen
    kill(-q.pid(), SIGINT);
    r = q.wait();
    EXPECT_EQ(r.status, 130);
    EXPECT_LT(r.elapsed, 20s);
}

TEST_F(RunCli, TerminationSentToRavelIsForwardedToTheProgram)
{
    std::string ready = dir.file("ready");
    Process p(ravelRunArgs({ "-q", "-o", dir.file("term.ravel") },
        { "sh", "-c", "trap 'echo terminated; exit 43' TERM; touch \"$0\"; while :; do sleep 0.05; done", ready }));
    ASSERT_TRUE(waitForFile(ready));
    kill(p.pid(), SIGTERM); // ravel only, as `kill PID` or a supervisor would
    RunResult r = p.wait();
    EXPECT_EQ(r.status, 43);
    EXPECT_EQ(r.out, "terminated\n");
}

TEST_F(RunCli, ChildEnvironmentCarriesTheRuntimeAndTheOptions)
{
    RunOptions options;
    // ravel itself runs with this LD_PRELOAD too; an ASan build of it would object to not coming first.
    options.env
        = { "LD_PRELOAD=libm.so.6", "RAVEL_OPTIONS=verbose=0:foo=bar", "ASAN_OPTIONS=verify_asan_link_order=0" };
    RunResult r = run(ravelRunArgs({ "-q", "-o", dir.file("env.ravel"), "--flight-recorder=4M", "--chunk-size", "128K",
                                       "--stack-depth", "8" },
                          { "sh", "-c", "echo \"$LD_PRELOAD\"; echo \"$RAVEL_OPTIONS\"" }),
        options);
    ASSERT_EQ(r.status, 0) << r.err;
    auto out = lines(r.out);
    ASSERT_EQ(out.size(), 2u) << r.out;
    EXPECT_EQ(out[0], fs::canonical(runtimeLibrary()).string() + ":libm.so.6");
    // The user's keys pass through unchanged; the flags follow them, and the runtime lets later keys win.
    EXPECT_EQ(out[1], "verbose=0:foo=bar:flight_recorder=4096:chunk_size=131072:stack_depth=8");
}

TEST_F(RunCli, MistakesAreOneLineAndStatus2)
{
    std::vector<std::vector<std::string>> mistakes {
        { ravelBinary() },
        { ravelBinary(), "frobnicate" },
        { ravelBinary(), "run" },
        { ravelBinary(), "run", "--no-such-option", "--", "true" },
        { ravelBinary(), "run", "--flight-recorder", "4X", "--", "true" },
        { ravelBinary(), "run", "--chunk-size", "3000", "--", "true" },
        { ravelBinary(), "run", "--stack-depth", "0", "--", "true" },
        { ravelBinary(), "run", "-o", dir.path().string(), "--", "true" },
        { ravelBinary(), "run", "-o", dir.file("no/such/dir/t.ravel"), "--", "true" },
    };
    for (const auto& argv : mistakes) {
        RunResult r = run(argv);
        std::string shown = argv.size() > 1 ? argv[1] + (argv.size() > 2 ? " " + argv[2] : "") : "";
        EXPECT_EQ(r.status, 2) << shown << ": " << r.err;
        EXPECT_EQ(countLines(r.err), 1u) << shown << ": " << r.err;
        EXPECT_EQ(r.err.rfind("ravel: ", 0), 0u) << shown << ": " << r.err;
    }
}

TEST_F(RunCli, MissingRuntimeIsOneLineAndStatus2)
{
    RunOptions options;
    options.env = { "RAVEL_RUNTIME=/nonexistent/libravel_rt.so" };
    RunResult r = run(ravelRunArgs({}, { "true" }), options);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "ravel: RAVEL_RUNTIME=/nonexistent/libravel_rt.so: No such file or directory\n");
}

TEST_F(RunCli, InstalledRavelFindsItsRuntimeBesideItself)
{
    // The layout `cmake --install` makes: PREFIX/bin/ravel and PREFIX/LIBDIR/libravel_rt.so.
    fs::path prefix = dir.path() / "prefix";
    fs::create_directories(prefix / "bin");
    fs::create_directories(prefix / RAVEL_INSTALL_LIBDIR);
    fs::copy_file(ravelBinary(), prefix / "bin" / "ravel");
    std::vector<std::string> program { "sh", "-c", "echo \"$LD_PRELOAD\"" };
    std::vector<std::string> argv { (prefix / "bin" / "ravel").string(), "run", "-q", "-o", dir.file("i.ravel"), "--" };
    argv.insert(argv.end(), program.begin(), program.end());

    RunResult r = run(argv);
    EXPECT_EQ(r.status, 2) << "no runtime installed yet: " << r.err;
    EXPECT_EQ(r.err.rfind("ravel: cannot find the runtime libravel_rt.so (looked in ", 0), 0u) << r.err;
    EXPECT_EQ(countLines(r.err), 1u) << r.err;

    fs::path runtime = prefix / RAVEL_INSTALL_LIBDIR / "libravel_rt.so";
    fs::copy_file(runtimeLibrary(), runtime);
    r = run(argv);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, fs::canonical(runtime).string() + "\n");
    EXPECT_TRUE(fs::exists(dir.file("i.ravel")));
}

TEST_F(RunCli, WatchdogTicksTheTraceClockWhileTheProgramRuns)
{
    RunResult r = ravelRun(dir.file("tick.ravel"), { helper("e2e_tick_probe") });
    ASSERT_EQ(r.status, 0) << r.err;
    unsigned long long ticks = 0;
    int calib = 0;
    ASSERT_EQ(std::sscanf(r.out.c_str(), "ticks=%llu calib=%d", &ticks, &calib), 2) << r.out;
    // 1 per millisecond over the probe's 300 ms; a loaded machine may lose many, not all.
    EXPECT_GE(ticks, 30u);
    EXPECT_LE(ticks, 400u);
    EXPECT_EQ(calib, 1);
}

TEST_F(RunCli, TracesOfExecedChildrenAreKeptAndNamedInTheSummary)
{
    RunResult r = ravelRunIn(dir, {}, { "sh", "-c", "echo $$; sh -c 'echo $$'" });
    ASSERT_EQ(r.status, 0) << r.err;
    auto out = lines(r.out);
    ASSERT_EQ(out.size(), 2u) << r.out;
    std::string child = "sh." + out[0] + "." + out[1] + ".ravel";
    EXPECT_TRUE(fs::exists(dir.file("sh." + out[0] + ".ravel")));
    EXPECT_TRUE(fs::exists(dir.file(child)));
    EXPECT_NE(r.err.find("1 more from other processes: " + child), std::string::npos) << r.err;
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
}

TEST_F(RunCli, TracesAreReadableByTheirOwnerOnly)
{
    // A trace holds the command line (passwords passed as arguments too), stacks and addresses:
    // 0600 like a core dump, whatever the umask, for the main trace and every child's.
    mode_t old = ::umask(022);
    RunResult r = ravelRunIn(dir, {}, { "sh", "-c", "sh -c true; true" });
    ::umask(old);
    ASSERT_EQ(r.status, 0) << r.err;
    int traces = 0;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        if (entry.path().extension() != ".ravel")
            continue;
        traces++;
        struct stat st {};
        ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0600u) << entry.path();
    }
    EXPECT_EQ(traces, 2) << "the shell's trace and its child's";
}

TEST_F(RunCli, ManyChildTracesAreSummedUpByTheirPattern)
{
    RunResult r = ravelRunIn(dir, {}, { "sh", "-c", "echo $$; for i in 1 2 3 4 5; do sh -c true; done" });
    ASSERT_EQ(r.status, 0) << r.err;
    std::string stem = "sh." + lines(r.out).at(0);
    EXPECT_NE(r.err.find("; 5 more from other processes: " + stem + ".*.ravel"), std::string::npos) << r.err;
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
}

TEST_F(RunCli, ProgramThatNeverLoadsTheRuntimeGetsOneLine)
{
    RunOptions options;
    options.env = { "RAVEL_RUNTIME=" + helper("libe2e_empty_runtime.so") };
    RunResult r = run(ravelRunArgs({ "-o", dir.file("none.ravel") }, { "sh", "-c", "echo ran; exit 3" }), options);
    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.out, "ran\n");
    EXPECT_EQ(r.err, "ravel: no trace written: sh did not load the runtime\n");
}

TEST_F(RunCli, VerboseSaysWhichRuntimeAndHowLongTheWorkAfterExitTook)
{
    RunResult r = run(ravelRunArgs({ "-v", "-o", dir.file("v.ravel") }, { "true" }));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("==ravel== runtime: " + fs::canonical(runtimeLibrary()).string() + "\n"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("==ravel== trace: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("==ravel== after exit: "), std::string::npos) << r.err;
}

TEST_F(RunCli, VersionIsOneLine)
{
    RunResult r = run({ ravelBinary(), "--version" });
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out.rfind("ravel ", 0), 0u) << r.out;
    EXPECT_EQ(countLines(r.out), 1u);
}

} // namespace
