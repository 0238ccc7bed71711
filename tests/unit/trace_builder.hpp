// TraceBuilder: writes raw ravel traces byte for byte as docs/trace-format.md describes them, the
// way the runtime lays them out (fixed-size chunks at chunk_size-aligned offsets, interleaved
// between threads in the order they were opened). Test data only: the reader is what is tested.
#pragma once

#include <ravel/trace_format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace ravel::test {

class TraceBuilder {
public:
    static constexpr uint64_t StartTsc = 1'000'000;
    static constexpr uint64_t StartMonoNs = 5'000'000'000;

    explicit TraceBuilder(uint32_t chunkSize = 4096)
    {
        std::memcpy(m_header.magic, RAVEL_TRACE_MAGIC, 8);
        m_header.version = RAVEL_TRACE_VERSION;
        m_header.header_size = RAVEL_HEADER_SIZE;
        m_header.chunk_size = chunkSize;
        m_header.start_tsc = StartTsc;
        m_header.start_mono_ns = StartMonoNs;
        m_header.start_real_ns = 1'700'000'000'000'000'000ull;
        m_header.pid = 4242;
        m_header.ppid = 1;
        // 2 tsc ticks per ns, from a pair one second after the start.
        m_header.calib_tsc = StartTsc + 2'000'000'000ull;
        m_header.calib_mono_ns = StartMonoNs + 1'000'000'000ull;
        std::strcpy(m_header.program, "/usr/bin/example");
        const char args[] = "example\0--fast\0x";
        std::memcpy(m_header.argv, args, sizeof args);
        m_header.argv_len = sizeof args;
    }

    RavelFileHeader& header() { return m_header; }
    uint32_t capacity() const { return m_header.chunk_size - RAVEL_CHUNK_HEADER_SIZE; }

    void event(uint32_t tid, unsigned kind, uint64_t obj, uint32_t aux = 0, uint32_t stack = 0, unsigned flags = 0)
    {
        // Raw payloads are the runtime's byte stream: a full record is a marker and 16 bytes.
        uint8_t rec[17] = { RAVEL_REC_FULL };
        RavelEvent e { ravel_event_word(obj, kind, flags), aux, stack };
        std::memcpy(rec + 1, &e, sizeof e);
        append(eventsChunk(tid, sizeof rec), rec, sizeof rec);
    }
    // A TIME record: the thread's next event happened `relTsc` ticks after start_tsc.
    void time(uint32_t tid, uint64_t relTsc)
    {
        event(tid, RAVEL_EV_TIME, relTsc & RAVEL_OBJ_MASK, uint32_t(relTsc >> 48));
    }
    // Forces the thread's next event into a new chunk (the runtime does so when a chunk fills).
    void newChunk(uint32_t tid) { m_current.erase(tid); }

    RavelThreadEntry& thread(uint32_t tid, const char* name = "")
    {
        RavelThreadEntry e {};
        e.tid = tid;
        e.os_tid = 1000 + tid;
        e.pid = m_header.pid;
        e.state = 1;
        std::memcpy(e.name, name, std::min(std::strlen(name), sizeof e.name));
        size_t at = tableChunk(RAVEL_CHUNK_THREADS, sizeof e);
        append(at, &e, sizeof e);
        return *reinterpret_cast<RavelThreadEntry*>(
            m_chunks[at].payload.data() + m_chunks[at].payload.size() - sizeof e);
    }
    void stack(uint32_t id, const std::vector<uint64_t>& frames, bool siteOnly = false)
    {
        std::vector<uint8_t> rec(8 + frames.size() * 8);
        uint16_t depth = uint16_t(frames.size()), flags = siteOnly ? 1 : 0;
        std::memcpy(rec.data(), &id, 4);
        std::memcpy(rec.data() + 4, &depth, 2);
        std::memcpy(rec.data() + 6, &flags, 2);
        std::memcpy(rec.data() + 8, frames.data(), frames.size() * 8);
        append(tableChunk(RAVEL_CHUNK_STACKS, rec.size()), rec.data(), rec.size());
    }
    void module(uint64_t base, uint64_t lo, uint64_t hi, const std::string& path, std::vector<uint8_t> buildId = {})
    {
        RavelModuleRecord m {};
        m.path_len = uint16_t(path.size() + 1);
        m.size = uint32_t((sizeof m + m.path_len + 7) & ~7u);
        m.build_id_len = uint8_t(buildId.size());
        m.base = base;
        m.lo = lo;
        m.hi = hi;
        if (!buildId.empty())
            std::memcpy(m.build_id, buildId.data(), buildId.size());
        std::vector<uint8_t> rec(m.size);
        std::memcpy(rec.data(), &m, sizeof m);
        std::memcpy(rec.data() + sizeof m, path.c_str(), path.size() + 1);
        append(tableChunk(RAVEL_CHUNK_MODULES, rec.size()), rec.data(), rec.size());
    }

    // Drops an events chunk of a thread, as a flight recorder that reused it would.
    void dropChunk(uint32_t tid, uint32_t seq)
    {
        for (auto it = m_chunks.begin(); it != m_chunks.end(); ++it)
            if (it->hdr.type == RAVEL_CHUNK_EVENTS && it->hdr.owner == tid && it->hdr.seq == seq) {
                m_chunks.erase(it);
                m_current.clear();
                return;
            }
    }
    size_t chunkCount() const { return m_chunks.size(); }
    // Leaves the thread's current chunk as the runtime leaves the chunk a thread is writing when
    // the program dies: `used` not yet updated (0), the records there up to the first zero kind.
    void leaveOpen(uint32_t tid) { m_open.push_back(m_current.at(tid)); }

    std::vector<uint8_t> bytes() const
    {
        const size_t cs = m_header.chunk_size;
        std::vector<uint8_t> out(RAVEL_HEADER_SIZE + m_chunks.size() * cs);
        RavelFileHeader h = m_header;
        h.next_chunk = out.size();
        h.reserved_size = out.size();
        std::memcpy(out.data(), &h, sizeof h);
        for (size_t i = 0; i < m_chunks.size(); ++i) {
            RavelChunkHeader c = m_chunks[i].hdr;
            c.used = c.stored = uint32_t(m_chunks[i].payload.size());
            if (std::find(m_open.begin(), m_open.end(), i) != m_open.end())
                c.used = c.stored = 0;
            uint8_t* at = out.data() + RAVEL_HEADER_SIZE + i * cs;
            std::memcpy(at, &c, sizeof c);
            std::memcpy(at + sizeof c, m_chunks[i].payload.data(), m_chunks[i].payload.size());
        }
        return out;
    }
    void write(const std::string& path) const { writeFile(path, bytes()); }

    static void writeFile(const std::string& path, const std::vector<uint8_t>& data, size_t len = SIZE_MAX)
    {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(data.data()), std::streamsize(std::min(len, data.size())));
    }

private:
    struct Chunk {
        RavelChunkHeader hdr {};
        std::vector<uint8_t> payload;
    };

    size_t open(unsigned type, uint32_t owner, uint32_t seq)
    {
        Chunk c;
        c.hdr.magic = RAVEL_CHUNK_MAGIC;
        c.hdr.type = uint16_t(type);
        c.hdr.owner = owner;
        c.hdr.seq = seq;
        c.hdr.size = m_header.chunk_size;
        c.payload.reserve(capacity());
        m_chunks.push_back(std::move(c));
        return m_chunks.size() - 1;
    }
    size_t eventsChunk(uint32_t tid, size_t need)
    {
        auto it = m_current.find(tid);
        if (it != m_current.end() && m_chunks[it->second].payload.size() + need <= capacity())
            return it->second;
        size_t at = open(RAVEL_CHUNK_EVENTS, tid, m_nextSeq[tid]++);
        m_current[tid] = at;
        return at;
    }
    size_t tableChunk(unsigned type, size_t need)
    {
        auto it = m_tables.find(type);
        if (it != m_tables.end() && m_chunks[it->second].payload.size() + need <= capacity())
            return it->second;
        size_t at = open(type, 0, m_nextSeq[~type]++);
        m_tables[type] = at;
        return at;
    }
    void append(size_t chunk, const void* data, size_t len)
    {
        auto& p = m_chunks[chunk].payload;
        p.insert(p.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len);
    }

    RavelFileHeader m_header {};
    std::vector<Chunk> m_chunks;
    std::map<uint32_t, size_t> m_current; // thread -> its open events chunk
    std::map<uint32_t, size_t> m_tables; // type -> its open table chunk
    std::map<uint32_t, uint32_t> m_nextSeq;
    std::vector<size_t> m_open;
};

// The lock-heavy micro of the budget: `threads` threads sharing `mutexes` mutexes, each lock
// operation an ACQUIRED/RELEASE pair with per-object sequence numbers, a few stacks per site, a
// contended acquisition now and then and a clock stamp about every millisecond.
inline uint64_t buildLockHeavy(
    TraceBuilder& b, unsigned threads, unsigned mutexes, uint64_t pairsPerThread, uint32_t firstTid = 1)
{
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    auto next = [&] {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
    };
    std::vector<uint32_t> seq(mutexes, 1);
    std::vector<uint64_t> done(threads), sinceStamp(threads);
    uint64_t tsc = 1000, events = 0;
    for (uint32_t t = firstTid; t < firstTid + threads; ++t) {
        b.thread(t, "worker").start_tsc = TraceBuilder::StartTsc + tsc;
        b.time(t, tsc);
        b.event(t, RAVEL_EV_THREAD_START, 0x7f0000001000ull * t, 0);
        ++events;
    }
    for (uint64_t left = uint64_t(threads) * pairsPerThread; left > 0; --left) {
        unsigned t = unsigned(next() % threads);
        if (done[t] == pairsPerThread)
            t = unsigned(
                std::find_if(done.begin(), done.end(), [&](uint64_t d) { return d < pairsPerThread; }) - done.begin());
        const uint32_t tid = firstTid + t;
        unsigned m = unsigned(next() % mutexes);
        uint64_t obj = 0x55555555a040ull + 40 * m;
        uint32_t site = 1 + m * 3 + unsigned(next() % 3);
        tsc += 20 + next() % 40; // ~1 ns per tick at ~2 ticks/ns: tens of ns between operations
        bool contended = next() % 50 == 0;
        if (contended || sinceStamp[t] >= 20000) {
            b.time(tid, tsc);
            sinceStamp[t] = 0;
        }
        if (contended) {
            b.event(tid, RAVEL_EV_ACQ_REQ, obj, 0, site, RAVEL_OBJ_MUTEX);
            tsc += 200 + next() % 2000;
            b.time(tid, tsc);
        }
        b.event(tid, RAVEL_EV_ACQUIRED, obj, seq[m]++, site, RAVEL_OBJ_MUTEX | (contended ? RAVEL_F_CONTENDED : 0));
        b.event(tid, RAVEL_EV_RELEASE, obj, 0, site, RAVEL_OBJ_MUTEX);
        events += contended ? 3 : 2;
        sinceStamp[t] += 2;
        ++done[t];
    }
    for (uint32_t t = firstTid; t < firstTid + threads; ++t) {
        b.time(t, tsc);
        b.event(t, RAVEL_EV_THREAD_EXIT, 0x7f0000001000ull * t, 0);
        ++events;
    }
    return events;
}

} // namespace ravel::test
