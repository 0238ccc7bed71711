#include "graph/graph_colors.hpp"

namespace ravel::gui {

GraphColors GraphColors::fromPalette(const QPalette& palette)
{
    GraphColors c;
    c.background = palette.color(QPalette::Base);
    c.text = palette.color(QPalette::Text);
    // A dark base: fills go dark and the red goes lighter, or the text on them would not read.
    c.dark = c.background.lightness() < 128;
    c.selection = palette.color(QPalette::Highlight);
    if (c.dark) {
        c.line = QColor(0xb0, 0xb0, 0xb0);
        c.threadFill = QColor(0x23, 0x3a, 0x55);
        c.blockedFill = QColor(0x55, 0x44, 0x18);
        c.exitedFill = QColor(0x3a, 0x3a, 0x3a);
        c.objectFill = QColor(0x33, 0x33, 0x33);
        c.red = QColor(0xff, 0x5c, 0x5c);
        c.redFill = QColor(0x5a, 0x16, 0x16);
        c.redText = QColor(0xff, 0xc4, 0xc4);
    } else {
        // The same colors as graphviz_export's files.
        c.line = QColor(0x55, 0x55, 0x55);
        c.threadFill = QColor(0xe3, 0xee, 0xfa);
        c.blockedFill = QColor(0xff, 0xf4, 0xd6);
        c.exitedFill = QColor(0xe6, 0xe6, 0xe6);
        c.objectFill = QColor(0xf2, 0xf2, 0xf2);
        c.red = QColor(0xd6, 0x27, 0x28);
        c.redFill = QColor(0xfd, 0xe2, 0xe1);
        c.redText = QColor(0xa5, 0x0f, 0x15);
    }
    return c;
}

} // namespace ravel::gui
