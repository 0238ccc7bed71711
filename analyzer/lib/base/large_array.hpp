// Sizing big arrays once and populating their pages in one go. The replay model's span arrays
// reach a few hundred megabytes on a 10M-event trace; touched page by page they take a page fault
// every 4 KiB, about a tenth of the model's build time. Populating them is the one part of
// building the model that no other thread overlaps, so it is split over the cores. (Transparent
// huge pages were tried: clearing them on this VM cost three times as much. Populating on a
// background thread while the pass runs was tried too: no faster, the cores are busy then.)
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

namespace ravel {

class PagePopulator {
public:
    // v.reserve(count); its pages are populated by run().
    template <class T> void reserve(std::vector<T>& v, size_t count)
    {
        v.reserve(count);
        const size_t bytes = v.capacity() * sizeof(T);
        if (bytes < (size_t(1) << 20))
            return;
        const uintptr_t from = (reinterpret_cast<uintptr_t>(v.data()) + kPage - 1) & ~(kPage - 1);
        const uintptr_t to = (reinterpret_cast<uintptr_t>(v.data()) + bytes) & ~(kPage - 1);
        if (to > from) {
            m_ranges.emplace_back(from, to - from);
            m_total += to - from;
        }
    }
    // Populates everything reserved so far, on up to one thread per core (MADV_POPULATE_WRITE,
    // Linux 5.14; older kernels say EINVAL and the pages fault in as they are touched).
    void run()
    {
        const size_t cores = std::max(1u, std::thread::hardware_concurrency());
        const size_t workers = std::min<size_t>(cores, m_total / (size_t(32) << 20) + 1);
        const size_t share = (m_total / workers + kPage - 1) & ~(kPage - 1);
        std::vector<std::vector<std::pair<uintptr_t, size_t>>> jobs(workers);
        size_t w = 0, room = share;
        for (auto [at, len] : m_ranges) {
            while (len > 0) {
                const size_t take = std::min(len, room);
                jobs[w].emplace_back(at, take);
                at += take;
                len -= take;
                room -= take;
                if (room == 0 && w + 1 < workers) {
                    ++w;
                    room = share;
                }
            }
        }
        auto populate = [](const std::vector<std::pair<uintptr_t, size_t>>& ranges) {
            constexpr int kPopulateWrite = 23; // MADV_POPULATE_WRITE (older headers lack the name)
            for (const auto& [at, len] : ranges)
                ::madvise(reinterpret_cast<void*>(at), len, kPopulateWrite);
        };
        std::vector<std::jthread> helpers;
        for (size_t i = 1; i < workers; ++i)
            helpers.emplace_back(populate, std::cref(jobs[i]));
        populate(jobs[0]);
        m_ranges.clear();
        m_total = 0;
    }

private:
    static constexpr uintptr_t kPage = 4096;
    std::vector<std::pair<uintptr_t, size_t>> m_ranges;
    size_t m_total = 0;
};

} // namespace ravel
