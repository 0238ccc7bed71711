// Lock classes (base/lock_class.hpp) and the lock-order graph drawn by class: the locks of one
// array, one struct field or one site are one node with a count, edges fold by class pair, and
// the default scope of `ravel graph` (the cycles) leaves out what is on none.
#include "detect/lock_order.hpp"
#include "export/graph_model.hpp"
#include "base/lock_class.hpp"
#include "model_script.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

using namespace ravel;
using ravel::test::ModelScript;

TEST(LockClass, IndicesAreStrippedFromVariableNames)
{
    EXPECT_EQ(lockClassOfName("forks[3]"), "forks[*]");
    EXPECT_EQ(lockClassOfName("accounts[2].m"), "accounts[*].m");
    EXPECT_EQ(lockClassOfName("grid[10][0x1f].lock"), "grid[*][*].lock");
    EXPECT_EQ(lockClassOfName("bank.lock"), "bank.lock");
    EXPECT_EQ(lockClassOfName("account_a"), "account_a");
    EXPECT_EQ(lockClassOfName("map[key]"), "map[key]") << "not an index";
    EXPECT_EQ(lockClassOfName("odd[]"), "odd[]");
    EXPECT_EQ(lockClassOfName("open[12"), "open[12");
}

TEST(LockClass, SiteNamedLocksShareTheirSiteClass)
{
    // ObjectNamer numbers the second and later locks first used at one site.
    EXPECT_EQ(lockClassOfName("std::mutex at cache.cpp:42 #2"), "std::mutex at cache.cpp:42");
    EXPECT_EQ(lockClassOfName("std::mutex at cache.cpp:42"), "std::mutex at cache.cpp:42");
    EXPECT_EQ(lockClassOfName("item #x"), "item #x");
}

TEST(LockClass, AnAddressIsClassedByItsFirstSiteOrIsItsOwnClass)
{
    EXPECT_EQ(lockClassOf("0x55d0a040", "get_item cache.c:42"), "at get_item cache.c:42");
    EXPECT_EQ(lockClassOf("0x55d0a040", ""), "0x55d0a040");
    EXPECT_EQ(lockClassOf("0x55d0a040 #2", ""), "0x55d0a040 #2") << "another generation is another lock";
    EXPECT_EQ(lockClassOf("forks[3]", "eat dining.c:30"), "forks[*]") << "a name beats a site";
}

namespace {

// Names by a table, as the symbolizer would give them.
class TableNaming : public GraphNaming {
public:
    std::map<uint32_t, std::string> names;
    std::string objectName(uint32_t index) override
    {
        auto it = names.find(index);
        return it == names.end() ? "0x" + std::to_string(index) : it->second;
    }
    std::string site(uint32_t) override { return {}; }
};

LockOrderEdge edge(uint32_t from, uint32_t to, uint32_t thread = 2, uint64_t count = 1)
{
    LockOrderEdge e;
    e.from = from;
    e.to = to;
    e.thread = thread;
    e.count = count;
    return e;
}

const GraphNode* nodeLabelled(const GraphModel& g, const std::string& label)
{
    for (const GraphNode& n : g.nodes)
        if (n.label == label)
            return &n;
    return nullptr;
}

} // namespace

TEST(LockClass, LockOrderGraphDrawsOneNodePerClassWithItsCount)
{
    ModelScript s({ "main", "worker" });
    for (uint64_t i = 0; i < 6; i++) // six mutexes, objects 0 to 5 in order of first use
        s.ev(2, RAVEL_EV_ACQUIRED, 0x555555558000 + 64 * i, RAVEL_OBJ_MUTEX, 0);
    const ReplayModel& m = s.model();
    ASSERT_EQ(m.objects().size(), 6u);
    TableNaming naming;
    // Objects 0..5: buckets[0..4] and stats_lock (5).
    for (uint32_t i = 0; i < 5; i++)
        naming.names[i] = "buckets[" + std::to_string(i) + "]";
    naming.names[5] = "stats_lock";
    std::vector<LockOrderEdge> edges { edge(0, 1, 2, 10), edge(1, 2), edge(2, 0), edge(3, 4, 3), edge(4, 3, 3),
                                       edge(5, 0), edge(5, 3) };

    LockOrderSummary sum;
    GraphModel g = lockOrderGraph(m, edges, {}, naming, LockOrderScope { true, false }, &sum);
    ASSERT_EQ(g.nodes.size(), 2u);
    const GraphNode* buckets = nodeLabelled(g, "mutex buckets[*] \u00d75");
    ASSERT_NE(buckets, nullptr) << g.nodes[0].label;
    EXPECT_EQ(buckets->lockClass, "buckets[*]");
    EXPECT_EQ(buckets->instances.size(), 5u) << "every instance reachable";
    EXPECT_NE(buckets->tooltip.find("buckets[3]"), std::string::npos) << buckets->tooltip;
    ASSERT_NE(nodeLabelled(g, "mutex stats_lock"), nullptr);
    ASSERT_EQ(g.edges.size(), 2u) << "buckets -> buckets, stats_lock -> buckets";
    const GraphEdge& self = g.edges[0];
    EXPECT_EQ(self.from, self.to);
    EXPECT_NE(self.label.find("5 lock pairs, 14 times"), std::string::npos) << self.label;
    EXPECT_EQ(sum.locks, 6u);
    EXPECT_EQ(sum.classes, 2u);
    EXPECT_NE(g.title.find("2 lock classes (6 locks)"), std::string::npos) << g.title;

    // The cycles only: stats_lock orders before buckets but nothing orders back.
    GraphModel c = lockOrderGraph(m, edges, {}, naming, LockOrderScope { true, true }, &sum);
    ASSERT_EQ(c.nodes.size(), 1u);
    EXPECT_EQ(c.nodes[0].label, "mutex buckets[*] \u00d75");
    EXPECT_EQ(sum.drawnClasses, 1u);
    EXPECT_EQ(sum.drawnLocks, 5u);
    EXPECT_EQ(sum.drawnEdges, 5u);
    EXPECT_NE(c.subtitle.find("only the cycles: 5 of 6 locks"), std::string::npos) << c.subtitle;

    // By lock: one node per lock, each knowing its class.
    GraphModel l = lockOrderGraph(m, edges, {}, naming, LockOrderScope { false, true });
    EXPECT_EQ(l.nodes.size(), 5u);
    for (const GraphNode& n : l.nodes)
        EXPECT_EQ(n.lockClass, "buckets[*]");
}

TEST(LockClass, CyclesAreTheStronglyConnectedParts)
{
    // 0 -> 1 -> 2 -> 0 is a cycle, 2 -> 3 -> 4 is not, 4 -> 4 (a lock requested while held) is.
    std::vector<LockOrderEdge> edges { edge(0, 1), edge(1, 2), edge(2, 0), edge(2, 3), edge(3, 4), edge(4, 4) };
    std::vector<bool> on = edgesOnCycles(edges);
    EXPECT_EQ(on, (std::vector<bool> { true, true, true, false, false, true }));

    // A chain of 100,000 locks closed into one cycle: no recursion to overflow.
    std::vector<LockOrderEdge> chain;
    for (uint32_t i = 0; i < 100'000; i++)
        chain.push_back(edge(i, (i + 1) % 100'000));
    std::vector<bool> all = edgesOnCycles(chain);
    EXPECT_EQ(std::count(all.begin(), all.end(), true), 100'000);
}
