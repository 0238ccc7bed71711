// The real functions behind the interceptors, found once for all. Every RAVEL_DECLARE_REAL puts
// an entry in the `ravel_real` section; resolveAllReal fills them all, from the constructor or
// from the first interceptor that runs before it (another library's constructor, or ld.so
// calling free), whichever comes first.
//
// The lookup reads the loaded objects' dynamic symbol tables itself instead of calling dlsym:
// dlsym frees the previous dlerror string through free(), which is ours, so a lookup made from an
// interceptor freed the target's string a second time (glibc aborts: "double free detected"),
// and any dlsym of ours would also clear an error the target has yet to read with dlerror().
// Reading the tables allocates nothing and calls nothing the target can intercept, so it is
// safe at any moment, even inside the allocator.
#include "rt.hpp"

#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
extern const ravel::rt::RealEntry __start_ravel_real[] __attribute__((visibility("hidden")));
extern const ravel::rt::RealEntry __stop_ravel_real[] __attribute__((visibility("hidden")));
}

namespace ravel::rt {

namespace {

using Addr = ElfW(Addr);
using Dyn = ElfW(Dyn);
using Half = ElfW(Half);
using Phdr = ElfW(Phdr);
using Sym = ElfW(Sym);
using Verdaux = ElfW(Verdaux);
using Verdef = ElfW(Verdef);

// One object's dynamic symbol table, as ld.so left it in memory.
struct SymbolTable {
    uint64_t base = 0;
    const Sym* symbols = nullptr;
    const char* strings = nullptr;
    const uint32_t* gnuHash = nullptr;
    const uint32_t* sysvHash = nullptr;
    const Half* versym = nullptr;
    const Verdef* verdef = nullptr;
};

// ld.so rewrites most d_ptr values in place to absolute addresses; the vDSO's stay offsets.
const void* dynPointer(uint64_t base, uint64_t value)
{
    return reinterpret_cast<const void*>(value < base ? base + value : value);
}

bool readTable(const dl_phdr_info* info, SymbolTable* out)
{
    const Dyn* dyn = nullptr;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = reinterpret_cast<const Dyn*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn)
        return false;
    SymbolTable t;
    t.base = info->dlpi_addr;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        const void* p = dynPointer(t.base, dyn->d_un.d_ptr);
        switch (dyn->d_tag) {
        case DT_SYMTAB:
            t.symbols = static_cast<const Sym*>(p);
            break;
        case DT_STRTAB:
            t.strings = static_cast<const char*>(p);
            break;
        case DT_GNU_HASH:
            t.gnuHash = static_cast<const uint32_t*>(p);
            break;
        case DT_HASH:
            t.sysvHash = static_cast<const uint32_t*>(p);
            break;
        case DT_VERSYM:
            t.versym = static_cast<const Half*>(p);
            break;
        case DT_VERDEF:
            t.verdef = static_cast<const Verdef*>(p);
            break;
        default:
            break;
        }
    }
    if (!t.symbols || !t.strings || (!t.gnuHash && !t.sysvHash))
        return false;
    *out = t;
    return true;
}

const char* versionName(const SymbolTable& t, unsigned index)
{
    for (const Verdef* d = t.verdef; d;
         d = d->vd_next ? reinterpret_cast<const Verdef*>(reinterpret_cast<const char*>(d) + d->vd_next) : nullptr) {
        if ((d->vd_ndx & 0x7fff) == index) {
            auto aux = reinterpret_cast<const Verdaux*>(reinterpret_cast<const char*>(d) + d->vd_aux);
            return t.strings + aux->vda_name;
        }
    }
    return nullptr;
}

// As dlsym / dlvsym match: a defined global or weak symbol; with a version, exactly that one
// (hidden or not); without, the default one (never a hidden, older version).
bool matches(const SymbolTable& t, uint32_t index, const char* name, const char* version)
{
    const Sym& s = t.symbols[index];
    if (s.st_shndx == SHN_UNDEF || (s.st_value == 0 && ELF64_ST_TYPE(s.st_info) != STT_TLS))
        return false;
    unsigned bind = ELF64_ST_BIND(s.st_info);
    if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
        return false;
    if (strcmp(t.strings + s.st_name, name) != 0)
        return false;
    if (!t.versym)
        return true;
    unsigned v = t.versym[index];
    if (version) {
        const char* vn = versionName(t, v & 0x7fff);
        return vn && strcmp(vn, version) == 0;
    }
    return !(v & 0x8000);
}

uint32_t gnuHashOf(const char* s)
{
    uint32_t h = 5381;
    for (; *s; s++)
        h = h * 33 + static_cast<unsigned char>(*s);
    return h;
}

uint32_t sysvHashOf(const char* s)
{
    uint32_t h = 0;
    for (; *s; s++) {
        h = (h << 4) + static_cast<unsigned char>(*s);
        uint32_t g = h & 0xf0000000u;
        if (g)
            h ^= g >> 24;
        h &= ~g;
    }
    return h;
}

const Sym* findIn(const SymbolTable& t, const char* name, const char* version)
{
    if (t.gnuHash) {
        const uint32_t* h = t.gnuHash;
        uint32_t nbuckets = h[0], symoffset = h[1], bloomSize = h[2], bloomShift = h[3];
        if (nbuckets == 0 || bloomSize == 0)
            return nullptr;
        auto bloom = reinterpret_cast<const Addr*>(h + 4);
        auto buckets = reinterpret_cast<const uint32_t*>(bloom + bloomSize);
        const uint32_t* chain = buckets + nbuckets;
        uint32_t hash = gnuHashOf(name);
        constexpr unsigned kBits = sizeof(Addr) * 8;
        Addr word = bloom[(hash / kBits) % bloomSize];
        Addr mask = (Addr(1) << (hash % kBits)) | (Addr(1) << ((hash >> bloomShift) % kBits));
        if ((word & mask) != mask)
            return nullptr;
        uint32_t i = buckets[hash % nbuckets];
        if (i < symoffset)
            return nullptr;
        for (;; i++) {
            uint32_t link = chain[i - symoffset];
            if ((link | 1) == (hash | 1) && matches(t, i, name, version))
                return &t.symbols[i];
            if (link & 1)
                return nullptr;
        }
    }
    uint32_t nbucket = t.sysvHash[0];
    if (nbucket == 0)
        return nullptr;
    const uint32_t* bucket = t.sysvHash + 2;
    const uint32_t* chain = bucket + nbucket;
    for (uint32_t i = bucket[sysvHashOf(name) % nbucket]; i != STN_UNDEF; i = chain[i])
        if (matches(t, i, name, version))
            return &t.symbols[i];
    return nullptr;
}

bool containsSelf(const dl_phdr_info* info)
{
    auto self = reinterpret_cast<uint64_t>(&resolveAllReal);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const Phdr& ph = info->dlpi_phdr[i];
        uint64_t lo = info->dlpi_addr + ph.p_vaddr;
        if (ph.p_type == PT_LOAD && self >= lo && self < lo + ph.p_memsz)
            return true;
    }
    return false;
}

struct Search {
    const char* name;
    const char* version;
    uint64_t onlyBase; // search just the object loaded here (when `only` is set)
    bool only;
    bool pastSelf;
    void* found;
    uint64_t foundBase;
};

// RTLD_NEXT's order: the objects after this library, in load order (the initial objects' load
// order is their global search order).
int searchObject(dl_phdr_info* info, size_t, void* data)
{
    auto* s = static_cast<Search*>(data);
    if (s->only) {
        if (info->dlpi_addr != s->onlyBase)
            return 0;
    } else if (!s->pastSelf) {
        s->pastSelf = containsSelf(info);
        return 0;
    }
    SymbolTable t;
    if (!readTable(info, &t))
        return 0;
    const Sym* sym = findIn(t, s->name, s->version);
    if (!sym && s->version) // an older glibc without that version: its one definition
        sym = findIn(t, s->name, nullptr);
    if (!sym)
        return 0;
    uint64_t addr = (t.base + sym->st_value);
    if (ELF64_ST_TYPE(sym->st_info) == STT_GNU_IFUNC)
        addr = reinterpret_cast<uint64_t (*)()>(addr)();
    s->found = reinterpret_cast<void*>(addr);
    s->foundBase = t.base;
    return 1;
}

void* findNext(const char* name, const char* version, uint64_t* providerOut)
{
    Search s { name, version, 0, false, false, nullptr, 0 };
    dl_iterate_phdr(searchObject, &s);
    if (providerOut)
        *providerOut = s.foundBase;
    return s.found;
}

void* findInObject(uint64_t base, const char* name)
{
    Search s { name, nullptr, base, true, false, nullptr, 0 };
    dl_iterate_phdr(searchObject, &s);
    return s.found;
}

void resolveEntry(const RealEntry* e)
{
    void* p;
    if (e->sameObjectAs) {
        uint64_t provider = 0;
        p = findNext(e->sameObjectAs, nullptr, &provider) ? findInObject(provider, e->name) : nullptr;
    } else {
        p = findNext(e->name, e->version, nullptr);
    }
    if (p)
        __atomic_store_n(e->slot, p, __ATOMIC_RELEASE);
}

int g_resolved; // 0: not yet, 1: under way, 2: done

} // namespace

void resolveAllReal()
{
    // Whoever comes second (another thread, or a signal handler interrupting the resolution)
    // does not wait: resolveLate finds its own entry, which is only reads and one store.
    int state = 0;
    if (!__atomic_compare_exchange_n(&g_resolved, &state, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return;
    for (const RealEntry* e = __start_ravel_real; e < __stop_ravel_real; e++)
        if (!__atomic_load_n(e->slot, __ATOMIC_ACQUIRE))
            resolveEntry(e);
    __atomic_store_n(&g_resolved, 2, __ATOMIC_RELEASE);
}

void resolveLate(const RealEntry* e)
{
    if (__atomic_load_n(&g_resolved, __ATOMIC_ACQUIRE) == 0)
        resolveAllReal();
    if (__atomic_load_n(e->slot, __ATOMIC_ACQUIRE))
        return;
    // Absent at start-up and called now: its library was loaded since (libstdc++ by a plugin).
    resolveEntry(e);
    if (!__atomic_load_n(e->slot, __ATOMIC_ACQUIRE) && !e->sameObjectAs) {
        rtMessage("cannot find the real %s; aborting", e->name);
        abort();
    }
}

} // namespace ravel::rt
