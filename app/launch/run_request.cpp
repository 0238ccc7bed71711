#include "launch/run_request.hpp"

#include <QFileInfo>

namespace ravel::gui {

QString RunRequest::displayLine() const
{
    QStringList words { QFileInfo(program).fileName() };
    for (const QString& a : arguments)
        words << (a.contains(QLatin1Char(' ')) || a.isEmpty() ? QLatin1Char('"') + a + QLatin1Char('"') : a);
    return words.join(QLatin1Char(' '));
}

QVariantMap RunRequest::toVariant() const
{
    return { { QStringLiteral("program"), program }, { QStringLiteral("arguments"), arguments },
        { QStringLiteral("workingDirectory"), workingDirectory }, { QStringLiteral("environment"), environment } };
}

RunRequest RunRequest::fromVariant(const QVariantMap& map)
{
    RunRequest r;
    r.program = map.value(QStringLiteral("program")).toString();
    r.arguments = map.value(QStringLiteral("arguments")).toStringList();
    r.workingDirectory = map.value(QStringLiteral("workingDirectory")).toString();
    r.environment = map.value(QStringLiteral("environment")).toStringList();
    return r;
}

} // namespace ravel::gui
