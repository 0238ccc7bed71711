// libFuzzer target: any bytes, read as a trace, must give a TraceError or a readable trace, never
// a crash, a hang or undefined behaviour; compacting it must work too.
#include "trace/trace_reader.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace {

std::string tempPath(const char* what)
{
    const char* dir = getenv("TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/ravel-fuzz-" + std::to_string(getpid()) + what;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const std::string in = tempPath(".ravel"), out = tempPath("-compacted.ravel");
    FILE* f = std::fopen(in.c_str(), "wb");
    if (!f)
        return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        ravel::TraceReader reader(in);
        uint64_t n = 0, last = 0;
        reader.forEachEvent([&](const ravel::Event& e) {
            ++n;
            last ^= e.time_ns ^ e.obj;
            return true;
        });
        if (n != reader.eventCount())
            __builtin_trap();
        for (const ravel::ThreadInfo& t : reader.threads())
            reader.forEachThreadEvent(t.id, [](const ravel::Event&) { return true; });
        for (const ravel::StackTrace& s : reader.stacks())
            if (s.id && reader.stack(s.id) != &s)
                __builtin_trap();
        ravel::compactTrace(in, out);
        ravel::TraceReader compacted(out);
        // Compaction keeps every event the reader could decode.
        if (compacted.eventCount() != reader.eventCount())
            __builtin_trap();
        (void)last;
    } catch (const ravel::TraceError&) {
    }
    return 0;
}
