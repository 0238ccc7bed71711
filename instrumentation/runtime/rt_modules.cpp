// The module map: every loaded ELF object with its load bias, address range, path and build id,
// so stacks and object addresses can be symbolized offline, after the program is gone.
#include "rt.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

namespace ravel::rt {

namespace {

SpinLock g_moduleLock;
RavelChunkHeader* g_moduleChunk;
uint32_t g_moduleSeq;
constexpr int kMaxModules = 4096;
uint64_t g_recorded[kMaxModules]; // load biases already recorded
uint64_t g_rangeLo[kMaxModules], g_rangeHi[kMaxModules];
int g_recordedCount;
// Every MODULES chunk written, so a fork child can carry the records over to its own trace.
constexpr int kMaxModuleChunks = 256;
RavelChunkHeader* g_moduleChunks[kMaxModuleChunks];
int g_moduleChunkCount;
uint8_t* g_saved;    // a fork child's private copy: per chunk, u32 payload bytes then the payload
size_t g_savedBytes; // of the mapping

bool alreadyRecorded(uint64_t key)
{
    for (int i = 0; i < g_recordedCount; i++)
        if (g_recorded[i] == key)
            return true;
    return false;
}

void appendModule(const dl_phdr_info* info, const char* path)
{
    uint64_t lo = ~0ull, hi = 0;
    const uint8_t* buildId = nullptr;
    uint32_t buildIdLen = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_LOAD) {
            uint64_t a = info->dlpi_addr + ph.p_vaddr;
            lo = a < lo ? a : lo;
            hi = a + ph.p_memsz > hi ? a + ph.p_memsz : hi;
        } else if (ph.p_type == PT_NOTE && !buildId) {
            auto p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
            auto end = p + ph.p_memsz;
            while (p + sizeof(ElfW(Nhdr)) <= end) {
                auto n = reinterpret_cast<const ElfW(Nhdr)*>(p);
                const uint8_t* name = p + sizeof(ElfW(Nhdr));
                const uint8_t* desc = name + ((n->n_namesz + 3) & ~3u);
                if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                    buildId = desc;
                    buildIdLen = n->n_descsz > 32 ? 32 : n->n_descsz;
                    break;
                }
                p = desc + ((n->n_descsz + 3) & ~3u);
            }
        }
    }
    if (hi == 0)
        return;
    g_rangeLo[g_recordedCount - 1] = lo;
    g_rangeHi[g_recordedCount - 1] = hi;
    if (lo <= reinterpret_cast<uint64_t>(&appendModule) && reinterpret_cast<uint64_t>(&appendModule) < hi) {
        g.rt_lo = lo; // our own code: dropped from captured stacks
        g.rt_hi = hi;
    }
    size_t pathLen = strlen(path) + 1;
    if (pathLen > 4000)
        return;
    uint32_t size = static_cast<uint32_t>((sizeof(RavelModuleRecord) + pathLen + 7) & ~size_t(7));
    uint32_t room = g.opt.chunk_size - RAVEL_CHUNK_HEADER_SIZE;
    if (!g_moduleChunk || g_moduleChunk->used + size > room) {
        g_moduleChunk = static_cast<RavelChunkHeader*>(allocChunk(RAVEL_CHUNK_MODULES, 0, g_moduleSeq++, nullptr));
        if (!g_moduleChunk)
            return;
        if (g_moduleChunkCount < kMaxModuleChunks)
            g_moduleChunks[g_moduleChunkCount++] = g_moduleChunk;
    }
    auto* r = reinterpret_cast<RavelModuleRecord*>(reinterpret_cast<uint8_t*>(g_moduleChunk) + RAVEL_CHUNK_HEADER_SIZE
                                                   + g_moduleChunk->used);
    r->path_len = static_cast<uint16_t>(pathLen);
    r->build_id_len = static_cast<uint8_t>(buildIdLen);
    r->base = info->dlpi_addr;
    r->lo = lo;
    r->hi = hi;
    if (buildId)
        memcpy(r->build_id, buildId, buildIdLen);
    memcpy(r->path, path, pathLen);
    __atomic_store_n(&r->size, size, __ATOMIC_RELEASE);
    __atomic_store_n(&g_moduleChunk->used, g_moduleChunk->used + size, __ATOMIC_RELEASE);
}

int onModule(dl_phdr_info* info, size_t, void*)
{
    // The vDSO has no file; the main program has an empty name.
    const char* name = info->dlpi_name;
    char exe[1024];
    if (!name || !*name) {
        if (g_recordedCount > 0 && info->dlpi_addr != 0 && alreadyRecorded(info->dlpi_addr))
            return 0;
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
            return 0;
        exe[n] = 0;
        name = exe;
    } else if (strncmp(name, "linux-vdso", 10) == 0) {
        return 0;
    }
    uint64_t key = info->dlpi_addr ? info->dlpi_addr : 1; // a non-PIE main program has bias 0
    if (alreadyRecorded(key) || g_recordedCount == kMaxModules)
        return 0;
    g_recorded[g_recordedCount++] = key;
    appendModule(info, name);
    return 0;
}

} // namespace

bool moduleKnown(uint64_t pc)
{
    int n = __atomic_load_n(&g_recordedCount, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (pc >= g_rangeLo[i] && pc < g_rangeHi[i])
            return true;
    return false;
}

// A fork child has its parent's modules, at the same addresses: it copies their records out of
// the parent's trace before it lets that go, and writes them into its own, rather than walk the
// loader's list again (dl_iterate_phdr takes a loader lock that a thread gone with the fork may
// have held: the child would hang there).
void saveModulesForFork()
{
    size_t bytes = 0;
    for (int i = 0; i < g_moduleChunkCount; i++)
        bytes += sizeof(uint32_t) + g_moduleChunks[i]->used;
    g_saved = nullptr;
    g_savedBytes = 0;
    if (!bytes)
        return;
    size_t mapped = (bytes + 4095) & ~size_t(4095);
    void* m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return;
    g_saved = static_cast<uint8_t*>(m);
    g_savedBytes = mapped;
    uint8_t* p = g_saved;
    for (int i = 0; i < g_moduleChunkCount; i++) {
        uint32_t used = g_moduleChunks[i]->used;
        memcpy(p, &used, sizeof used);
        memcpy(p + sizeof used, reinterpret_cast<uint8_t*>(g_moduleChunks[i]) + RAVEL_CHUNK_HEADER_SIZE, used);
        p += sizeof used + used;
    }
}

void resetModulesAfterFork()
{
    g_moduleLock = SpinLock {};
    g_moduleChunk = nullptr;
    g_moduleSeq = 0;
    g_moduleChunkCount = 0;
}

void restoreModulesAfterFork()
{
    if (!g_saved)
        return;
    uint32_t room = g.opt.chunk_size - RAVEL_CHUNK_HEADER_SIZE;
    const uint8_t* p = g_saved;
    const uint8_t* end = g_saved + g_savedBytes;
    while (p + sizeof(uint32_t) <= end) {
        uint32_t used;
        memcpy(&used, p, sizeof used);
        if (used == 0 || used > room || p + sizeof used + used > end)
            break;
        auto* c = static_cast<RavelChunkHeader*>(allocChunk(RAVEL_CHUNK_MODULES, 0, g_moduleSeq++, nullptr));
        if (!c)
            break;
        memcpy(reinterpret_cast<uint8_t*>(c) + RAVEL_CHUNK_HEADER_SIZE, p + sizeof used, used);
        __atomic_store_n(&c->used, used, __ATOMIC_RELEASE);
        g_moduleChunk = c;
        if (g_moduleChunkCount < kMaxModuleChunks)
            g_moduleChunks[g_moduleChunkCount++] = c;
        p += sizeof used + used;
    }
    munmap(g_saved, g_savedBytes);
    g_saved = nullptr;
    g_savedBytes = 0;
}

// Called at start, at each thread registration and whenever a captured stack has a frame in an
// unknown module: dlopen is not intercepted, since wrapping it would change whose RUNPATH and
// $ORIGIN the loader uses.
void recordModules()
{
    if (!g.enabled)
        return;
    g_moduleLock.lock();
    dl_iterate_phdr(onModule, nullptr);
    g_moduleLock.unlock();
}

} // namespace ravel::rt
