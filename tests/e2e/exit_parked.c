/* How a process ends with threads still blocked, for the tests of "the end of a process is not a
 * deadlock" (DESIGN.md's verdict table):
 *   parked     main holds one mutex per I/O thread, the I/O threads block on them, main calls
 *              exit(0) (a key-value server's shutdown): no deadlock, exit status 0
 *   returns    the same, but main returns 0 from main
 *   slowexit   the same, with an atexit handler that takes 600 ms (flushing, say): the watchdog
 *              samples the exiting process several times and must not call it a deadlock
 *   abba       two workers deadlock on two mutexes while main goes on and exits: a deadlock
 *   abandoned  a worker exits holding a mutex, another blocks on it, then main exits: a deadlock
 *              (nobody could ever have released it), not a shutdown
 *   abandoned_abort  the same, but main then calls abort(): a deadlock and a crash, and the crash
 *              is the bigger news, so `ravel run` keeps the program's status (134) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kIo = 3 };
pthread_mutex_t io_threads_mutex[kIo];
pthread_mutex_t account_a = PTHREAD_MUTEX_INITIALIZER, account_b = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

static void* io_main(void* arg)
{
    long i = (long)arg;
    pthread_mutex_lock(&io_threads_mutex[i]); /* parked until main lets go: never, main exits */
    pthread_mutex_unlock(&io_threads_mutex[i]);
    return NULL;
}

static void* transfer(void* arg)
{
    int ab = arg != NULL;
    pthread_mutex_lock(ab ? &account_a : &account_b);
    pthread_barrier_wait(&both_hold);
    pthread_mutex_lock(ab ? &account_b : &account_a);
    return NULL;
}

static void* loader(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&config_lock);
    return NULL; /* exits holding it */
}

static void* reader(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&config_lock);
    return NULL;
}

static void slow_cleanup(void)
{
    usleep(600000);
}

int main(int argc, char** argv)
{
    const char* mode = argc > 1 ? argv[1] : "parked";
    pthread_t t[kIo];
    if (!strcmp(mode, "slowexit"))
        atexit(slow_cleanup);
    if (!strcmp(mode, "parked") || !strcmp(mode, "returns") || !strcmp(mode, "slowexit")) {
        for (long i = 0; i < kIo; i++) {
            pthread_mutex_init(&io_threads_mutex[i], NULL);
            pthread_mutex_lock(&io_threads_mutex[i]);
            pthread_create(&t[i], NULL, io_main, (void*)i);
        }
        usleep(200000);
        printf("shutdown\n");
        fflush(stdout);
        if (!strcmp(mode, "returns"))
            return 0;
        exit(0);
    }
    if (!strcmp(mode, "abba")) {
        pthread_barrier_init(&both_hold, NULL, 2);
        pthread_create(&t[0], NULL, transfer, (void*)1);
        pthread_create(&t[1], NULL, transfer, NULL);
        usleep(300000);
        exit(0);
    }
    if (!strcmp(mode, "abandoned") || !strcmp(mode, "abandoned_abort")) {
        pthread_create(&t[0], NULL, loader, NULL);
        pthread_join(t[0], NULL);
        pthread_create(&t[1], NULL, reader, NULL);
        usleep(50000);
        if (!strcmp(mode, "abandoned_abort"))
            abort();
        exit(0); /* before the watchdog's two samples: only the analysis at exit can tell */
    }
    fprintf(stderr, "exit_parked: unknown mode %s\n", mode);
    return 2;
}
