// Interceptors for calls in which a thread blocks outside the primitives ravel records: sleeps
// and waits for descriptors (nanosleep, poll, select, epoll_wait, ...). They record nothing of
// their own. They only place the thread's unstamped records in time: a record of the fast path
// (an uncontended acquisition, a release) carries no clock, and the reader spreads such records
// between the stamps around them, which are up to a millisecond tick apart. A thread that sleeps
// or polls between its lock operations (a server's worker around epoll_wait, a loop that sleeps)
// would see each hold's end guessed within that tick. So before the call the clock is stamped when
// records went unstamped since the last stamp (they happened before the call), and after it the
// thread's next record is stamped (it happens after): holds and waits then end within
// microseconds of the truth. A stamp is 8 bytes; a call that blocks costs far more.
#include "rt.hpp"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

using namespace ravel::rt;

RAVEL_DECLARE_REAL(int, nanosleep, const struct timespec*, struct timespec*)
RAVEL_DECLARE_REAL(int, clock_nanosleep, clockid_t, int, const struct timespec*, struct timespec*)
RAVEL_DECLARE_REAL(int, usleep, useconds_t)
RAVEL_DECLARE_REAL(unsigned, sleep, unsigned)
RAVEL_DECLARE_REAL(int, poll, struct pollfd*, nfds_t, int)
RAVEL_DECLARE_REAL(int, ppoll, struct pollfd*, nfds_t, const struct timespec*, const sigset_t*)
RAVEL_DECLARE_REAL(int, select, int, fd_set*, fd_set*, fd_set*, struct timeval*)
RAVEL_DECLARE_REAL(int, pselect, int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*)
RAVEL_DECLARE_REAL(int, epoll_wait, int, struct epoll_event*, int, int)
RAVEL_DECLARE_REAL(int, epoll_pwait, int, struct epoll_event*, int, int, const sigset_t*)

namespace {

// The thread's state when it records already; never registers a thread (a thread that only
// sleeps has nothing to place in time) and never writes from inside the runtime or a handler
// that interrupted a record.
inline ThreadState* recordingThread()
{
    if (RAVEL_UNLIKELY(!g.enabled))
        return nullptr;
    ThreadState* t = &t_state;
    if (t->tid == 0 || t->writing || t->in_rt)
        return nullptr;
    return t;
}

// Around the real call: stamps what came before, and asks for a stamp at the next record.
struct Blocking {
    ThreadState* t;
    Blocking()
        : t(recordingThread())
    {
        if (t && t->since_stamp > 0)
            stampClock(t);
    }
    ~Blocking()
    {
        if (t && t->tid != 0)
            t->since_stamp = kStampEvery - 1; // maybeStamp stamps the next record
    }
    Blocking(const Blocking&) = delete;
    Blocking& operator=(const Blocking&) = delete;
};

} // namespace

RAVEL_EXPORT int nanosleep(const struct timespec* req, struct timespec* rem)
{
    Blocking b;
    return REAL(nanosleep)(req, rem);
}

RAVEL_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec* req, struct timespec* rem)
{
    Blocking b;
    return REAL(clock_nanosleep)(clock, flags, req, rem);
}

RAVEL_EXPORT int usleep(useconds_t us)
{
    Blocking b;
    return REAL(usleep)(us);
}

RAVEL_EXPORT unsigned sleep(unsigned seconds)
{
    Blocking b;
    return REAL(sleep)(seconds);
}

RAVEL_EXPORT int poll(struct pollfd* fds, nfds_t n, int timeout)
{
    Blocking b;
    return REAL(poll)(fds, n, timeout);
}

RAVEL_EXPORT int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* timeout, const sigset_t* mask)
{
    Blocking b;
    return REAL(ppoll)(fds, n, timeout, mask);
}

RAVEL_EXPORT int select(int n, fd_set* r, fd_set* w, fd_set* e, struct timeval* timeout)
{
    Blocking b;
    return REAL(select)(n, r, w, e, timeout);
}

RAVEL_EXPORT int pselect(int n, fd_set* r, fd_set* w, fd_set* e, const struct timespec* timeout, const sigset_t* mask)
{
    Blocking b;
    return REAL(pselect)(n, r, w, e, timeout, mask);
}

RAVEL_EXPORT int epoll_wait(int epfd, struct epoll_event* events, int max, int timeout)
{
    Blocking b;
    return REAL(epoll_wait)(epfd, events, max, timeout);
}

RAVEL_EXPORT int epoll_pwait(int epfd, struct epoll_event* events, int max, int timeout, const sigset_t* mask)
{
    Blocking b;
    return REAL(epoll_pwait)(epfd, events, max, timeout, mask);
}
