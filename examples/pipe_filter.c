/* pipe_filter: a program that runs a filter (`tr a-z A-Z`, a real program) over a report it
 * builds, through two pipes: its input and its output. The classic mistake: it writes the whole
 * input before it reads any output. tr writes as it reads, its output pipe fills (64 KiB) while
 * nobody reads it, tr blocks writing, stops reading, the input pipe fills, and the parent blocks
 * writing too. Neither process can move; both wait in the kernel, where no lock and no thread of
 * one process shows it.
 *
 *   pipe_filter [LINES]          the bug: hangs every run once LINES is large (default 20000)
 *   pipe_filter --fixed [LINES]  the fix: write and read in turn with poll(), exit 0
 *
 * Expected: under `ravel run`, a certain deadlock "2 processes wait for each other through pipes"
 * within a second: the parent (pid P) writes to pipe #1, which only tr reads; tr writes to pipe #2,
 * which only the parent reads. ravel ends both, exit 66; `ravel report` lists it afterwards.
 * With --fixed it prints "LINES lines, N bytes, checksum C" (the same as without ravel) and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char* build_report(long lines, size_t* size)
{
    size_t cap = (size_t)lines * 48 + 1, n = 0;
    char* text = malloc(cap);
    if (!text) {
        perror("malloc");
        exit(1);
    }
    for (long i = 0; i < lines; i++)
        n += (size_t)snprintf(text + n, cap - n, "line %06ld: order shipped to warehouse %ld\n", i, i % 17);
    *size = n;
    return text;
}

static pid_t start_filter(int* to_child, int* from_child)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out)) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execlp("tr", "tr", "a-z", "A-Z", (char*)NULL);
        perror("tr");
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *to_child = in[1];
    *from_child = out[0];
    return pid;
}

/* The bug: all of the input first, then all of the output. */
static size_t filter_naive(int to_child, int from_child, const char* text, size_t size, unsigned long* sum)
{
    for (size_t done = 0; done < size;) {
        ssize_t w = write(to_child, text + done, size - done);
        if (w < 0) {
            perror("write");
            exit(1);
        }
        done += (size_t)w;
    }
    close(to_child);
    char buf[8192];
    size_t total = 0;
    for (ssize_t n; (n = read(from_child, buf, sizeof buf)) > 0; total += (size_t)n)
        for (ssize_t i = 0; i < n; i++)
            *sum = *sum * 31 + (unsigned char)buf[i];
    return total;
}

/* The fix: write while the child can take input, read whenever it has output. */
static size_t filter_poll(int to_child, int from_child, const char* text, size_t size, unsigned long* sum)
{
    fcntl(to_child, F_SETFL, fcntl(to_child, F_GETFL) | O_NONBLOCK);
    size_t done = 0, total = 0;
    char buf[8192];
    while (from_child >= 0) {
        struct pollfd fds[2] = { { from_child, POLLIN, 0 }, { to_child, POLLOUT, 0 } };
        if (poll(fds, to_child >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            exit(1);
        }
        if (to_child >= 0 && (fds[1].revents & (POLLOUT | POLLERR))) {
            ssize_t w = write(to_child, text + done, size - done);
            if (w > 0)
                done += (size_t)w;
            else if (errno != EAGAIN) {
                perror("write");
                exit(1);
            }
            if (done == size) {
                close(to_child);
                to_child = -1;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(from_child, buf, sizeof buf);
            if (n <= 0) {
                close(from_child);
                from_child = -1;
                continue;
            }
            for (ssize_t i = 0; i < n; i++)
                *sum = *sum * 31 + (unsigned char)buf[i];
            total += (size_t)n;
        }
    }
    return total;
}

int main(int argc, char** argv)
{
    int fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    long lines = argc > 1 + fixed ? atol(argv[1 + fixed]) : 20000;
    if (lines <= 0)
        lines = 20000;
    size_t size;
    char* text = build_report(lines, &size);
    int to_child, from_child;
    pid_t pid = start_filter(&to_child, &from_child);
    unsigned long sum = 0;
    size_t total = fixed ? filter_poll(to_child, from_child, text, size, &sum)
                         : filter_naive(to_child, from_child, text, size, &sum);
    int status = 0;
    waitpid(pid, &status, 0);
    printf("%ld lines, %zu bytes, checksum %lx\n", lines, total, sum);
    free(text);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && total == size ? 0 : 1;
}
