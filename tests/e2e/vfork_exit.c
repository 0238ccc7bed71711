// A shell's way to start a command: vfork, then exec in the child, which ends with _exit(127)
// when the exec fails. The child runs on the parent's memory and thread until then: whatever it
// records lands in the parent's trace. The parent locks after the child has gone.
//
//   vfork_exit    prints "child 127 locks 5" and exits 3
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t after_lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    pid_t pid = vfork();
    if (pid == 0) {
        execl("/nonexistent/command", "command", (char*)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    int locks = 0;
    for (int i = 0; i < 5; i++) {
        pthread_mutex_lock(&after_lock);
        locks++;
        pthread_mutex_unlock(&after_lock);
    }
    printf("child %d locks %d\n", WEXITSTATUS(status), locks);
    fflush(stdout);
    _exit(3);
}
