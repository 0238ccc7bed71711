// Graphviz export of a GraphModel through Graphviz's C library (libgvc, libcgraph), never by
// running `dot`. Small graphs are laid out by dot; a long deadlock cycle is pinned on a ring, or
// in rows past two dozen nodes (64 dining philosophers fit a screen instead of dot's 128-rank
// ladder or circo's two-meter ring), edges routed by neato. Rendered to DOT, SVG, PNG or PDF, or
// returned as laid-out geometry (node boxes, edge splines, label positions) for the GUI to draw
// with its own items.
//
// Graphviz is not thread-safe: every call into it goes through one process-wide context behind a
// mutex, so the CLI and a GUI layout worker can both use these functions.
#pragma once

#include "export/graph_model.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ravel {

enum class GraphFormat : uint8_t { Dot, Svg, Png, Pdf };

// By the file's extension: .dot and .gv, .svg, .png, .pdf (any case); nullopt for anything else.
std::optional<GraphFormat> graphFormatForPath(const std::string& path);

struct GraphvizError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Geometry in points (1/72 inch), origin top left, y growing down (Qt's convention).
struct GraphPoint {
    double x = 0;
    double y = 0;
};

struct GraphStyle {
    std::string fontName = "DejaVu Sans"; // what the GUI draws with (DESIGN.md: same font both sides)
    std::string engine;                   // "dot", "circo", "neato"; empty: chosen by graphLayoutEngine
    double dpi = 96;                      // PNG only
    // Node centers by node id, in layoutGraph's coordinates. When every node has one, no node
    // moves and only the edges are routed: a view keeps its picture while edges come and go.
    // When some have one, those stay and neato places the others around them.
    std::map<std::string, GraphPoint> pinned;
};

// dot; neato with a long simple cycle pinned along a ring (or rows, past two dozen nodes); circo
// for other long cycles; sfdp for big graphs.
std::string graphLayoutEngine(const GraphModel& g);

// Past this size dot's ranking and edge routing take minutes (a cache server's 4,400 locks and
// 103k orders never finished): such a graph is laid out by sfdp, its edges straight and their
// labels left to the tooltips, and callers run it in a child process with a time limit
// (graphviz_process.hpp).
constexpr size_t kBigGraphNodes = 150;
constexpr size_t kBigGraphEdges = 600;
bool isBigGraph(const GraphModel& g);

// Graphviz's process-wide lock, held while a thread is inside Graphviz. A fork under it gives the
// child a Graphviz no other thread was in the middle of (graphviz_process forks so).
std::unique_lock<std::mutex> lockGraphviz();

// The graph as DOT source, with every attribute but no layout (what `dot` would read).
std::string graphToDot(const GraphModel& g, const GraphStyle& style = {});

// Laid out and rendered: DOT with positions, SVG text, PNG or PDF bytes.
std::string renderGraph(const GraphModel& g, GraphFormat format, const GraphStyle& style = {});

// Renders and writes `path`. Throws GraphvizError when Graphviz fails, std::runtime_error with
// "cannot write PATH: reason" when the file cannot be written.
void writeGraph(const GraphModel& g, const std::string& path, GraphFormat format, const GraphStyle& style = {});
// Writes what `render` returns to `path`; the file is opened first (an unwritable path fails
// before any layout) and removed when rendering or writing fails, so no partial file is left.
void writeRendered(const std::string& path, const std::function<std::string()>& render);

struct NodeGeometry {
    GraphPoint center;
    double width = 0;  // the node's box
    double height = 0;
};

struct EdgeGeometry {
    // Cubic Bézier pieces: p0, then (c1, c2, p) triples, as Graphviz gives them.
    std::vector<GraphPoint> curve;
    std::optional<GraphPoint> arrowTip; // where the head arrow points, when drawn past the curve
    std::optional<GraphPoint> labelPos; // center of the label
};

struct GraphLayout {
    std::string engine;
    double width = 0;
    double height = 0;
    std::vector<NodeGeometry> nodes; // by GraphModel node index
    std::vector<EdgeGeometry> edges; // by GraphModel edge index
    std::optional<GraphPoint> titlePos;
};

GraphLayout layoutGraph(const GraphModel& g, const GraphStyle& style = {});

} // namespace ravel
