// End to end: a trace is untrusted input. For every kind of bad file, `ravel info` fails with one
// line on stderr that names the file, a non-zero status, and no crash or hang.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

using namespace ravel::e2e;

namespace {

void expectOneLineError(const std::string& path)
{
    RunResult r = run({ravelBinary(), "info", path}, withTimeout(20s));
    EXPECT_FALSE(r.timedOut) << path;
    EXPECT_NE(r.status, 0) << path;
    EXPECT_LT(r.status, 128) << path << ": ravel died of signal " << r.signal;
    EXPECT_EQ(countLines(r.err), 1u) << path << ": stderr was\n" << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << "the error names the file: " << r.err;
}

// A small real trace to damage.
std::string recordSmallTrace(TempDir& dir)
{
    const std::string trace = dir.file("good.ravel");
    RunResult run = ravelRun(trace, {example("counter_pthread"), "2", "100"});
    EXPECT_EQ(run.status, 0) << run.err;
    return trace;
}

TEST(BadTraces, EmptyFile)
{
    TempDir dir("bad-empty");
    writeFile(dir.file("empty.ravel"), "");
    expectOneLineError(dir.file("empty.ravel"));
}

TEST(BadTraces, RandomBytes)
{
    TempDir dir("bad-random");
    std::string bytes(64 * 1024, '\0');
    uint32_t state = 12345;
    for (auto& b : bytes) {
        state = state * 1664525u + 1013904223u;
        b = static_cast<char>(state >> 24);
    }
    writeFile(dir.file("random.ravel"), bytes);
    expectOneLineError(dir.file("random.ravel"));
}

TEST(BadTraces, Directory)
{
    TempDir dir("bad-dir");
    fs::create_directory(dir.file("dir.ravel"));
    expectOneLineError(dir.file("dir.ravel"));
}

TEST(BadTraces, MissingFile)
{
    TempDir dir("bad-missing");
    expectOneLineError(dir.file("missing.ravel"));
}

TEST(BadTraces, WrongVersion)
{
    TempDir dir("bad-version");
    const std::string good = recordSmallTrace(dir);
    std::string bytes = readFile(good);
    ASSERT_GT(bytes.size(), 4096u);
    bytes[8] = static_cast<char>(99); // the low byte of the version field, after the 8-byte magic
    writeFile(dir.file("v99.ravel"), bytes);
    expectOneLineError(dir.file("v99.ravel"));
}

TEST(BadTraces, TruncatedTracesNeverCrash)
{
    TempDir dir("bad-truncated");
    const std::string good = recordSmallTrace(dir);
    const std::string bytes = readFile(good);
    ASSERT_GT(bytes.size(), 4096u);
    for (size_t cut : {size_t(7), size_t(100), size_t(4095), size_t(4096), size_t(4096 + 63), bytes.size() / 2, bytes.size() - 1}) {
        const std::string path = dir.file("cut-" + std::to_string(cut) + ".ravel");
        writeFile(path, bytes.substr(0, cut));
        RunResult r = run({ravelBinary(), "info", path}, withTimeout(20s));
        EXPECT_FALSE(r.timedOut) << path;
        EXPECT_LT(r.status, 128) << path << ": ravel died of signal " << r.signal;
        if (r.status != 0) {
            EXPECT_EQ(countLines(r.err), 1u) << path << ": " << r.err;
        }
    }
}

} // namespace
