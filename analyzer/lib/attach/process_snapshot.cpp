#include "attach/process_snapshot.hpp"

#include <fmt/format.h>

#include <elfutils/libdwfl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace ravel {

namespace {

constexpr size_t kMaxFrames = 64;

std::string permissionHint()
{
    std::string scope = "?";
    if (std::ifstream f("/proc/sys/kernel/yama/ptrace_scope"); f)
        std::getline(f, scope);
    else
        return "the caller needs CAP_SYS_PTRACE or the same user as the process";
    return fmt::format("/proc/sys/kernel/yama/ptrace_scope is {}: attach as root, with CAP_SYS_PTRACE, or set it "
                       "to 0",
                       scope);
}

std::vector<std::string> readCmdline(uint32_t pid)
{
    std::ifstream f(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string all = ss.str();
    std::vector<std::string> out;
    size_t start = 0;
    while (start < all.size()) {
        size_t end = all.find('\0', start);
        if (end == std::string::npos)
            end = all.size();
        out.push_back(all.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

const Dwfl_Callbacks kCallbacks = {
    dwfl_linux_proc_find_elf,
    dwfl_standard_find_debuginfo,
    nullptr,
    nullptr,
};

struct Unwind {
    std::vector<uint64_t>* frames;
};

int frameCallback(Dwfl_Frame* state, void* arg)
{
    auto* u = static_cast<Unwind*>(arg);
    Dwarf_Addr pc = 0;
    bool activation = false;
    if (!dwfl_frame_pc(state, &pc, &activation))
        return DWARF_CB_ABORT;
    u->frames->push_back(pc);
    return u->frames->size() >= kMaxFrames ? DWARF_CB_ABORT : DWARF_CB_OK;
}

int moduleCallback(Dwfl_Module* mod, void**, const char* name, Dwarf_Addr start, void* arg)
{
    auto* modules = static_cast<std::vector<Module>*>(arg);
    if (!name || name[0] != '/')
        return DWARF_CB_OK; // [vdso], anonymous: nothing on disk to symbolize with
    Dwarf_Addr lo = 0, hi = 0;
    dwfl_module_info(mod, nullptr, &lo, &hi, nullptr, nullptr, nullptr, nullptr);
    Module m;
    m.lo = lo ? lo : start;
    m.hi = hi;
    m.path = name;
    Dwarf_Addr bias = 0;
    if (dwfl_module_getelf(mod, &bias))
        m.base = bias;
    const unsigned char* bits = nullptr;
    GElf_Addr vaddr = 0;
    int n = dwfl_module_build_id(mod, &bits, &vaddr);
    for (int i = 0; i < n && i < 32; i++)
        m.build_id += fmt::format("{:02x}", bits[i]);
    modules->push_back(std::move(m));
    return DWARF_CB_OK;
}

// Stops one thread (seize + interrupt), waits for the stop. Returns the signal that arrived instead
// of the interrupt's stop (to be delivered on detach), 0 for none, -1 when the thread is gone.
int stopThread(uint32_t tid, std::string& error)
{
    if (ptrace(PTRACE_SEIZE, pid_t(tid), nullptr, nullptr) != 0) {
        error = std::strerror(errno);
        return errno == ESRCH ? -1 : -2;
    }
    if (ptrace(PTRACE_INTERRUPT, pid_t(tid), nullptr, nullptr) != 0) {
        error = std::strerror(errno);
        return -1;
    }
    int pending = 0;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid_t(tid), &status, __WALL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
            error = "exited";
            return -1;
        }
        if (!WIFSTOPPED(status))
            continue;
        if (status >> 16 == PTRACE_EVENT_STOP)
            return pending;
        // A signal reached the thread first: it is held in signal-delivery-stop; remember it for the
        // detach, and the interrupt's stop comes after.
        pending = WSTOPSIG(status);
        if (ptrace(PTRACE_CONT, pid_t(tid), nullptr, nullptr) != 0) // no signal: held for the detach
            return pending;
        ptrace(PTRACE_INTERRUPT, pid_t(tid), nullptr, nullptr);
    }
}

} // namespace

bool readTargetMemory(uint32_t pid, uint64_t addr, void* out, size_t len)
{
    iovec local { out, len };
    iovec remote { reinterpret_cast<void*>(addr), len };
    return process_vm_readv(pid_t(pid), &local, 1, &remote, 1, 0) == ssize_t(len);
}

ProcessSnapshot snapshotProcess(uint32_t pid)
{
    struct stat st {};
    if (pid == 0 || pid > uint32_t(INT_MAX) || ::stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0)
        throw AttachError(fmt::format("no process {}", pid));
    if (pid == uint32_t(getpid()))
        throw AttachError(fmt::format("process {} is ravel itself", pid));
    ProcessSnapshot snap;
    snap.pid = pid;
    timespec now {};
    clock_gettime(CLOCK_REALTIME, &now);
    snap.realTimeNs = uint64_t(now.tv_sec) * 1'000'000'000ull + uint64_t(now.tv_nsec);
    char exe[PATH_MAX] = {};
    ssize_t n = readlink(fmt::format("/proc/{}/exe", pid).c_str(), exe, sizeof exe - 1);
    if (n <= 0) {
        if (errno == EACCES || errno == EPERM)
            throw AttachError(fmt::format("cannot read process {}: not permitted ({})", pid, permissionHint()));
        throw AttachError(fmt::format("no process {}", pid));
    }
    snap.program.assign(exe, size_t(n));
    snap.argv = readCmdline(pid);
    snap.signalHandlers = programSignalHandlers(pid);

    // What the kernel says, before anything is stopped: a stop would end each blocking call.
    std::vector<KernelTask> tasks = readKernelTasks(pid);
    if (tasks.empty())
        throw AttachError(fmt::format("no process {}", pid));
    std::sort(tasks.begin(), tasks.end(), [pid](const KernelTask& a, const KernelTask& b) {
        return (a.osTid == pid) != (b.osTid == pid) ? a.osTid == pid : a.osTid < b.osTid;
    });

    Dwfl* dwfl = dwfl_begin(&kCallbacks);
    if (!dwfl)
        throw AttachError(fmt::format("libdwfl: {}", dwfl_errmsg(-1)));
    struct Closer {
        Dwfl* d;
        ~Closer() { dwfl_end(d); }
    } closer { dwfl };
    if (dwfl_linux_proc_report(dwfl, pid_t(pid)) != 0 || dwfl_report_end(dwfl, nullptr, nullptr) != 0)
        throw AttachError(fmt::format("cannot read the memory map of process {}: {}", pid, dwfl_errmsg(-1)));
    dwfl_getmodules(dwfl, moduleCallback, &snap.modules, 0);

    // The threads are seized one at a time below; libdwfl must not attach by itself.
    bool attached = dwfl_linux_proc_attach(dwfl, pid_t(pid), true) == 0;
    if (!attached)
        snap.warnings.push_back(fmt::format("cannot unwind process {}: {}", pid, dwfl_errmsg(-1)));

    for (const KernelTask& task : tasks) {
        SnapshotThread t;
        t.task = task;
        if (attached && task.state != 'T' && task.state != 't' && task.state != 'Z' && task.state != 'X') {
            std::string error;
            int pending = stopThread(task.osTid, error);
            if (pending == -2) {
                if (error == std::strerror(EPERM) || error == std::strerror(EACCES))
                    throw AttachError(
                        fmt::format("cannot trace process {}: ptrace not permitted ({})", pid, permissionHint()));
                throw AttachError(fmt::format("cannot trace thread {} of process {}: {}", task.osTid, pid, error));
            }
            if (pending >= 0) {
                user_regs_struct regs {};
                if (ptrace(PTRACE_GETREGS, pid_t(task.osTid), nullptr, &regs) == 0)
                    t.threadPointer = regs.fs_base;
                Unwind u { &t.frames };
                if (dwfl_getthread_frames(dwfl, pid_t(task.osTid), frameCallback, &u) != 0 && t.frames.size() < 2)
                    t.unwindError = dwfl_errmsg(-1);
                ptrace(PTRACE_DETACH, pid_t(task.osTid), nullptr, reinterpret_cast<void*>(intptr_t(pending)));
            } else {
                continue; // gone meanwhile
            }
        } else if (task.state == 'T' || task.state == 't') {
            t.unwindError = "the thread is stopped (by a signal or a debugger): left as it is";
        }
        snap.threads.push_back(std::move(t));
    }
    return snap;
}

} // namespace ravel
