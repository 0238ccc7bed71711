// The GUI on a lock-order graph of thousands of locks (3000 bucket locks taken in pairs in every
// order, recorded under the real `ravel run`): the lock-order view shows one class node with its
// count and a click selects every lock of it; a big layout runs in a child process that is killed
// when the layout worker goes, so neither the view nor the window's exit waits for Graphviz
// (before, `ravel-gui TRACE --quit` joined a worker stuck in dot for good).
#include "gui_test_util.hpp"

#include "graph/graph_layout_worker.hpp"
#include "graph/graph_node_item.hpp"
#include "graph/lock_order_graph_view.hpp"
#include "main_window.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <QElapsedTimer>
#include <QProcess>
#include <QSignalSpy>
#include <QTest>

#include <ravel/trace_format.h>

using namespace ravel::gui;

namespace {

bool settled(GraphView& view, int timeoutMs = 60000)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeoutMs) {
        if (!view.isLayoutPending() && view.hasGraph())
            return true;
        QTest::qWait(10);
    }
    return false;
}

// A graph no layout engine finishes quickly: `nodes` locks, each ordered before the next few.
ravel::GraphModel hairball(size_t nodes, size_t fanOut)
{
    ravel::GraphModel g;
    g.kind = ravel::GraphKind::LockOrder;
    g.title = "hairball";
    for (size_t i = 0; i < nodes; i++) {
        ravel::GraphNode n;
        n.id = "o" + std::to_string(i);
        n.kind = ravel::GraphNodeKind::Object;
        n.objectKind = RAVEL_OBJ_MUTEX;
        n.label = "mutex lock_number_" + std::to_string(i);
        g.nodes.push_back(std::move(n));
    }
    for (size_t i = 0; i < nodes; i++)
        for (size_t k = 1; k <= fanOut; k++) {
            ravel::GraphEdge e;
            e.from = i;
            e.to = (i * 7 + k * 13) % nodes;
            e.kind = ravel::GraphEdgeKind::LockOrder;
            e.label = "T2 worker";
            g.edges.push_back(std::move(e));
        }
    return g;
}

} // namespace

class BigLockGraphTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void lockOrderViewShowsClassNodesWithTheirCounts();
    void clickingAClassSelectsEveryLockOfIt();
    void bigLayoutRunsInAChildAndIsKilledWhenTheWorkerGoes();
    void windowClosesPromptlyOnABigTrace();
    void guiQuitsPromptlyOnABigTrace();

private:
    QString m_trace;
};

void BigLockGraphTest::initTestCase()
{
    // The e2e suite's program: a server's bucket locks in miniature.
    const QString program = QStringLiteral(RAVEL_BUCKETS_PROGRAM);
    QVERIFY2(QFile::exists(program), qPrintable(program + " is built with the e2e helpers"));
    m_trace = test::scratchDir() + QStringLiteral("/buckets.ravel");
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("RAVEL_OPTIONS"));
    env.remove(QStringLiteral("LD_PRELOAD"));
    p.setProcessEnvironment(env);
    p.start(test::ravelBinary(), { QStringLiteral("run"), QStringLiteral("-q"), QStringLiteral("-o"), m_trace,
                                   QStringLiteral("--"), program });
    QVERIFY(p.waitForFinished(120000));
    QCOMPARE(p.exitCode(), 0);
    QVERIFY(QFile::exists(m_trace));
}

void BigLockGraphTest::lockOrderViewShowsClassNodesWithTheirCounts()
{
    TraceDocument doc;
    QVERIFY(test::loadDocument(doc, m_trace));
    ViewState state;
    state.reset(doc.durationNs());
    LockOrderGraphView view(&doc, &state);
    view.resize(900, 600);
    view.show();
    QVERIFY(settled(view));

    QStringList labels;
    for (GraphNodeItem* n : view.nodeItems())
        labels << QString::fromStdString(n->node().label);
    QCOMPARE(labels.size(), 3); // buckets[*], stats_lock, log_lock: a handful, not 3002
    QVERIFY2(labels.contains(QStringLiteral("mutex buckets[*] \u00d73000")), qPrintable(labels.join(", ")));
    QVERIFY(labels.contains(QStringLiteral("mutex stats_lock")));
    GraphNodeItem* buckets = nullptr;
    for (GraphNodeItem* n : view.nodeItems())
        if (n->node().instances.size() == 3000)
            buckets = n;
    QVERIFY(buckets);
    QVERIFY2(buckets->toolTip().contains(QStringLiteral("buckets[1]")), qPrintable(buckets->toolTip()));
    QVERIFY(buckets->toolTip().contains(QStringLiteral("select all 3000")));
    QVERIFY(QString::fromStdString(view.shownGraph().title).contains(QStringLiteral("3 lock classes (3002 locks)")));
    // For a person to look at: labels readable, not overlapping.
    QVERIFY(!test::saveScreenshot(&view, QStringLiteral("graph-lock-order-classes")).isEmpty());
}

void BigLockGraphTest::clickingAClassSelectsEveryLockOfIt()
{
    TraceDocument doc;
    QVERIFY(test::loadDocument(doc, m_trace));
    ViewState state;
    state.reset(doc.durationNs());
    LockOrderGraphView view(&doc, &state);
    view.resize(900, 600);
    view.show();
    QVERIFY(settled(view));
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    GraphNodeItem* buckets = nullptr;
    for (GraphNodeItem* n : view.nodeItems())
        if (n->node().instances.size() == 3000)
            buckets = n;
    QVERIFY(buckets);
    const QPoint at = view.mapFromScene(buckets->sceneBoundingRect().center());
    QTest::mouseClick(view.viewport(), Qt::LeftButton, {}, at);
    QCOMPARE(state.selectedObjects().size(), 3000);
    QVERIFY(buckets->isHighlighted());
}

void BigLockGraphTest::bigLayoutRunsInAChildAndIsKilledWhenTheWorkerGoes()
{
    ravel::GraphModel g = hairball(3000, 6);
    QVERIFY(ravel::isBigGraph(g));
    auto* worker = new GraphLayoutWorker;
    int client = 0;
    worker->submit(&client, g);
    QElapsedTimer t;
    t.start();
    while (worker->childLayouts() == 0 && t.elapsed() < 10000)
        QTest::qWait(5);
    QCOMPARE(worker->childLayouts(), quint64(1));
    QTest::qWait(200); // well inside Graphviz by now: sfdp takes seconds on this
    QVERIFY(!worker->isIdle());
    t.restart();
    delete worker; // joins its thread: the child is killed, not waited for
    QVERIFY2(t.elapsed() < 2000, qPrintable(QString::number(t.elapsed()) + " ms to destroy the worker"));
}

void BigLockGraphTest::windowClosesPromptlyOnABigTrace()
{
    QElapsedTimer t;
    t.start();
    auto* w = new MainWindow;
    w->resize(1280, 800);
    w->show();
    QSignalSpy ready(w, &MainWindow::traceReady);
    w->openTrace(m_trace);
    QTRY_VERIFY_WITH_TIMEOUT(!ready.isEmpty(), 60000); // it may have come already
    QVERIFY(settled(*w->lockOrderGraphView()));
    const qint64 openMs = t.elapsed();
    QVERIFY(!w->lockOrderGraphView()->nodeItems().isEmpty());
    t.restart();
    w->close();
    delete w;
    const qint64 closeMs = t.elapsed();
    qInfo("open and lay out: %lld ms, close: %lld ms", openMs, closeMs);
    QVERIFY2(closeMs < 2000, qPrintable(QString::number(closeMs) + " ms to close"));
}

void BigLockGraphTest::guiQuitsPromptlyOnABigTrace()
{
    QProcess p;
    p.start(test::guiBinary(), { m_trace, QStringLiteral("--quit") });
    QElapsedTimer t;
    t.start();
    QVERIFY2(p.waitForFinished(60000), "ravel-gui TRACE --quit did not exit in 60 s");
    qInfo("ravel-gui TRACE --quit: %lld ms", t.elapsed());
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 0);
}

QTEST_MAIN(BigLockGraphTest)
#include "test_big_lock_graph.moc"
