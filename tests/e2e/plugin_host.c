// A C program (no libstdc++ of its own) that loads a C++ plugin the way interpreters load
// extension modules, and calls it twice. The runtime aborted: "cannot find the real
// __cxa_guard_acquire".
//
//   plugin_host PLUGIN    prints "plugin-42 plugin-42"
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char** argv)
{
    if (argc < 2)
        return 2;
    void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    const char* (*name)(void) = (const char* (*)(void))dlsym(h, "pluginName");
    printf("%s %s\n", name(), name());
    return 0;
}
