// What the kernel says of a live process's descriptors (/proc/PID/fd and fdinfo) and of the UNIX
// sockets of the machine (sock_diag): which pipe, FIFO or socket each descriptor is, and which
// end. The run watch (a deadlock across the processes of a run) reads these only when some
// thread sits in a blocking read, write or wait, so whoever holds the other end of the pipe it
// waits on is known exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ravel {

struct Descriptor {
    enum class Type : uint8_t { Pipe, Fifo, Socket };
    int fd = -1;
    Type type = Type::Pipe;
    uint64_t inode = 0;   // the pipe's, FIFO's or socket's inode: one object across processes
    uint64_t device = 0;
    bool readable = false; // the open file's access mode (O_RDONLY / O_WRONLY / O_RDWR)
    bool writable = false;
    bool nonblocking = false;
    std::string path;      // a FIFO's path; "" for a pipe or socket
};

// Every pipe, FIFO and socket descriptor of process `pid`, by descriptor number (regular files,
// terminals and the rest are left out). nullopt when the table cannot be read (the process is
// gone, or belongs to another user).
std::optional<std::vector<Descriptor>> readDescriptors(uint32_t pid);

// The connected UNIX sockets of the machine: inode -> its peer's inode (a socketpair's two ends,
// a connection's two sides). Empty when sock_diag is not available.
std::unordered_map<uint64_t, uint64_t> unixSocketPeers();

// Every process of the machine (/proc), by pid.
std::vector<uint32_t> allProcesses();

// The time task `tid` of `pid` has spent on a CPU (/proc/PID/task/TID/schedstat), in ns; ~0 when
// unknown. Unchanged between two reads: the task did not run at all in between.
uint64_t taskRunTimeNs(uint32_t pid, uint32_t tid);

// The command line of a live process, NULs made spaces ("sort -r"); "" when unreadable.
std::string processCommandLine(uint32_t pid);

// Reads `len` bytes of a live process's memory (process_vm_readv). False when any is unreadable.
bool readProcessMemory(uint32_t pid, uint64_t addr, void* out, size_t len);

} // namespace ravel
