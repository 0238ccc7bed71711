// A C++ plugin: its guarded static and its std::mutex reach the runtime's __cxa_guard_acquire
// and pthread_mutex_lock, whose real functions are in a libstdc++ that only this plugin loaded
// (RTLD_LOCAL, outside the global scope dlsym(RTLD_NEXT) searches).
#include <mutex>
#include <string>
static std::string makeName()
{
    return std::string("plugin-") + std::to_string(42);
}
extern "C" const char* pluginName();
extern "C" const char* pluginName()
{
    static std::string name = makeName(); // a guarded static: __cxa_guard_acquire
    static std::mutex m;
    std::lock_guard<std::mutex> g(m);
    return name.c_str();
}
