// A data race inside std::vector: two threads push_back into one vector without a lock. Both
// read and write the vector's end pointer (and, on growth, reallocate under each other); here the
// capacity is reserved so the run does not crash, and the race is still there. ravel reports a
// data-race on `names` (inside std::vector's members), with both stacks through push_back.
//   ravel-c++ -O1 -g racy_vector.cpp -o racy_vector && ravel run -- ./racy_vector
#include <cstdio>
#include <thread>
#include <vector>

std::vector<int> names;

static void add(int base)
{
    for (int i = 0; i < 1000; i++)
        names.push_back(base + i);
}

int main()
{
    names.reserve(4096);
    std::thread a(add, 0);
    std::thread b(add, 10000);
    a.join();
    b.join();
    std::printf("%zu names (expected 2000)\n", names.size());
}
