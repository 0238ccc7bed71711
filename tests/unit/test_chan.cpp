// ravel::chan and ravel::select (ravel/chan.hpp): Go's semantics, case by case. The stress and
// fairness tests are in test_chan_stress.cpp (also built under ThreadSanitizer).
#include <ravel/chan.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Polls until pred() holds or the time is up; true when it held.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms)
{
    auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

TEST(Chan, WithoutTheRuntimeTheHooksAreAbsent)
{
    EXPECT_EQ(ravel_annotate_api(), nullptr) << "the unit tests run without libravel_rt.so";
}

TEST(Chan, UnbufferedSendWaitsForAReceiver)
{
    ravel::chan<int> c;
    std::atomic<bool> sent { false };
    std::thread sender([&] {
        c.send(7);
        sent = true;
    });
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(sent) << "an unbuffered send completed with no receiver";
    EXPECT_EQ(c.recv(), 7);
    sender.join();
    EXPECT_TRUE(sent);
}

TEST(Chan, UnbufferedTrySendNeedsAWaitingReceiver)
{
    ravel::chan<int> c;
    EXPECT_FALSE(c.try_send(1));
    EXPECT_FALSE(c.try_recv());
    std::optional<int> got;
    std::thread receiver([&] { got = c.recv(); });
    ASSERT_TRUE(eventually([&] { return c.try_send(5); }));
    receiver.join();
    EXPECT_EQ(got, 5);
}

TEST(Chan, BufferedIsFifoAndFullAtCapacity)
{
    ravel::chan<int> c(3, "fifo");
    EXPECT_EQ(c.capacity(), 3u);
    c.send(1);
    c.send(2);
    EXPECT_TRUE(c.try_send(3));
    EXPECT_FALSE(c.try_send(4)) << "full";
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.recv(), 1);
    EXPECT_EQ(c.try_recv(), 2);
    EXPECT_EQ(c.recv(), 3);
    EXPECT_FALSE(c.try_recv()) << "empty";
}

TEST(Chan, BlockedSenderEntersWhenASlotFrees)
{
    ravel::chan<int> c(1);
    c.send(1);
    std::atomic<bool> sent { false };
    std::thread sender([&] {
        c.send(2);
        sent = true;
    });
    std::this_thread::sleep_for(30ms);
    EXPECT_FALSE(sent);
    EXPECT_EQ(c.recv(), 1);
    sender.join();
    EXPECT_EQ(c.recv(), 2) << "the waiting sender's value follows in order";
}

TEST(Chan, RecvOnClosedDrainsThenNullopt)
{
    ravel::chan<std::string> c(4);
    c.send("a");
    c.send("b");
    c.close();
    EXPECT_TRUE(c.closed());
    EXPECT_EQ(c.recv(), "a");
    EXPECT_EQ(c.recv(), "b");
    EXPECT_EQ(c.recv(), std::nullopt);
    EXPECT_EQ(c.recv(), std::nullopt);
    EXPECT_EQ(c.try_recv(), std::nullopt);
}

TEST(Chan, SendOnClosedAndSecondCloseThrow)
{
    ravel::chan<int> c(2);
    c.close();
    EXPECT_THROW(c.send(1), ravel::chan_closed);
    EXPECT_THROW(c.try_send(1), ravel::chan_closed);
    EXPECT_THROW(c.close(), ravel::chan_closed);
}

TEST(Chan, CloseWakesEveryBlockedReceiverAndSender)
{
    ravel::chan<int> empty;
    ravel::chan<int> full(1);
    full.send(0);
    std::atomic<int> receiversDone { 0 }, sendersThrew { 0 };
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; i++) {
        threads.emplace_back([&] {
            if (!empty.recv())
                receiversDone++;
        });
        threads.emplace_back([&] {
            try {
                full.send(1);
            } catch (const ravel::chan_closed&) {
                sendersThrew++;
            }
        });
    }
    std::this_thread::sleep_for(50ms);
    empty.close();
    full.close();
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(receiversDone, 3);
    EXPECT_EQ(sendersThrew, 3);
    EXPECT_EQ(full.recv(), 0) << "what was buffered before the close is still delivered";
    EXPECT_EQ(full.recv(), std::nullopt);
}

TEST(Chan, MoveOnlyElements)
{
    ravel::chan<std::unique_ptr<int>> buffered(2);
    buffered.send(std::make_unique<int>(1));
    auto p = std::make_unique<int>(2);
    EXPECT_TRUE(buffered.try_send(std::move(p)));
    EXPECT_EQ(p, nullptr);
    auto q = std::make_unique<int>(3);
    EXPECT_FALSE(buffered.try_send(std::move(q)));
    ASSERT_NE(q, nullptr) << "a failed try_send leaves the value with the caller";
    EXPECT_EQ(**buffered.recv(), 1);
    EXPECT_EQ(**buffered.recv(), 2);

    ravel::chan<std::unique_ptr<int>> rendezvous;
    std::thread sender([&] { rendezvous.send(std::make_unique<int>(42)); });
    EXPECT_EQ(**rendezvous.recv(), 42);
    sender.join();

    std::thread selector([&] { ravel::select(ravel::on_send(rendezvous, std::make_unique<int>(9), [] {})); });
    EXPECT_EQ(**rendezvous.recv(), 9);
    selector.join();
}

TEST(Select, PicksTheReadyCaseAndReturnsItsPosition)
{
    ravel::chan<int> a, b(1);
    b.send(5);
    int got = 0;
    std::size_t which = ravel::select(ravel::on_recv(a, [&](int v) { got = v; }),
                                      ravel::on_recv(b, [&](int v) { got = v * 10; }));
    EXPECT_EQ(which, 1u);
    EXPECT_EQ(got, 50);
}

TEST(Select, DefaultWhenNothingIsReady)
{
    ravel::chan<int> a, b(1);
    b.send(0); // full: the send case is not ready either
    bool ranDefault = false;
    std::size_t which = ravel::select(ravel::on_recv(a, [](int) {}), ravel::on_send(b, 1, [] {}),
                                      ravel::on_default([&] { ranDefault = true; }));
    EXPECT_EQ(which, 2u);
    EXPECT_TRUE(ranDefault);
    EXPECT_EQ(b.size(), 1u) << "the send case sent nothing";
}

TEST(Select, TimeoutFiresAfterTheDuration)
{
    ravel::chan<int> a;
    auto start = std::chrono::steady_clock::now();
    bool timedOut = false;
    ravel::select(ravel::on_recv(a, [](int) {}), ravel::on_timeout(40ms, [&] { timedOut = true; }));
    EXPECT_TRUE(timedOut);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 40ms);
    EXPECT_FALSE(a.try_send(1)) << "the timed-out select left no receiver behind";
}

TEST(Select, BlocksUntilASenderArrives)
{
    ravel::chan<int> a, b;
    std::thread sender([&] {
        std::this_thread::sleep_for(30ms);
        b.send(3);
    });
    int got = 0;
    EXPECT_EQ(ravel::select(ravel::on_recv(a, [&](int v) { got = v; }), ravel::on_recv(b, [&](int v) { got = -v; })),
              1u);
    EXPECT_EQ(got, -3);
    sender.join();
}

TEST(Select, BlockedSendCaseIsTakenByAReceiver)
{
    ravel::chan<std::string> out;
    bool sent = false;
    std::thread selector([&] { ravel::select(ravel::on_send(out, std::string("hello"), [&] { sent = true; })); });
    EXPECT_EQ(out.recv(), "hello");
    selector.join();
    EXPECT_TRUE(sent);
}

TEST(Select, ClosedChannelIsReadyForAnOptionalCallback)
{
    ravel::chan<int> c;
    c.close();
    bool sawClosed = false;
    ravel::select(ravel::on_recv(c, [&](std::optional<int> v) { sawClosed = !v; }));
    EXPECT_TRUE(sawClosed);

    // A callback taking T never sees "closed": the case is ignored, like a nil channel in Go.
    bool timedOut = false;
    ravel::select(ravel::on_recv(c, [](int) { FAIL() << "closed channel delivered a value"; }),
                  ravel::on_timeout(20ms, [&] { timedOut = true; }));
    EXPECT_TRUE(timedOut);
}

TEST(Select, CloseWakesABlockedSelect)
{
    ravel::chan<int> a, b;
    std::optional<int> got = 1;
    std::thread selector([&] {
        ravel::select(ravel::on_recv(a, [&](std::optional<int> v) { got = v; }), ravel::on_recv(b, [](int) {}));
    });
    std::this_thread::sleep_for(30ms);
    a.close();
    selector.join();
    EXPECT_EQ(got, std::nullopt);
}

TEST(Select, SendCaseOnClosedChannelThrows)
{
    ravel::chan<int> a(1);
    a.close();
    EXPECT_THROW(ravel::select(ravel::on_send(a, 1, [] {})), ravel::chan_closed);

    ravel::chan<int> b;
    std::thread closer([&] {
        std::this_thread::sleep_for(30ms);
        b.close();
    });
    EXPECT_THROW(ravel::select(ravel::on_send(b, 1, [] {})), ravel::chan_closed) << "closed while the select waited";
    closer.join();
}

TEST(Select, SameChannelTwice)
{
    ravel::chan<int> c(1);
    c.send(4);
    int sum = 0;
    ravel::select(ravel::on_recv(c, [&](int v) { sum += v; }), ravel::on_recv(c, [&](int v) { sum += v; }));
    EXPECT_EQ(sum, 4);

    // Both directions on one unbuffered channel: the select never pairs with itself; another
    // thread takes one side.
    ravel::chan<int> u;
    std::size_t which = 99;
    std::thread selector([&] { which = ravel::select(ravel::on_send(u, 8, [] {}), ravel::on_recv(u, [](int) {})); });
    EXPECT_EQ(u.recv(), 8);
    selector.join();
    EXPECT_EQ(which, 0u);
}

TEST(Select, OnlyATimeoutIsASleep)
{
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(ravel::select(ravel::on_timeout(10ms, [] {})), 0u);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 10ms);
}

} // namespace
