// abba_std: the ABBA deadlock in idiomatic C++. Account::transfer() locks its own std::mutex,
// then the other account's, with std::lock_guard; two threads transfer in opposite directions.
// (std::scoped_lock(m, to.m) would be the fix.)
//
// HANGS, every run: both threads hold their first lock before either asks for the second (they
// wait for each other on an atomic counter in between). Expected finding: certain deadlock
// between two threads in Account::transfer, over `checking.m` and `savings.m`; main waits in join.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

namespace {
std::atomic<int> holding_first {0};
}

class Account {
public:
    void transfer(Account& to, long amount)
    {
        std::lock_guard<std::mutex> mine(m);
        // Stands in for unlucky timing: wait until the other transfer holds its first lock too.
        holding_first++;
        while (holding_first < 2)
            std::this_thread::yield();
        std::lock_guard<std::mutex> theirs(to.m);
        balance -= amount;
        to.balance += amount;
    }

    std::mutex m;
    long balance = 100;
};

Account checking;
Account savings;

int main()
{
    std::thread t1([] { checking.transfer(savings, 10); });
    std::thread t2([] { savings.transfer(checking, 20); });
    t1.join();
    t2.join();
    std::printf("checking %ld, savings %ld\n", checking.balance, savings.balance);
    return 0;
}
