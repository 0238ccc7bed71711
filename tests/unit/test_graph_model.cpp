// The graphs `ravel graph` draws and the GUI will show: which nodes and edges a wait-for or
// lock-order graph has at an instant, which are deadlocked, and that the Graphviz export is valid
// DOT (parsed back with cgraph), SVG naming every node, PNG and PDF, and laid-out geometry.
#include "detect/end_of_run.hpp"
#include "export/graph_model.hpp"
#include "export/graphviz_export.hpp"
#include "detect/lock_order.hpp"
#include "model/replay_model.hpp"
#include "trace_builder.hpp"

#include <graphviz/cgraph.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <unistd.h>

using namespace ravel;
using ravel::test::TraceBuilder;

namespace {

constexpr uint64_t A = 0x555555558040, B = 0x555555558080;

uint64_t pthreadOf(uint32_t tid) { return 0x7f0000001000ull * tid; }
uint64_t forkAt(unsigned i) { return 0x555555559000ull + 40 * i; }

// A run written in its global order, each event 1000 ticks (500 ns) after the previous one.
class Script {
public:
    Script() { thread(1, "", 0); }
    ~Script()
    {
        if (!m_dir.empty())
            std::filesystem::remove_all(m_dir);
    }

    void thread(uint32_t tid, const char* name, uint32_t parent)
    {
        RavelThreadEntry& t = b.thread(tid, name);
        t.parent = parent;
        t.pthread = pthreadOf(tid);
        t.start_tsc = TraceBuilder::StartTsc + m_tsc + 500;
    }
    void ev(uint32_t tid, unsigned kind, uint64_t obj, unsigned flags = 0, uint32_t aux = 0)
    {
        m_tsc += 1000;
        b.time(tid, m_tsc);
        b.event(tid, kind, obj, aux, 0, flags);
    }
    void spawn(uint32_t child, const char* name)
    {
        thread(child, name, 1);
        ev(1, RAVEL_EV_THREAD_CREATE, pthreadOf(child), RAVEL_OBJ_THREAD, child);
        ev(child, RAVEL_EV_THREAD_START, pthreadOf(child), 0, 1);
    }
    void lock(uint32_t tid, uint64_t obj) { ev(tid, RAVEL_EV_ACQUIRED, obj, RAVEL_OBJ_MUTEX, m_seq[obj]++); }
    void request(uint32_t tid, uint64_t obj) { ev(tid, RAVEL_EV_ACQ_REQ, obj, RAVEL_OBJ_MUTEX); }
    void joinRequest(uint32_t tid, uint32_t joined)
    {
        ev(tid, RAVEL_EV_JOIN_REQ, pthreadOf(joined), RAVEL_OBJ_THREAD, joined);
    }
    // The time of the last event written, from the trace start.
    uint64_t nowNs() const { return m_tsc / 2; }

    const ReplayModel& model()
    {
        if (!m_model) {
            char dir[] = "/tmp/ravel-graph-XXXXXX";
            if (!mkdtemp(dir))
                throw std::runtime_error("mkdtemp");
            m_dir = dir;
            b.write(m_dir + "/t.ravel");
            m_reader = std::make_unique<TraceReader>(m_dir + "/t.ravel");
            m_model = std::make_unique<ReplayModel>(*m_reader);
        }
        return *m_model;
    }

    TraceBuilder b { 1 << 16 };

private:
    uint64_t m_tsc = 1000;
    std::map<uint64_t, uint32_t> m_seq;
    std::string m_dir;
    std::unique_ptr<TraceReader> m_reader;
    std::unique_ptr<ReplayModel> m_model;
};

// ABBA: T2 holds A and wants B, T3 holds B and wants A, main joins T2. Returns when the last
// request was made.
uint64_t abba(Script& s)
{
    s.spawn(2, "teller-ab");
    s.spawn(3, "teller-ba");
    s.lock(2, A);
    s.lock(3, B);
    s.request(2, B);
    s.request(3, A);
    uint64_t formed = s.nowNs();
    s.joinRequest(1, 2);
    return formed;
}

const GraphNode& node(const GraphModel& g, const std::string& id)
{
    size_t i = g.find(id);
    if (i == SIZE_MAX)
        throw std::runtime_error("no node " + id);
    return g.nodes[i];
}

const GraphEdge* edge(const GraphModel& g, const std::string& from, const std::string& to)
{
    for (const GraphEdge& e : g.edges)
        if (g.nodes[e.from].id == from && g.nodes[e.to].id == to)
            return &e;
    return nullptr;
}

std::string objectId(const ReplayModel& m, uint64_t address)
{
    for (uint32_t i = 0; i < m.objects().size(); i++)
        if (m.objects()[i].address == address)
            return fmt::format("o{}", i);
    return "missing";
}

// Dining philosophers with n seats, every one holding the left fork and requesting the right.
void dining(Script& s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        s.spawn(2 + i, fmt::format("philosopher-{}", i).c_str());
    for (unsigned i = 0; i < n; i++)
        s.lock(2 + i, forkAt(i));
    for (unsigned i = 0; i < n; i++)
        s.request(2 + i, forkAt((i + 1) % n));
    s.joinRequest(1, 2);
}

} // namespace

TEST(GraphModel, AbbaAtTheEndIsARedCycleWithMainStuckOnIt)
{
    Script s;
    abba(s);
    const ReplayModel& m = s.model();
    PlainNaming naming(m);
    GraphModel g = waitForGraphAt(m, m.endNs(), naming);
    std::string a = objectId(m, A), b = objectId(m, B);

    EXPECT_EQ(g.kind, GraphKind::WaitFor);
    EXPECT_EQ(g.verdict, Verdict::Certain);
    ASSERT_EQ(g.nodes.size(), 5u); // main, two tellers, two mutexes
    EXPECT_EQ(node(g, "t2").label, "T2 teller-ab");
    EXPECT_EQ(node(g, "t1").label, "T1 main");
    EXPECT_EQ(node(g, a).kind, GraphNodeKind::Object);
    EXPECT_EQ(node(g, a).label.rfind("mutex ", 0), 0u) << node(g, a).label;

    for (const char* id : {"t2", "t3"}) {
        EXPECT_TRUE(node(g, id).deadlocked) << id;
        EXPECT_TRUE(node(g, id).onCycle) << id;
        EXPECT_TRUE(node(g, id).blocked) << id;
    }
    EXPECT_TRUE(node(g, a).deadlocked && node(g, a).onCycle);
    EXPECT_TRUE(node(g, b).deadlocked && node(g, b).onCycle);
    // Main is stuck on the cycle, not part of it.
    EXPECT_TRUE(node(g, "t1").deadlocked);
    EXPECT_FALSE(node(g, "t1").onCycle);

    const GraphEdge* holdsA = edge(g, a, "t2");
    const GraphEdge* waitsB = edge(g, "t2", b);
    const GraphEdge* joins = edge(g, "t1", "t2");
    ASSERT_TRUE(holdsA && waitsB && joins);
    EXPECT_EQ(holdsA->kind, GraphEdgeKind::Holds);
    EXPECT_EQ(holdsA->label, "holds");
    EXPECT_EQ(waitsB->kind, GraphEdgeKind::Waits);
    EXPECT_EQ(waitsB->label, "waits");
    EXPECT_EQ(joins->label, "joins");
    EXPECT_TRUE(holdsA->deadlocked && waitsB->deadlocked && joins->deadlocked);
    EXPECT_EQ(g.edges.size(), 5u);
    EXPECT_NE(g.title.find("deadlock (certain)"), std::string::npos) << g.title;
    EXPECT_NE(g.title.find("2 threads in a cycle, 1 more"), std::string::npos) << g.title;
}

TEST(GraphModel, BeforeTheCycleClosesNothingIsRed)
{
    Script s;
    s.spawn(2, "teller-ab");
    s.spawn(3, "teller-ba");
    s.spawn(4, "idle");
    s.lock(2, A);
    s.lock(3, B);
    s.request(2, B); // waits for T3, which still runs
    uint64_t before = s.nowNs();
    s.request(3, A);
    const ReplayModel& m = s.model();
    PlainNaming naming(m);
    GraphModel g = waitForGraphAt(m, before, naming);

    EXPECT_EQ(g.verdict, Verdict::None);
    EXPECT_EQ(g.deadlockedNodes(), 0u);
    EXPECT_TRUE(node(g, "t2").blocked);
    EXPECT_FALSE(node(g, "t3").blocked);
    EXPECT_NE(edge(g, "t2", objectId(m, B)), nullptr);
    EXPECT_EQ(g.find("t4"), SIZE_MAX) << "a running thread holding nothing is left out";
    EXPECT_NE(g.subtitle.find("2 running threads holding nothing not shown"), std::string::npos) << g.subtitle;
    EXPECT_NE(g.title.find("no deadlock"), std::string::npos) << g.title;
}

TEST(GraphModel, DeadlockFindingIsDrawnWhenItFormed)
{
    Script s;
    uint64_t formed = abba(s);
    const ReplayModel& m = s.model();
    std::vector<Finding> findings = endOfRunFindings(m);
    ASSERT_FALSE(findings.empty());
    ASSERT_EQ(findings[0].kind, "deadlock");
    PlainNaming naming(m);
    GraphModel g = findingGraph(m, findings[0], naming);
    EXPECT_LE(g.atNs, m.endNs());
    EXPECT_GE(g.atNs, formed - 1000);
    EXPECT_TRUE(node(g, "t2").deadlocked);
    EXPECT_TRUE(node(g, "t3").deadlocked);

    // The picture says what the report says, even where the report knew more.
    Finding likely = findings[0];
    likely.certainty = Verdict::Likely;
    GraphModel l = findingGraph(m, likely, naming);
    EXPECT_EQ(l.verdict, Verdict::Likely);
    EXPECT_NE(l.title.find("deadlock (likely)"), std::string::npos) << l.title;
}

TEST(GraphModel, LockOrderPairsAreMergedAndCycleEdgesMarked)
{
    Script s;
    s.spawn(2, "teller-ab");
    s.spawn(3, "teller-ba");
    s.lock(2, A);
    s.lock(3, B);
    const ReplayModel& m = s.model();
    uint32_t a = 0, b = 0;
    for (uint32_t i = 0; i < m.objects().size(); i++) {
        if (m.objects()[i].address == A)
            a = i;
        if (m.objects()[i].address == B)
            b = i;
    }
    std::vector<LockOrderEdge> edges(4);
    edges[0].from = a, edges[0].to = b, edges[0].thread = 2, edges[0].toStack = 1;
    edges[1].from = a, edges[1].to = b, edges[1].thread = 2, edges[1].toStack = 2; // same pair, other site
    edges[2].from = b, edges[2].to = a, edges[2].thread = 3;
    edges[3].from = b, edges[3].to = a, edges[3].thread = 3; // a duplicate instance
    PlainNaming naming(m);
    GraphModel g = lockOrderGraph(m, edges, { 0, 2 }, naming);

    EXPECT_EQ(g.kind, GraphKind::LockOrder);
    ASSERT_EQ(g.nodes.size(), 2u);
    ASSERT_EQ(g.edges.size(), 2u) << "one drawn edge per ordered pair of locks";
    for (const GraphEdge& e : g.edges) {
        EXPECT_EQ(e.kind, GraphEdgeKind::LockOrder);
        EXPECT_TRUE(e.deadlocked);
    }
    EXPECT_NE(g.edges[0].label.find("T2 teller-ab"), std::string::npos) << g.edges[0].label;
    EXPECT_NE(g.edges[1].label.find("T3 teller-ba"), std::string::npos) << g.edges[1].label;
    EXPECT_EQ(g.edges[1].label.find('\n'), std::string::npos) << "duplicate instances print once";
    EXPECT_TRUE(g.nodes[0].onCycle && g.nodes[1].onCycle);
    EXPECT_NE(g.title.find("2 locks, 2 orders, 2 on a potential deadlock cycle"), std::string::npos) << g.title;

    GraphModel none = lockOrderGraph(m, edges, {}, naming);
    EXPECT_EQ(none.deadlockedNodes(), 0u);
    EXPECT_NE(none.title.find("no cycle"), std::string::npos) << none.title;
}

TEST(GraphvizExport, FormatFollowsTheExtension)
{
    EXPECT_EQ(graphFormatForPath("g.dot"), GraphFormat::Dot);
    EXPECT_EQ(graphFormatForPath("dir.x/g.GV"), GraphFormat::Dot);
    EXPECT_EQ(graphFormatForPath("g.svg"), GraphFormat::Svg);
    EXPECT_EQ(graphFormatForPath("g.PNG"), GraphFormat::Png);
    EXPECT_EQ(graphFormatForPath("g.pdf"), GraphFormat::Pdf);
    EXPECT_FALSE(graphFormatForPath("g.txt"));
    EXPECT_FALSE(graphFormatForPath("dir.svg/g"));
    EXPECT_FALSE(graphFormatForPath("g"));
}

TEST(GraphvizExport, DotParsesBackWithEveryNodeAndEdge)
{
    Script s;
    abba(s);
    const ReplayModel& m = s.model();
    PlainNaming naming(m);
    GraphModel g = waitForGraphAt(m, m.endNs(), naming);
    std::string dot = graphToDot(g);

    Agraph_t* parsed = agmemread(dot.c_str());
    ASSERT_NE(parsed, nullptr) << dot;
    EXPECT_EQ(size_t(agnnodes(parsed)), g.nodes.size());
    EXPECT_EQ(size_t(agnedges(parsed)), g.edges.size());
    Agnode_t* t2 = agnode(parsed, const_cast<char*>("t2"), 0);
    ASSERT_NE(t2, nullptr);
    EXPECT_STREQ(agget(t2, const_cast<char*>("label")), "T2 teller-ab");
    EXPECT_STREQ(agget(t2, const_cast<char*>("shape")), "ellipse");
    EXPECT_STREQ(agget(t2, const_cast<char*>("color")), "#d62728");
    EXPECT_STREQ(agget(t2, const_cast<char*>("fontname")), "DejaVu Sans");
    EXPECT_STREQ(agget(parsed, const_cast<char*>("fontname")), "DejaVu Sans");
    Agnode_t* a = agnode(parsed, const_cast<char*>(objectId(m, A).c_str()), 0);
    ASSERT_NE(a, nullptr);
    EXPECT_STREQ(agget(a, const_cast<char*>("shape")), "box");
    size_t dashed = 0;
    for (Agnode_t* n = agfstnode(parsed); n; n = agnxtnode(parsed, n))
        for (Agedge_t* e = agfstout(parsed, n); e; e = agnxtout(parsed, e))
            dashed += std::string(agget(e, const_cast<char*>("style"))) == "dashed";
    EXPECT_EQ(dashed, 3u); // two waits, one join
    agclose(parsed);
}

TEST(GraphvizExport, SvgNamesEveryNodeAndPngPdfHaveTheirMagic)
{
    Script s;
    abba(s);
    const ReplayModel& m = s.model();
    PlainNaming naming(m);
    GraphModel g = waitForGraphAt(m, m.endNs(), naming);

    std::string svg = renderGraph(g, GraphFormat::Svg);
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    for (const GraphNode& n : g.nodes)
        EXPECT_NE(svg.find(n.label), std::string::npos) << n.label;
    EXPECT_NE(svg.find("#d62728"), std::string::npos) << "the deadlocked set is red";
    EXPECT_NE(svg.find("DejaVu Sans"), std::string::npos);

    std::string png = renderGraph(g, GraphFormat::Png);
    ASSERT_GE(png.size(), 8u);
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    std::string pdf = renderGraph(g, GraphFormat::Pdf);
    EXPECT_EQ(pdf.substr(0, 5), "%PDF-");
}

TEST(GraphvizExport, LongCycleIsPinnedIntoRowsAndNothingOverlaps)
{
    Script s;
    dining(s, 32);
    const ReplayModel& m = s.model();
    PlainNaming naming(m);
    GraphModel g = waitForGraphAt(m, m.endNs(), naming);
    ASSERT_EQ(g.cycleNodes(), 64u);
    EXPECT_EQ(graphLayoutEngine(g), "neato");

    GraphLayout l = layoutGraph(g);
    ASSERT_EQ(l.nodes.size(), g.nodes.size());
    ASSERT_EQ(l.edges.size(), g.edges.size());
    EXPECT_GT(l.width, 0);
    EXPECT_GT(l.height, 0);
    // Readable: rows, not a ring two meters across, and no node on top of another.
    EXPECT_LT(l.width, 40 * 72.0);
    EXPECT_LT(l.height, 40 * 72.0);
    for (size_t i = 0; i < l.nodes.size(); i++) {
        const NodeGeometry& p = l.nodes[i];
        EXPECT_GE(p.center.x, 0);
        EXPECT_LE(p.center.x, l.width);
        EXPECT_GE(p.center.y, 0);
        EXPECT_LE(p.center.y, l.height);
        for (size_t j = i + 1; j < l.nodes.size(); j++) {
            const NodeGeometry& q = l.nodes[j];
            bool apart = std::abs(p.center.x - q.center.x) >= (p.width + q.width) / 2
                || std::abs(p.center.y - q.center.y) >= (p.height + q.height) / 2;
            EXPECT_TRUE(apart) << g.nodes[i].label << " overlaps " << g.nodes[j].label;
        }
    }
    for (const EdgeGeometry& e : l.edges) {
        EXPECT_GE(e.curve.size(), 4u);
        EXPECT_TRUE(e.labelPos.has_value());
    }
    EXPECT_TRUE(l.titlePos.has_value());
}

TEST(GraphvizExport, ShortCycleUsesDotAndPositionsAreTopDown)
{
    Script s;
    abba(s);
    const ReplayModel& m = s.model();
    PlainNaming naming(m);
    GraphModel g = waitForGraphAt(m, m.endNs(), naming);
    EXPECT_EQ(graphLayoutEngine(g), "dot");
    GraphLayout l = layoutGraph(g);
    ASSERT_TRUE(l.titlePos.has_value());
    for (const NodeGeometry& n : l.nodes)
        EXPECT_GT(n.center.y, l.titlePos->y) << "the title is on top, y grows down";
}

TEST(GraphvizExport, ConcurrentRendersAreSerialized)
{
    Script s;
    dining(s, 6);
    const ReplayModel& m = s.model();
    PlainNaming naming(m);
    GraphModel g = waitForGraphAt(m, m.endNs(), naming);
    std::vector<std::string> out(4);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < out.size(); i++)
        threads.emplace_back([&, i] { out[i] = renderGraph(g, GraphFormat::Svg); });
    for (std::thread& t : threads)
        t.join();
    for (const std::string& svg : out)
        EXPECT_NE(svg.find("philosopher-5"), std::string::npos);
}
