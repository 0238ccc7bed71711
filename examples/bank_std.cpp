// bank_std: a bank of accounts, one std::mutex each in the global array `accounts[]`; worker
// std::threads move money between random pairs. Half the transfers lock both accounts with
// std::scoped_lock (deadlock-free by its try-and-back-off algorithm), half lock them in a global
// order (lower index first). The total is checked at the end.
//
// Usage: bank_std [THREADS [TRANSFERS]]   (defaults 4 and 20000)
//
// Correct program. Expected finding: none (no potential deadlock either: the ordered transfers
// never take a higher-numbered account before a lower one, and scoped_lock never blocks while
// holding). `ravel info` shows the mutexes `accounts[0].m` .. `accounts[7].m`.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

struct Account {
    std::mutex m;
    long balance = 1000;
};

constexpr int kAccounts = 8;
Account accounts[kAccounts];

namespace {

void transferScoped(Account& from, Account& to, long amount)
{
    std::scoped_lock both(from.m, to.m);
    from.balance -= amount;
    to.balance += amount;
}

void transferOrdered(int from, int to, long amount)
{
    // A global order on the locks (by index) rules out a cycle.
    int first = from < to ? from : to;
    int second = from < to ? to : from;
    std::lock_guard<std::mutex> a(accounts[first].m);
    std::lock_guard<std::mutex> b(accounts[second].m);
    accounts[from].balance -= amount;
    accounts[to].balance += amount;
}

void teller(unsigned seed, long transfers)
{
    // A private LCG: the same transfers every run, and no rand() with its hidden lock.
    unsigned state = seed;
    auto next = [&state] {
        state = state * 1103515245u + 12345u;
        return (state >> 16) & 0x7fff;
    };
    for (long i = 0; i < transfers; i++) {
        int from = static_cast<int>(next() % kAccounts);
        int to = static_cast<int>(next() % (kAccounts - 1));
        if (to >= from)
            to++;
        long amount = static_cast<long>(next() % 50);
        if (i % 2 == 0)
            transferScoped(accounts[from], accounts[to], amount);
        else
            transferOrdered(from, to, amount);
    }
}

} // namespace

int main(int argc, char** argv)
{
    int threads = argc > 1 ? std::atoi(argv[1]) : 4;
    long transfers = argc > 2 ? std::atol(argv[2]) : 20000;
    if (threads < 1 || threads > 64 || transfers < 0) {
        std::fprintf(stderr, "usage: %s [THREADS (1..64) [TRANSFERS]]\n", argv[0]);
        return 2;
    }

    std::vector<std::thread> tellers;
    for (int i = 0; i < threads; i++)
        tellers.emplace_back(teller, 17u + static_cast<unsigned>(i), transfers);
    for (auto& t : tellers)
        t.join();

    long total = 0;
    for (auto& a : accounts)
        total += a.balance;
    std::printf("total %ld\n", total);
    return total == 1000L * kAccounts ? 0 : 1;
}
