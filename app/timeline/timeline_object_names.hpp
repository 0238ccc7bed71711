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
    TimelineObjectNames(const ravel::ReplayModel& model, ravel::Symbolizer& symbolizer);
    ~TimelineObjectNames();

    // The object's name, "object N" for an index the trace does not have.
    const QString& name(quint32 object);

private:
    const ravel::ReplayModel& m_model;
    std::unique_ptr<ravel::ObjectNamer> m_namer;
    std::vector<QString> m_names; // by object index; null = not named yet
    quint32 m_namedUpTo = 0;      // ObjectNamer wants indices in first-use order: 0, 1, 2, ...
    QString m_unknown;
};

} // namespace ravel::gui
