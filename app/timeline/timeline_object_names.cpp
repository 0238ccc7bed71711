#include "timeline/timeline_object_names.hpp"

#include "model/replay_model.hpp"
#include "symbols/symbolizer.hpp"

namespace ravel::gui {

TimelineObjectNames::TimelineObjectNames(const ravel::ReplayModel& model, ravel::Symbolizer& symbolizer)
    : m_model(model)
    , m_namer(std::make_unique<ravel::ObjectNamer>(symbolizer, model.trace()))
    , m_names(model.objects().size())
{
}

TimelineObjectNames::~TimelineObjectNames() = default;

const QString& TimelineObjectNames::name(quint32 object)
{
    const std::vector<ravel::ObjectRecord>& objects = m_model.objects();
    if (object >= objects.size()) {
        m_unknown = QStringLiteral("object %1").arg(object);
        return m_unknown;
    }
    // "#2" suffixes depend on naming in index order, as every other command does.
    for (; m_namedUpTo <= object; m_namedUpTo++)
        m_names[m_namedUpTo] = QString::fromStdString(m_namer->name(m_namedUpTo, objects[m_namedUpTo]));
    return m_names[object];
}

} // namespace ravel::gui
