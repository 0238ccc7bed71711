/* join_each_other: threads that wait for each other to finish. At shutdown, main joins the
 * "uploader"; the uploader waits for the "indexer" to finish first; the indexer waits for main to
 * finish (it wants the final state main would leave). A cycle of joins: nobody ever finishes.
 *
 * Why three and not two: glibc sees a direct two-thread cycle (B joins A while A already joins B)
 * and fails the second pthread_join with EDEADLK, so that version hangs only when both joins race.
 * A cycle through a third thread is invisible to glibc and hangs every run, whatever the order.
 *
 * HANGS, every run. Expected finding: certain deadlock, main -> uploader -> indexer -> main, every
 * edge a join.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

static pthread_t main_thread, indexer_thread;

static void* indexer(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "indexer");
    pthread_join(main_thread, NULL);
    return NULL;
}

static void* uploader(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "uploader");
    pthread_join(indexer_thread, NULL);
    return NULL;
}

int main(void)
{
    main_thread = pthread_self();
    pthread_t up;
    /* indexer_thread is set before the uploader exists, so the uploader always sees it. */
    pthread_create(&indexer_thread, NULL, indexer, NULL);
    pthread_create(&up, NULL, uploader, NULL);
    int err = pthread_join(up, NULL);
    printf("join: %d\n", err);
    return 0;
}
