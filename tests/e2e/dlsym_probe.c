// A program that probes for optional symbols with dlsym before it frees anything, as database
// servers do at start-up. glibc frees the previous lookup's error string through free() on the
// next lookup; a runtime whose free() looked up the real free with dlsym freed that string twice
// ("free(): double free detected in tcache 2"). The program checks that dlerror() still says
// what its own lookups did, so a runtime that clears or replaces the error is caught too.
//
//   dlsym_probe    prints "missing missing found error-kept locks 3"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    void* a = dlsym(RTLD_DEFAULT, "missing_1");
    void* b = dlsym(RTLD_DEFAULT, "missing_2");
    void* c = dlsym(RTLD_DEFAULT, "printf");
    void* d = dlsym(RTLD_DEFAULT, "missing_3");
    free(malloc(32)); // the first free: a runtime resolving free lazily looks it up now
    const char* err = dlerror();
    int kept = err && strstr(err, "missing_3") != NULL;
    int locks = 0;
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&probe_lock);
        locks++;
        pthread_mutex_unlock(&probe_lock);
    }
    printf("%s %s %s %s locks %d\n", a ? "found" : "missing", b ? "found" : "missing", c ? "found" : "missing",
        d ? "found" : (kept ? "error-kept" : "error-lost"), locks);
    return 0;
}
