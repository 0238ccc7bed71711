// RunRequest: what File > Run Program… runs: a program, its arguments, where, and with which
// environment changes. Plain data, kept in the recent list of the settings.
#pragma once

#include <QString>
#include <QStringList>
#include <QVariantMap>

namespace ravel::gui {

struct RunRequest {
    QString program; // a path, or a name looked up in PATH (as a shell does)
    QStringList arguments;
    QString workingDirectory; // empty: the GUI's own
    QStringList environment; // "NAME=value", set on top of the GUI's environment

    bool operator==(const RunRequest&) const = default;

    // "dining 5": the program's file name and its arguments, for titles and lists.
    QString displayLine() const;
    QVariantMap toVariant() const;
    static RunRequest fromVariant(const QVariantMap& map);
};

} // namespace ravel::gui
