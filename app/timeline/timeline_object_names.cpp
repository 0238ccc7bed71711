#include "timeline/timeline_object_names.hpp"

#include "model/replay_model.hpp"
#include "symbols/symbolizer.hpp"

namespace ravel::gui {

TimelineObjectNames::TimelineObjectNames(const ravel::ReplayModel& model, ravel::Symbolizer& symbolizer)
{
    addPart(model, symbolizer);
}

TimelineObjectNames::~TimelineObjectNames() = default;

void TimelineObjectNames::addPart(const ravel::ReplayModel& model, ravel::Symbolizer& symbolizer)
{
    Part p;
    p.model = &model;
    p.namer = std::make_unique<ravel::ObjectNamer>(symbolizer, model.trace());
    p.names.resize(model.objects().size());
    m_parts.push_back(std::move(p));
}

const QString& TimelineObjectNames::name(int part, quint32 object)
{
    if (part < 0 || size_t(part) >= m_parts.size() || object >= m_parts[size_t(part)].model->objects().size()) {
        m_unknown = QStringLiteral("object %1").arg(object);
        return m_unknown;
    }
    Part& p = m_parts[size_t(part)];
    const std::vector<ravel::ObjectRecord>& objects = p.model->objects();
    // "#2" suffixes depend on naming in index order, as every other command does.
    for (; p.namedUpTo <= object; p.namedUpTo++)
        p.names[p.namedUpTo] = QString::fromStdString(p.namer->name(p.namedUpTo, objects[p.namedUpTo]));
    return p.names[object];
}

} // namespace ravel::gui
