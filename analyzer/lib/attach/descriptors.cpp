#include "attach/descriptors.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ravel {

namespace {

bool isNumber(const char* s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

// fdinfo's "flags:\t0100002" (octal): the open file's access mode and O_NONBLOCK.
bool readFlags(const std::string& path, unsigned& flags)
{
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f)
        return false;
    char line[256];
    bool found = false;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "flags:", 6) == 0) {
            flags = unsigned(std::strtoul(line + 6, nullptr, 8));
            found = true;
            break;
        }
    std::fclose(f);
    return found;
}

} // namespace

std::optional<std::vector<Descriptor>> readDescriptors(uint32_t pid)
{
    std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = opendir(dir.c_str());
    if (!d)
        return std::nullopt;
    std::vector<Descriptor> out;
    while (dirent* e = readdir(d)) {
        if (!isNumber(e->d_name))
            continue;
        std::string link = dir + "/" + e->d_name;
        struct stat st;
        if (stat(link.c_str(), &st) != 0)
            continue; // closed meanwhile
        Descriptor desc;
        desc.fd = std::atoi(e->d_name);
        desc.inode = st.st_ino;
        desc.device = st.st_dev;
        if (S_ISSOCK(st.st_mode))
            desc.type = Descriptor::Type::Socket;
        else if (S_ISFIFO(st.st_mode)) {
            char target[4096];
            ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
            target[n > 0 ? n : 0] = 0;
            // An anonymous pipe reads "pipe:[12345]"; a FIFO, its path.
            desc.type = std::strncmp(target, "pipe:", 5) == 0 ? Descriptor::Type::Pipe : Descriptor::Type::Fifo;
            if (desc.type == Descriptor::Type::Fifo)
                desc.path = target;
        } else
            continue;
        unsigned flags = 0;
        if (!readFlags("/proc/" + std::to_string(pid) + "/fdinfo/" + e->d_name, flags))
            continue;
        unsigned mode = flags & O_ACCMODE;
        desc.readable = mode == O_RDONLY || mode == O_RDWR;
        desc.writable = mode == O_WRONLY || mode == O_RDWR;
        desc.nonblocking = flags & O_NONBLOCK;
        out.push_back(std::move(desc));
    }
    closedir(d);
    return out;
}

std::unordered_map<uint64_t, uint64_t> unixSocketPeers()
{
    std::unordered_map<uint64_t, uint64_t> peers;
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return peers;
    struct {
        nlmsghdr header;
        unix_diag_req request;
    } message {};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.request.sdiag_family = AF_UNIX;
    message.request.udiag_states = ~0u;
    message.request.udiag_show = UDIAG_SHOW_PEER;
    sockaddr_nl kernel {};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
        close(fd);
        return peers;
    }
    alignas(nlmsghdr) char buffer[32768];
    for (bool done = false; !done;) {
        ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0)
            break;
        for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, size_t(n)); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                done = true;
                break;
            }
            auto* m = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
            int left = int(h->nlmsg_len) - int(NLMSG_LENGTH(sizeof *m));
            for (auto* a = reinterpret_cast<rtattr*>(m + 1); RTA_OK(a, left); a = RTA_NEXT(a, left))
                if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
                    uint32_t peer;
                    std::memcpy(&peer, RTA_DATA(a), sizeof peer);
                    if (peer)
                        peers[m->udiag_ino] = peer;
                }
        }
    }
    close(fd);
    return peers;
}

std::vector<uint32_t> allProcesses()
{
    std::vector<uint32_t> out;
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d))
            if (isNumber(e->d_name))
                out.push_back(uint32_t(std::strtoul(e->d_name, nullptr, 10)));
        closedir(d);
    }
    return out;
}

uint64_t taskRunTimeNs(uint32_t pid, uint32_t tid)
{
    uint64_t ns = ~0ull;
    std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat";
    if (FILE* f = std::fopen(path.c_str(), "r")) {
        unsigned long long v;
        if (std::fscanf(f, "%llu", &v) == 1)
            ns = v;
        std::fclose(f);
    }
    return ns;
}

std::string processCommandLine(uint32_t pid)
{
    std::string out;
    std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
    if (FILE* f = std::fopen(path.c_str(), "r")) {
        char buf[512];
        size_t n = std::fread(buf, 1, sizeof buf, f);
        std::fclose(f);
        out.assign(buf, n);
        while (!out.empty() && out.back() == '\0')
            out.pop_back();
        for (char& c : out)
            if (c == '\0')
                c = ' ';
    }
    return out;
}

bool readProcessMemory(uint32_t pid, uint64_t addr, void* out, size_t len)
{
    iovec local { out, len };
    iovec remote { reinterpret_cast<void*>(addr), len };
    return process_vm_readv(pid_t(pid), &local, 1, &remote, 1, 0) == ssize_t(len);
}

} // namespace ravel
