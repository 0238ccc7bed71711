// The symbolizer against real code and data. symbolizer_fixture.c is compiled at test time with
// -g -O0 into a shared library and loaded into this process; the C++ parts (static locals,
// demangling) are this test binary itself. The module map is built the way the runtime builds it
// (dl_iterate_phdr), so what passes here is what `ravel info` sees for a recorded program: a PIE
// main program and a library loaded at some bias.
#include "model/objects.hpp"
#include "symbols/symbolizer.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

extern "C" {
struct bank {
    long balance;
    pthread_mutex_t lock;
};
struct ledger {
    int id;
    pthread_mutex_t lock;
    long entries[3];
};
}

namespace {

using ravel::Frame;
using ravel::Module;
using ravel::Symbolizer;

// The fixture library's symbols, resolved once.
struct Fixture {
    pthread_mutex_t* account_a = nullptr;
    pthread_mutex_t* forks = nullptr; // [5]
    struct bank* the_bank = nullptr;
    pthread_rwlock_t* tables = nullptr; // [3]
    struct ledger* ledgers = nullptr;    // [4]
    pthread_spinlock_t (*grid)[4] = nullptr; // [3][4]
    int call_line = 0;
    pthread_mutex_t* (*static_local)() = nullptr;
    uintptr_t (*caller)() = nullptr;
    std::string error;
};

const Fixture& fixture()
{
    static Fixture f = [] {
        Fixture f;
        std::filesystem::path source = std::filesystem::path(RAVEL_SOURCE_DIR) / "tests" / "unit" / "symbolizer_fixture.c";
        std::string dir = (std::filesystem::temp_directory_path() / "ravel-symbolizer-XXXXXX").string();
        if (!mkdtemp(dir.data())) {
            f.error = "mkdtemp failed";
            return f;
        }
        std::string so = dir + "/libfixture.so";
        std::string cmd = "cc -g -O0 -shared -fPIC -o '" + so + "' '" + source.string() + "'";
        if (std::system(cmd.c_str()) != 0) {
            f.error = "cannot compile the fixture: " + cmd;
            return f;
        }
        // The library stays on disk until the process exits (the symbolizer reads it by path).
        static std::string cleanup = dir;
        std::atexit([] { std::filesystem::remove_all(cleanup); });
        void* h = dlopen(so.c_str(), RTLD_NOW);
        if (!h) {
            f.error = dlerror();
            return f;
        }
        auto sym = [&](const char* name) { return dlsym(h, name); };
        f.account_a = static_cast<pthread_mutex_t*>(sym("account_a"));
        f.forks = static_cast<pthread_mutex_t*>(sym("forks"));
        f.the_bank = static_cast<struct bank*>(sym("the_bank"));
        f.tables = static_cast<pthread_rwlock_t*>(sym("tables"));
        f.ledgers = static_cast<struct ledger*>(sym("ledgers"));
        f.grid = static_cast<pthread_spinlock_t(*)[4]>(sym("grid"));
        f.call_line = *static_cast<int*>(sym("fixture_call_line"));
        f.static_local = reinterpret_cast<pthread_mutex_t* (*)()>(sym("fixture_static_local"));
        f.caller = reinterpret_cast<uintptr_t (*)()>(sym("fixture_caller"));
        return f;
    }();
    return f;
}

#define REQUIRE_FIXTURE()                                                                                            \
    const Fixture& fx = fixture();                                                                                 \
    ASSERT_TRUE(fx.error.empty()) << fx.error

std::mutex& cacheLock()
{
    static std::mutex lock;
    return lock;
}

std::vector<Module> ownModules()
{
    std::vector<Module> modules;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            Module m;
            m.base = info->dlpi_addr;
            m.lo = UINT64_MAX;
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr)& ph = info->dlpi_phdr[i];
                if (ph.p_type != PT_LOAD)
                    continue;
                m.lo = std::min<uint64_t>(m.lo, info->dlpi_addr + ph.p_vaddr);
                m.hi = std::max<uint64_t>(m.hi, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
            }
            m.path = info->dlpi_name ? info->dlpi_name : "";
            if (m.path.empty()) { // the main program
                char exe[PATH_MAX];
                ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
                m.path = n > 0 ? std::string(exe, size_t(n)) : "";
            }
            if (m.hi > m.lo && !m.path.empty() && m.path.find("linux-vdso") == std::string::npos)
                static_cast<std::vector<Module>*>(data)->push_back(m);
            return 0;
        },
        &modules);
    return modules;
}

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint64_t addr(const volatile void* p) { return reinterpret_cast<uint64_t>(p); }

TEST(Symbolizer, NamesGlobalVariable)
{
    REQUIRE_FIXTURE();
    Symbolizer s(ownModules());
    auto d = s.symbolizeData(addr(fx.account_a));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->name, "account_a");
    EXPECT_EQ(d->start, addr(fx.account_a));
    EXPECT_EQ(d->size, sizeof(pthread_mutex_t));
    EXPECT_EQ(s.objectName(addr(fx.account_a), RAVEL_OBJ_MUTEX, {}), "account_a");
}

TEST(Symbolizer, NamesArrayElementsByPrimitiveSize)
{
    REQUIRE_FIXTURE();
    Symbolizer s(ownModules());
    EXPECT_EQ(s.objectName(addr(&fx.forks[0]), RAVEL_OBJ_MUTEX, {}), "forks[0]");
    EXPECT_EQ(s.objectName(addr(&fx.forks[3]), RAVEL_OBJ_MUTEX, {}), "forks[3]");
    EXPECT_EQ(s.objectName(addr(&fx.tables[2]), RAVEL_OBJ_RWLOCK, {}), "tables[2]");
    auto d = s.symbolizeData(addr(&fx.forks[4]));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->start, addr(&fx.forks[0]));
    EXPECT_EQ(d->size, 5 * sizeof(pthread_mutex_t));
}

TEST(Symbolizer, NamesMembersAndElementsFromDebugInfo)
{
    REQUIRE_FIXTURE();
    Symbolizer s(ownModules());
    EXPECT_EQ(s.objectName(addr(&fx.the_bank->lock), RAVEL_OBJ_MUTEX, {}), "the_bank.lock");
    EXPECT_EQ(s.objectName(addr(&fx.ledgers[2].lock), RAVEL_OBJ_MUTEX, {}), "ledgers[2].lock");
    EXPECT_EQ(s.objectName(addr(&fx.grid[1][2]), RAVEL_OBJ_SPIN, {}), "grid[1][2]");
}

TEST(Symbolizer, NamesStaticLocals)
{
    REQUIRE_FIXTURE();
    Symbolizer s(ownModules());
    // GCC names a C static local "local_lock.0" in the symbol table; the number is noise, the
    // function (from the debug info) is what lets a reader find it.
    EXPECT_EQ(s.objectName(addr(fx.static_local()), RAVEL_OBJ_MUTEX, {}), "fixture_static_local::local_lock");
    EXPECT_EQ(s.objectName(addr(&cacheLock()), RAVEL_OBJ_MUTEX, {}), "cacheLock()::lock");
}

TEST(Symbolizer, SymbolizesFunctionAndLine)
{
    REQUIRE_FIXTURE();
    Symbolizer s(ownModules());
    const std::vector<Frame>& frames = s.symbolizeCode(addr(reinterpret_cast<void*>(fx.caller)));
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames[0].function, "fixture_caller");
    EXPECT_TRUE(endsWith(frames[0].file, "symbolizer_fixture.c")) << frames[0].file;
    // The entry is on the declarator's line or on its brace, depending on the compiler.
    EXPECT_GE(frames[0].line, unsigned(fx.call_line - 2));
    EXPECT_LE(frames[0].line, unsigned(fx.call_line - 1));
}

TEST(Symbolizer, ReturnAddressResolvesToTheCallLine)
{
    REQUIRE_FIXTURE();
    Symbolizer s(ownModules());
    uint64_t ra = fx.caller();
    std::vector<Frame> frames = s.symbolizeStack({ra});
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].function, "fixture_caller");
    EXPECT_EQ(frames[0].line, unsigned(fx.call_line));
    EXPECT_EQ(frames[0].address, ra);
    EXPECT_FALSE(frames[0].module.empty());
}

TEST(Symbolizer, DemanglesCxxFunctions)
{
    Symbolizer s(ownModules());
    const std::vector<Frame>& frames = s.symbolizeCode(addr(reinterpret_cast<void*>(&ownModules)));
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().function, "(anonymous namespace)::ownModules()");
}

TEST(Symbolizer, UnnamedObjectIsNamedByFirstUserFrame)
{
    REQUIRE_FIXTURE();
    std::vector<Module> modules = ownModules();
    Symbolizer s(modules);
    // A libc frame first (the lock call itself), then the program's call site. Any code address
    // inside libc will do (&pthread_mutex_lock would be a sanitizer's interceptor under ASan).
    auto libc = std::find_if(modules.begin(), modules.end(), [](const Module& m) { return m.path.find("/libc.so") != std::string::npos; });
    ASSERT_NE(libc, modules.end());
    uint64_t inLibc = libc->lo + 0x30000;
    std::vector<Frame> frames = s.symbolizeStack({inLibc, fx.caller()});
    ASSERT_GE(frames.size(), 2u);
    const Frame* user = Symbolizer::userFrame(frames);
    ASSERT_NE(user, nullptr);
    EXPECT_EQ(user->function, "fixture_caller");

    pthread_mutex_t heap;
    std::string name = s.objectName(addr(&heap), RAVEL_OBJ_MUTEX, frames);
    EXPECT_EQ(name.rfind("mutex at ", 0), 0u) << name;
    EXPECT_TRUE(endsWith(name, "symbolizer_fixture.c:" + std::to_string(fx.call_line))) << name;
    EXPECT_EQ(s.objectName(0x1234, RAVEL_OBJ_COND, {}), "condvar 0x1234");
}

TEST(Symbolizer, MissingModuleFallsBackToModuleOffset)
{
    Module ghost;
    ghost.base = 0x7f0000000000;
    ghost.lo = 0x7f0000000000;
    ghost.hi = 0x7f0000100000;
    ghost.path = "/nonexistent/libghost.so";
    Symbolizer s({ghost});
    const std::vector<Frame>& frames = s.symbolizeCode(0x7f0000001234);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].function, "libghost.so+0x1234");
    EXPECT_EQ(frames[0].line, 0u);
    EXPECT_FALSE(s.symbolizeData(0x7f0000002000));
    EXPECT_EQ(s.objectName(0x7f0000002000, RAVEL_OBJ_MUTEX, {}), "mutex 0x7f0000002000");
    // An address in no module at all.
    EXPECT_EQ(s.symbolizeCode(0x1000)[0].function, "0x1000");
    ASSERT_EQ(s.warnings().size(), 1u); // once per module, not per address
    EXPECT_NE(s.warnings()[0].find("/nonexistent/libghost.so"), std::string::npos) << s.warnings()[0];
}

TEST(Symbolizer, ModulePathOfADeviceIsNotRead)
{
    // A damaged or hostile trace may name anything as a module; /dev/zero would never end.
    Module dev;
    dev.base = dev.lo = 0x10000;
    dev.hi = 0x20000;
    dev.path = "/dev/zero";
    Symbolizer s({dev});
    EXPECT_EQ(s.symbolizeCode(0x10010)[0].function, "zero+0x10");
    EXPECT_FALSE(s.symbolizeData(0x10020));
    EXPECT_EQ(s.warnings().size(), 1u);
}

TEST(Symbolizer, RebuiltModuleIsNotSymbolizedWithTheNewCode)
{
    std::vector<Module> modules = ownModules();
    auto self = std::find_if(modules.begin(), modules.end(), [](const Module& m) {
        return m.lo <= addr(reinterpret_cast<void*>(&ownModules)) && addr(reinterpret_cast<void*>(&ownModules)) < m.hi;
    });
    ASSERT_NE(self, modules.end());
    self->build_id = "0123456789abcdef0123456789abcdef01234567"; // not this binary's
    Symbolizer s(modules);
    uint64_t pc = addr(reinterpret_cast<void*>(&ownModules));
    const std::vector<Frame>& frames = s.symbolizeCode(pc);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].function,
        fmt::format("{}+0x{:x}", std::filesystem::path(self->path).filename().string(), pc - self->base));
    ASSERT_EQ(s.warnings().size(), 1u);
    EXPECT_NE(s.warnings()[0].find("changed since the trace was recorded"), std::string::npos) << s.warnings()[0];
}

TEST(Symbolizer, ShortensPathsUnderTheCurrentDirectory)
{
    Symbolizer s({});
    char cwd[PATH_MAX];
    ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
    EXPECT_EQ(s.displayPath(std::string(cwd) + "/src/./bank.c"), "src/bank.c");
    EXPECT_EQ(s.displayPath("/definitely/elsewhere/x.c"), "/definitely/elsewhere/x.c");
    EXPECT_EQ(s.displayPath("relative.c"), "relative.c");
}

} // namespace
