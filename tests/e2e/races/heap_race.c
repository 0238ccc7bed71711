/* A data race on a heap block: two threads update one malloc'd record without a lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct Account {
    long id;
    long balance;
};

static void* deposit(void* arg)
{
    struct Account* a = arg;
    for (int i = 0; i < 10000; i++)
        a->balance += 1;
    return NULL;
}

int main(void)
{
    struct Account* account = calloc(1, sizeof *account);
    pthread_t a, b;
    pthread_create(&a, NULL, deposit, account);
    pthread_create(&b, NULL, deposit, account);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%ld\n", account->balance);
    free(account);
    return 0;
}
