// Interceptors for descriptors: the trace file's descriptor is the runtime's, not the target's.
// Daemons close every descriptor they did not open (a loop over 3..1024, close_range, closefrom)
// and servers dup2 onto numbers they pick; without these the runtime would lose its file, or
// worse, grow and map whatever file the target opened next under the same number.
#include "rt.hpp"

#include <errno.h>
#include <unistd.h>

using namespace ravel::rt;

RAVEL_DECLARE_REAL(int, close, int)
RAVEL_DECLARE_REAL(int, close_range, unsigned, unsigned, int)
RAVEL_DECLARE_REAL(void, closefrom, int)
RAVEL_DECLARE_REAL(int, dup2, int, int)
RAVEL_DECLARE_REAL(int, dup3, int, int, int)

namespace {

// The trace descriptor within [first, last], or -1.
inline int traceFdIn(unsigned first, unsigned last)
{
    int fd = traceFd();
    return fd >= 0 && static_cast<unsigned>(fd) >= first && static_cast<unsigned>(fd) <= last && isTraceFd(fd) ? fd
                                                                                                               : -1;
}

// close_range around the trace descriptor.
int closeRangeAround(unsigned first, unsigned last, int flags, unsigned keep)
{
    int rc = 0;
    if (first < keep)
        rc = REAL(close_range)(first, keep - 1, flags);
    if (rc == 0 && keep < last)
        rc = REAL(close_range)(keep + 1, last, flags);
    return rc;
}

} // namespace

// Closing the trace descriptor "succeeds" and leaves it open: the target never used it.
RAVEL_EXPORT int close(int fd)
{
    if (RAVEL_UNLIKELY(fd == traceFd()) && isTraceFd(fd))
        return 0;
    return REAL(close)(fd);
}

RAVEL_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    int keep = traceFdIn(first, last);
    if (keep < 0)
        return REAL(close_range)(first, last, flags);
    return closeRangeAround(first, last, flags, static_cast<unsigned>(keep));
}

RAVEL_EXPORT void closefrom(int lowfd)
{
    int keep = lowfd >= 0 ? traceFdIn(static_cast<unsigned>(lowfd), ~0u) : -1;
    if (keep < 0) {
        REAL(closefrom)(lowfd);
        return;
    }
    int err = errno;
    if (lowfd < keep && REAL(close_range)(static_cast<unsigned>(lowfd), static_cast<unsigned>(keep) - 1, 0) != 0)
        for (int fd = lowfd; fd < keep; fd++) // a kernel before close_range (5.9)
            REAL(close)(fd);
    REAL(closefrom)(keep + 1);
    errno = err;
}

// dup2 onto the trace's number: the trace moves to another descriptor first, and the target gets
// the number it asked for.
RAVEL_EXPORT int dup2(int oldfd, int newfd)
{
    if (RAVEL_UNLIKELY(newfd == traceFd()) && oldfd != newfd && isTraceFd(newfd))
        moveTraceFd();
    return REAL(dup2)(oldfd, newfd);
}

RAVEL_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    if (RAVEL_UNLIKELY(newfd == traceFd()) && oldfd != newfd && isTraceFd(newfd))
        moveTraceFd();
    return REAL(dup3)(oldfd, newfd, flags);
}
