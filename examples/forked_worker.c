/* forked_worker: a server-shaped program whose real work happens in another process. The parent
 * ("dispatch") starts a heartbeat thread, forks a worker and waits for it; the worker goes through
 * a wrapper image first (it re-execs itself, as `exec prog` in a shell script or a version
 * manager's shim would) and only the second image does the work: two tellers that move money
 * between two accounts in opposite lock order, 100 ms apart. Only timing keeps them apart, so this
 * worker can deadlock on another day.
 *
 * Terminates: the worker exits 3 (it reports the money it moved as its status), the parent 0.
 * Expected finding: potential deadlock in the worker's second image, the cycle account_a ->
 * account_b (thread "teller-ab") and account_b -> account_a (thread "teller-ba").
 *
 *   forked_worker            the parent
 *   forked_worker wrap       the worker's wrapper image (execs "forked_worker work")
 *   forked_worker work       the worker
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t account_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t account_b = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t heartbeat_lock = PTHREAD_MUTEX_INITIALIZER;
static long balance_a = 100, balance_b = 100, beats;

static void pause_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000 * 1000 };
    nanosleep(&t, NULL);
}

static void transfer(pthread_mutex_t* from, long* from_balance, pthread_mutex_t* to, long* to_balance, long amount)
{
    pthread_mutex_lock(from);
    pthread_mutex_lock(to);
    *from_balance -= amount;
    *to_balance += amount;
    pthread_mutex_unlock(to);
    pthread_mutex_unlock(from);
}

static void* teller_ab(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "teller-ab");
    transfer(&account_a, &balance_a, &account_b, &balance_b, 10);
    return NULL;
}

static void* teller_ba(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "teller-ba");
    pause_ms(100);
    transfer(&account_b, &balance_b, &account_a, &balance_a, 20);
    return NULL;
}

static int work(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, teller_ab, NULL);
    pthread_create(&t2, NULL, teller_ba, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    return balance_a + balance_b == 200 ? 3 : 1;
}

static void* heartbeat(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "heartbeat");
    for (int i = 0; i < 6; i++) {
        pthread_mutex_lock(&heartbeat_lock);
        beats++;
        pthread_mutex_unlock(&heartbeat_lock);
        pause_ms(30);
    }
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "work") == 0)
        return work();
    if (argc > 1 && strcmp(argv[1], "wrap") == 0) {
        execl("/proc/self/exe", argv[0], "work", (char*)NULL);
        perror("forked_worker: exec");
        return 127;
    }
    pthread_t hb;
    pthread_create(&hb, NULL, heartbeat, NULL);
    pause_ms(20);
    pid_t worker = fork();
    if (worker == 0) {
        execl("/proc/self/exe", argv[0], "wrap", (char*)NULL);
        perror("forked_worker: exec");
        _exit(127);
    }
    int status = 0;
    waitpid(worker, &status, 0);
    pthread_join(hb, NULL);
    printf("worker %d exited %d\n", (int)worker, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
