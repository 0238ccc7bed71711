// A daemon's start: close every descriptor it did not open, then open its own data file (which
// gets the lowest free number) and go to work with threads. A runtime that lost its trace
// descriptor this way stopped recording, or grew and mapped the program's data file in place of
// its trace. The program checks its file itself.
//
// "raw" closes them with the system call itself, which no interceptor sees; "dup2" points every
// one at /dev/null first.
//
//   close_fds loop|range|from|raw|dup2 DATAFILE ITERATIONS
//     prints "count N data intact" (or "data corrupt, size S")
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { kThreads = 4 };

static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static long count;
static long iterations;

static void* worker(void* arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&work_lock);
        count++;
        pthread_mutex_unlock(&work_lock);
    }
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc < 4)
        return 2;
    iterations = atol(argv[3]);
    if (strcmp(argv[1], "loop") == 0) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    } else if (strcmp(argv[1], "range") == 0) {
        if (close_range(3, ~0u, 0) != 0)
            return 3;
    } else if (strcmp(argv[1], "dup2") == 0) {
        int null = open("/dev/null", O_RDWR);
        for (int fd = 3; fd < 1024; fd++)
            if (fd != null)
                dup2(null, fd);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    } else if (strcmp(argv[1], "raw") == 0) {
        if (syscall(SYS_close_range, 3u, ~0u, 0) != 0)
            return 3;
    } else {
        closefrom(3);
    }
    int data = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (data < 0 || write(data, "hello\n", 6) != 6)
        return 4;
    pthread_t th[kThreads];
    for (int i = 0; i < kThreads; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < kThreads; i++)
        pthread_join(th[i], NULL);
    if (write(data, "after\n", 6) != 6)
        return 5;
    struct stat st;
    char buf[64] = { 0 };
    if (fstat(data, &st) != 0 || pread(data, buf, sizeof buf - 1, 0) < 0)
        return 6;
    close(data);
    if (st.st_size == 12 && strcmp(buf, "hello\nafter\n") == 0)
        printf("count %ld data intact\n", count);
    else
        printf("count %ld data corrupt, size %lld\n", count, (long long)st.st_size);
    return 0;
}
