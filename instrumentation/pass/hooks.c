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

__attribute__((constructor)) static void ravelHooksInit(void)
{
    if (__ravel_race_attach)
        __ravel_race_attach(&__ravel_race_flag);
}
