#include "attach/kernel_tasks.hpp"

#include <ravel/trace_format.h>

#include <dirent.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ravel {

std::vector<KernelTask> readKernelTasks(uint32_t pid)
{
    std::vector<KernelTask> out;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (!d)
        return out;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        KernelTask t;
        t.osTid = uint32_t(std::strtoul(e->d_name, nullptr, 10));
        // "202 0x7f.. 0x80 0x1 0x0 0x0 0x0 SP PC" in a system call, "-1 SP PC" blocked outside one,
        // "running" on a CPU. A task that exits meanwhile or refuses the read stays unknown.
        if (FILE* f = std::fopen((dir + "/" + e->d_name + "/syscall").c_str(), "r")) {
            char line[512];
            if (std::fgets(line, sizeof line, f) && line[0] != 'r') {
                char* p = line;
                t.syscall = std::strtol(p, &p, 10);
                for (uint64_t& a : t.args)
                    a = std::strtoull(p, &p, 16);
            }
            std::fclose(f);
        }
        // "TID (comm) S ...": the name may hold spaces and parentheses, the state follows the last ')'.
        if (FILE* f = std::fopen((dir + "/" + e->d_name + "/stat").c_str(), "r")) {
            char line[1024];
            if (std::fgets(line, sizeof line, f)) {
                const char* open = std::strchr(line, '(');
                const char* close = std::strrchr(line, ')');
                if (open && close && close > open) {
                    t.name.assign(open + 1, close);
                    if (close[1] == ' ' && close[2])
                        t.state = close[2];
                }
            }
            std::fclose(f);
        }
        out.push_back(t);
    }
    closedir(d);
    return out;
}

std::vector<uint32_t> childProcesses(uint32_t pid)
{
    std::vector<uint32_t> out;
    for (const KernelTask& t : readKernelTasks(pid)) {
        FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/task/" + std::to_string(t.osTid) + "/children").c_str(), "r");
        if (!f)
            continue;
        unsigned long child;
        while (std::fscanf(f, "%lu", &child) == 1)
            out.push_back(uint32_t(child));
        std::fclose(f);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

long childWaitedFor(const KernelTask& t)
{
    if (t.syscall == SYS_wait4) {
        long pid = long(int32_t(uint32_t(t.args[0])));
        return pid > 0 ? pid : -1; // 0 and < -1: a process group, any child of it
    }
    if (t.syscall == SYS_waitid) {
        if (t.args[0] == 1 /* P_PID */)
            return long(t.args[1]);
        return -1; // P_ALL, P_PGID, P_PIDFD: any of several
    }
    return 0;
}

bool programSignalHandlers(uint32_t pid)
{
    bool handlers = true;
    if (FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
            if (std::strncmp(line, "SigCgt:", 7) == 0) {
                uint64_t caught = std::strtoull(line + 7, nullptr, 16) & ~((1ull << 31) | (1ull << 32));
                handlers = caught != 0;
                break;
            }
        }
        std::fclose(f);
    }
    return handlers;
}

size_t applyKernelWaits(std::vector<ThreadSnapshot>& sample, const std::vector<KernelTask>& tasks, uint64_t nowNs)
{
    size_t marked = 0;
    for (const KernelTask& k : tasks) {
        if (k.syscall != SYS_futex)
            continue;
        long cmd = long(k.args[1]) & ~long(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
        bool untimedWait = (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && k.args[3] == 0;
        if (!untimedWait)
            continue;
        for (ThreadSnapshot& s : sample) {
            if (s.os_tid != k.osTid || s.exited || s.blockedOn)
                continue;
            s.blockedOn = k.args[0] & RAVEL_OBJ_MASK;
            s.blockedFlags = RAVEL_OBJ_FUTEX;
            s.blockedStack = 0;
            s.blockedAux = 0;
            s.blockedSinceNs = nowNs;
            // The wait's identity for the detector (two samples must agree on it): the word.
            s.blockedSinceRaw = k.args[0];
            marked++;
        }
    }
    return marked;
}

} // namespace ravel
