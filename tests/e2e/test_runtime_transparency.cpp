// End to end: the runtime never changes what the target does (DESIGN.md, "Bad input and
// faults"). Each test runs a small real program natively and under `ravel run`, and checks what a
// user would: the same output and exit status, and a trace that still holds the program's events.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

using namespace ravel::e2e;

namespace {

// Runs `program` natively, then under ravel run into `trace`; both must agree and succeed.
RunResult sameAsNative(
    const std::string& trace, const std::vector<std::string>& program, const RunOptions& options = {})
{
    RunResult native = run(program, options);
    EXPECT_EQ(native.status, 0) << "the program fails natively: " << native.err;
    RunResult recorded = ravelRun(trace, program, options);
    EXPECT_FALSE(recorded.timedOut);
    EXPECT_EQ(recorded.status, native.status) << recorded.err;
    EXPECT_EQ(recorded.out, native.out) << recorded.err;
    return recorded;
}

int64_t acquisitions(const std::string& trace, const std::string& lock)
{
    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    EXPECT_TRUE(info) << infoRun.err;
    if (!info)
        return -1;
    const nlohmann::json* o = findObject(*info, lock, "mutex");
    EXPECT_NE(o, nullptr) << (*info)["objects"].dump();
    return count(o, "acquisitions");
}

// glibc frees the previous dlerror string (through free, the runtime's) on the next lookup; a
// runtime that looked up the real free with dlsym from inside free freed it twice, and the
// program died at start-up (a database server did, even for --version).
TEST(RuntimeTransparency, SurvivesTwoFailedDlsymLookups)
{
    TempDir dir("dlsym");
    const std::string trace = dir.file("dlsym.ravel");
    RunResult r = sameAsNative(trace, { helper("e2e_dlsym_probe") });
    EXPECT_EQ(r.out, "missing missing found error-kept locks 3\n") << "dlerror() still tells the program's own error";
    EXPECT_EQ(acquisitions(trace, "probe_lock"), 3);
}

// A daemon closes every descriptor it did not open, then opens its data file, which gets the
// number the trace had. The runtime kept growing and mapping "its" descriptor: the program's
// 12-byte file grew to hundreds of megabytes of trace chunks. Chunks of 16 MiB make the trace
// grow after the close. "raw" closes with the system call itself, past every interceptor.
class ClosesEveryDescriptor : public ::testing::TestWithParam<const char*> { };

TEST_P(ClosesEveryDescriptor, KeepsTheTraceAndTheProgramsFile)
{
    TempDir dir(std::string("closefds-") + GetParam());
    const std::string trace = dir.file("closefds.ravel");
    RunOptions options;
    options.env = { "RAVEL_OPTIONS=chunk_size=16M" };
    RunResult r = sameAsNative(trace, { helper("e2e_close_fds"), GetParam(), dir.file("data"), "200000" }, options);
    EXPECT_EQ(r.out, "count 800000 data intact\n");
    EXPECT_EQ(fs::file_size(dir.file("data")), 12u);
    EXPECT_EQ(acquisitions(trace, "work_lock"), 800000) << "recording went on after the descriptors were closed";
}

INSTANTIATE_TEST_SUITE_P(
    RuntimeTransparency, ClosesEveryDescriptor, ::testing::Values("loop", "range", "from", "raw", "dup2"));

// Started with stdin closed, a program's first open() returns 0; the runtime's trace took that
// number (the program got 3). The trace descriptor now sits out of the way.
TEST(RuntimeTransparency, LeavesTheLowestDescriptorToTheProgram)
{
    TempDir dir("lowestfd");
    RunResult r = sameAsNative(dir.file("lowest.ravel"), { helper("e2e_lowest_fd") });
    EXPECT_EQ(r.out, "first open got 0\n");
}

// A C program loads a C++ plugin RTLD_LOCAL, as interpreters load extension modules: the real
// __cxa_guard_acquire is in a libstdc++ outside the global scope, which dlsym(RTLD_NEXT) never
// searched ("cannot find the real __cxa_guard_acquire; aborting", exit 134).
TEST(RuntimeTransparency, RunsACxxPluginLoadedByACProgram)
{
    TempDir dir("plugin");
    const std::string trace = dir.file("plugin.ravel");
    RunResult r = sameAsNative(trace, { helper("e2e_plugin_host"), helper("libe2e_cxx_plugin.so") });
    EXPECT_EQ(r.out, "plugin-42 plugin-42\n");
    EXPECT_EQ(acquisitions(trace, "pluginName::m"), 2);
}

// A handler for every signal, each taking a lock, while threads lock: signals sent to itself, a
// timer, a child's end, a write to a closed pipe.
TEST(RuntimeTransparency, HandlersForEverySignalRunAsNatively)
{
    TempDir dir("signals");
    const std::string trace = dir.file("signals.ravel");
    RunResult r = sameAsNative(trace, { helper("e2e_all_signals"), "100000" });
    EXPECT_EQ(r.out.rfind("count 300000 caught ", 0), 0u) << r.out;
    EXPECT_EQ(acquisitions(trace, "work_lock"), 300000);
    EXPECT_GE(acquisitions(trace, "signal_lock"), 1);
}

// pthread_atfork handlers hold the program's lock across fork; children allocate, probe with
// dlsym, start a thread and exit with their own status.
TEST(RuntimeTransparency, ForkWithAtforkHandlersKeepsChildrenStatuses)
{
    TempDir dir("atfork");
    const std::string trace = dir.file("atfork.ravel");
    RunResult r = sameAsNative(trace, { helper("e2e_atfork_locks"), "20" });
    EXPECT_EQ(r.out, "forks 20 statuses ok count positive\n");
    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    EXPECT_EQ((*info)["events_by_kind"].value("FORK", 0), 20) << (*info)["events_by_kind"].dump();
    EXPECT_GT(acquisitions(trace, "state_lock"), 0);
}

// A vfork child whose exec failed ends with _exit(127) on its parent's memory and thread state:
// the trace said the parent's main thread exited there (and then went on locking), and a parent
// killed afterwards would have looked ended with the child's status.
TEST(RuntimeTransparency, VforkChildsExitIsNotTheParents)
{
    TempDir dir("vfork");
    const std::string trace = dir.file("vfork.ravel");
    RunResult native = run({ helper("e2e_vfork_exit") });
    ASSERT_EQ(native.status, 3) << native.err;
    RunResult r = ravelRun(trace, { helper("e2e_vfork_exit") });
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_EQ(r.out, native.out);
    EXPECT_EQ(r.out, "child 127 locks 5\n");
    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    EXPECT_EQ((*info)["events_by_kind"].value("THREAD_EXIT", 0), 1) << (*info)["events_by_kind"].dump();
    EXPECT_EQ((*info)["exit_status"].get<int>(), 3);
    EXPECT_EQ(acquisitions(trace, "after_lock"), 5);
}

// Programs that bring their own allocator: the runtime preloads before it (ravel run keeps the
// user's LD_PRELOAD after its own), so free and malloc_usable_size are the allocator's.
// Skipped where the Debian package (scripts/setup installs it) is missing.
struct Allocator {
    const char* name;
    const char* library;
};
void PrintTo(const Allocator& a, std::ostream* os)
{
    *os << a.name;
}

class ForeignAllocator : public ::testing::TestWithParam<Allocator> {
protected:
    void SetUp() override
    {
        if (!fs::exists(GetParam().library))
            GTEST_SKIP() << GetParam().library << " is not installed";
        m_options.env = { std::string("LD_PRELOAD=") + GetParam().library };
    }
    RunOptions m_options;
};

TEST_P(ForeignAllocator, ProbesWithDlsymAsNatively)
{
    TempDir dir(std::string("alloc-dlsym-") + GetParam().name);
    const std::string trace = dir.file("dlsym.ravel");
    RunResult r = sameAsNative(trace, { helper("e2e_dlsym_probe") }, m_options);
    EXPECT_EQ(r.out, "missing missing found error-kept locks 3\n");
    EXPECT_EQ(acquisitions(trace, "probe_lock"), 3);
}

// A thread started by a library's constructor, before the runtime's, is first seen inside the
// allocator: it registers there without allocating (with jemalloc it died of SIGSEGV).
TEST_P(ForeignAllocator, ThreadStartedBeforeTheRuntimeRegistersInsideTheAllocator)
{
    TempDir dir(std::string("alloc-early-") + GetParam().name);
    const std::string trace = dir.file("early.ravel");
    RunResult r = sameAsNative(trace, { helper("e2e_early_thread") }, m_options);
    EXPECT_EQ(r.out, "early thread done\n");
    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    EXPECT_GT((*info)["events"].get<int64_t>(), 0);
}

INSTANTIATE_TEST_SUITE_P(RuntimeTransparency, ForeignAllocator,
    ::testing::Values(Allocator { "jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" },
        Allocator { "tcmalloc", "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4" }),
    [](const auto& info) { return std::string(info.param.name); });

// A program started through a symlink keeps the name it was started by (Debian's redis-server
// is a symlink to redis-check-rdb, and the trace said redis-check-rdb): by path, relative or
// found in PATH. A name that is not the running executable does not override it.
TEST(RuntimeTransparency, ProgramStartedThroughASymlinkKeepsItsName)
{
    TempDir dir("symlink");
    const std::string target = "/usr/bin/true";
    fs::create_directories(dir.file("bin"));
    fs::create_symlink(target, dir.file("bin/friendly-name"));
    struct Case {
        std::vector<std::string> argv;
        RunOptions options;
        std::string expected;
    };
    RunOptions inDir;
    inDir.cwd = dir.path().string();
    RunOptions inPath;
    inPath.env = { "PATH=" + dir.file("bin") + ":/usr/bin:/bin" };
    const std::vector<Case> cases = {
        { { dir.file("bin/friendly-name") }, {}, dir.file("bin/friendly-name") },
        { { "./bin/friendly-name" }, inDir, dir.file("bin/friendly-name") },
        { { "friendly-name" }, inPath, dir.file("bin/friendly-name") },
        { { target }, {}, fs::canonical(target).string() },
    };
    int n = 0;
    for (const Case& c : cases) {
        const std::string trace = dir.file("t" + std::to_string(n++) + ".ravel");
        RunResult r = ravelRun(trace, c.argv, c.options);
        ASSERT_EQ(r.status, 0) << c.argv[0] << ": " << r.err;
        RunResult infoRun;
        auto info = infoJson(trace, &infoRun);
        ASSERT_TRUE(info) << infoRun.err;
        EXPECT_EQ((*info)["program"].get<std::string>(), c.expected) << "started as " << c.argv[0];
    }
}

// Debian programs a new user tries first. mariadbd --version died at start-up (its dlsym probes:
// the double free above). Skipped where the package is missing (scripts/setup installs them).
class DebianProgram : public ::testing::TestWithParam<std::vector<std::string>> { };

TEST_P(DebianProgram, StartsAsNatively)
{
    const std::vector<std::string>& program = GetParam();
    if (!fs::exists(program[0]))
        GTEST_SKIP() << program[0] << " is not installed";
    TempDir dir("debian");
    const std::string trace = dir.file("program.ravel");
    RunResult r = sameAsNative(trace, program);
    EXPECT_FALSE(r.out.empty());
    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    EXPECT_TRUE((*info)["ended"].get<bool>());
}

INSTANTIATE_TEST_SUITE_P(RuntimeTransparency, DebianProgram,
    ::testing::Values(std::vector<std::string> { "/usr/sbin/mariadbd", "--version" },
        std::vector<std::string> { "/usr/bin/redis-server", "--version" },
        std::vector<std::string> { "/usr/bin/memcached", "-h" },
        std::vector<std::string> { "/usr/bin/python3", "-c", "print(42)" }),
    [](const auto& info) {
        std::string name = fs::path(info.param[0]).filename().string();
        name.erase(std::remove_if(
                       name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }),
            name.end());
        return name;
    });

} // namespace
