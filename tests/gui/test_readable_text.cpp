// Nothing cut, at the default 1600x1000 window and narrower (issue 17, item 2), and times as
// precise as the zoom everywhere they are printed (item 3), on real traces of the examples: the
// legend wraps and lists the race markers when the trace has races; the `?` overlay and the F1
// table show every word; the Objects tab shows its columns in the pane's width and more than three
// rows; a graph title cut to its pane ends in an ellipsis and is whole in its tooltip; the playback
// bar's time and the timeline picture's title follow the zoom. Screenshots land in
// RAVEL_ARTIFACT_DIR.
#include "gui_test_util.hpp"
#include "window_test_util.hpp"

#include "details/details_panel.hpp"
#include "details/race_view.hpp"
#include "findings_panel.hpp"
#include "graph/wait_for_graph_view.hpp"
#include "keys_dialog.hpp"
#include "launch/run_program_dialog.hpp"
#include "main_window.hpp"
#include "models/finding_focus.hpp"
#include "models/findings_model.hpp"
#include "models/timeline_index.hpp"
#include "models/view_state.hpp"
#include "playback/playback_bar.hpp"
#include "timeline/timeline_frame_builder.hpp"
#include "timeline/timeline_layout.hpp"
#include "timeline/timeline_palette.hpp"
#include "timeline/timeline_ruler.hpp"
#include "timeline/timeline_view.hpp"
#include "base/trace_time.hpp"

#include <QApplication>
#include <QComboBox>
#include <QLineEdit>
#include <QDockWidget>
#include <QHeaderView>
#include <QHelpEvent>
#include <QImage>
#include <QLabel>
#include <QPainter>
#include <QScrollBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QToolTip>
#include <QTreeView>

#include <algorithm>

using namespace ravel::gui;
using namespace ravel::gui::test;

namespace {

QString dining() { return recordExample(QStringLiteral("dining"), { QStringLiteral("5") }); }
QString racyBank() { return recordExample(QStringLiteral("racy_bank")); }

using Layer = TimelineDrawList::Layer;
using FontRole = TimelineDrawList::FontRole;

QFont roleFont(const QFont& base, FontRole role)
{
    QFont f = base;
    if (role == FontRole::Bold)
        f.setBold(true);
    else if (role == FontRole::Small)
        f.setPointSizeF(std::max(6.0, base.pointSizeF() * 0.85));
    return f;
}

// Every text of `layer` is whole where it is drawn: as wide as its rectangle allows (or elided,
// ending in "…"), and its rectangle inside the layer's clip and the frame. Empty when so, else what
// is cut.
QString cutTexts(const Layer& layer, const QFont& font, const QSize& frame)
{
    QStringList cut;
    const QRectF bounds = layer.clip.isNull() ? QRectF(QPointF(0, 0), QSizeF(frame)) : QRectF(layer.clip);
    for (const TimelineDrawList::Text& t : layer.texts) {
        const QFontMetricsF fm(roleFont(font, t.font));
        const double need = fm.horizontalAdvance(t.text);
        if (need > t.rect.width() + 0.5 && !t.text.endsWith(QStringLiteral("…")))
            cut << QStringLiteral("'%1' needs %2 px, has %3").arg(t.text).arg(need).arg(t.rect.width());
        // Nor cut across: the rectangle as tall as a line of its font.
        if (fm.height() > t.rect.height() + 1)
            cut << QStringLiteral("'%1' needs %2 px of height, has %3").arg(t.text).arg(fm.height()).arg(t.rect.height());
        // The text itself, not the room it was given, must lie inside.
        const QRectF inked(t.rect.left(), t.rect.top(), std::min(need, t.rect.width()), t.rect.height());
        if (!bounds.adjusted(-0.5, -0.5, 0.5, 0.5).contains(inked))
            cut << QStringLiteral("'%1' at (%2,%3 %4x%5) is outside (%6,%7 %8x%9)")
                       .arg(t.text)
                       .arg(inked.left()).arg(inked.top()).arg(inked.width()).arg(inked.height())
                       .arg(bounds.left()).arg(bounds.top()).arg(bounds.width()).arg(bounds.height());
    }
    return cut.join(QStringLiteral("; "));
}

// The legend layer of a built frame: the one just under the lanes, the frame's width.
const Layer* legendLayer(const TimelineDrawList& list, const TimelineFrame& f)
{
    for (const Layer& l : list.layers)
        if (l.clip.top() == f.timeArea().bottom() + 1 && l.clip.height() == f.legendHeight && l.clip.left() == 0)
            return &l;
    return nullptr;
}

QStringList legendTexts(const Layer& legend)
{
    QStringList out;
    for (const TimelineDrawList::Text& t : legend.texts)
        out << t.text;
    return out;
}

struct Timeline {
    TraceDocument doc;
    std::unique_ptr<TimelineIndex> index;
    TimelineLayout layout;
    bool open(const QString& path)
    {
        if (!loadDocument(doc, path))
            return false;
        index = TimelineIndex::build(doc.model(), doc.findings());
        if (!index)
            return false;
        layout.build(*index);
        return true;
    }
    TimelineFrame frame(int width, const QFont& font) const
    {
        TimelineFrame f;
        f.labelWidth = 180;
        f.legendHeight = TimelineFrameBuilder::legendHeightFor(width, font, index.get());
        f.size = QSize(width, TimelineLayout::kRulerHeight + layout.contentHeight() + f.legendHeight);
        f.from = 0;
        f.to = index->durationNs();
        return f;
    }
};

void savePicture(const TimelineDrawList& list, const QSize& size, const QString& name)
{
    QImage image(size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter painter(&image);
    list.paint(painter);
    painter.end();
    image.save(artifactDir() + QLatin1Char('/') + name + QStringLiteral(".png"), "PNG");
}

} // namespace

class TestReadableText : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY2(!dining().isEmpty(), "could not record dining 5");
        QVERIFY2(!racyBank().isEmpty(), "could not record racy_bank");
    }

    // A trace with data races lists their markers in the legend (the timed access, the untimed
    // one's range); one without does not. At every width the legend wraps onto more rows and
    // every entry stays whole inside it.
    void legendListsRaceMarkersAndWrapsAtEveryWidth()
    {
        const QFont font = QApplication::font();
        const TimelinePalette palette;
        Timeline racy, plain;
        QVERIFY(racy.open(racyBank()));
        QVERIFY(plain.open(dining()));
        QVERIFY2(!racy.index->raceMarks().empty(), "racy_bank recorded no data race");
        int lastHeight = 0;
        for (int width : { 1600, 1000, 700, 420, 260 }) {
            for (Timeline* t : { &racy, &plain }) {
                TimelineFrameBuilder builder(t->index.get(), &t->layout, palette, font, nullptr);
                const TimelineFrame f = t->frame(width, font);
                const TimelineDrawList list = builder.build(f);
                const Layer* legend = legendLayer(list, f);
                QVERIFY(legend);
                const QStringList texts = legendTexts(*legend);
                const bool races = texts.contains(QStringLiteral("data race: access"))
                    && texts.contains(QStringLiteral("≈ untimed racing access"));
                QVERIFY2(races == (t == &racy), qPrintable(texts.join(QStringLiteral(", "))));
                QVERIFY(texts.contains(QStringLiteral("unlock → lock")));
                QVERIFY(texts.contains(QStringLiteral("running")));
                const QString cut = cutTexts(*legend, font, f.size);
                QVERIFY2(cut.isEmpty(), qPrintable(QStringLiteral("at %1 px: %2").arg(width).arg(cut)));
                if (t == &racy) {
                    if (lastHeight)
                        QVERIFY(f.legendHeight >= lastHeight);
                    lastHeight = f.legendHeight;
                    if (width == 1600 || width == 420)
                        savePicture(list, f.size, QStringLiteral("readable-legend-races-%1").arg(width));
                }
            }
        }
        QVERIFY2(lastHeight > TimelineLayout::kLegendHeight, "a 260 px legend should wrap onto several rows");
    }

    // Lane labels (bold for a deadlocked or selected thread) and the names on spans and held
    // locks: whole or elided, never cut across or at an edge, in the default window and zoomed in.
    void laneTextsAreWholeOrElided()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, dining()));
        TimelineView* tl = w.timelineView();
        // A held lock's name is drawn on its row's colour: the row as tall as the small font's
        // line, give or take a pixel each side (a 9 px row cut the letters across).
        const QFontMetricsF small(roleFont(tl->font(), FontRole::Small));
        QVERIFY2(TimelineLayout::kHoldHeight + 2 >= small.height(),
                 qPrintable(QStringLiteral("hold rows %1 px, the small font %2 px").arg(TimelineLayout::kHoldHeight).arg(small.height())));
        TimelineLayout layout;
        layout.build(*tl->index());
        const TimelinePalette palette(tl->palette());
        TimelineFrameBuilder builder(tl->index(), &layout, palette, tl->font(), nullptr);
        for (int zoom = 0; zoom < 3; zoom++) {
            TimelineFrame f = tl->currentFrame(tl->viewport()->size());
            f.labelWidth = zoom == 2 ? 90 : f.labelWidth; // a narrow label column elides the names
            const TimelineDrawList list = builder.build(f);
            int texts = 0, holdTexts = 0;
            for (const Layer& l : list.layers) {
                const QString cut = cutTexts(l, tl->font(), f.size);
                QVERIFY2(cut.isEmpty(), qPrintable(QStringLiteral("zoom %1: %2").arg(zoom).arg(cut)));
                texts += int(l.texts.size());
            }
            // The lanes' layer (after the background): names on held locks are its small texts.
            for (const TimelineDrawList::Text& t : list.layers[1].texts)
                holdTexts += t.font == FontRole::Small;
            QVERIFY(texts > 12);
            if (zoom == 0)
                QVERIFY2(holdTexts > 0, "no held fork is named on its row");
            tl->zoomBy(0.5);
        }
    }

    // The `?` overlay in the default window: every key and every description whole, inside its box
    // and the view.
    void keysOverlayShowsEveryWord()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, dining()));
        TimelineView* tl = w.timelineView();
        tl->setFocus();
        QTest::keyClick(tl, '?');
        QVERIFY(tl->isKeysOverlayVisible());
        const TimelineFrame f = tl->currentFrame(tl->viewport()->size());
        TimelineLayout layout;
        layout.build(*tl->index());
        const TimelinePalette palette(tl->palette());
        TimelineFrameBuilder builder(tl->index(), &layout, palette, tl->font(), nullptr);
        const TimelineDrawList list = builder.build(f);
        const Layer& overlay = list.layers.back();
        QCOMPARE(overlay.texts.size(), size_t(TimelineFrameBuilder::keyHelp().size() * 2 + 1));
        const QString cut = cutTexts(overlay, tl->font(), f.size);
        QVERIFY2(cut.isEmpty(), qPrintable(cut));
        // Inside the box drawn behind them.
        const QRectF box = overlay.rects.front().rect;
        QVERIFY(QRectF(QPointF(0, 0), QSizeF(f.size)).contains(box));
        for (const TimelineDrawList::Text& t : overlay.texts)
            QVERIFY2(box.contains(t.rect), qPrintable(t.text));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("readable-keys-overlay")).isEmpty());
    }

    // Help > Keys: no description cut in its row, no sideways scrolling, and at its opening size
    // every row in view.
    void keysDialogShowsEveryRowWhole()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        KeysDialog dialog(&w);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        QTest::qWait(50);
        QTableWidget* table = dialog.table();
        QVERIFY(table->rowCount() >= 14);
        const QFontMetrics fm(table->font());
        // The style's padding inside a cell, as QItemDelegate/QStyledItemDelegate leave it.
        const int margin = table->style()->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, table) + 1;
        for (int r = 0; r < table->rowCount(); r++) {
            const QString key = table->item(r, 0)->text(), what = table->item(r, 1)->text();
            QVERIFY2(fm.horizontalAdvance(key) + 2 * margin <= table->columnWidth(0), qPrintable(key));
            const QRect need = fm.boundingRect(QRect(0, 0, table->columnWidth(1) - 2 * margin, 100000),
                                               int(Qt::TextWordWrap), what);
            QVERIFY2(need.width() <= table->columnWidth(1) - 2 * margin && need.height() <= table->rowHeight(r),
                     qPrintable(QStringLiteral("'%1': needs %2x%3, the cell is %4x%5")
                                    .arg(what)
                                    .arg(need.width())
                                    .arg(need.height())
                                    .arg(table->columnWidth(1))
                                    .arg(table->rowHeight(r))));
        }
        QCOMPARE(table->horizontalScrollBar()->maximum(), 0);
        QVERIFY2(table->verticalScrollBar()->maximum() == 0,
                 qPrintable(QStringLiteral("the table scrolls %1 px at %2x%3")
                                .arg(table->verticalScrollBar()->maximum())
                                .arg(dialog.width())
                                .arg(dialog.height())));
        QVERIFY(!saveScreenshot(&dialog, QStringLiteral("readable-keys-dialog")).isEmpty());
    }

    // The Objects tab at the default size: every column in the pane's width with its header
    // whole, no horizontal scroll bar, and rows enough to read (every object of dining 5, or at
    // least six).
    void objectsTabFitsItsColumnsAndRows()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, dining()));
        QVERIFY(waitForStats(*w.document()));
        QTabWidget* tabs = w.detailsPanel()->tabs();
        auto* view = w.detailsPanel()->findChild<QTableView*>(QStringLiteral("objectStatsView"));
        QVERIFY(view);
        for (int t = 0; t < tabs->count(); t++)
            if (tabs->tabText(t) == QStringLiteral("Objects"))
                tabs->setCurrentIndex(t);
        QTRY_VERIFY(view->isVisible());
        // At the dock's default height (a timeline of many lanes leaves it no more).
        auto* dock = w.findChild<QDockWidget*>(QStringLiteral("detailsDock"));
        QVERIFY(dock);
        w.resizeDocks({ dock }, { 220 }, Qt::Vertical);
        QTRY_VERIFY(dock->height() < 260);
        QTest::qWait(50);
        const int rows = view->model()->rowCount();
        QVERIFY(rows >= 5); // five forks at least
        QVERIFY2(!view->horizontalScrollBar()->isVisible(),
                 qPrintable(QStringLiteral("a horizontal scroll bar over %1 px of columns in %2 px")
                                .arg(view->horizontalHeader()->length())
                                .arg(view->viewport()->width())));
        QVERIFY(view->horizontalHeader()->length() <= view->viewport()->width());
        QHeaderView* header = view->horizontalHeader();
        const QFontMetrics hfm(header->font());
        for (int c = 0; c < header->count(); c++) {
            const QString title = view->model()->headerData(c, Qt::Horizontal).toString();
            QVERIFY2(hfm.horizontalAdvance(title) + 8 <= header->sectionSize(c),
                     qPrintable(QStringLiteral("column '%1' is %2 px").arg(title).arg(header->sectionSize(c))));
        }
        const int shown = view->viewport()->height() / view->rowHeight(0);
        QVERIFY2(shown >= std::min(rows, 6),
                 qPrintable(QStringLiteral("%1 of %2 rows in view (%3 px tall, rows %4 px)")
                                .arg(shown)
                                .arg(rows)
                                .arg(view->viewport()->height())
                                .arg(view->rowHeight(0))));
        // The filter is beside the tabs while the Objects tab shows, not over the table.
        auto* only = w.detailsPanel()->findChild<QWidget*>(QStringLiteral("onlySelectedObjects"));
        QVERIFY(only && only->isVisible());
        QVERIFY(!saveScreenshot(&w, QStringLiteral("readable-objects-tab")).isEmpty());
        tabs->setCurrentIndex(0);
        QVERIFY(!only->isVisible());
    }

    // A graph title too long for its pane ends in "…" and its tooltip has it whole; a pane wide
    // enough for it draws it whole, with no tooltip.
    void graphTitleElidedHasItsTooltip()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, dining()));
        QVERIFY(w.selectFinding(1));
        WaitForGraphView* graph = w.waitForGraphView();
        QTRY_VERIFY(graph->hasGraph() && !graph->isLayoutPending());
        auto* dock = w.findChild<QDockWidget*>(QStringLiteral("graphDock"));
        QVERIFY(dock);
        w.resizeDocks({ dock }, { 240 }, Qt::Horizontal);
        QTRY_VERIFY(graph->viewport()->width() < 300);
        graph->viewport()->update();
        QTRY_VERIFY(!graph->headerRect().isNull());
        QTest::qWait(50);
        const QString title = QString::fromStdString(graph->shownGraph().title);
        QVERIFY2(QFontMetrics(graph->font()).horizontalAdvance(title) > graph->viewport()->width(),
                 qPrintable(QStringLiteral("'%1' fits %2 px: the test needs a longer title").arg(title).arg(graph->viewport()->width())));
        QTRY_VERIFY(!graph->elidedHeaderText().isEmpty());
        QVERIFY2(graph->elidedHeaderText().startsWith(title), qPrintable(graph->elidedHeaderText()));
        QVERIFY(graph->viewport()->rect().contains(graph->headerRect()));
        const QPoint at = graph->headerRect().center();
        QHelpEvent help(QEvent::ToolTip, at, graph->viewport()->mapToGlobal(at));
        QApplication::sendEvent(graph->viewport(), &help);
        QTRY_VERIFY(QToolTip::isVisible());
        QCOMPARE(QToolTip::text(), graph->elidedHeaderText());
        QVERIFY(!saveScreenshot(dock, QStringLiteral("readable-graph-title-elided")).isEmpty());
        QToolTip::hideText();
        // Wide enough: whole, no tooltip needed.
        w.resizeDocks({ dock }, { 1000 }, Qt::Horizontal);
        QTRY_VERIFY(graph->viewport()->width() > QFontMetrics(graph->font()).horizontalAdvance(title) + 80);
        graph->viewport()->update();
        QTRY_VERIFY(graph->elidedHeaderText().isEmpty());
    }

    // The findings list elides a long title and its tooltip has it whole.
    void findingTitleElidedHasItsTooltip()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, dining()));
        QTreeView* view = w.findingsPanel()->view();
        QCOMPARE(view->textElideMode(), Qt::ElideRight);
        const QModelIndex group = view->model()->index(0, 0);
        const QModelIndex first = view->model()->index(0, FindingsModel::TitleColumn, group);
        QVERIFY(first.isValid());
        const QString shown = first.data(Qt::DisplayRole).toString();
        QVERIFY(first.data(Qt::ToolTipRole).toString().startsWith(shown));
        QVERIFY(view->model()->index(0, FindingsModel::TimeColumn, group).data(Qt::ToolTipRole).toString().startsWith(shown));
        // The search box's hint, elided in a narrow dock, is whole in its tooltip.
        QLineEdit* search = w.findingsPanel()->searchBox();
        QVERIFY(search->toolTip().contains(QStringLiteral("kind")) && search->toolTip().contains(QStringLiteral("thread"))
                && search->toolTip().contains(QStringLiteral("object")));
    }

    // Run Program…: the program field's hint and the suggested trace path are whole at the
    // dialog's opening size; a path typed longer than the field is whole in its tooltip.
    void runDialogShowsItsHintAndTracePathWhole()
    {
        RunProgramDialog dialog;
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        auto* trace = dialog.findChild<QLineEdit*>(QStringLiteral("traceFile"));
        QVERIFY(trace);
        const QString path = trace->text();
        QVERIFY(!path.isEmpty());
        const int room = trace->contentsRect().width() - 8; // the frame's text margins
        QVERIFY2(trace->fontMetrics().horizontalAdvance(path) <= room,
                 qPrintable(QStringLiteral("'%1' needs %2 px, the field has %3")
                                .arg(path)
                                .arg(trace->fontMetrics().horizontalAdvance(path))
                                .arg(room)));
        QCOMPARE(trace->toolTip(), path);
        auto* program = dialog.findChild<QComboBox*>();
        QVERIFY(program && program->lineEdit());
        const QString hint = program->lineEdit()->placeholderText();
        QVERIFY2(program->lineEdit()->fontMetrics().horizontalAdvance(hint) <= program->lineEdit()->contentsRect().width() - 4,
                 qPrintable(hint));
        const QString longer = QStringLiteral("/tmp/") + QString(QLatin1Char('x')).repeated(300) + QStringLiteral(".ravel");
        trace->setText(longer);
        QCOMPARE(trace->toolTip(), longer);
        QVERIFY(!saveScreenshot(&dialog, QStringLiteral("readable-run-dialog")).isEmpty());
    }

    // The playback bar's time has the digits one pixel of the timeline needs: at a 15 µs view two
    // playheads three pixels apart read differently; with the whole run in view it reads as the
    // command line prints times.
    void playbackTimeFollowsTheZoom()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, dining()));
        ViewState* s = w.viewState();
        QLabel* time = w.findChild<QLabel*>(QStringLiteral("playheadTime"));
        QVERIFY(time);
        const quint64 moment = std::min(findingTime(w.document()->findings()[0]), s->duration());
        QVERIFY(moment > 20000);
        s->setVisibleRange(moment - 10000, moment + 5000);
        QTRY_VERIFY2(s->nsPerPixel() > 0 && s->nsPerPixel() < 50,
                     qPrintable(QStringLiteral("%1 ns a pixel, %2 to %3").arg(s->nsPerPixel()).arg(s->visibleFrom()).arg(s->visibleTo())));
        const double px = s->nsPerPixel();
        s->setPlayhead(moment - 2000);
        const QString a = time->text();
        s->setPlayhead(moment - 2000 + quint64(3 * px));
        const QString b = time->text();
        QVERIFY2(a != b, qPrintable(a + QStringLiteral(" = ") + b));
        QCOMPARE(a, QStringLiteral("t = %1 / %2").arg(TimelineRuler::timeAt(moment - 2000, px),
                                                       TimelineRuler::timeAt(s->duration(), px)));
        QVERIFY(!saveScreenshot(w.findChild<PlaybackBar*>(), QStringLiteral("readable-playback-time-15us")).isEmpty());
        // Zoomed out again: the command line's precision.
        s->setVisibleRange(0, s->duration());
        QTRY_COMPARE(time->text(), QStringLiteral("t = %1 / %2")
                                       .arg(QString::fromStdString(ravel::formatTraceTime(s->playhead())),
                                            QString::fromStdString(ravel::formatTraceTime(s->duration()))));
    }

    // The timeline picture's title: the range and the playhead as times (not durations), as
    // precise as a pixel of the picture.
    void exportTitleFollowsTheZoom()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, dining()));
        ViewState* s = w.viewState();
        TimelineView* tl = w.timelineView();
        const quint64 moment = std::min(findingTime(w.document()->findings()[0]), s->duration());
        s->setVisibleRange(moment - 10000, moment + 5000);
        const double px = double(15000) / 1400; // the picture is at least 1600 px wide
        s->setPlayhead(moment - 2000);
        const QString a = tl->exportTitle(px);
        s->setPlayhead(moment - 2000 + quint64(3 * px));
        const QString b = tl->exportTitle(px);
        QVERIFY2(a != b, qPrintable(a));
        QVERIFY2(a.contains(QStringLiteral(" — %1 to %2").arg(TimelineRuler::timeAt(moment - 10000, px),
                                                             TimelineRuler::timeAt(moment + 5000, px))),
                 qPrintable(a));
        QVERIFY2(a.contains(QStringLiteral("playhead at %1").arg(TimelineRuler::timeAt(moment - 2000, px))), qPrintable(a));
        // The picture written says the same.
        const QString png = scratchDir() + QStringLiteral("/readable-title.png");
        QString error;
        QVERIFY2(tl->exportImage(png, &error), qPrintable(error));
        QVERIFY(QImage(png).width() >= 1600);
        // A picture too narrow for the title on one line gives it two, not an ellipsis.
        QFont bold = tl->font();
        bold.setBold(true);
        QVERIFY(QFontMetrics(bold).horizontalAdvance(tl->exportTitle()) > 900 - 16);
        QVERIFY(QFontMetrics(bold).horizontalAdvance(tl->exportTitle()) <= 2 * (900 - 16) - 100);
        QVERIFY(tl->exportTitleHeight(900) > tl->exportTitleHeight(4000));
        const QString narrow = artifactDir() + QStringLiteral("/readable-timeline-export-narrow.png");
        QVERIFY2(tl->exportImage(narrow, &error, QSize(900, 400)), qPrintable(error));
        const QString artifact = artifactDir() + QStringLiteral("/readable-timeline-export-15us.png");
        QFile::remove(artifact);
        QVERIFY(QFile::copy(png, artifact));
    }

    // The race tab's times follow the zoom as the rest of Details does.
    void raceTabTimesFollowTheZoom()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, racyBank()));
        int race = -1;
        for (size_t i = 0; i < w.document()->findings().size(); i++)
            if (w.document()->findings()[i].kind == "data-race")
                race = int(i);
        QVERIFY2(race >= 0, "racy_bank recorded no data race");
        QVERIFY(w.selectFinding(race + 1));
        auto* later = w.detailsPanel()->findChild<QLabel*>(QStringLiteral("raceLaterHeader"));
        QVERIFY(later);
        const quint64 t = findingTime(w.document()->findings()[size_t(race)]);
        ViewState* s = w.viewState();
        s->setVisibleRange(t > 7000 ? t - 7000 : 0, t + 8000);
        QTRY_VERIFY(s->nsPerPixel() > 0 && s->nsPerPixel() < 50);
        QTRY_VERIFY2(later->text().contains(TimelineRuler::timeAt(t, s->nsPerPixel())), qPrintable(later->text()));
    }
};

QTEST_MAIN(TestReadableText)
#include "test_readable_text.moc"
