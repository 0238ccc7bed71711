// The chunk layer shared by the reader and the compactor (internal to ravel_core): maps a trace,
// validates its header, finds its chunks and decodes their payloads. Everything above it
// (TraceReader, compactTrace) sees only chunks that passed the bounds checks here.
#pragma once

#include "trace/trace_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <memory>
#include <utility>
#include <vector>

namespace ravel::detail {

struct ChunkRef {
    uint64_t offset = 0; // of the chunk header in the file
    RavelChunkHeader hdr {};
    const uint8_t* payload = nullptr;
    uint32_t avail = 0; // payload bytes present: raw = used (events: the capacity) cut at the file end; zstd = stored
    bool truncated = false; // the file ends inside this chunk (raw payload only: the rest is kept)
};

// Decoded records: a vector that grows without zero-filling what the decoder overwrites at once
// (value-initializing every buffer was a tenth of decoding).
template <class T> struct NoInitAllocator : std::allocator<T> {
    template <class U> struct rebind {
        using other = NoInitAllocator<U>;
    };
    NoInitAllocator() = default;
    template <class U> NoInitAllocator(const NoInitAllocator<U>&) noexcept { }
    template <class U> void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
    template <class U, class... A> void construct(U* p, A&&... a)
    {
        ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
    }
};
using EventBuffer = std::vector<RavelEvent, NoInitAllocator<RavelEvent>>;
using ByteBuffer = std::vector<uint8_t, NoInitAllocator<uint8_t>>; // decompressed payloads

// Warnings about a trace file, one line each, prefixed with its path. The reader's index pass
// keeps one per thread's events (they are indexed in parallel) and appends them in thread order.
class WarningLog {
public:
    explicit WarningLog(std::string path = {})
        : m_path(std::move(path))
    {
    }
    void warnChunk(uint64_t offset, std::string_view what);
    void warn(std::string_view what);
    std::vector<std::string>& warnings() { return m_warnings; }

protected:
    std::string m_path;
    std::vector<std::string> m_warnings;
};

// Decodes events chunks (decompression context and scratch space). One per thread of work: the
// reader's merges each make their own, so two merges may run at once on one MappedTrace.
class ChunkDecoder {
public:
    ChunkDecoder() = default;
    ~ChunkDecoder();
    ChunkDecoder(const ChunkDecoder&) = delete;
    ChunkDecoder& operator=(const ChunkDecoder&) = delete;

    // Appends an events chunk's records (TIME records included) to `out`; returns how many.
    // Problems are reported to `warnTo` when it is not null (the first decode of a chunk), and
    // silently give the same result otherwise (every later decode of the same chunk).
    size_t appendEvents(const ChunkRef& chunk, EventBuffer& out, WarningLog* warnTo);
    // Decompresses a zstd payload (at most `limit` bytes); empty on failure.
    std::span<const uint8_t> decompress(const ChunkRef& chunk, size_t limit, ByteBuffer& plain, WarningLog* warnTo);

private:
    size_t decodeRaw(const ChunkRef& chunk, EventBuffer& out, WarningLog* warnTo);

    void* m_zstd = nullptr; // ZSTD_DCtx, reused across chunks
    ByteBuffer m_plain;
};

// A read-only mapping of one trace file plus its chunk index, in file order.
class MappedTrace : public WarningLog {
public:
    explicit MappedTrace(const std::string& path); // throws TraceError
    ~MappedTrace();
    MappedTrace(const MappedTrace&) = delete;
    MappedTrace& operator=(const MappedTrace&) = delete;

    const std::string& path() const { return m_path; }
    const RavelFileHeader& header() const { return m_header; }
    uint64_t size() const { return m_size; }
    bool compacted() const { return m_header.flags & RAVEL_FILE_COMPACTED; }
    const std::vector<ChunkRef>& chunks() const { return m_chunks; }
    // The payload as the runtime wrote it (decompressed; events: the column transform undone).
    // Events payloads are whole 16-byte records. On a decoding failure it warns once and returns
    // what could be decoded (possibly nothing). `scratch` owns the bytes when they are not the
    // mapping's own.
    std::span<const uint8_t> payload(const ChunkRef& chunk, ByteBuffer& scratch);
    // Appends an events chunk's records to `out` (the hot path of reading: no intermediate copy);
    // returns how many.
    size_t appendEvents(const ChunkRef& chunk, EventBuffer& out)
    {
        return m_decoder.appendEvents(chunk, out, this);
    }

    // Done with this chunk's bytes: drops their pages from the process's resident set (they stay
    // in the page cache and fault back in if read again; the mapping is private and read-only).
    // A pass over a raw trace, a byte or more per event, otherwise keeps all of it resident.
    void release(const ChunkRef& chunk) const;

    // The clock pair farthest from the start (header end/calib pairs, every chunk's first pair)
    // that gives a plausible rate; false if there is none.
    bool calibration(uint64_t& tsc, uint64_t& monoNs) const;

private:
    void indexRaw();
    void indexCompacted();
    bool checkChunk(uint64_t offset, uint64_t room, ChunkRef& out, std::string& why) const;

    const uint8_t* m_data = nullptr;
    uint64_t m_size = 0;
    RavelFileHeader m_header {};
    std::vector<ChunkRef> m_chunks;
    ChunkDecoder m_decoder;
    EventBuffer m_events;
};

// The column transform of an events payload (docs/trace-format.md, "Compaction"): appends the
// encoding of `events` to `out`.
void encodeEventColumns(std::span<const RavelEvent> events, std::vector<uint8_t>& out);
// Decodes up to `count` records into `out`; returns how many were decoded intact (fewer when
// `in` is malformed).
size_t decodeEventColumns(std::span<const uint8_t> in, RavelEvent* out, size_t count);
// Upper bound of the encoded size of `count` records: bounds what a corrupt chunk can make us
// allocate.
inline size_t maxEncodedColumnsSize(size_t count)
{
    return 16 + count * 20;
}

} // namespace ravel::detail
