#include "export/graphviz_export.hpp"

#include <ravel/trace_format.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>

namespace ravel {

namespace {

// One Graphviz context per process: gvContext() loads the plugin configuration each time, and
// neither it nor cgraph's global state (error handler, string pool) may be used from two threads.
struct Graphviz {
    std::mutex mutex;
    GVC_t* gvc = nullptr;
    std::string messages; // what Graphviz said during the current call

    ~Graphviz()
    {
        if (gvc)
            gvFreeContext(gvc);
    }
};

Graphviz& graphviz()
{
    static Graphviz g;
    return g;
}

int captureMessage(char* text)
{
    graphviz().messages += text ? text : "";
    return 0;
}

// Holds the lock for the whole of one graph's life: build, layout, render, free.
class GraphvizSession {
public:
    GraphvizSession()
        : m_lock(graphviz().mutex)
    {
        Graphviz& g = graphviz();
        if (!g.gvc) {
            agseterrf(captureMessage); // errors become exception text, not stray stderr lines
            g.gvc = gvContext();
            if (!g.gvc)
                throw GraphvizError("graphviz: cannot create a context");
        }
        g.messages.clear();
    }
    GVC_t* gvc() const { return graphviz().gvc; }

    // "graphviz: <what it said>" on one line.
    [[noreturn]] void fail(const std::string& what) const
    {
        std::string said = graphviz().messages;
        for (char& c : said)
            if (c == '\n' || c == '\r')
                c = ' ';
        while (!said.empty() && (said.back() == ' ' || said.back() == '.'))
            said.pop_back();
        throw GraphvizError(said.empty() ? "graphviz: " + what : "graphviz: " + what + ": " + said);
    }

private:
    std::lock_guard<std::mutex> m_lock;
};

} // namespace

std::unique_lock<std::mutex> lockGraphviz() { return std::unique_lock(graphviz().mutex); }

bool isBigGraph(const GraphModel& g) { return g.nodes.size() > kBigGraphNodes || g.edges.size() > kBigGraphEdges; }

namespace {

char* cstr(const std::string& s) { return const_cast<char*>(s.c_str()); }
char* cstr(const char* s) { return const_cast<char*>(s); }

// Labels are escString: backslash sequences mean things ("\N" is the node's name). Names come from
// the program and must print as they are; line breaks become centered "\n".
std::string labelText(const std::string& s)
{
    std::string out;
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

constexpr const char* kRed = "#d62728";
constexpr const char* kRedText = "#a50f15";
constexpr const char* kRedFill = "#fde2e1";
constexpr const char* kGrey = "#555555";

bool pinsSomeNode(const GraphModel& m, const GraphStyle& style)
{
    if (style.pinned.empty())
        return false;
    return std::any_of(m.nodes.begin(), m.nodes.end(),
                       [&](const GraphNode& n) { return style.pinned.count(n.id) != 0; });
}

// A graph built for one job and freed with it (agclose), inside a GraphvizSession.
class BuiltGraph {
public:
    BuiltGraph(const GraphModel& m, const GraphStyle& style, const std::string& engine, bool bitmap)
    {
        m_g = agopen(cstr("ravel"), Agdirected, nullptr);
        const std::string& font = style.fontName;
        std::string label = labelText(m.title + (m.subtitle.empty() ? "" : "\n" + m.subtitle));
        graphAttr("label", label);
        graphAttr("labelloc", "t");
        graphAttr("fontname", font);
        graphAttr("fontsize", "14");
        graphAttr("bgcolor", "white");
        graphAttr("pad", "0.3");
        graphAttr("outputorder", "edgesfirst"); // nodes drawn over the arrows that reach them
        if (bitmap)
            graphAttr("dpi", fmt::format("{}", style.dpi));
        if (engine == "dot") {
            graphAttr("rankdir", "LR");
            graphAttr("nodesep", "0.35");
            graphAttr("ranksep", "0.6");
        } else if (engine == "sfdp") {
            // Thousands of nodes: overlaps removed by sfdp's own cheap pass, edges straight (the
            // spline router alone takes minutes there), drawn under the nodes.
            graphAttr("overlap", "prism");
            graphAttr("splines", "false");
            graphAttr("sep", "+4");
        } else if (engine == "circo") {
            graphAttr("mindist", "0.4");
            graphAttr("overlap", "false");
        } else {
            graphAttr("overlap", "false");
            graphAttr("splines", "true");
            graphAttr("sep", "+8");
        }
        // Defaults declared once: a 64-philosopher graph repeats them on 130 nodes.
        agattr(m_g, AGNODE, cstr("fontname"), cstr(font));
        agattr(m_g, AGNODE, cstr("fontsize"), cstr("11"));
        agattr(m_g, AGNODE, cstr("shape"), cstr("box"));
        agattr(m_g, AGNODE, cstr("style"), cstr("filled"));
        agattr(m_g, AGNODE, cstr("fillcolor"), cstr("#f2f2f2"));
        agattr(m_g, AGNODE, cstr("color"), cstr("#333333"));
        agattr(m_g, AGNODE, cstr("fontcolor"), cstr("black"));
        agattr(m_g, AGNODE, cstr("penwidth"), cstr("1"));
        agattr(m_g, AGEDGE, cstr("fontname"), cstr(font));
        agattr(m_g, AGEDGE, cstr("fontsize"), cstr("9"));
        agattr(m_g, AGEDGE, cstr("color"), cstr(kGrey));
        agattr(m_g, AGEDGE, cstr("fontcolor"), cstr(kGrey));
        agattr(m_g, AGEDGE, cstr("style"), cstr("solid"));
        agattr(m_g, AGEDGE, cstr("penwidth"), cstr("1"));
        agattr(m_g, AGEDGE, cstr("arrowsize"), cstr("0.8"));

        for (const GraphNode& n : m.nodes) {
            Agnode_t* v = agnode(m_g, cstr(n.id), 1);
            set(v, "label", labelText(n.label));
            set(v, "id", n.id);
            if (!n.tooltip.empty())
                set(v, "tooltip", n.tooltip);
            if (n.kind == GraphNodeKind::Thread) {
                set(v, "shape", "ellipse");
                set(v, "fillcolor", n.exited ? "#e6e6e6" : n.blocked ? "#fff4d6" : "#e3eefa");
            } else if (n.objectKind == RAVEL_OBJ_CHAN) {
                set(v, "shape", "cds"); // a channel: a pipe messages flow through, not a box one holds
                set(v, "fillcolor", "#e8f4e8");
            } else {
                set(v, "style", "rounded,filled");
            }
            if (n.deadlocked) {
                set(v, "color", kRed);
                set(v, "fillcolor", kRedFill);
                set(v, "fontcolor", kRedText);
                set(v, "penwidth", n.onCycle ? "3" : "2");
            } else if (n.onCycle) {
                set(v, "penwidth", "2.5");
            }
            m_nodes.push_back(v);
        }
        // Labels on thousands of edges only pile up on each other, and placing them is most of
        // the layout's time: a big graph keeps them in the tooltips.
        const bool edgeLabels = !isBigGraph(m);
        for (const GraphEdge& e : m.edges) {
            Agedge_t* a = agedge(m_g, m_nodes.at(e.from), m_nodes.at(e.to), nullptr, 1);
            if (edgeLabels)
                set(a, "label", labelText(e.label));
            else if (e.tooltip.empty())
                set(a, "tooltip", e.label);
            if (!e.tooltip.empty())
                set(a, "tooltip", e.tooltip);
            if (e.kind == GraphEdgeKind::Waits)
                set(a, "style", "dashed");
            if (e.deadlocked) {
                set(a, "color", kRed);
                set(a, "fontcolor", kRedText);
                set(a, "penwidth", "2");
            }
            m_edges.push_back(a);
        }
    }
    ~BuiltGraph()
    {
        if (m_laidOut)
            gvFreeLayout(graphviz().gvc, m_g);
        agclose(m_g);
    }
    BuiltGraph(const BuiltGraph&) = delete;
    BuiltGraph& operator=(const BuiltGraph&) = delete;

    void layout(const GraphvizSession& s, const std::string& engine)
    {
        if (gvLayout(s.gvc(), m_g, engine.c_str()) != 0)
            s.fail("layout with " + engine + " failed");
        m_laidOut = true;
    }

    // Engine `engine` as given, or a long simple cycle pinned along a ring (up to kSerpentineFrom
    // nodes) or a serpentine of rows: circo's ring for 64 philosophers is two meters across and
    // mostly empty; rows read like text and fit a screen.
    std::string arrange(const GraphvizSession& s, const GraphModel& m, const std::string& engine,
                        const std::vector<size_t>& cycle, const GraphStyle& style = {})
    {
        if (pinsSomeNode(m, style)) {
            // Pinned nodes stay; the others (when some are not) are placed by neato around them.
            // Overlaps are kept: removing them would move pinned nodes too.
            for (size_t i = 0; i < m.nodes.size(); i++) {
                auto p = style.pinned.find(m.nodes[i].id);
                if (p != style.pinned.end())
                    pin(i, p->second.x / 72.0, -p->second.y / 72.0);
            }
            graphAttr("layout", "neato");
            // Routing around nodes takes seconds on a hundred of them: big graphs get straight edges.
            graphAttr("splines", m.nodes.size() <= 40 ? "true" : "false");
            graphAttr("overlap", "true");
            return "neato";
        }
        if (cycle.empty()) {
            graphAttr("layout", engine);
            return engine;
        }
        // Node sizes come from a first layout: they depend on the font and the labels.
        if (gvLayout(s.gvc(), m_g, "dot") != 0)
            s.fail("layout with dot failed");
        double cellW = 0, cellH = 0, labelW = 0;
        for (size_t i : cycle) {
            cellW = std::max(cellW, ND_width(m_nodes[i]));
            cellH = std::max(cellH, ND_height(m_nodes[i]));
        }
        for (size_t i = 0; i < m.edges.size(); i++)
            if (textlabel_t* l = ED_label(m_edges[i]); l && m.nodes[m.edges[i].from].onCycle)
                labelW = std::max(labelW, l->dimen.x / 72.0);
        gvFreeLayout(s.gvc(), m_g);
        graphAttr("layout", "neato");
        constexpr size_t kSerpentineFrom = 25;
        const size_t n = cycle.size();
        if (n < kSerpentineFrom) {
            constexpr double kPi = 3.14159265358979;
            // Neighbours a node and a label apart: the label sits between them.
            double radius = std::max(double(n) * (cellW + labelW + 0.4) / (2 * kPi), cellW);
            std::vector<double> angle(m.nodes.size(), 0);
            std::vector<bool> onRing(m.nodes.size(), false);
            for (size_t k = 0; k < n; k++) {
                onRing[cycle[k]] = true;
                angle[cycle[k]] = kPi / 2 - 2 * kPi * double(k) / double(n);
                pin(cycle[k], radius * std::cos(angle[cycle[k]]), radius * std::sin(angle[cycle[k]]));
            }
            // Nodes off the ring (main joining a philosopher) go inside it, toward their neighbour
            // on it, each further in than the last: all pinned, so neato only routes the edges
            // (its overlap removal would shrink the ring). Past three such nodes, neato places them.
            double inner = 0.55;
            const bool pinInner = m.nodes.size() - n <= 3;
            for (size_t i = 0; i < m.nodes.size() && pinInner; i++) {
                if (onRing[i])
                    continue;
                double a = kPi / 2;
                for (const GraphEdge& e : m.edges) {
                    size_t other = e.from == i ? e.to : e.to == i ? e.from : SIZE_MAX;
                    if (other != SIZE_MAX && onRing[other]) {
                        a = angle[other];
                        break;
                    }
                }
                pin(i, radius * inner * std::cos(a), radius * inner * std::sin(a));
                inner = std::max(0.15, inner - 0.2);
            }
            graphAttr("splines", "true");
            graphAttr("overlap", pinInner ? "true" : "false");
            graphAttr("sep", "+6");
            return "neato";
        }
        serpentine(m, cycle, cellW + 0.75, cellH + 0.9);
        return "neato";
    }

    Agraph_t* graph() const { return m_g; }
    const std::vector<Agnode_t*>& nodes() const { return m_nodes; }
    const std::vector<Agedge_t*>& edges() const { return m_edges; }

private:
    void pin(size_t node, double xInches, double yInches)
    {
        set(m_nodes[node], "pos", fmt::format("{:.3f},{:.3f}!", xInches, yInches));
        set(m_nodes[node], "pin", "true");
    }

    // Rows left to right, then right to left, and so on; column 0 is kept free below the first
    // row so the edge that closes the cycle runs straight up it from the last row, the last row
    // going left. Everything is pinned and every edge is straight, so neato routes nothing: the
    // splines router takes seconds on 130 nodes. Nodes off the cycle go above the first row,
    // over their neighbour; when one hangs off a deeper row, edges are routed after all.
    void serpentine(const GraphModel& m, const std::vector<size_t>& cycle, double cellW, double cellH)
    {
        const size_t n = cycle.size();
        size_t cols = std::max<size_t>(4, size_t(std::ceil(std::sqrt(double(n) * 1.4 * cellH / cellW))));
        size_t middle = 0, last = 0;
        for (;; cols++) {
            // First and last rows use every column, the middle ones all but column 0; the last row
            // must run leftwards, so the middle rows come in pairs.
            for (middle = 0; 2 * cols + middle * (cols - 1) < n; middle += 2) { }
            long left = long(n) - long(cols) - long(middle * (cols - 1));
            if (left >= 1) {
                last = size_t(left);
                break;
            }
        }
        std::vector<std::pair<size_t, size_t>> cell(m.nodes.size(), { SIZE_MAX, SIZE_MAX }); // (row, col)
        size_t k = 0;
        for (size_t c = 0; c < cols && k < n; c++)
            cell[cycle[k++]] = { 0, c };
        for (size_t r = 1; r <= middle; r++)
            for (size_t c = 1; c < cols && k < n; c++)
                cell[cycle[k++]] = { r, r % 2 ? cols - c : c };
        for (size_t c = 0; c < last && k < n; c++)
            cell[cycle[k++]] = { middle + 1, last - 1 - c };
        for (size_t i = 0; i < m.nodes.size(); i++)
            if (cell[i].first != SIZE_MAX)
                pin(i, double(cell[i].second) * cellW, -double(cell[i].first) * cellH);

        bool route = false;
        std::vector<bool> above(cols + m.nodes.size(), false);
        for (size_t i = 0; i < m.nodes.size(); i++) {
            if (cell[i].first != SIZE_MAX)
                continue;
            size_t col = 0;
            bool found = false;
            for (const GraphEdge& e : m.edges) {
                size_t other = e.from == i ? e.to : e.to == i ? e.from : SIZE_MAX;
                if (other != SIZE_MAX && cell[other].first != SIZE_MAX) {
                    found = true;
                    route = route || cell[other].first != 0;
                    col = cell[other].second;
                    break;
                }
            }
            route = route || !found;
            while (above[col])
                col++;
            above[col] = true;
            pin(i, double(col) * cellW, cellH);
        }
        graphAttr("splines", route ? "true" : "false");
        graphAttr("overlap", "true"); // all pinned: nothing may move
    }

    void set(void* obj, const char* name, const std::string& value)
    {
        agsafeset(obj, cstr(name), cstr(value), cstr(""));
    }
    void graphAttr(const char* name, const std::string& value)
    {
        agattr(m_g, AGRAPH, cstr(name), cstr(value));
    }

    Agraph_t* m_g = nullptr;
    bool m_laidOut = false;
    std::vector<Agnode_t*> m_nodes;
    std::vector<Agedge_t*> m_edges;
};

const char* rendererOf(GraphFormat f)
{
    switch (f) {
    case GraphFormat::Dot:
        return "dot";
    case GraphFormat::Svg:
        return "svg";
    case GraphFormat::Png:
        return "png";
    case GraphFormat::Pdf:
        return "pdf";
    }
    return "svg";
}

} // namespace

std::optional<GraphFormat> graphFormatForPath(const std::string& path)
{
    size_t dot = path.rfind('.');
    size_t slash = path.rfind('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
        return std::nullopt;
    std::string ext = path.substr(dot + 1);
    for (char& c : ext)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    if (ext == "dot" || ext == "gv")
        return GraphFormat::Dot;
    if (ext == "svg")
        return GraphFormat::Svg;
    if (ext == "png")
        return GraphFormat::Png;
    if (ext == "pdf")
        return GraphFormat::Pdf;
    return std::nullopt;
}

namespace {

// A cycle of this many nodes or more is drawn as the ring it is: dot would stretch it into a
// line with one long back edge. Below that, dot's ranks read left to right. A wait-for cycle
// alternates threads and objects, so ten nodes are five threads; a lock-order cycle is locks only.
size_t ringFrom(const GraphModel& g) { return g.kind == GraphKind::LockOrder ? 4 : 10; }

// The cycle's nodes in the order its edges go, when they form one simple cycle (dining
// philosophers, ABBA): only then can they be pinned along a ring or rows. Empty otherwise.
std::vector<size_t> pinnedCycle(const GraphModel& g)
{
    if (g.cycleNodes() < ringFrom(g))
        return {};
    std::vector<size_t> next(g.nodes.size(), SIZE_MAX), in(g.nodes.size(), 0);
    for (const GraphEdge& e : g.edges) {
        if (!g.nodes[e.from].onCycle || !g.nodes[e.to].onCycle)
            continue;
        if (next[e.from] != SIZE_MAX)
            return {};
        next[e.from] = e.to;
        if (++in[e.to] > 1)
            return {};
    }
    // A wait-for cycle starts at a thread (that is how a person tells it), a lock-order one at
    // its first lock.
    size_t first = SIZE_MAX;
    for (size_t i = 0; i < g.nodes.size() && first == SIZE_MAX; i++)
        if (g.nodes[i].onCycle && g.nodes[i].kind == GraphNodeKind::Thread)
            first = i;
    for (size_t i = 0; i < g.nodes.size() && first == SIZE_MAX; i++)
        if (g.nodes[i].onCycle)
            first = i;
    if (first == SIZE_MAX)
        return {};
    std::vector<size_t> order;
    for (size_t at = first; at != SIZE_MAX && order.size() <= g.nodes.size(); at = next[at]) {
        if (!order.empty() && at == first)
            return order.size() == g.cycleNodes() ? order : std::vector<size_t> {};
        order.push_back(at);
    }
    return {};
}

struct Plan {
    std::string engine;
    std::vector<size_t> cycle; // pinned when not empty
};

Plan planOf(const GraphModel& m, const GraphStyle& style)
{
    if (pinsSomeNode(m, style))
        return { "neato", {} };
    if (!style.engine.empty())
        return { style.engine, {} };
    if (isBigGraph(m))
        return { "sfdp", {} };
    std::vector<size_t> cycle = pinnedCycle(m);
    if (!cycle.empty())
        return { "neato", std::move(cycle) };
    return { m.cycleNodes() >= ringFrom(m) ? "circo" : "dot", {} };
}

} // namespace

std::string graphLayoutEngine(const GraphModel& g) { return planOf(g, {}).engine; }

std::string graphToDot(const GraphModel& m, const GraphStyle& style)
{
    GraphvizSession session;
    Plan plan = planOf(m, style);
    BuiltGraph built(m, style, plan.engine, false);
    built.arrange(session, m, plan.engine, plan.cycle, style);
    char* buf = nullptr;
    size_t len = 0;
    FILE* out = open_memstream(&buf, &len);
    if (!out)
        throw GraphvizError("graphviz: out of memory");
    int rc = agwrite(built.graph(), out);
    std::fclose(out);
    std::string text(buf ? buf : "", len);
    std::free(buf);
    if (rc != 0)
        session.fail("cannot write DOT");
    return text;
}

std::string renderGraph(const GraphModel& m, GraphFormat format, const GraphStyle& style)
{
    if (format == GraphFormat::Dot)
        return graphToDot(m, style);
    GraphvizSession session;
    Plan plan = planOf(m, style);
    BuiltGraph built(m, style, plan.engine, format == GraphFormat::Png);
    built.layout(session, built.arrange(session, m, plan.engine, plan.cycle, style));
    char* data = nullptr;
    unsigned len = 0;
    if (gvRenderData(session.gvc(), built.graph(), rendererOf(format), &data, &len) != 0 || !data) {
        if (data)
            gvFreeRenderData(data);
        session.fail(fmt::format("cannot render {}", rendererOf(format)));
    }
    std::string bytes(data, len);
    gvFreeRenderData(data);
    if (format == GraphFormat::Svg) {
        // Graphviz writes every '-' as "&#45;" (it keeps "--" out of its comments); node names
        // here are "t3" and "o12", so plain hyphens are safe, and "philosopher-0" stays
        // searchable in the file.
        std::string plain;
        plain.reserve(bytes.size());
        for (size_t i = 0; i < bytes.size();) {
            if (bytes.compare(i, 5, "&#45;") == 0) {
                plain += '-';
                i += 5;
            } else {
                plain += bytes[i++];
            }
        }
        bytes = std::move(plain);
    }
    return bytes;
}

void writeRendered(const std::string& path, const std::function<std::string()>& render)
{
    // Opened before the layout, so an unwritable path fails at once; removed on any failure, so
    // a layout that did not finish leaves no empty file behind.
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    std::unique_ptr<FILE, int (*)(FILE*)> file(f, std::fclose);
    std::string bytes;
    try {
        bytes = render();
    } catch (...) {
        file.reset();
        std::remove(path.c_str());
        throw;
    }
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    int err = errno;
    ok = std::fclose(file.release()) == 0 && ok;
    if (!ok) {
        err = err ? err : errno;
        std::remove(path.c_str());
        throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
    }
}

void writeGraph(const GraphModel& m, const std::string& path, GraphFormat format, const GraphStyle& style)
{
    writeRendered(path, [&] { return renderGraph(m, format, style); });
}

GraphLayout layoutGraph(const GraphModel& m, const GraphStyle& style)
{
    GraphvizSession session;
    GraphLayout out;
    Plan plan = planOf(m, style);
    BuiltGraph built(m, style, plan.engine, false);
    out.engine = built.arrange(session, m, plan.engine, plan.cycle, style);
    built.layout(session, out.engine);
    Agraph_t* g = built.graph();
    boxf bb = GD_bb(g);
    out.width = bb.UR.x - bb.LL.x;
    out.height = bb.UR.y - bb.LL.y;
    // Graphviz's y grows up from the bottom left of the bounding box; Qt's grows down.
    auto flip = [&](pointf p) { return GraphPoint { p.x - bb.LL.x, bb.UR.y - p.y }; };
    for (Agnode_t* n : built.nodes()) {
        NodeGeometry ng;
        ng.center = flip(ND_coord(n));
        ng.width = ND_width(n) * 72.0;
        ng.height = ND_height(n) * 72.0;
        out.nodes.push_back(ng);
    }
    for (Agedge_t* e : built.edges()) {
        EdgeGeometry eg;
        if (splines* spl = ED_spl(e)) {
            for (int i = 0; i < spl->size; i++) {
                const bezier& bz = spl->list[i];
                for (int k = 0; k < bz.size; k++)
                    eg.curve.push_back(flip(bz.list[k]));
                if (bz.eflag)
                    eg.arrowTip = flip(bz.ep);
            }
        }
        if (textlabel_t* l = ED_label(e); l && l->set)
            eg.labelPos = flip(l->pos);
        out.edges.push_back(std::move(eg));
    }
    if (textlabel_t* l = GD_label(g); l && l->set)
        out.titlePos = flip(l->pos);
    return out;
}

} // namespace ravel
