// Compaction: rewrites a raw trace (fixed-size chunks, most of them partly empty) into chunks
// that follow each other, each payload compressed with zstd; events payloads go through the
// column transform first. The format is specified in docs/trace-format.md, "Compaction".
#include "trace/internal/trace_file.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace ravel {
namespace detail {

namespace {

// The predictors of the column transform. Both sides must update them identically, so they live
// in one place.
struct ColumnContext {
    struct Slot {
        uint32_t aux = 0;
        uint32_t stack = 0;
    };
    static constexpr unsigned SlotCount = 1024;
    Slot slots[SlotCount] {};
    uint64_t prevObj = 0; // previous non-TIME event's object
    uint64_t prevTime = 0; // previous TIME event's object (the clock)

    static unsigned slotOf(uint64_t obj, unsigned kind)
    {
        uint64_t h = (obj ^ (uint64_t(kind) << 52)) * 0x9E3779B97F4A7C15ull;
        return unsigned(h >> 54) & (SlotCount - 1);
    }
    uint64_t& objPredictor(unsigned kind) { return kind == RAVEL_EV_TIME ? prevTime : prevObj; }
};

inline uint8_t* putVarint(uint8_t* p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = uint8_t(v) | 0x80;
        v >>= 7;
    }
    *p++ = uint8_t(v);
    return p;
}

inline bool getVarintSlow(const uint8_t*& p, const uint8_t* end, uint64_t& v)
{
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p == end)
            return false;
        uint8_t b = *p++;
        v |= uint64_t(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

// Nearly every value of a lock-heavy trace fits in one byte.
inline bool getVarint(const uint8_t*& p, const uint8_t* end, uint64_t& v)
{
    if (p != end && *p < 0x80) {
        v = *p++;
        return true;
    }
    return getVarintSlow(p, end, v);
}

// The same without bounds checks, for the decoder's main loop (at least 10 bytes are left): one
// and two bytes (an object delta between two nearby locks) without a loop.
inline bool getVarintUnchecked(const uint8_t*& p, uint64_t& v)
{
    uint64_t b = *p++;
    if (b < 0x80) {
        v = b;
        return true;
    }
    v = b & 0x7f;
    b = *p++;
    v |= (b & 0x7f) << 7;
    if (b < 0x80)
        return true;
    for (unsigned shift = 14; shift < 64; shift += 7) {
        b = *p++;
        v |= (b & 0x7f) << shift;
        if (b < 0x80)
            return true;
    }
    return false; // ten bytes and still going: damaged
}

inline uint64_t zigzag(int64_t v)
{
    return (uint64_t(v) << 1) ^ uint64_t(v >> 63);
}
inline int64_t unzigzag(uint64_t v)
{
    return int64_t(v >> 1) ^ -int64_t(v & 1);
}
// Object deltas are taken modulo 2^48 and sign-extended, so a step down is as short as a step up.
inline int64_t objDelta(uint64_t obj, uint64_t pred)
{
    return int64_t((obj - pred) << (64 - RAVEL_OBJ_BITS)) >> (64 - RAVEL_OBJ_BITS);
}

void putU32(std::vector<uint8_t>& out, size_t at, uint32_t v)
{
    std::memcpy(out.data() + at, &v, 4);
}

} // namespace

void encodeEventColumns(std::span<const RavelEvent> events, std::vector<uint8_t>& out)
{
    auto ctx = std::make_unique<ColumnContext>();
    const size_t n = events.size();
    // Worst case per record: 7 bytes of object delta, 5 of aux, 5 of stack.
    std::vector<uint8_t> cols(n * 17);
    uint8_t* objP = cols.data();
    uint8_t* auxP = objP + n * 7;
    uint8_t* stackP = auxP + n * 5;
    uint8_t* const auxStart = auxP;
    uint8_t* const stackStart = stackP;
    const size_t head = out.size();
    out.resize(head + 16 + 2 * n);
    uint8_t* kinds = out.data() + head + 16;
    for (size_t i = 0; i < n; ++i) {
        const RavelEvent& e = events[i];
        const unsigned kind = ravel_event_kind(&e);
        const uint64_t obj = ravel_event_obj(&e);
        kinds[i] = uint8_t(kind);
        kinds[n + i] = uint8_t(ravel_event_flags(&e));
        uint64_t& pred = ctx->objPredictor(kind);
        objP = putVarint(objP, zigzag(objDelta(obj, pred)));
        pred = obj;
        auto& slot = ctx->slots[ColumnContext::slotOf(obj, kind)];
        auxP = putVarint(auxP, zigzag(int32_t(e.aux - slot.aux)));
        stackP = putVarint(stackP, zigzag(int32_t(e.stack - slot.stack)));
        slot.aux = e.aux;
        slot.stack = e.stack;
    }
    const size_t objLen = size_t(objP - cols.data()), auxLen = size_t(auxP - auxStart),
                 stackLen = size_t(stackP - stackStart);
    putU32(out, head, uint32_t(n));
    putU32(out, head + 4, uint32_t(objLen));
    putU32(out, head + 8, uint32_t(auxLen));
    putU32(out, head + 12, uint32_t(stackLen));
    out.insert(out.end(), cols.data(), cols.data() + objLen);
    out.insert(out.end(), auxStart, auxStart + auxLen);
    out.insert(out.end(), stackStart, stackStart + stackLen);
}

size_t decodeEventColumns(std::span<const uint8_t> in, RavelEvent* out, size_t count)
{
    if (in.size() < 16)
        return 0;
    uint32_t encoded, objLen, auxLen, stackLen;
    std::memcpy(&encoded, in.data(), 4);
    std::memcpy(&objLen, in.data() + 4, 4);
    std::memcpy(&auxLen, in.data() + 8, 4);
    std::memcpy(&stackLen, in.data() + 12, 4);
    uint64_t need = 16 + 2 * uint64_t(encoded) + objLen + auxLen + stackLen;
    if (need != in.size())
        return 0;
    const size_t n = std::min<size_t>(encoded, count);
    const uint8_t* kinds = in.data() + 16;
    const uint8_t* flags = kinds + encoded;
    const uint8_t* objP = kinds + 2 * size_t(encoded);
    const uint8_t* const objEnd = objP + objLen;
    const uint8_t* auxP = objEnd;
    const uint8_t* const auxEnd = auxP + auxLen;
    const uint8_t* stackP = auxEnd;
    const uint8_t* const stackEnd = stackP + stackLen;

    auto ctx = std::make_unique<ColumnContext>();
    auto put = [&](size_t i, uint64_t dObj, uint64_t dAux, uint64_t dStack) {
        const unsigned kind = kinds[i];
        uint64_t& pred = ctx->objPredictor(kind);
        const uint64_t obj = (pred + uint64_t(unzigzag(dObj))) & RAVEL_OBJ_MASK;
        pred = obj;
        auto& slot = ctx->slots[ColumnContext::slotOf(obj, kind)];
        slot.aux += uint32_t(unzigzag(dAux));
        slot.stack += uint32_t(unzigzag(dStack));
        out[i].word = ravel_event_word(obj, kind, flags[i]);
        out[i].aux = slot.aux;
        out[i].stack = slot.stack;
    };
    size_t i = 0;
    // While every column has room for a longest varint no read can pass its end: no checks.
    constexpr ptrdiff_t kLongest = 10;
    for (; i < n && objEnd - objP >= kLongest && auxEnd - auxP >= kLongest && stackEnd - stackP >= kLongest; ++i) {
        uint64_t dObj, dAux, dStack;
        if (!getVarintUnchecked(objP, dObj) || !getVarintUnchecked(auxP, dAux) || !getVarintUnchecked(stackP, dStack))
            return i;
        put(i, dObj, dAux, dStack);
    }
    for (; i < n; ++i) {
        uint64_t dObj, dAux, dStack;
        if (!getVarint(objP, objEnd, dObj) || !getVarint(auxP, auxEnd, dAux) || !getVarint(stackP, stackEnd, dStack))
            break;
        put(i, dObj, dAux, dStack);
    }
    return i;
}

} // namespace detail

namespace {

class OutputFile {
public:
    OutputFile(std::string path)
        : m_path(std::move(path))
    {
        // Written beside the destination and renamed at the end, so `out` may name the input
        // and a failed compaction never leaves a half-written trace behind.
        m_tmp = m_path + ".tmp-XXXXXX";
        m_fd = mkstemp(m_tmp.data());
        if (m_fd < 0)
            throw TraceError(fmt::format("{}: cannot create: {}", m_path, std::strerror(errno)));
    }
    ~OutputFile()
    {
        if (m_fd >= 0) {
            ::close(m_fd);
            ::unlink(m_tmp.c_str());
        }
    }
    void write(const void* data, size_t len)
    {
        const char* p = static_cast<const char*>(data);
        while (len > 0) {
            ssize_t w = ::write(m_fd, p, len);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                throw TraceError(fmt::format("{}: cannot write: {}", m_path, std::strerror(errno)));
            p += w;
            len -= size_t(w);
            m_written += uint64_t(w);
        }
    }
    void pad8()
    {
        static const uint8_t zeros[8] = {};
        if (m_written % 8)
            write(zeros, 8 - m_written % 8);
    }
    void pwrite(const void* data, size_t len, uint64_t at)
    {
        if (::pwrite(m_fd, data, len, off_t(at)) != ssize_t(len))
            throw TraceError(fmt::format("{}: cannot write: {}", m_path, std::strerror(errno)));
    }
    uint64_t written() const { return m_written; }
    void commit()
    {
        int fd = m_fd;
        m_fd = -1;
        if (::fchmod(fd, 0600) != 0 || ::close(fd) != 0 || ::rename(m_tmp.c_str(), m_path.c_str()) != 0) {
            int err = errno;
            ::unlink(m_tmp.c_str());
            throw TraceError(fmt::format("{}: cannot write: {}", m_path, std::strerror(err)));
        }
    }

private:
    std::string m_path;
    std::string m_tmp;
    int m_fd = -1;
    uint64_t m_written = 0;
};

struct CCtxDeleter {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

} // namespace

uint64_t compactTrace(const std::string& in, const std::string& out)
{
    detail::MappedTrace trace(in);
    OutputFile file(out);
    std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
    if (!cctx)
        throw TraceError(fmt::format("{}: out of memory", out));
    // Level 1: compaction runs while the user waits for the program to finish; the column
    // transform already removed most of the redundancy a higher level would find.
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, 1);

    RavelFileHeader header = trace.header();
    header.flags |= RAVEL_FILE_COMPACTED;
    // Empty chunks are dropped, and with them their clock pairs: keep the best one in the header
    // so the compacted trace converts times exactly as the raw one did.
    uint64_t calibTsc, calibNs;
    if (trace.calibration(calibTsc, calibNs)) {
        header.calib_tsc = calibTsc;
        header.calib_mono_ns = calibNs;
    }
    file.write(&header, sizeof header);

    detail::ByteBuffer scratch;
    std::vector<uint8_t> columns, packed;
    for (const detail::ChunkRef& chunk : trace.chunks()) {
        std::span<const uint8_t> payload = trace.payload(chunk, scratch);
        if (payload.empty())
            continue;
        std::span<const uint8_t> plain = payload;
        if (chunk.hdr.type == RAVEL_CHUNK_EVENTS) {
            std::span<const RavelEvent> events(
                reinterpret_cast<const RavelEvent*>(payload.data()), payload.size() / sizeof(RavelEvent));
            columns.clear();
            detail::encodeEventColumns(events, columns);
            plain = columns;
        }
        packed.resize(ZSTD_compressBound(plain.size()));
        size_t stored = ZSTD_compress2(cctx.get(), packed.data(), packed.size(), plain.data(), plain.size());
        if (ZSTD_isError(stored))
            throw TraceError(fmt::format("{}: compression failed: {}", out, ZSTD_getErrorName(stored)));

        RavelChunkHeader hdr {};
        hdr.magic = RAVEL_CHUNK_MAGIC;
        hdr.type = chunk.hdr.type;
        hdr.flags = uint16_t(chunk.hdr.flags | RAVEL_CHUNK_ZSTD);
        hdr.owner = chunk.hdr.owner;
        hdr.seq = chunk.hdr.seq;
        hdr.size = uint32_t((RAVEL_CHUNK_HEADER_SIZE + stored + 7) & ~size_t(7));
        hdr.used = uint32_t(payload.size());
        hdr.stored = uint32_t(stored);
        hdr.first_tsc = chunk.hdr.first_tsc;
        hdr.first_mono_ns = chunk.hdr.first_mono_ns;
        file.write(&hdr, sizeof hdr);
        file.write(packed.data(), stored);
        file.pad8();
        trace.release(chunk);
    }
    header.next_chunk = file.written();
    header.reserved_size = file.written();
    file.pwrite(&header, sizeof header, 0);
    uint64_t total = file.written();
    file.commit();
    return total;
}

} // namespace ravel
