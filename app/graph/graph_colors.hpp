// GraphColors: the colors a graph is drawn in, taken from the widget's palette so a graph reads
// on a light and on a dark desktop alike. The meaning stays the one `ravel graph` gives its
// files: the deadlocked set red, blocked threads amber, running ones blue, exited ones grey.
#pragma once

#include <QColor>
#include <QPalette>

namespace ravel::gui {

struct GraphColors {
    bool dark = false;
    QColor background;
    QColor text;
    QColor line; // edges and node outlines
    QColor threadFill; // running
    QColor blockedFill;
    QColor exitedFill;
    QColor objectFill;
    QColor red; // deadlocked outline and edges
    QColor redFill;
    QColor redText;
    QColor selection; // outline of the selected nodes

    static GraphColors fromPalette(const QPalette& palette);
};

} // namespace ravel::gui
