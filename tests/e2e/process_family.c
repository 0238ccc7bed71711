// Children made every way a program makes them, each ending with a status of its own, so the
// run's process table can be checked against what the parent saw:
//   a fork child that forks a grandchild (exit 7) and exits 3;
//   posix_spawn of "sh -c 'exit 4'"; vfork + exec of true; system("exit 5");
//   popen("echo popen"); fork + execle of "sh -c 'exit 6'" with an environment of only PATH
//   (the runtime is put back); a failed exec of a missing program (the child exits 127).
//
//   process_family    prints each child's pid and status as the parent saw it
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static void report(const char* what, pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
        printf("%s %d wait failed\n", what, (int)pid);
        return;
    }
    printf("%s %d exit %d\n", what, (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void)
{
    pid_t a = fork();
    if (a == 0) {
        pid_t g = fork();
        if (g == 0)
            _exit(7);
        int st;
        waitpid(g, &st, 0);
        printf("grandchild %d exit %d\n", (int)g, WEXITSTATUS(st));
        fflush(stdout);
        exit(3);
    }
    report("fork", a);

    pid_t b;
    char* spawnArgs[] = { "sh", "-c", "exit 4", NULL };
    if (posix_spawn(&b, "/bin/sh", NULL, NULL, spawnArgs, environ) == 0)
        report("spawn", b);

    pid_t c = vfork();
    if (c == 0) {
        execl("/bin/true", "true", (char*)NULL);
        _exit(126);
    }
    report("vfork", c);

    int s = system("exit 5");
    printf("system exit %d\n", WEXITSTATUS(s));

    FILE* p = popen("echo popen", "r");
    char line[64] = "";
    if (p && fgets(line, sizeof line, p))
        line[strcspn(line, "\n")] = 0;
    int ps = p ? pclose(p) : -1;
    printf("popen '%s' exit %d\n", line, WEXITSTATUS(ps));

    pid_t d = fork();
    if (d == 0) {
        char* clean[] = { "PATH=/usr/bin:/bin", NULL };
        execle("/bin/sh", "sh", "-c", "exit 6", (char*)NULL, clean);
        _exit(126);
    }
    report("clean-env", d);

    pid_t e = fork();
    if (e == 0) {
        execlp("ravel-no-such-program", "ravel-no-such-program", (char*)NULL);
        _exit(127);
    }
    report("missing", e);
    return 0;
}
