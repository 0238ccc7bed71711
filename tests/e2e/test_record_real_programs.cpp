// End to end: real multithreaded programs from Debian, unmodified, under `ravel run`. The runtime
// must not change what they compute (byte-identical output, same exit status) and must see their
// threads and locks.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

using namespace ravel::e2e;

namespace {

// 20 MB of text that compresses like real data: lines of words drawn from a small vocabulary by
// a fixed LCG, with numbers. The same bytes every run, so failures reproduce.
std::string generateInput()
{
    static const char* const words[] = {"lock", "mutex", "thread", "wait", "signal", "barrier", "ravel", "trace",
                                        "event", "deadlock", "cycle", "graph", "holds", "waits", "for", "the"};
    std::string data;
    data.reserve(20u << 20);
    uint64_t state = 0x9e3779b97f4a7c15ull;
    while (data.size() < (20u << 20)) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = static_cast<uint32_t>(state >> 33);
        data += words[r % 16];
        data += (r >> 4) % 7 == 0 ? '\n' : ' ';
        if ((r >> 8) % 5 == 0)
            data += std::to_string((r >> 12) % 100000) + ' ';
    }
    data.resize(20u << 20);
    return data;
}

class RealPrograms : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        s_dir = new TempDir("real-programs");
        writeFile(s_dir->file("input.txt"), generateInput());
    }
    static void TearDownTestSuite()
    {
        delete s_dir;
        s_dir = nullptr;
    }

    // Compresses the input natively and under ravel; checks identical output and status, then that
    // the trace shows more than one thread and some mutex acquisitions.
    void compareWithAndWithoutRavel(const std::string& tool, const std::vector<std::string>& args)
    {
        if (!fs::exists("/usr/bin/" + tool))
            GTEST_SKIP() << tool << " is not installed (scripts/setup installs it)";
        std::vector<std::string> command {"/usr/bin/" + tool};
        command.insert(command.end(), args.begin(), args.end());

        RunOptions native = withTimeout(120s);
        native.stdinFile = s_dir->file("input.txt");
        native.stdoutFile = s_dir->file(tool + ".native");
        RunResult plain = run(command, native);
        ASSERT_FALSE(plain.timedOut);
        ASSERT_EQ(plain.status, 0) << plain.err;

        const std::string trace = s_dir->file(tool + ".ravel");
        RunOptions traced = native;
        traced.stdoutFile = s_dir->file(tool + ".traced");
        RunResult recorded = ravelRun(trace, command, traced);
        ASSERT_FALSE(recorded.timedOut);
        EXPECT_EQ(recorded.status, plain.status) << recorded.err;
        EXPECT_EQ(recorded.err, plain.err) << "ravel run -q adds nothing to the program's stderr";

        const std::string a = readFile(native.stdoutFile);
        const std::string b = readFile(traced.stdoutFile);
        EXPECT_GT(a.size(), 0u);
        EXPECT_LT(a.size(), 20u << 20) << "the data is compressible";
        EXPECT_TRUE(a == b) << tool << ": output differs under ravel run (" << a.size() << " vs " << b.size() << " bytes)";

        RunResult infoRun;
        auto info = infoJson(trace, &infoRun);
        ASSERT_TRUE(info) << infoRun.err;
        EXPECT_GT((*info)["threads"].size(), 1u) << tool << " -T2/-p 2 runs worker threads";
        int64_t acquisitions = 0;
        for (const auto& o : (*info)["objects"]) {
            if (o.value("kind", "") == "mutex")
                acquisitions += o.value("acquisitions", int64_t(0));
        }
        EXPECT_GT(acquisitions, 0) << (*info)["objects"].dump();
    }

    static TempDir* s_dir;
};

TempDir* RealPrograms::s_dir = nullptr;

TEST_F(RealPrograms, PigzOutputIdenticalUnderRavel) { compareWithAndWithoutRavel("pigz", {"-p", "2", "-c"}); }

// Preset 1 rather than the default 6: six times faster here, and its 3 MiB blocks split the input
// into several blocks, so both worker threads really run (at preset 6 one 24 MiB block would).
TEST_F(RealPrograms, XzOutputIdenticalUnderRavel) { compareWithAndWithoutRavel("xz", {"-T2", "-1", "-c"}); }

TEST_F(RealPrograms, ZstdOutputIdenticalUnderRavel) { compareWithAndWithoutRavel("zstd", {"-T2", "-c", "-q"}); }

} // namespace
