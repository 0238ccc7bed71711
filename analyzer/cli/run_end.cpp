#include "run_end.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace ravel::cli {

namespace {

// The record's bytes, laid out as in RavelFileHeader from run_end on.
struct RecordBytes {
    uint32_t run_end;
    int32_t run_end_value;
    uint32_t run_end_flags;
    uint32_t run_end_reserved;
    uint64_t run_launch_mono_ns;
    uint64_t run_end_mono_ns;
};
static_assert(offsetof(RavelFileHeader, run_end_mono_ns) - offsetof(RavelFileHeader, run_end)
        == offsetof(RecordBytes, run_end_mono_ns),
    "the record mirrors the header's fields");
static_assert(offsetof(RavelFileHeader, run_end) % 8 == 0, "the record is 8-byte aligned");

bool fullPread(int fd, void* buf, size_t size, off_t at)
{
    ssize_t got;
    do {
        got = pread(fd, buf, size, at);
    } while (got < 0 && errno == EINTR);
    return got == static_cast<ssize_t>(size);
}

} // namespace

uint64_t monotonicNowNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

bool writeRunEnd(const char* path, const RunEndRecord& record)
{
    if (!path || !*path)
        return false;
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    // Only into a header this ravel's runtime wrote: an older version has no room reserved there
    // that readers would look at, and a file that is not a trace is not ours to change.
    char magic[8];
    uint32_t version = 0, headerSize = 0;
    bool ours = fullPread(fd, magic, sizeof magic, 0) && std::memcmp(magic, RAVEL_TRACE_MAGIC, 8) == 0
        && fullPread(fd, &version, sizeof version, offsetof(RavelFileHeader, version))
        && fullPread(fd, &headerSize, sizeof headerSize, offsetof(RavelFileHeader, header_size))
        && version == RAVEL_TRACE_VERSION && headerSize == RAVEL_HEADER_SIZE;
    bool written = false;
    if (ours) {
        RecordBytes bytes {};
        bytes.run_end = record.how;
        bytes.run_end_value = record.value;
        bytes.run_end_flags = record.flags;
        bytes.run_launch_mono_ns = record.launchMonoNs;
        bytes.run_end_mono_ns = record.endMonoNs;
        ssize_t put;
        do {
            put = pwrite(fd, &bytes, sizeof bytes, offsetof(RavelFileHeader, run_end));
        } while (put < 0 && errno == EINTR);
        written = put == static_cast<ssize_t>(sizeof bytes);
    }
    close(fd);
    return written;
}

} // namespace ravel::cli
