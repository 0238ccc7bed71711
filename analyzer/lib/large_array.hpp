// reserveLarge: sizes a big array once and has the kernel populate it in one call. The replay
// model's span arrays reach a few hundred megabytes on a 10M-event trace; touched page by page
// they take a page fault every 4 KiB, about a tenth of the model's build time. (Transparent huge
// pages were tried: clearing them on this VM cost three times as much.)
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ravel {

template <class T> void reserveLarge(std::vector<T>& v, size_t count)
{
    v.reserve(count);
    constexpr uintptr_t kPage = 4096;
    constexpr int kPopulateWrite = 23; // MADV_POPULATE_WRITE, Linux 5.14; older kernels say EINVAL
    const size_t bytes = v.capacity() * sizeof(T);
    if (bytes < (uintptr_t(4) << 20))
        return;
    const uintptr_t from = (reinterpret_cast<uintptr_t>(v.data()) + kPage - 1) & ~(kPage - 1);
    const uintptr_t to = (reinterpret_cast<uintptr_t>(v.data()) + bytes) & ~(kPage - 1);
    if (to > from)
        ::madvise(reinterpret_cast<void*>(from), to - from, kPopulateWrite);
}

} // namespace ravel
