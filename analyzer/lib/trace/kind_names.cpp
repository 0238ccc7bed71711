#include "trace/kind_names.hpp"

#include <ravel/trace_format.h>

namespace ravel {

std::string_view objectKindName(unsigned objKind)
{
    switch (objKind) {
    case RAVEL_OBJ_MUTEX: return "mutex";
    case RAVEL_OBJ_RWLOCK: return "rwlock";
    case RAVEL_OBJ_SPIN: return "spinlock";
    case RAVEL_OBJ_COND: return "condvar";
    case RAVEL_OBJ_SEM: return "semaphore";
    case RAVEL_OBJ_BARRIER: return "barrier";
    case RAVEL_OBJ_ONCE: return "once";
    case RAVEL_OBJ_GUARD: return "static-guard";
    case RAVEL_OBJ_THREAD: return "thread";
    case RAVEL_OBJ_PROCESS: return "process";
    case RAVEL_OBJ_CHAN: return "channel";
    case RAVEL_OBJ_PIPE: return "pipe";
    case RAVEL_OBJ_MEMORY: return "memory";
    case RAVEL_OBJ_CUSTOM: return "custom";
    case RAVEL_OBJ_FUTEX: return "futex";
    default: return "object";
    }
}

std::string_view eventKindName(unsigned evKind)
{
    static constexpr std::string_view names[RAVEL_EV_KIND_COUNT] = {
        "END", "TIME", "THREAD_START", "THREAD_EXIT", "THREAD_NAME", "THREAD_CREATE", "JOIN_REQ",
        "JOIN_DONE", "DETACH", "FORK", "FORK_CHILD", "EXEC", "PROC_WAIT_REQ", "PROC_WAIT_DONE", "PROC_EXIT", "EV_15", "INIT",
        "DESTROY", "ACQ_REQ", "ACQUIRED", "ACQ_FAIL", "RELEASE", "WAIT_REQ", "WOKEN", "WAIT_FAIL",
        "SIGNAL", "BROADCAST", "PASS", "FREE", "LOST", "MARK", "CHAN_CREATE", "SEND_REQ", "SENT", "RECV_REQ",
        "RECEIVED", "CHAN_CLOSE", "CHAN_FAIL", "SELECT_REQ", "SELECT_CASE", "SELECT_DONE", "OBJ_NAME",
        "RACE", "RACE_PREV", "RACE_COUNT", "EV_45", "EV_46", "EV_47", "EV_48", "EV_49", "EV_50", "EV_51",
        "DESTROY_REQ", "INIT_FAIL", "OWNER_DEAD", "EV_55",
    };
    if (evKind < RAVEL_EV_KIND_COUNT)
        return names[evKind];
    return "EV_?";
}

unsigned objectKindSize(unsigned objKind)
{
    // x86-64 glibc sizes; std::mutex and std::shared_mutex wrap exactly one pthread object.
    switch (objKind) {
    case RAVEL_OBJ_MUTEX: return 40;
    case RAVEL_OBJ_RWLOCK: return 56;
    case RAVEL_OBJ_SPIN: return 4;
    case RAVEL_OBJ_COND: return 48;
    case RAVEL_OBJ_SEM: return 32;
    case RAVEL_OBJ_BARRIER: return 32;
    case RAVEL_OBJ_ONCE: return 4;
    case RAVEL_OBJ_GUARD: return 8;
    case RAVEL_OBJ_FUTEX: return 4; // the word: a member path stops at the std:: object holding it
    default: return 0;
    }
}

} // namespace ravel
