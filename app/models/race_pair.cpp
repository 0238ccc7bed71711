#include "models/race_pair.hpp"

#include "model/replay_model.hpp"

#include <QStringList>

#include <algorithm>
#include <map>

namespace ravel::gui {

namespace {

std::optional<quint32> modelObject(const ravel::ReplayModel& model, const ravel::FindingObject& o)
{
    const std::vector<ravel::ObjectRecord>& objects = model.objects();
    for (size_t i = 0; i < objects.size(); i++)
        if (objects[i].address == o.address && objects[i].generation == o.generation)
            return quint32(i);
    return std::nullopt;
}

RaceAccess accessOf(const ravel::FindingAccess& a)
{
    RaceAccess r;
    r.thread = a.thread;
    r.write = a.write;
    r.atomic = a.atomic;
    r.size = a.size;
    r.stack = a.stack;
    return r;
}

QString lockList(const QList<quint32>& locks, const std::function<QString(quint32)>& name)
{
    QStringList names;
    for (quint32 o : locks)
        names << QStringLiteral("`%1`").arg(name(o));
    if (names.size() <= 1)
        return names.join(QString());
    const QString last = names.takeLast();
    return names.join(QStringLiteral(", ")) + QStringLiteral(" and ") + last;
}

} // namespace

QString accessWhat(const RaceAccess& a)
{
    const QString op = a.atomic ? (a.write ? QStringLiteral("atomic write") : QStringLiteral("atomic read"))
                                : (a.write ? QStringLiteral("write") : QStringLiteral("read"));
    if (a.size == 255)
        return QStringLiteral("%1 of 255 or more bytes").arg(op);
    return QStringLiteral("%1 of %2 byte%3").arg(op).arg(a.size).arg(a.size == 1 ? "" : "s");
}

QString accessVerb(const RaceAccess& a) { return a.write ? QStringLiteral("wrote") : QStringLiteral("read"); }

std::optional<RacePair> racePairOf(const ravel::ReplayModel& model, const ravel::Finding& f, int findingIndex)
{
    if (f.kind != "data-race" || f.accesses.size() < 2)
        return std::nullopt;
    RacePair pair;
    pair.finding = findingIndex;
    if (!f.objects.empty()) {
        pair.variable = QString::fromStdString(f.objects.front().name);
        pair.address = f.objects.front().address;
    }
    pair.second = accessOf(f.accesses[0]);
    pair.first = accessOf(f.accesses[1]);
    const quint64 t2 = f.accesses[0].timeNs;
    pair.second.timeKnown = true;
    pair.second.earliestNs = pair.second.latestNs = t2;
    pair.second.heldKnown = f.accesses[0].heldKnown;
    for (size_t i : f.accesses[0].held)
        if (i < f.objects.size())
            if (auto o = modelObject(model, f.objects[i]))
                pair.second.held << *o;

    const ravel::ModelThread* second = model.thread(pair.second.thread);
    const ravel::ModelThread* first = model.thread(pair.first.thread);
    const std::vector<ravel::HoldSpan>& holds = model.holdSpans();
    quint64 lo = first ? first->startNs : 0;
    quint64 hi = t2;
    if (first && first->exitNs != ravel::kOpenEnd)
        hi = std::min<quint64>(hi, first->exitNs);
    if (second && first) {
        // A thread the first one created after its access could not race with it.
        if (second->parent == first->id && second->startNs <= t2)
            lo = std::max<quint64>(lo, second->startNs);
        // The second thread's latest acquisition of each lock before its access.
        std::map<quint32, std::pair<quint64, bool>> taken; // object -> (acquired at, shared)
        for (quint32 hi2 : second->holds) {
            const ravel::HoldSpan& h = holds[hi2];
            if (h.start > t2)
                break;
            taken[h.object] = { h.start, (h.flags & RAVEL_F_SHARED) != 0 };
        }
        // A release of one of them by the first thread before that acquisition ordered everything
        // the first thread did before it, so its access came after the latest such release.
        for (quint32 hi1 : first->holds) {
            const ravel::HoldSpan& h = holds[hi1];
            if (h.start > hi)
                break;
            auto it = taken.find(h.object);
            if (it == taken.end() || h.end == ravel::kOpenEnd || h.end > it->second.first)
                continue;
            if (it->second.second && (h.flags & RAVEL_F_SHARED))
                continue; // two readers order nothing
            if (h.end >= lo) {
                lo = h.end;
                pair.first.orderedAfterLock = h.object;
                pair.first.orderedAfterNs = h.end;
            }
        }
    }
    lo = std::min(lo, hi);
    pair.first.earliestNs = lo;
    pair.first.latestNs = hi;
    // What the first thread held over that range: a lock held all through it was held at the
    // access; with no hold touching the range at all, it held none.
    bool anyOverlap = false;
    if (first)
        for (quint32 hi1 : first->holds) {
            const ravel::HoldSpan& h = holds[hi1];
            if (h.start > hi)
                break;
            if (h.end != ravel::kOpenEnd && h.end <= lo)
                continue;
            anyOverlap = true;
            if (h.start <= lo && (h.end == ravel::kOpenEnd || h.end >= hi) && !pair.first.held.contains(h.object))
                pair.first.held << h.object;
        }
    pair.first.heldKnown = !anyOverlap;
    // Both holding one lock exclusively would have ordered them: what the second access held
    // exclusively, the first did not.
    for (quint32 o : pair.second.held)
        if (!pair.first.held.contains(o))
            pair.first.notHeld << o;
    return pair;
}

QString raceExplanation(const RacePair& pair, const std::function<QString(quint32)>& threadName,
                        const std::function<QString(quint32)>& objectName)
{
    const RaceAccess& s = pair.second;
    const RaceAccess& p = pair.first;
    const QString sName = threadName(s.thread), pName = threadName(p.thread);
    const QString var = pair.variable.isEmpty() ? QStringLiteral("the same memory")
                                                : QStringLiteral("`%1`").arg(pair.variable);
    auto holding = [&](const RaceAccess& a) {
        if (!a.heldKnown && a.held.isEmpty())
            return a.notHeld.isEmpty()
                ? QStringLiteral("with the locks it held then not recorded")
                : QStringLiteral("not holding %1 (the locks it held then are not recorded)").arg(lockList(a.notHeld, objectName));
        if (a.held.isEmpty())
            return QStringLiteral("holding no lock");
        QString text = QStringLiteral("holding %1").arg(lockList(a.held, objectName));
        if (!a.heldKnown)
            text += QStringLiteral(" (and perhaps others)");
        return text;
    };
    QString text = QStringLiteral("%1 %2 %3 %4; ").arg(sName, accessVerb(s), var, holding(s));
    text += QStringLiteral("%1 %2 it %3; ").arg(pName, accessVerb(p), holding(p));
    const QString sNoun = s.write ? QStringLiteral("write") : QStringLiteral("read");
    const QString pNoun = p.write ? QStringLiteral("write") : QStringLiteral("read");
    text += QStringLiteral("nothing orders %1's %2 after %3's %4: ").arg(sName, sNoun, pName, pNoun);
    if (p.heldKnown && p.held.isEmpty() && !s.held.isEmpty())
        text += QStringLiteral("%1 held no lock, so it released none for %2's %3 to follow")
                    .arg(pName, sName, lockList(s.held, objectName));
    else if (p.heldKnown && p.held.isEmpty() && s.held.isEmpty())
        text += QStringLiteral("neither held a lock");
    else if (!p.held.isEmpty() && !s.held.isEmpty())
        text += QStringLiteral("they held different locks");
    else if (!p.held.isEmpty())
        text += QStringLiteral("%1 took no lock, so %2's release of %3 ordered nothing for it")
                    .arg(sName, pName, lockList(p.held, objectName));
    else
        text += QStringLiteral("no lock %1 released before its %2 was taken by %3 before its own").arg(pName, pNoun, sName);
    text += QStringLiteral(", and no join, message or release/acquire atomic links them.");
    return text;
}

} // namespace ravel::gui
