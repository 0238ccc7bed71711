/* The hook ABI between code built by ravel-cc / ravel-c++ (the ravel-pass.so LLVM plugin) and the
 * runtime. The pass calls these before (and for atomics also after) each memory access it keeps.
 * It keeps two versions of each function it instruments, and the entry picks one by
 * __ravel_race_flag:
 *
 *     if (__ravel_race_flag) { the copy: __ravel_write4(p); *p = v; ... } else { the original }
 *
 * (a function that cannot be versioned tests the flag before each hook call instead). The flag
 * and do-nothing definitions of every hook live in libravel_hooks.so, which the wrappers link; a
 * binary run on its own therefore pays one load and one untaken branch per call of an
 * instrumented function.
 * Under `ravel run`, libravel_rt.so is preloaded: its definitions of the hooks come first in
 * symbol lookup, and it sets the flag once race mode is on. The flag is reached through
 * __ravel_race_attach, which libravel_hooks.so calls from its constructor with the flag's address
 * (the one the executable uses, even where a non-PIE executable holds a copy of it).
 *
 * The pc of an access is the return address of its hook call. Sizes are in bytes; memory orders
 * use the C11 numbering (0 relaxed, 1 consume, 2 acquire, 3 release, 4 acq_rel, 5 seq_cst).
 *
 * Any change here is a change of ABI: bump RAVEL_HOOKS_ABI, which the pass writes into every
 * module it instruments (as a reference to __ravel_hooks_abi_<N>, defined by libravel_hooks.so),
 * so a mismatched runtime library fails at link or load time rather than misbehaving. */
#ifndef RAVEL_RACE_HOOKS_H
#define RAVEL_RACE_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#define RAVEL_HOOKS_ABI 2

#ifdef __cplusplus
extern "C" {
#endif

extern volatile uint8_t __ravel_race_flag;
extern const int __ravel_hooks_abi_2;

/* Plain accesses of 1, 2, 4, 8 and 16 bytes, aligned or not, and of any other size. */
void __ravel_read1(const void* addr);
void __ravel_read2(const void* addr);
void __ravel_read4(const void* addr);
void __ravel_read8(const void* addr);
void __ravel_read16(const void* addr);
void __ravel_write1(const void* addr);
void __ravel_write2(const void* addr);
void __ravel_write4(const void* addr);
void __ravel_write8(const void* addr);
void __ravel_write16(const void* addr);
void __ravel_read_n(const void* addr, size_t size);
void __ravel_write_n(const void* addr, size_t size);

/* Atomics. __ravel_atomic_op runs before the operation (flags: bit 0 = it writes: a store, an
 * read-modify-write or a compare-exchange; bits 8..15 = the memory order); __ravel_atomic_after
 * after every one that reads (loads, read-modify-writes, compare-exchanges), with its order. */
void __ravel_atomic_op(const void* addr, uint32_t size, uint32_t flags);
void __ravel_atomic_after(const void* addr, uint32_t order);
void __ravel_fence(uint32_t order);

/* Memory intrinsics the compiler kept as llvm.memcpy / memmove / memset. */
void __ravel_memcpy(void* dst, const void* src, size_t size);
void __ravel_memmove(void* dst, const void* src, size_t size);
void __ravel_memset(void* dst, size_t size);

/* Function entry (with the function's return address and frame address) and return, for cheap
 * stacks. An exception leaves without the exit call; the frame address lets the runtime drop
 * such entries at the next entry. */
void __ravel_func_entry(void* return_address, void* frame);
void __ravel_func_exit(void);

/* A range read or written by a C library function on the program's behalf (strlen, strcpy,
 * memcmp, ...), checked as an access at pc: libravel_hooks.so's wrappers of those functions call
 * it, only while the flag is set. */
void __ravel_libc_range(const void* addr, size_t size, int write, void* pc);

/* Memory the allocator released without a call of free() the runtime could see (realloc moving
 * a block): its shadow starts clean. Called by libravel_hooks.so's realloc wrapper. */
void __ravel_released(const void* addr, size_t size);

/* Called by libravel_hooks.so's constructor when the runtime is loaded (a weak reference). */
void __ravel_race_attach(volatile uint8_t* flag);

#ifdef __cplusplus
}
#endif

#endif
