/* A small C program part for test_symbolizer.cpp, compiled with -g -O0 so that its globals, its
 * array of mutexes, its static local and its call sites are in the debug info exactly as written. */
#include <pthread.h>
#include <stdint.h>

pthread_mutex_t account_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t forks[5];
struct bank {
    long balance;
    pthread_mutex_t lock;
} the_bank;
pthread_rwlock_t tables[3];
struct ledger {
    int id;
    pthread_mutex_t lock;
    long entries[3];
} ledgers[4];
pthread_spinlock_t grid[3][4];

pthread_mutex_t* fixture_static_local(void)
{
    static pthread_mutex_t local_lock = PTHREAD_MUTEX_INITIALIZER;
    return &local_lock;
}

__attribute__((noinline)) uintptr_t fixture_return_address(void)
{
    return (uintptr_t)__builtin_return_address(0);
}

int fixture_call_line = __LINE__ + 4; /* the line of the call below */

__attribute__((noinline)) uintptr_t fixture_caller(void)
{
    uintptr_t ra = fixture_return_address();
    return ra;
}
