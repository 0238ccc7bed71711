/* Reports what the watchdog of `ravel run` writes into the trace header while this program runs:
 * prints "ticks=N calib=0|1". Maps the trace the runtime created; without a runtime (or before it
 * records) it creates a bare header itself, so the watchdog can be tested on its own. */
#include <ravel/trace_format.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    const char* path = getenv("RAVEL_TRACE_FILE");
    if (!path) {
        fprintf(stderr, "tick_probe: RAVEL_TRACE_FILE is not set\n");
        return 2;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
    int created = fd >= 0;
    if (!created)
        fd = open(path, O_RDWR);
    if (fd < 0 || (created && ftruncate(fd, RAVEL_HEADER_SIZE) != 0)) {
        perror("tick_probe: trace");
        return 2;
    }
    RavelFileHeader* h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (h == MAP_FAILED) {
        perror("tick_probe: mmap");
        return 2;
    }
    if (created) {
        h->version = RAVEL_TRACE_VERSION;
        h->header_size = RAVEL_HEADER_SIZE;
        h->chunk_size = RAVEL_DEFAULT_CHUNK_SIZE;
        h->next_chunk = RAVEL_HEADER_SIZE;
        memcpy(h->magic, RAVEL_TRACE_MAGIC, 8);
    }
    uint64_t first = __atomic_load_n(&h->tick, __ATOMIC_RELAXED);
    struct timespec pause = { 0, 300 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    uint64_t last = __atomic_load_n(&h->tick, __ATOMIC_RELAXED);
    int calib = __atomic_load_n(&h->calib_tsc, __ATOMIC_RELAXED) != 0
        && __atomic_load_n(&h->calib_mono_ns, __ATOMIC_RELAXED) != 0;
    printf("ticks=%llu calib=%d\n", (unsigned long long)(last - first), calib);
    return 0;
}
