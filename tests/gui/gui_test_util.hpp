// Helpers for the GUI tests: record a real trace of an example program with the real `ravel run`
// of this build tree, wait for a TraceDocument to load, and save screenshots of widgets as PNG test
// artifacts (RAVEL_ARTIFACT_DIR) for a person to look at. Header-only: every gui_* test includes it.
#pragma once

#include "models/trace_document.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QMap>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QWidget>

#include <memory>

#ifndef RAVEL_BIN_DIR
#error "RAVEL_BIN_DIR (the build tree's bin/) must be defined by tests/gui/CMakeLists.txt"
#endif

namespace ravel::gui::test {

inline QString binDir() { return QStringLiteral(RAVEL_BIN_DIR); }
inline QString ravelBinary() { return binDir() + QStringLiteral("/ravel"); }
inline QString guiBinary() { return binDir() + QStringLiteral("/ravel-gui"); }
inline QString examplePath(const QString& name) { return binDir() + QStringLiteral("/examples/") + name; }
inline QString sourceDir() { return QStringLiteral(RAVEL_SOURCE_DIR); }
inline QString artifactDir()
{
    // The environment wins so a CI job can collect the screenshots elsewhere.
    QString dir = qEnvironmentVariable("RAVEL_ARTIFACT_DIR", QStringLiteral(RAVEL_ARTIFACT_DIR));
    QDir().mkpath(dir);
    return dir;
}

// One temporary directory per test process, removed at exit: traces, exports, corrupt files.
inline QString scratchDir()
{
    static QTemporaryDir dir(QDir::tempPath() + QStringLiteral("/ravel-gui-test-XXXXXX"));
    return dir.path();
}

struct Recording {
    QString tracePath;
    int exitCode = -1;
    QString stderrText;
};

// Records `example args...` under `ravel run` and returns the trace. Deadlocking examples end with
// 66 (the watchdog ends them), which is expected. Cached per command line within one process, so
// several tests of one binary share a recording. Fails the test (returns an empty path) when no
// trace was written.
inline Recording recordExampleFull(const QString& example, const QStringList& args = {},
                                   const QStringList& ravelOptions = {})
{
    static QMap<QString, Recording> cache;
    const QString key = (QStringList { example } + args + ravelOptions).join(QLatin1Char(' '));
    if (cache.contains(key))
        return cache.value(key);
    Recording rec;
    static int serial = 0;
    rec.tracePath = QStringLiteral("%1/%2-%3.ravel").arg(scratchDir(), example).arg(++serial);
    QProcess p;
    p.setProgram(ravelBinary());
    QStringList argv { QStringLiteral("run"), QStringLiteral("-o"), rec.tracePath };
    argv << ravelOptions << QStringLiteral("--") << examplePath(example) << args;
    p.setArguments(argv);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("RAVEL_OPTIONS"));
    env.remove(QStringLiteral("LD_PRELOAD"));
    p.setProcessEnvironment(env);
    p.start();
    if (!p.waitForFinished(120000)) {
        p.kill();
        p.waitForFinished();
        qWarning("ravel run %s: did not finish in 120 s", qPrintable(key));
    }
    rec.exitCode = p.exitCode();
    rec.stderrText = QString::fromLocal8Bit(p.readAllStandardError());
    if (!QFile::exists(rec.tracePath)) {
        qWarning("ravel run %s wrote no trace (exit %d): %s", qPrintable(key), rec.exitCode,
                 qPrintable(rec.stderrText));
        rec.tracePath.clear();
    }
    cache.insert(key, rec);
    return rec;
}

inline QString recordExample(const QString& example, const QStringList& args = {})
{
    return recordExampleFull(example, args).tracePath;
}

// Opens `path` in `doc` and waits for loaded() or failed(). True when it loaded.
inline bool loadDocument(TraceDocument& doc, const QString& path, int timeoutMs = 60000, QString* error = nullptr)
{
    QSignalSpy loaded(&doc, &TraceDocument::loaded);
    QSignalSpy failed(&doc, &TraceDocument::failed);
    doc.open(path);
    QElapsedTimer t;
    t.start();
    while (loaded.isEmpty() && failed.isEmpty() && t.elapsed() < timeoutMs)
        QTest::qWait(10);
    if (error && !failed.isEmpty())
        *error = failed.first().first().toString();
    return !loaded.isEmpty();
}

// Waits until the document's background statistics have arrived.
inline bool waitForStats(TraceDocument& doc, int timeoutMs = 60000)
{
    QElapsedTimer t;
    t.start();
    while (!doc.stats() && t.elapsed() < timeoutMs)
        QTest::qWait(10);
    return doc.stats() != nullptr;
}

// Saves a screenshot of `widget` as <artifacts>/<name>.png and returns its path (empty on failure).
inline QString saveScreenshot(QWidget* widget, const QString& name)
{
    QCoreApplication::processEvents();
    const QString path = artifactDir() + QLatin1Char('/') + name + QStringLiteral(".png");
    if (!widget->grab().save(path, "PNG"))
        return {};
    return path;
}

// A file that is not a ravel trace at all, and a real trace cut in the middle.
inline QString writeGarbageTrace(const QString& name = QStringLiteral("garbage.ravel"))
{
    const QString path = scratchDir() + QLatin1Char('/') + name;
    QFile f(path);
    if (f.open(QIODevice::WriteOnly))
        f.write(QByteArray("this is not a ravel trace\n").repeated(200));
    return path;
}

inline QString writeTruncatedCopy(const QString& trace, qint64 keepBytes, const QString& name)
{
    const QString path = scratchDir() + QLatin1Char('/') + name;
    QFile in(trace);
    QFile out(path);
    if (in.open(QIODevice::ReadOnly) && out.open(QIODevice::WriteOnly))
        out.write(in.read(keepBytes));
    return path;
}

} // namespace ravel::gui::test
