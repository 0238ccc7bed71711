/* A statically linked program (built with -static): the runtime cannot be preloaded into it, and
 * `ravel run` must say so in one line and still run it. Prints one line, exits with argv[1]. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv)
{
    puts("static ok");
    return argc > 1 ? atoi(argv[1]) : 0;
}
