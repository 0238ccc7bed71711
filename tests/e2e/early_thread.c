// Lets the thread that libe2e_early_thread's constructor started run, and joins it.
//
//   early_thread    prints "early thread done"
#include <stdio.h>

extern volatile int early_go;
void early_join(void);

int main(void)
{
    early_go = 1;
    early_join();
    printf("early thread done\n");
    return 0;
}
