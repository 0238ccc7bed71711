/* proc_pipeline: a correct pipeline of three processes joined by pipes, the CSP shape with
 * processes for threads: a generator child writes the numbers 1..N, a squarer child reads them and
 * writes their squares, and the parent reads the squares and adds them up. Every process closes
 * the pipe ends it does not use, so each reader sees end-of-file when its writer is done.
 *
 *   proc_pipeline [N]     default 100000
 *
 * Terminates: prints "sum of squares 1..N = S" (S = N(N+1)(2N+1)/6, the same with or without
 * ravel) and exits 0. Expected under `ravel run`: no finding; the run has three processes
 * (`ravel info` lists them, the GUI shows a lane group for each).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_all(int fd, const void* buf, size_t n)
{
    const char* p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror("write");
            _exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* One whole number from the pipe, or 0 at its end. */
static int read_number(FILE* in, unsigned long long* v) { return fread(v, sizeof *v, 1, in) == 1; }

static void generator(int out, unsigned long long n)
{
    for (unsigned long long i = 1; i <= n; i++)
        write_all(out, &i, sizeof i);
}

static void squarer(int in, int out)
{
    FILE* f = fdopen(in, "r");
    unsigned long long v;
    while (read_number(f, &v)) {
        unsigned long long sq = v * v;
        write_all(out, &sq, sizeof sq);
    }
}

int main(int argc, char** argv)
{
    unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    int numbers[2], squares[2];
    if (pipe(numbers) || pipe(squares)) {
        perror("pipe");
        return 1;
    }
    pid_t gen = fork();
    if (gen == 0) {
        close(numbers[0]);
        close(squares[0]);
        close(squares[1]);
        generator(numbers[1], n);
        _exit(0);
    }
    pid_t sq = fork();
    if (sq == 0) {
        close(numbers[1]);
        close(squares[0]);
        squarer(numbers[0], squares[1]);
        _exit(0);
    }
    close(numbers[0]);
    close(numbers[1]);
    close(squares[1]);
    FILE* in = fdopen(squares[0], "r");
    unsigned long long v, sum = 0, count = 0;
    while (read_number(in, &v)) {
        sum += v;
        count++;
    }
    int s1 = 0, s2 = 0;
    waitpid(gen, &s1, 0);
    waitpid(sq, &s2, 0);
    printf("sum of squares 1..%llu = %llu\n", n, sum);
    return count == n && WIFEXITED(s1) && WEXITSTATUS(s1) == 0 && WIFEXITED(s2) && WEXITSTATUS(s2) == 0 ? 0 : 1;
}
