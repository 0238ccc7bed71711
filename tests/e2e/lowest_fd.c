// A program started with stdin closed (as a daemon's supervisor may start it) expects its first
// open() to return 0; the runtime must not take that number for its trace. It closes stdin and
// execs itself, so the runtime starts again in the new image with descriptor 0 free.
//
//   lowest_fd    prints "first open got 0"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        int fd = open("/dev/null", O_RDONLY);
        printf("first open got %d\n", fd);
        return 0;
    }
    close(0);
    execl("/proc/self/exe", argv[0], "child", (char*)NULL);
    return 127;
}
