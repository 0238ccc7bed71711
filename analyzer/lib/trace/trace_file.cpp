// MappedTrace: the untrusted-input boundary. Every offset and length read from the file is checked
// here against the mapping before anything dereferences it.
#include "trace/internal/trace_file.hpp"

#include <fmt/format.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ravel::detail {

namespace {

constexpr uint32_t MinChunkSize = 4096;
constexpr uint32_t MaxChunkSize = 16u << 20;

bool knownChunkType(unsigned type)
{
    return type >= RAVEL_CHUNK_EVENTS && type <= RAVEL_CHUNK_NAMES;
}

bool allZero(const uint8_t* p, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (p[i])
            return false;
    return true;
}

} // namespace

MappedTrace::MappedTrace(const std::string& path)
    : WarningLog(path)
{
    auto fail = [&](std::string_view what) { return TraceError(fmt::format("{}: {}", path, what)); };
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw fail(std::strerror(errno));
    struct stat st { };
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        throw fail(std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw fail("is a directory, not a ravel trace");
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw fail("not a regular file");
    }
    m_size = uint64_t(st.st_size);
    if (m_size == 0) {
        ::close(fd);
        throw fail("empty file, not a ravel trace");
    }
    void* map = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    if (map == MAP_FAILED)
        throw fail(fmt::format("cannot map: {}", std::strerror(err)));
    m_data = static_cast<const uint8_t*>(map);

    // From here on the destructor does not run if we throw: unmap by hand.
    try {
        if (m_size < 8 || std::memcmp(m_data, RAVEL_TRACE_MAGIC, 8) != 0)
            throw fail("not a ravel trace (bad magic)");
        if (m_size < 12)
            throw fail("truncated trace header");
        uint32_t version;
        std::memcpy(&version, m_data + 8, 4);
        // Versions 2 and 3 only added events, a table and header fields: older traces read as they are.
        if (version < 1 || version > RAVEL_TRACE_VERSION)
            throw fail(fmt::format(
                "trace format version {}, this ravel reads versions 1 to {}", version, RAVEL_TRACE_VERSION));
        if (m_size < sizeof(RavelFileHeader))
            throw fail(fmt::format("truncated trace header ({} of {} bytes)", m_size, sizeof(RavelFileHeader)));
        std::memcpy(&m_header, m_data, sizeof m_header);
        if (m_header.header_size != RAVEL_HEADER_SIZE)
            throw fail(fmt::format("bad header size {}", m_header.header_size));
        uint32_t cs = m_header.chunk_size;
        if (cs < MinChunkSize || cs > MaxChunkSize || (cs & (cs - 1)))
            throw fail(fmt::format("bad chunk size {}", cs));
        // next_chunk is where the writer would have put its next chunk (raw: reserved space never
        // shrinks the file; compacted: the exact end), so a shorter file lost its tail.
        if (m_header.next_chunk > m_size)
            warn(fmt::format("the file ends at {} bytes, its header says {}: the end of the trace is missing", m_size,
                m_header.next_chunk));
        if (compacted())
            indexCompacted();
        else
            indexRaw();
    } catch (...) {
        ::munmap(const_cast<uint8_t*>(m_data), m_size);
        m_data = nullptr;
        throw;
    }
}

MappedTrace::~MappedTrace()
{
    if (m_data)
        ::munmap(const_cast<uint8_t*>(m_data), m_size);
}

ChunkDecoder::~ChunkDecoder()
{
    ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(m_zstd));
}

void WarningLog::warnChunk(uint64_t offset, std::string_view what)
{
    m_warnings.push_back(fmt::format("{}: chunk at offset {:#x}: {}, skipped", m_path, offset, what));
}

void WarningLog::warn(std::string_view what)
{
    m_warnings.push_back(fmt::format("{}: {}", m_path, what));
}

// Validates the header at `offset` with `room` bytes of file from there on. Fills `out` and
// returns true, or says why not.
bool MappedTrace::checkChunk(uint64_t offset, uint64_t room, ChunkRef& out, std::string& why) const
{
    const uint32_t capacity = m_header.chunk_size - RAVEL_CHUNK_HEADER_SIZE;
    RavelChunkHeader h;
    std::memcpy(&h, m_data + offset, sizeof h);
    out = ChunkRef {};
    out.offset = offset;
    out.hdr = h;
    if (h.magic != RAVEL_CHUNK_MAGIC) {
        why = "bad magic";
        return false;
    }
    if (!knownChunkType(h.type)) {
        why = fmt::format("unknown chunk type {}", h.type);
        return false;
    }
    if (h.type == RAVEL_CHUNK_EVENTS && h.owner == 0) {
        why = "events chunk without an owner thread";
        return false;
    }
    // Payloads never exceed a raw chunk's capacity, decoded: a raw events chunk holds at most one
    // event per byte (short records), 16 bytes each once decoded. This bounds every allocation a
    // corrupt length could ask for.
    const uint64_t limit = h.type == RAVEL_CHUNK_EVENTS ? uint64_t(capacity) * 16 : capacity;
    if (h.used > limit) {
        why = fmt::format("payload size {} exceeds the chunk capacity {}", h.used, capacity);
        return false;
    }
    uint64_t payloadRoom = room - RAVEL_CHUNK_HEADER_SIZE;
    if (compacted()) {
        if (h.size < RAVEL_CHUNK_HEADER_SIZE || h.size % 8 || h.size > room) {
            why = h.size > room ? fmt::format("size {} runs past the end of the file", h.size)
                                : fmt::format("bad chunk size {}", h.size);
            return false;
        }
        payloadRoom = h.size - RAVEL_CHUNK_HEADER_SIZE;
    } else if (h.size != m_header.chunk_size) {
        why = fmt::format("chunk size {} in a trace of {}-byte chunks", h.size, m_header.chunk_size);
        return false;
    }
    if (h.flags & RAVEL_CHUNK_ZSTD) {
        if (h.stored > payloadRoom) {
            why = room < h.size || !compacted() ? "compressed payload cut off by the end of the file"
                                                : fmt::format("compressed size {} exceeds the chunk", h.stored);
            return false;
        }
        out.avail = h.stored;
    } else if (!compacted() && h.type == RAVEL_CHUNK_EVENTS) {
        // The runtime updates `used` only when it seals a chunk: the records of the chunk a thread
        // is writing lie beyond it, up to the first zero kind. So the whole capacity is candidate
        // payload, and the file was cut short only if records ran up to the cut.
        out.avail = uint32_t(std::min<uint64_t>(capacity, payloadRoom));
        if (payloadRoom < capacity) {
            uint64_t tail = std::min<uint64_t>(payloadRoom, payloadRoom % 16 + 16);
            out.truncated = h.used > payloadRoom
                || !allZero(m_data + offset + RAVEL_CHUNK_HEADER_SIZE + payloadRoom - tail, tail);
        }
    } else if (h.used > payloadRoom) {
        if (compacted()) {
            why = fmt::format("payload size {} exceeds the chunk", h.used);
            return false;
        }
        out.avail = uint32_t(payloadRoom);
        out.truncated = true;
    } else {
        out.avail = h.used;
    }
    out.payload = m_data + offset + RAVEL_CHUNK_HEADER_SIZE;
    return true;
}

void MappedTrace::indexRaw()
{
    const uint64_t cs = m_header.chunk_size;
    // Reading a chunk's header maps the pages around it too (the kernel's fault-around): scanning
    // a raw trace would make all of it resident. What was scanned is let go every few megabytes
    // (the pages are the file's, and come back when a pass reads them).
    constexpr uint64_t kReleaseEvery = 16u << 20;
    uint64_t released = m_header.header_size; // a page multiple: 4096
    for (uint64_t off = m_header.header_size; off < m_size; off += cs) {
        if (off - released >= kReleaseEvery) {
            ::madvise(const_cast<uint8_t*>(m_data) + released, off - released, MADV_DONTNEED);
            released = off;
        }
        uint64_t room = m_size - off;
        if (room < RAVEL_CHUNK_HEADER_SIZE) {
            if (!allZero(m_data + off, room))
                warnChunk(off, "file ends inside the chunk header");
            break;
        }
        // The magic is written last (and cleared first when a flight recorder reuses a chunk): zero
        // means space reserved but not yet handed out (every thread keeps a spare), or a header
        // being rewritten when the program died.
        uint32_t magic;
        std::memcpy(&magic, m_data + off, 4);
        if (magic == 0) {
            if (!allZero(m_data + off, RAVEL_CHUNK_HEADER_SIZE))
                warnChunk(off, "chunk was being rewritten when the trace ended");
            continue;
        }
        ChunkRef ref;
        std::string why;
        if (!checkChunk(off, room, ref, why)) {
            warnChunk(off, why);
            continue;
        }
        if (ref.truncated)
            warn(fmt::format("chunk at offset {:#x}: the file ends inside the chunk, the rest of it is lost", off));
        m_chunks.push_back(ref);
    }
}

void MappedTrace::indexCompacted()
{
    uint64_t off = m_header.header_size;
    while (off < m_size) {
        uint64_t room = m_size - off;
        std::string why;
        ChunkRef ref;
        if (room < RAVEL_CHUNK_HEADER_SIZE)
            why = "file ends inside the chunk header";
        else if (checkChunk(off, room, ref, why)) {
            m_chunks.push_back(ref);
            off += ref.hdr.size;
            continue;
        }
        warnChunk(off, why);
        // Resync: the next 8-byte aligned offset that holds a plausible chunk header. Progress is
        // at least 8 bytes per step, so a corrupt file cannot make this loop forever.
        uint64_t next = off + 8;
        for (; next + RAVEL_CHUNK_HEADER_SIZE <= m_size; next += 8) {
            uint32_t magic;
            std::memcpy(&magic, m_data + next, 4);
            if (magic != RAVEL_CHUNK_MAGIC)
                continue;
            ChunkRef probe;
            std::string ignored;
            if (checkChunk(next, m_size - next, probe, ignored))
                break;
        }
        if (next + RAVEL_CHUNK_HEADER_SIZE > m_size)
            break;
        off = next;
    }
}

bool MappedTrace::calibration(uint64_t& tsc, uint64_t& monoNs) const
{
    const RavelFileHeader& h = m_header;
    // The farthest pair gives the best rate: the error of each reading is fixed, so it shrinks
    // relative to a longer interval.
    bool found = false;
    auto consider = [&](uint64_t t, uint64_t ns) {
        if (t <= h.start_tsc || ns <= h.start_mono_ns)
            return;
        double rate = double(t - h.start_tsc) / double(ns - h.start_mono_ns);
        if (rate < 0.01 || rate > 100) // no clock runs under 10 MHz or over 100 GHz
            return;
        if (!found || t > tsc) {
            tsc = t;
            monoNs = ns;
            found = true;
        }
    };
    consider(h.end_tsc, h.end_mono_ns);
    consider(h.calib_tsc, h.calib_mono_ns);
    for (const ChunkRef& c : m_chunks)
        consider(c.hdr.first_tsc, c.hdr.first_mono_ns);
    return found;
}

// Decompresses a zstd payload into `plain` (at most `limit` bytes); empty on failure (warned).
std::span<const uint8_t> ChunkDecoder::decompress(
    const ChunkRef& chunk, size_t limit, ByteBuffer& plain, WarningLog* warnTo)
{
    if (!m_zstd)
        m_zstd = ZSTD_createDCtx();
    if (!m_zstd) {
        if (warnTo)
            warnTo->warnChunk(chunk.offset, "out of memory for decompression");
        return {};
    }
    plain.resize(limit);
    size_t got
        = ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(m_zstd), plain.data(), plain.size(), chunk.payload, chunk.avail);
    if (ZSTD_isError(got)) {
        if (warnTo)
            warnTo->warnChunk(chunk.offset, fmt::format("zstd: {}", ZSTD_getErrorName(got)));
        return {};
    }
    return { plain.data(), got };
}

// The runtime's byte stream (trace_format.h, "Raw EVENTS chunk payloads"): records up to the
// first zero marker, which is where the writer stopped (sealed or not: a crash or SIGKILL leaves
// the chunk being written unsealed, and its records count). Each chunk decodes on its own.
size_t ChunkDecoder::decodeRaw(const ChunkRef& chunk, EventBuffer& out, WarningLog* warnTo)
{
    const uint8_t* p = chunk.payload;
    const uint8_t* end = p + chunk.avail;
    uint64_t slotObj[RAVEL_SLOTS] = {};
    uint8_t slotKind[RAVEL_SLOTS] = {};
    uint32_t lastStack[2] = { 0, 0 };
    const size_t start = out.size();
    auto damaged = [&](const char* what) {
        if (warnTo)
            warnTo->warnChunk(chunk.offset,
                fmt::format("{} at payload byte {}, rest of the chunk skipped", what, p - chunk.payload));
    };
    while (p < end && *p != RAVEL_REC_END) {
        const uint8_t marker = *p;
        if (marker & RAVEL_REC_SHORT) {
            const unsigned op = (marker >> 4) & 7, slot = marker & 15;
            if (op > 3 || slotObj[slot] == 0) {
                damaged(op > 3 ? "unknown short event" : "short event on an undefined slot");
                break;
            }
            const unsigned kind = (op & 1) ? RAVEL_EV_RELEASE : RAVEL_EV_ACQUIRED;
            const unsigned flags = slotKind[slot] | ((op & 2) ? unsigned(RAVEL_F_SHARED) : 0u);
            out.push_back(RavelEvent { ravel_event_word(slotObj[slot], kind, flags), 0, lastStack[op & 1] });
            p += 1;
        } else if (marker == RAVEL_REC_FULL) {
            if (end - p < 17) {
                damaged("truncated event");
                break;
            }
            RavelEvent e;
            std::memcpy(&e, p + 1, sizeof e);
            const unsigned kind = ravel_event_kind(&e);
            if (kind == RAVEL_EV_ACQUIRED)
                lastStack[0] = e.stack;
            else if (kind == RAVEL_EV_RELEASE)
                lastStack[1] = e.stack;
            out.push_back(e);
            p += 17;
        } else if (marker == RAVEL_REC_SLOT || marker == RAVEL_REC_TIME) {
            if (end - p < 8) {
                damaged("truncated record");
                break;
            }
            uint64_t v = 0;
            std::memcpy(reinterpret_cast<uint8_t*>(&v) + 1, p + 1, 7);
            if (marker == RAVEL_REC_SLOT) {
                const unsigned slot = (v >> 8) & 15;
                slotKind[slot] = uint8_t((v >> 12) & 15);
                slotObj[slot] = v >> 16;
            } else {
                const uint64_t rel = v >> 8;
                out.push_back(RavelEvent {
                    ravel_event_word(rel & RAVEL_OBJ_MASK, RAVEL_EV_TIME, 0), uint32_t(rel >> 48), 0 });
            }
            p += 8;
        } else {
            damaged("unknown record marker");
            break;
        }
    }
    return out.size() - start;
}

size_t ChunkDecoder::appendEvents(const ChunkRef& chunk, EventBuffer& out, WarningLog* warnTo)
{
    if (!(chunk.hdr.flags & RAVEL_CHUNK_ZSTD))
        return decodeRaw(chunk, out, warnTo);
    const size_t count = chunk.hdr.used / 16;
    // The column encoding of `count` records has a known bound: a corrupt frame header cannot
    // make us allocate more.
    std::span<const uint8_t> plain = decompress(chunk, maxEncodedColumnsSize(count), m_plain, warnTo);
    if (plain.empty())
        return 0;
    const size_t at = out.size();
    out.resize(at + count);
    size_t n = decodeEventColumns(plain, out.data() + at, count);
    if (n != count && warnTo)
        warnTo->warn(
            fmt::format("chunk at offset {:#x}: event columns damaged, {} of {} events kept", chunk.offset, n, count));
    out.resize(at + n);
    return n;
}

void MappedTrace::release(const ChunkRef& chunk) const
{
    constexpr uintptr_t kPage = 4096;
    const uint64_t end = std::min<uint64_t>(m_size, chunk.offset + chunk.hdr.size);
    const uintptr_t base = reinterpret_cast<uintptr_t>(m_data);
    const uintptr_t from = (base + chunk.offset + kPage - 1) & ~(kPage - 1);
    const uintptr_t to = (base + end) & ~(kPage - 1);
    if (to > from)
        ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

std::span<const uint8_t> MappedTrace::payload(const ChunkRef& chunk, ByteBuffer& scratch)
{
    if (chunk.hdr.type == RAVEL_CHUNK_EVENTS) {
        m_events.clear();
        appendEvents(chunk, m_events);
        return { reinterpret_cast<const uint8_t*>(m_events.data()), m_events.size() * sizeof(RavelEvent) };
    }
    if (!(chunk.hdr.flags & RAVEL_CHUNK_ZSTD))
        return { chunk.payload, chunk.avail };
    std::span<const uint8_t> plain = m_decoder.decompress(chunk, chunk.hdr.used, scratch, this);
    if (!plain.empty() && plain.size() != chunk.hdr.used) {
        warnChunk(chunk.offset, fmt::format("decompressed {} bytes, header says {}", plain.size(), chunk.hdr.used));
        return {};
    }
    return plain;
}

} // namespace ravel::detail
