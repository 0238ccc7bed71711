// ravel::chan under stress: many producers and consumers, close racing with sends and receives,
// select fairness, no lost wake-ups. Built twice: as a unit test, and under ThreadSanitizer
// (clang-19 -fsanitize=thread, the chan_stress_tsan test), which must find nothing: every hand-off
// in the channel is an acquire/release pair TSan understands.
#include <ravel/chan.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RAVEL_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(RAVEL_TSAN)
constexpr int kScale = 4; // TSan is ~10x slower: fewer messages, same interleavings per message
#else
constexpr int kScale = 1;
#endif

// Every value 0..producers*perProducer-1 is sent once; each must be received exactly once.
void manyToMany(std::size_t capacity, int producers, int consumers, int perProducer)
{
    ravel::chan<int> c(capacity);
    std::vector<std::atomic<int>> seen(static_cast<std::size_t>(producers * perProducer));
    std::atomic<int> producing { producers };
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; p++)
        threads.emplace_back([&, p] {
            for (int i = 0; i < perProducer; i++)
                c.send(p * perProducer + i);
            if (producing.fetch_sub(1) == 1)
                c.close();
        });
    std::atomic<long> received { 0 };
    for (int k = 0; k < consumers; k++)
        threads.emplace_back([&] {
            int last[64];
            std::fill(std::begin(last), std::end(last), -1);
            while (std::optional<int> v = c.recv()) {
                seen[static_cast<std::size_t>(*v)]++;
                // Per producer, values arrive at one consumer in the order they were sent.
                int p = *v / perProducer;
                EXPECT_GT(*v, last[p]) << "producer " << p << " reordered";
                last[p] = *v;
                received++;
            }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(received, producers * perProducer);
    int wrong = 0;
    for (auto& s : seen)
        wrong += s != 1;
    EXPECT_EQ(wrong, 0) << "values lost or duplicated";
}

TEST(ChanStress, BufferedOneToOne) { manyToMany(16, 1, 1, 100000 / kScale); }
TEST(ChanStress, BufferedManyToMany) { manyToMany(16, 4, 4, 25000 / kScale); }
TEST(ChanStress, UnbufferedOneToOne) { manyToMany(0, 1, 1, 50000 / kScale); }
TEST(ChanStress, UnbufferedManyToMany) { manyToMany(0, 4, 4, 10000 / kScale); }
TEST(ChanStress, CapacityOneManyToMany) { manyToMany(1, 3, 3, 10000 / kScale); }

// close() racing with senders and receivers: every send either delivered its value or threw,
// every delivered value is received once, and nobody hangs.
TEST(ChanStress, CloseRacesWithSendsAndReceives)
{
    for (int round = 0; round < 200 / kScale; round++) {
        ravel::chan<int> c(round % 3 == 0 ? 0 : static_cast<std::size_t>(round % 5));
        std::atomic<int> delivered { 0 }, threw { 0 }, received { 0 };
        std::vector<std::thread> threads;
        for (int p = 0; p < 3; p++)
            threads.emplace_back([&] {
                for (int i = 0; i < 50; i++) {
                    try {
                        c.send(i);
                        delivered++;
                    } catch (const ravel::chan_closed&) {
                        threw++;
                        return;
                    }
                }
            });
        for (int k = 0; k < 2; k++)
            threads.emplace_back([&] {
                while (c.recv())
                    received++;
            });
        std::this_thread::sleep_for(std::chrono::microseconds(50 * (round % 7)));
        c.close();
        for (auto& t : threads)
            t.join();
        ASSERT_EQ(received, delivered) << "round " << round;
        ASSERT_LE(threw, 3);
    }
}

// Concurrent closers: exactly one close succeeds.
TEST(ChanStress, ExactlyOneCloseWins)
{
    for (int round = 0; round < 100 / kScale; round++) {
        ravel::chan<int> c(1);
        std::atomic<int> ok { 0 }, threw { 0 };
        std::vector<std::thread> threads;
        for (int i = 0; i < 4; i++)
            threads.emplace_back([&] {
                try {
                    c.close();
                    ok++;
                } catch (const ravel::chan_closed&) {
                    threw++;
                }
            });
        for (auto& t : threads)
            t.join();
        ASSERT_EQ(ok, 1);
        ASSERT_EQ(threw, 3);
    }
}

// With every case ready, each is chosen about as often: uniformly at random.
TEST(ChanStress, SelectIsFairAmongReadyCases)
{
    constexpr int kCases = 3, kRounds = 30000;
    ravel::chan<int> a(1), b(1), c(1);
    int counts[kCases] = {};
    for (int r = 0; r < kRounds; r++) {
        // Refill whatever the last round took, so all three are ready again.
        a.try_send(0);
        b.try_send(1);
        c.try_send(2);
        ravel::select(ravel::on_recv(a, [&](int v) { counts[v]++; }), ravel::on_recv(b, [&](int v) { counts[v]++; }),
                      ravel::on_recv(c, [&](int v) { counts[v]++; }));
    }
    // Expected 10000 each; 5 standard deviations (~408) is a generous bound for a fair choice.
    for (int i = 0; i < kCases; i++)
        EXPECT_NEAR(counts[i], kRounds / kCases, 450) << "case " << i;
}

// A select that blocks on several channels is woken by whichever sender comes: many rounds of
// blocking selects against senders on random channels, none lost.
TEST(ChanStress, BlockingSelectsLoseNoWakeUps)
{
    const int rounds = 20000 / kScale;
    ravel::chan<int> a, b(2), quit;
    std::atomic<long> got { 0 };
    std::thread selector([&] {
        bool running = true;
        while (running)
            ravel::select(ravel::on_recv(a, [&](int) { got++; }), ravel::on_recv(b, [&](int) { got++; }),
                          ravel::on_recv(quit, [&](std::optional<int>) { running = false; }));
    });
    std::vector<std::thread> senders;
    for (int s = 0; s < 2; s++)
        senders.emplace_back([&, s] {
            for (int i = 0; i < rounds; i++)
                ((i + s) % 2 ? a : b).send(i);
        });
    for (auto& t : senders)
        t.join();
    quit.close();
    selector.join();
    // A send on the buffered channel returns once the message is in its buffer; the selector may
    // take the closed quit before the last one or two (both ready: a fair choice). Still there.
    long left = 0;
    while (b.try_recv())
        left++;
    EXPECT_LE(left, 2L);
    EXPECT_EQ(got + left, 2L * rounds);
}

// Two threads that each select on sending to and receiving from the other: a select's waiters
// are claimed by one counterpart at a time, and no message is taken twice.
TEST(ChanStress, SelectsOnBothSidesPairUp)
{
    const int rounds = 10000 / kScale;
    ravel::chan<int> ab, ba;
    std::atomic<long> sum { 0 };
    auto side = [&](ravel::chan<int>& out, ravel::chan<int>& in, int base) {
        int sent = 0, received = 0;
        while (sent < rounds || received < rounds) {
            if (sent < rounds && received < rounds)
                ravel::select(ravel::on_send(out, base + sent, [&] { sent++; }),
                              ravel::on_recv(in, [&](int v) {
                                  sum += v;
                                  received++;
                              }));
            else if (sent < rounds)
                out.send(base + sent++);
            else if (std::optional<int> v = in.recv()) {
                sum += *v;
                received++;
            }
        }
    };
    std::thread left(side, std::ref(ab), std::ref(ba), 0);
    std::thread right(side, std::ref(ba), std::ref(ab), 0);
    left.join();
    right.join();
    EXPECT_EQ(sum, 2L * rounds * (rounds - 1) / 2);
}

// Timed selects racing with senders: a value is either taken by the select (and counted) or
// left in the channel; never lost, never taken twice.
TEST(ChanStress, TimeoutsRacingWithSendersLoseNothing)
{
    const int rounds = 3000 / kScale;
    ravel::chan<int> c;
    std::atomic<long> taken { 0 }, timeouts { 0 };
    std::atomic<bool> done { false };
    std::thread selector([&] {
        while (!done)
            ravel::select(ravel::on_recv(c, [&](int) { taken++; }), ravel::on_timeout(50us, [&] { timeouts++; }));
    });
    while (timeouts == 0) // the selector is looping: from here on sends race with its timeouts
        std::this_thread::yield();
    long sent = 0;
    for (int i = 0; i < rounds; i++)
        if (c.try_send(i))
            sent++;
        else
            std::this_thread::yield();
    done = true;
    selector.join();
    EXPECT_EQ(taken, sent);
}

} // namespace
