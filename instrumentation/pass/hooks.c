/* libravel_hooks.so: what a binary built by ravel-cc / ravel-c++ links. It holds the race flag
 * and a do-nothing definition of every hook of <ravel/race_hooks.h>, so the binary runs on its
 * own at close to native speed (the pass tests the flag before each call, and it stays 0). Under
 * `ravel run` the preloaded libravel_rt.so defines the same hooks and wins symbol lookup; this
 * library's constructor hands it the flag. The hooks must never live in the executable: a
 * definition there would beat the preloaded one. */
#include <ravel/race_hooks.h>

#define HOOK __attribute__((visibility("default")))

HOOK volatile uint8_t __ravel_race_flag;
HOOK const int __ravel_hooks_abi_2 = RAVEL_HOOKS_ABI;

HOOK void __ravel_read1(const void* a) { (void)a; }
HOOK void __ravel_read2(const void* a) { (void)a; }
HOOK void __ravel_read4(const void* a) { (void)a; }
HOOK void __ravel_read8(const void* a) { (void)a; }
HOOK void __ravel_read16(const void* a) { (void)a; }
HOOK void __ravel_write1(const void* a) { (void)a; }
HOOK void __ravel_write2(const void* a) { (void)a; }
HOOK void __ravel_write4(const void* a) { (void)a; }
HOOK void __ravel_write8(const void* a) { (void)a; }
HOOK void __ravel_write16(const void* a) { (void)a; }
HOOK void __ravel_read_n(const void* a, size_t n) { (void)a, (void)n; }
HOOK void __ravel_write_n(const void* a, size_t n) { (void)a, (void)n; }
HOOK void __ravel_atomic_op(const void* a, uint32_t size, uint32_t flags) { (void)a, (void)size, (void)flags; }
HOOK void __ravel_atomic_after(const void* a, uint32_t order) { (void)a, (void)order; }
HOOK void __ravel_fence(uint32_t order) { (void)order; }
HOOK void __ravel_memcpy(void* d, const void* s, size_t n) { (void)d, (void)s, (void)n; }
HOOK void __ravel_memmove(void* d, const void* s, size_t n) { (void)d, (void)s, (void)n; }
HOOK void __ravel_memset(void* d, size_t n) { (void)d, (void)n; }
HOOK void __ravel_func_entry(void* ra, void* frame) { (void)ra, (void)frame; }
HOOK void __ravel_func_exit(void) {}

/* Defined by libravel_rt.so only; null when the program runs on its own. */
extern void __ravel_race_attach(volatile uint8_t* flag) __attribute__((weak));

static void resolveLibc(void);

__attribute__((constructor)) static void ravelHooksInit(void)
{
    resolveLibc(); /* before the program's threads: nothing resolves lazily under contention */
    if (__ravel_race_attach)
        __ravel_race_attach(&__ravel_race_flag);
}

/* ---------------------------------------------------------------- C library functions
 * The string and memory functions of libc read and write the program's memory where no pass
 * can see it. Defined here, they come before libc's in symbol lookup for the whole process (this
 * library is a dependency of the executable, loaded before libc), so every caller's accesses
 * are checked, as the sanitizers' interceptors check them, and only in race mode: with the flag
 * clear each is one test and a jump to libc's. memcpy, memmove and memset are not wrapped: the
 * compiler turns the program's calls into intrinsics the pass instruments, and wrapping them for
 * every library in the process would cost more than it finds. */
#include <dlfcn.h>
#include <string.h>

void __ravel_libc_range(const void* addr, size_t size, int write, void* pc) __attribute__((weak));

#define RAVEL_PC() __builtin_return_address(0)
#define REAL_FN(name, type) \
    static type real_##name; \
    static type get_##name(void) \
    { \
        type f = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE); \
        if (!f) { \
            f = (type)dlsym(RTLD_NEXT, #name); \
            __atomic_store_n(&real_##name, f, __ATOMIC_RELEASE); \
        } \
        return f; \
    }

static inline void checkRange(const void* p, size_t n, int write, void* pc)
{
    if (__ravel_race_flag && __ravel_libc_range && n)
        __ravel_libc_range(p, n, write, pc);
}

typedef size_t (*strlen_t)(const char*);
typedef size_t (*strnlen_t)(const char*, size_t);
typedef char* (*strcpy_t)(char*, const char*);
typedef char* (*strncpy_t)(char*, const char*, size_t);
typedef char* (*strcat_t)(char*, const char*);
typedef int (*strcmp_t)(const char*, const char*);
typedef int (*strncmp_t)(const char*, const char*, size_t);
typedef int (*memcmp_t)(const void*, const void*, size_t);
typedef char* (*strchr_t)(const char*, int);
typedef void* (*memchr_t)(const void*, int, size_t);
typedef char* (*strdup_t)(const char*);
REAL_FN(strlen, strlen_t)
REAL_FN(strnlen, strnlen_t)
REAL_FN(strcpy, strcpy_t)
REAL_FN(strncpy, strncpy_t)
REAL_FN(strcat, strcat_t)
REAL_FN(strcmp, strcmp_t)
REAL_FN(strncmp, strncmp_t)
REAL_FN(memcmp, memcmp_t)
REAL_FN(strchr, strchr_t)
REAL_FN(memchr, memchr_t)
REAL_FN(strdup, strdup_t)

/* Before dlsym can answer (another library's constructor, dlsym itself calling strlen) these run
 * on their own: correct, if slow. */
static size_t ownStrlen(const char* s)
{
    const char* p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

static int g_strlenResolving; /* dlsym may call strlen: answered by ownStrlen meanwhile */

HOOK size_t strlen(const char* s)
{
    strlen_t f = __atomic_load_n(&real_strlen, __ATOMIC_ACQUIRE);
    if (!f) {
        if (__atomic_exchange_n(&g_strlenResolving, 1, __ATOMIC_ACQ_REL))
            return ownStrlen(s);
        f = get_strlen();
        __atomic_store_n(&g_strlenResolving, 0, __ATOMIC_RELEASE);
        if (!f)
            return ownStrlen(s);
    }
    size_t n = f(s);
    checkRange(s, n + 1, 0, RAVEL_PC());
    return n;
}

HOOK size_t strnlen(const char* s, size_t max)
{
    strnlen_t f = real_strnlen ? real_strnlen : get_strnlen();
    size_t n = f(s, max);
    checkRange(s, n < max ? n + 1 : n, 0, RAVEL_PC());
    return n;
}

HOOK char* strcpy(char* d, const char* s)
{
    strcpy_t f = real_strcpy ? real_strcpy : get_strcpy();
    size_t n = ownStrlen(s) + 1;
    checkRange(s, n, 0, RAVEL_PC());
    checkRange(d, n, 1, RAVEL_PC());
    return f(d, s);
}

HOOK char* strncpy(char* d, const char* s, size_t max)
{
    strncpy_t f = real_strncpy ? real_strncpy : get_strncpy();
    size_t n = 0;
    while (n < max && s[n])
        n++;
    checkRange(s, n < max ? n + 1 : n, 0, RAVEL_PC());
    checkRange(d, max, 1, RAVEL_PC());
    return f(d, s, max);
}

HOOK char* strcat(char* d, const char* s)
{
    strcat_t f = real_strcat ? real_strcat : get_strcat();
    size_t dn = ownStrlen(d), sn = ownStrlen(s) + 1;
    checkRange(d, dn, 0, RAVEL_PC());
    checkRange(s, sn, 0, RAVEL_PC());
    checkRange(d + dn, sn, 1, RAVEL_PC());
    return f(d, s);
}

HOOK int strcmp(const char* a, const char* b)
{
    strcmp_t f = real_strcmp ? real_strcmp : get_strcmp();
    size_t n = 0;
    while (a[n] && a[n] == b[n])
        n++;
    checkRange(a, n + 1, 0, RAVEL_PC());
    checkRange(b, n + 1, 0, RAVEL_PC());
    return f(a, b);
}

HOOK int strncmp(const char* a, const char* b, size_t max)
{
    strncmp_t f = real_strncmp ? real_strncmp : get_strncmp();
    size_t n = 0;
    while (n < max && a[n] && a[n] == b[n])
        n++;
    checkRange(a, n < max ? n + 1 : n, 0, RAVEL_PC());
    checkRange(b, n < max ? n + 1 : n, 0, RAVEL_PC());
    return f(a, b, max);
}

HOOK int memcmp(const void* a, const void* b, size_t n)
{
    memcmp_t f = real_memcmp ? real_memcmp : get_memcmp();
    checkRange(a, n, 0, RAVEL_PC());
    checkRange(b, n, 0, RAVEL_PC());
    return f(a, b, n);
}

HOOK char* strchr(const char* s, int c)
{
    strchr_t f = real_strchr ? real_strchr : get_strchr();
    char* r = f(s, c);
    checkRange(s, r ? (size_t)(r - s) + 1 : ownStrlen(s) + 1, 0, RAVEL_PC());
    return r;
}

HOOK void* memchr(const void* s, int c, size_t n)
{
    memchr_t f = real_memchr ? real_memchr : get_memchr();
    void* r = f(s, c, n);
    checkRange(s, r ? (size_t)((const char*)r - (const char*)s) + 1 : n, 0, RAVEL_PC());
    return r;
}

HOOK char* strdup(const char* s)
{
    strdup_t f = real_strdup ? real_strdup : get_strdup();
    checkRange(s, ownStrlen(s) + 1, 0, RAVEL_PC());
    return f(s);
}

/* realloc frees a block it moves inside the allocator, where the runtime's free interceptor does
 * not see it: the old block's shadow must start clean for whoever is handed that memory next. */
#include <malloc.h>

void __ravel_released(const void* addr, size_t size) __attribute__((weak));
typedef void* (*realloc_t)(void*, size_t);
REAL_FN(realloc, realloc_t)

HOOK void* realloc(void* p, size_t n)
{
    realloc_t f = real_realloc ? real_realloc : get_realloc();
    if (!__ravel_race_flag || !__ravel_released || !p)
        return f(p, n);
    size_t old = malloc_usable_size(p);
    void* r = f(p, n);
    if (r != p && (r || n == 0))
        __ravel_released(p, old);
    return r;
}

static void resolveLibc(void)
{
    get_realloc();
    get_strlen();
    get_strnlen();
    get_strcpy();
    get_strncpy();
    get_strcat();
    get_strcmp();
    get_strncmp();
    get_memcmp();
    get_strchr();
    get_memchr();
    get_strdup();
}
