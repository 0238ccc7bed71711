/* Deadlocks across processes through pipes, sockets, FIFOs and waits for children, and the
 * correct programs that look like them. Usage: e2e_pipe_cases CASE [DIR]
 *   cat        the parent writes 1 MiB into cat's stdin before reading cat's stdout
 *   waitpid    the parent waits for a child that is blocked writing 1 MiB into a pipe to it
 *   ring       three processes in a ring, each reads from the previous one before writing
 *   socketpair both ends of a socketpair receive first
 *   fifo       two processes open two FIFOs (in DIR) in opposite orders
 *   selfpipe   the parent reads its child's output to end-of-file but never closed its own
 *              copy of the write end
 *   fgets      a child reads lines with fgets (glibc's internal read) from a parent that waits for
 *              it without closing the pipe
 *   poll       the parent polls cat's stdout and its own stdin pipe... for data nobody sends
 *   lockpipe   a child thread holds a mutex while it writes to a full pipe; the thread that would
 *              read waits for that mutex
 *   busy       correct: a parent and a child pass 4 MiB back and forth through two pipes with
 *              poll, with no deadlock (the watch must stay quiet while pipes fill and drain)
 *   pipeline   correct: three processes, generator | filter | sink, exit 0
 * Prints "child PID" lines for the processes it starts, so a test can name them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1 << 20)

static void die(const char* what)
{
    perror(what);
    exit(2);
}

static void announce(pid_t pid)
{
    printf("child %d\n", (int)pid);
    fflush(stdout);
}

static size_t writeAll(int fd, const char* buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, buf + done, n - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    return done;
}

static int caseCat(void)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execlp("cat", "cat", (char*)NULL);
        _exit(127);
    }
    announce(pid);
    close(in[0]);
    close(out[1]);
    static char data[MIB];
    memset(data, 'x', sizeof data);
    writeAll(in[1], data, sizeof data); /* cat fills out[] and stops reading in[] */
    close(in[1]);
    char buf[4096];
    size_t total = 0;
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;)
        total += (size_t)n;
    waitpid(pid, NULL, 0);
    printf("read %zu\n", total);
    return 0;
}

static int caseWaitpid(void)
{
    int p[2];
    if (pipe(p))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        static char data[MIB];
        memset(data, 'y', sizeof data);
        writeAll(p[1], data, sizeof data);
        _exit(0);
    }
    announce(pid);
    close(p[1]);
    int status;
    waitpid(pid, &status, 0); /* the child is blocked on the full pipe until someone reads */
    char buf[4096];
    while (read(p[0], buf, sizeof buf) > 0) { }
    return 0;
}

static int caseRing(void)
{
    int p[3][2];
    for (int i = 0; i < 3; i++)
        if (pipe(p[i]))
            die("pipe");
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            int me = k + 1; /* reads p[me-1], writes p[me] */
            char c;
            if (read(p[me - 1][0], &c, 1) == 1)
                (void)!write(p[me][1], &c, 1);
            _exit(0);
        }
        kids[k] = pid;
        announce(pid);
    }
    char c = 'r';
    if (read(p[2][0], &c, 1) == 1) /* process 0 reads p[2] first: nobody has written anything */
        (void)!write(p[0][1], &c, 1);
    for (int k = 0; k < 2; k++)
        waitpid(kids[k], NULL, 0);
    return 0;
}

static int caseSocketpair(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        die("socketpair");
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        char c;
        if (recv(sv[1], &c, 1, 0) == 1)
            (void)!send(sv[1], "pong", 4, 0);
        _exit(0);
    }
    announce(pid);
    close(sv[1]);
    char buf[8];
    if (recv(sv[0], buf, sizeof buf, 0) > 0) /* both sides wait for the other to speak first */
        (void)!send(sv[0], "ping", 4, 0);
    waitpid(pid, NULL, 0);
    return 0;
}

static int caseFifo(const char* dir)
{
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/fifo_a", dir);
    snprintf(b, sizeof b, "%s/fifo_b", dir);
    unlink(a);
    unlink(b);
    if (mkfifo(a, 0600) || mkfifo(b, 0600))
        die("mkfifo");
    pid_t pid = fork();
    if (pid == 0) {
        int r = open(b, O_RDONLY); /* waits for a writer of b; the parent opens a first */
        int w = open(a, O_WRONLY);
        close(r);
        close(w);
        _exit(0);
    }
    announce(pid);
    int r = open(a, O_RDONLY); /* waits for a writer of a; the child opens b first */
    int w = open(b, O_WRONLY);
    close(r);
    close(w);
    waitpid(pid, NULL, 0);
    return 0;
}

static int caseSelfpipe(void)
{
    int p[2];
    if (pipe(p))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        (void)!write(p[1], "hello\n", 6);
        _exit(0);
    }
    announce(pid);
    /* Forgot close(p[1]): end-of-file never comes, since this process still holds a write end. */
    char buf[256];
    size_t total = 0;
    for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;)
        total += (size_t)n;
    waitpid(pid, NULL, 0);
    printf("read %zu\n", total);
    return 0;
}

static int caseFgets(void)
{
    int p[2];
    if (pipe(p))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        FILE* in = fdopen(p[0], "r");
        char line[256];
        int lines = 0;
        while (fgets(line, sizeof line, in)) /* glibc reads through its internal __read */
            lines++;
        _exit(lines == 0);
    }
    announce(pid);
    close(p[0]);
    FILE* out = fdopen(p[1], "w");
    fprintf(out, "one line\n");
    fflush(out);
    waitpid(pid, NULL, 0); /* forgot fclose(out) first: the child waits for more lines */
    fclose(out);
    return 0;
}

static int casePoll(void)
{
    int toChild[2], fromChild[2];
    if (pipe(toChild) || pipe(fromChild))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(toChild[1]);
        close(fromChild[0]);
        char c;
        if (read(toChild[0], &c, 1) == 1) /* waits for the parent's request */
            (void)!write(fromChild[1], &c, 1);
        _exit(0);
    }
    announce(pid);
    close(toChild[0]);
    close(fromChild[1]);
    /* Waits for the answer before sending the request. */
    struct pollfd fds[1] = { { fromChild[0], POLLIN, 0 } };
    poll(fds, 1, -1);
    (void)!write(toChild[1], "q", 1);
    waitpid(pid, NULL, 0);
    return 0;
}

/* The same as poll, the parent waiting in epoll_wait and the child in select: an event loop
 * (libevent, a server's main loop) that waits for an answer it has not asked for yet. */
static int caseEpoll(void)
{
    int toChild[2], fromChild[2];
    if (pipe(toChild) || pipe(fromChild))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(toChild[1]);
        close(fromChild[0]);
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(toChild[0], &readable);
        int ready;
        while ((ready = select(toChild[0] + 1, &readable, NULL, NULL, NULL)) < 0 && errno == EINTR) { }
        if (ready == 1) /* waits for the request */
            (void)!write(fromChild[1], "a", 1);
        _exit(0);
    }
    announce(pid);
    close(toChild[0]);
    close(fromChild[1]);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data = { .fd = fromChild[0] } };
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fromChild[0], &ev) != 0)
        die("epoll");
    struct epoll_event got;
    /* The answer, before the request is sent; retried on EINTR as an event loop does (a stop, and
     * ravel reading the stacks, ends an epoll_wait with EINTR). */
    while (epoll_wait(ep, &got, 1, -1) < 0 && errno == EINTR) { }
    (void)!write(toChild[1], "q", 1);
    waitpid(pid, NULL, 0);
    return 0;
}

static pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;
static int lockpipeFds[2];

static void* journalWriter(void* arg)
{
    (void)arg;
    static char data[MIB];
    memset(data, 'j', sizeof data);
    pthread_mutex_lock(&journal); /* holds the journal lock across a write to a pipe that fills */
    writeAll(lockpipeFds[1], data, sizeof data);
    pthread_mutex_unlock(&journal);
    return NULL;
}

static int caseLockpipe(void)
{
    if (pipe(lockpipeFds))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, journalWriter, NULL);
        usleep(200000);
        /* The drain would read the pipe, but takes the journal lock first. */
        pthread_mutex_lock(&journal);
        char buf[4096];
        while (read(lockpipeFds[0], buf, sizeof buf) > 0) { }
        pthread_mutex_unlock(&journal);
        pthread_join(t, NULL);
        _exit(0);
    }
    announce(pid);
    close(lockpipeFds[0]);
    close(lockpipeFds[1]);
    waitpid(pid, NULL, 0);
    return 0;
}

static int caseBusy(void)
{
    int toChild[2], fromChild[2];
    if (pipe(toChild) || pipe(fromChild))
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(toChild[1]);
        close(fromChild[0]);
        char buf[65536];
        for (ssize_t n; (n = read(toChild[0], buf, sizeof buf)) > 0;)
            writeAll(fromChild[1], buf, (size_t)n);
        _exit(0);
    }
    announce(pid);
    close(toChild[0]);
    close(fromChild[1]);
    static char data[4 * MIB];
    memset(data, 'b', sizeof data);
    size_t sent = 0, got = 0;
    fcntl(toChild[1], F_SETFL, O_NONBLOCK);
    while (got < sizeof data) {
        struct pollfd fds[2] = { { fromChild[0], POLLIN, 0 }, { sent < sizeof data ? toChild[1] : -1, POLLOUT, 0 } };
        if (poll(fds, 2, -1) < 0)
            die("poll");
        if (fds[1].revents & POLLOUT) {
            ssize_t w = write(toChild[1], data + sent, sizeof data - sent);
            if (w > 0)
                sent += (size_t)w;
            if (sent == sizeof data)
                close(toChild[1]);
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            char buf[65536];
            ssize_t n = read(fromChild[0], buf, sizeof buf);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
    }
    waitpid(pid, NULL, 0);
    printf("echoed %zu\n", got);
    return got == sizeof data ? 0 : 1;
}

static int casePipeline(void)
{
    int a[2], b[2];
    if (pipe(a) || pipe(b))
        die("pipe");
    pid_t gen = fork();
    if (gen == 0) {
        close(a[0]); close(b[0]); close(b[1]);
        FILE* out = fdopen(a[1], "w");
        for (int i = 0; i < 200000; i++)
            fprintf(out, "%d\n", i);
        fclose(out);
        _exit(0);
    }
    pid_t filter = fork();
    if (filter == 0) {
        close(a[1]); close(b[0]);
        FILE* in = fdopen(a[0], "r");
        FILE* out = fdopen(b[1], "w");
        char line[64];
        while (fgets(line, sizeof line, in))
            if (atoi(line) % 7 == 0)
                fputs(line, out);
        fclose(out);
        _exit(0);
    }
    announce(gen);
    announce(filter);
    close(a[0]); close(a[1]); close(b[1]);
    FILE* in = fdopen(b[0], "r");
    char line[64];
    long count = 0, sum = 0;
    while (fgets(line, sizeof line, in)) {
        count++;
        sum += atol(line);
    }
    waitpid(gen, NULL, 0);
    waitpid(filter, NULL, 0);
    printf("count %ld sum %ld\n", count, sum);
    return 0;
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CASE [DIR]\n", argv[0]);
        return 2;
    }
    const char* c = argv[1];
    if (!strcmp(c, "cat"))
        return caseCat();
    if (!strcmp(c, "waitpid"))
        return caseWaitpid();
    if (!strcmp(c, "ring"))
        return caseRing();
    if (!strcmp(c, "socketpair"))
        return caseSocketpair();
    if (!strcmp(c, "fifo"))
        return caseFifo(argc > 2 ? argv[2] : ".");
    if (!strcmp(c, "selfpipe"))
        return caseSelfpipe();
    if (!strcmp(c, "fgets"))
        return caseFgets();
    if (!strcmp(c, "poll"))
        return casePoll();
    if (!strcmp(c, "epoll"))
        return caseEpoll();
    if (!strcmp(c, "lockpipe"))
        return caseLockpipe();
    if (!strcmp(c, "busy"))
        return caseBusy();
    if (!strcmp(c, "pipeline"))
        return casePipeline();
    fprintf(stderr, "%s: unknown case %s\n", argv[0], c);
    return 2;
}
