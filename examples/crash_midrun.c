/* crash_midrun: three threads update a table under `table_lock`; the thread "crasher" dereferences
 * a NULL entry after OPS operations and the process dies of SIGSEGV while the others still lock.
 *
 * Usage: crash_midrun [OPS]   (default 1000)
 *
 * Dies of SIGSEGV every run (exit status 139 from a shell or `ravel run`). Expected: the trace
 * keeps every event up to the crash: at least OPS acquisitions of `table_lock` by "crasher".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static long table[16];
static long ops = 1000;

/* Volatile, so the compiler keeps a real load through NULL rather than proving it and trapping. */
static long* volatile slot_for_crasher;

static void* updater(void* arg)
{
    long id = (long)arg;
    for (long i = 0;; i++) {
        pthread_mutex_lock(&table_lock);
        table[(id + i) % 16]++;
        pthread_mutex_unlock(&table_lock);
    }
    return NULL;
}

static void* crasher(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "crasher");
    for (long i = 0; i < ops; i++) {
        pthread_mutex_lock(&table_lock);
        table[i % 16]++;
        pthread_mutex_unlock(&table_lock);
    }
    pthread_mutex_lock(&table_lock);
    *slot_for_crasher += 1; /* the bug: the slot was never assigned; SIGSEGV while holding the lock */
    pthread_mutex_unlock(&table_lock);
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc > 1)
        ops = atol(argv[1]);
    pthread_t t[3];
    pthread_create(&t[0], NULL, updater, (void*)0L);
    pthread_create(&t[1], NULL, updater, (void*)1L);
    pthread_create(&t[2], NULL, crasher, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("not reached\n");
    return 0;
}
