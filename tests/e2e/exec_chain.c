// Execs itself N times in the same process, each image taking its own lock, so a run has N + 1
// images of one pid (the second exec found its trace's name taken and ran unrecorded).
//
//   exec_chain N    prints "image N pid P" for each image, the last exits with status 5
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t image_lock = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char** argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2;
    pthread_mutex_lock(&image_lock);
    printf("image %d pid %d\n", n, (int)getpid());
    fflush(stdout);
    pthread_mutex_unlock(&image_lock);
    if (n == 0)
        return 5;
    char next[16];
    snprintf(next, sizeof next, "%d", n - 1);
    execl("/proc/self/exe", argv[0], next, (char*)NULL);
    perror("execl");
    return 1;
}
