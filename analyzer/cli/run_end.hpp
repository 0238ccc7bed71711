// The run-end record of a trace (docs/trace-format.md): how the program ended, as `ravel run`
// saw it from waitpid, written into the trace header's reserved space after the program is gone.
// Its guard process writes it too, when `ravel run` died first, so the writer uses only system
// calls (async-signal-safe after fork).
#pragma once

#include <ravel/trace_format.h>

#include <cstdint>

namespace ravel::cli {

struct RunEndRecord {
    uint32_t how = RAVEL_RUN_UNKNOWN; // RAVEL_RUN_*
    int32_t value = 0;                // exit status or signal number
    uint32_t flags = 0;               // RAVEL_RUN_F_*
    uint64_t launchMonoNs = 0;
    uint64_t endMonoNs = 0;
};

// CLOCK_MONOTONIC in nanoseconds, the clock the record (and the trace header) uses.
uint64_t monotonicNowNs();

// Writes the record into the trace at `path` if it is a raw or compacted trace of this format
// version (the runtime this ravel launched); false when there is none (the program never loaded
// the runtime) or it cannot be written. Touches only the record's own bytes of the header.
bool writeRunEnd(const char* path, const RunEndRecord& record);

} // namespace ravel::cli
