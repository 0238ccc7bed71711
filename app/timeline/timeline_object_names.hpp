// TimelineObjectNames: display names of synchronization objects for span labels and tooltips
// ("forks[3]", "accounts[2].m"), named once each through the analyzer's ObjectNamer so the
// timeline says what the report and the graphs say. Symbolization is GUI-thread-only and can take
// a while for a program's first lookup, so names are made on first use, not for every object up
// front (a trace can have a million heap mutexes).
#pragma once

#include "model/objects.hpp"

#include <QString>

#include <memory>
#include <vector>

namespace ravel {
class ReplayModel;
class Symbolizer;
} // namespace ravel

namespace ravel::gui {

class TimelineObjectNames {
public:
    // Part 0's model (a run of several parts adds the others, in part order, with addPart).
    TimelineObjectNames(const ravel::ReplayModel& model, ravel::Symbolizer& symbolizer);
    ~TimelineObjectNames();
    void addPart(const ravel::ReplayModel& model, ravel::Symbolizer& symbolizer);

    // The object's name, "object N" for an index the trace does not have.
    const QString& name(quint32 object) { return name(0, object); }
    const QString& name(int part, quint32 object);

private:
    struct Part {
        const ravel::ReplayModel* model = nullptr;
        std::unique_ptr<ravel::ObjectNamer> namer;
        std::vector<QString> names; // by object index; null = not named yet
        quint32 namedUpTo = 0;      // ObjectNamer wants indices in first-use order: 0, 1, 2, ...
    };
    std::vector<Part> m_parts;
    QString m_unknown;
};

} // namespace ravel::gui
