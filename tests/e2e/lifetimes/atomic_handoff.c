// A correct program whose only order between a worker's last use of a rwlock and main's destroy of
// it is an atomic compare-and-swap: the worker takes and releases the lock, then swaps the round's
// flag from "go" to "done"; main spins until it reads "done", then destroys the lock and makes a
// new one for the next round. ravel does not record atomics, so it may not be able to order the
// release and the destroy (both within one clock range): that is a note at most, never an error.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

enum { kIdle, kGo, kDone, kQuit };

static pthread_rwlock_t locks[2];
static _Atomic int flag = kIdle;
static _Atomic int slot = 0;

static void* worker(void* arg)
{
    (void)arg;
    for (;;) {
        int f = atomic_load(&flag);
        if (f == kQuit)
            return NULL;
        if (f != kGo)
            continue;
        pthread_rwlock_t* l = &locks[atomic_load(&slot)];
        pthread_rwlock_rdlock(l);
        pthread_rwlock_unlock(l);
        int expected = kGo;
        atomic_compare_exchange_strong(&flag, &expected, kDone);
    }
}

int main(int argc, char** argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 300;
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    for (int r = 0; r < rounds; r++) {
        int s = r & 1;
        pthread_rwlock_init(&locks[s], NULL);
        atomic_store(&slot, s);
        atomic_store(&flag, kGo);
        while (atomic_load(&flag) != kDone)
            ;
        pthread_rwlock_destroy(&locks[s]); // @atomic:destroy
        atomic_store(&flag, kIdle);
    }
    atomic_store(&flag, kQuit);
    pthread_join(t, NULL);
    printf("ok %d\n", rounds);
    return 0;
}
