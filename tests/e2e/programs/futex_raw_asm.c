/* A futex wait the runtime cannot see: a worker waits on `raw_flag` with the futex system call made
 * by inline assembly (as some libraries' own locks do), nobody ever wakes it, and main joins the
 * worker. Only the kernel knows where the worker is (/proc/PID/task/TID/syscall). */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/syscall.h>

static int raw_flag;

static long rawFutexWait(int* word, int val)
{
    register long r10 __asm__("r10") = 0; /* no timeout */
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"((long)SYS_futex), "D"(word), "S"((long)FUTEX_WAIT_PRIVATE), "d"((long)val), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

static void* worker(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "raw-waiter");
    while (__atomic_load_n(&raw_flag, __ATOMIC_ACQUIRE) == 0)
        rawFutexWait(&raw_flag, 0);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    return 0;
}
