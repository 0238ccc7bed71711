// Helpers for tests that drive the whole MainWindow: open a trace and wait until everything it
// starts (analyses, layouts, symbolization) has settled; find a menu action by its text.
#pragma once

#include "main_window.hpp"

#include <QAction>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>

namespace ravel::gui::test {

inline bool openAndSettle(MainWindow& w, const QString& path)
{
    QSignalSpy ready(&w, &MainWindow::traceReady);
    w.openTrace(path);
    if (!ready.wait(60000) && ready.isEmpty())
        return false;
    QElapsedTimer t;
    t.start();
    while (!w.isSettled() && t.elapsed() < 30000)
        QTest::qWait(20);
    QTest::qWait(50);
    return w.isSettled();
}

inline QAction* findAction(QWidget* w, const QString& text)
{
    for (QAction* a : w->findChildren<QAction*>())
        if (a->text() == text)
            return a;
    return nullptr;
}

} // namespace ravel::gui::test
