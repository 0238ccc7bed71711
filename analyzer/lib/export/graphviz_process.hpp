// Graphviz in a child process, for graphs that may not finish. Graphviz cannot be cancelled (a
// layout runs to its end inside the library) and is not thread-safe, and dot's ranking of a big
// lock-order graph runs for minutes: the only way to give it a time limit, or to quit while it
// runs, is to run it where it can be killed. The child is forked (the graph already built in
// memory, nothing to serialize on the way in), lays out and renders, and sends the bytes back on
// a pipe; the parent waits up to the limit, kills it past that, and only then writes the file, so
// a failed layout leaves no file at all (not a 0-byte one).
#pragma once

#include "export/graphviz_export.hpp"

#include <chrono>
#include <mutex>
#include <string>
#include <sys/types.h>

namespace ravel {

// The layout did not finish within its limit (the child was killed); what() is one line.
struct GraphvizTimeout : GraphvizError {
    using GraphvizError::GraphvizError;
};

// Ends child layouts from another thread: the GUI's quit kills the one running and refuses later
// ones, so its layout thread returns at once instead of waiting for Graphviz.
class LayoutCancel {
public:
    void cancel();
    bool cancelled() const;

private:
    friend class ChildLayout;
    mutable std::mutex m_mutex;
    pid_t m_child = 0; // the child being waited for, 0 when none (never a reaped pid)
    bool m_cancelled = false;
};

// "30s", "1.5s", "250ms": how a limit reads in a message.
std::string formatLimit(std::chrono::milliseconds limit);

// renderGraph, layoutGraph and writeGraph in a child process, killed after `limit`. They throw
// GraphvizTimeout at the limit or when cancelled, GraphvizError when Graphviz fails or the child
// dies, and writeGraphInChild std::runtime_error "cannot write PATH: reason".
std::string renderGraphInChild(const GraphModel& g, GraphFormat format, const GraphStyle& style,
                               std::chrono::milliseconds limit, LayoutCancel* cancel = nullptr);
GraphLayout layoutGraphInChild(const GraphModel& g, const GraphStyle& style, std::chrono::milliseconds limit,
                               LayoutCancel* cancel = nullptr);
void writeGraphInChild(const GraphModel& g, const std::string& path, GraphFormat format, const GraphStyle& style,
                       std::chrono::milliseconds limit, LayoutCancel* cancel = nullptr);

} // namespace ravel
