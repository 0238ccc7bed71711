// gui_timeline: the GUI budgets of issue 4 on one trace (docs/benchmarks.md, "GUI").
//
//   gui_timeline TRACE [FRAMES]
//
// Measures the time to open (TraceReader, ReplayModel, TimelineIndex, each timed) against the 3 s
// budget, then paints the timeline offscreen into a 1600x900 QImage at several zoom levels, with
// pans and playhead steps at each (FRAMES frames a level, default 40), reporting the median and
// the max frame time (draw list built and painted) against the 16 ms budget. A benchmark, not a
// test: it asserts nothing and prints a markdown table.
#include "models/timeline_index.hpp"
#include "timeline/timeline_frame_builder.hpp"
#include "timeline/timeline_layout.hpp"
#include "timeline/timeline_palette.hpp"

#include "model/replay_model.hpp"
#include "trace/trace_reader.hpp"

#include <QApplication>
#include <QElapsedTimer>
#include <QImage>
#include <QPainter>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

using namespace ravel;
using namespace ravel::gui;

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: gui_timeline TRACE [FRAMES]\n");
        return 2;
    }
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    const int frames = argc > 2 ? std::max(2, std::atoi(argv[2])) : 40;

    QElapsedTimer t;
    t.start();
    std::unique_ptr<TraceReader> reader;
    try {
        reader = std::make_unique<TraceReader>(argv[1]);
    } catch (const TraceError& e) {
        std::fprintf(stderr, "gui_timeline: %s\n", e.what());
        return 1;
    }
    const double readMs = t.nsecsElapsed() / 1e6;
    t.restart();
    ReplayModel model(*reader);
    const double modelMs = t.nsecsElapsed() / 1e6;
    t.restart();
    std::unique_ptr<TimelineIndex> index = TimelineIndex::build(model, {});
    const double indexMs = t.nsecsElapsed() / 1e6;
    const double openMs = readMs + modelMs + indexMs;

    std::printf("| trace | events | spans | open (read + model + index) | index memory |\n|---|---|---|---|---|\n");
    std::printf("| %s | %llu | %zu | %.0f ms (%.0f + %.0f + %.0f) %s | %.0f MB |\n\n", argv[1],
                (unsigned long long)model.eventCount(), index->spanCount(), openMs, readMs, modelMs, indexMs,
                openMs <= 3000 ? "pass" : "FAIL", index->memoryBytes() / 1e6);

    TimelineLayout layout;
    layout.build(*index);
    const TimelinePalette palette;
    TimelineFrameBuilder builder(index.get(), &layout, palette, app.font(), nullptr);
    QImage image(1600, 900, QImage::Format_ARGB32_Premultiplied);
    TimelineFrame f;
    f.size = image.size();
    f.labelWidth = 180;
    f.selectedThreads = { index->lanes().size() > 1 ? index->lanes()[1].thread : 0 };
    const quint64 d = index->durationNs();

    std::printf("| visible range | frames | median frame | max frame | items from the index (max) | budget 16 ms |\n"
                "|---|---|---|---|---|---|\n");
    for (quint64 width = d; width >= 1000; width /= 10) {
        std::vector<double> ms;
        size_t items = 0;
        quint64 from = (d - width) / 3;
        for (int i = 0; i < frames; i++) {
            // Alternate pans (an eighth of the width) and playhead steps (a fiftieth).
            if (i % 2)
                from = std::min(d - width, from + width / 8);
            f.from = from;
            f.to = from + width;
            f.playhead = from + width / 50 * quint64(i % 50);
            QElapsedTimer ft;
            ft.start();
            TimelineDrawList list = builder.build(f);
            QPainter painter(&image);
            list.paint(painter);
            painter.end();
            ms.push_back(ft.nsecsElapsed() / 1e6);
            items = std::max(items, builder.lastItemCount());
        }
        std::sort(ms.begin(), ms.end());
        std::printf("| %.6g ms | %d | %.2f ms | %.2f ms | %zu | %s |\n", width / 1e6, frames, ms[ms.size() / 2],
                    ms.back(), items, ms.back() <= 16 ? "pass" : "FAIL");
    }
    return 0;
}
