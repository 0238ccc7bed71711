// A small JSON Schema checker: the subset docs/report.schema.json uses (Debian packages no C++
// JSON Schema validator). validateReport returns the first violation, "" when the report is valid.
// Shared by the unit tests of the report formats and the end-to-end tests of real runs.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace ravel::schema_check {

using json = nlohmann::json;


inline const json& schema()
{
    static const json s = [] {
        std::ifstream in(std::filesystem::path(RAVEL_SOURCE_DIR) / "docs" / "report.schema.json");
        return json::parse(in);
    }();
    return s;
}

inline bool hasType(const json& v, const std::string& type)
{
    if (type == "null")
        return v.is_null();
    if (type == "integer")
        return v.is_number_integer();
    if (type == "number")
        return v.is_number();
    if (type == "string")
        return v.is_string();
    if (type == "boolean")
        return v.is_boolean();
    if (type == "array")
        return v.is_array();
    if (type == "object")
        return v.is_object();
    return false;
}

inline std::string check(const json& v, const json& s, const std::string& at)
{
    if (s.contains("$ref")) {
        std::string ref = s["$ref"];
        return check(v, schema()["$defs"][ref.substr(ref.rfind('/') + 1)], at);
    }
    if (s.contains("const") && v != s["const"])
        return at + ": not " + s["const"].dump();
    if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end())
        return at + ": " + v.dump() + " not in the enum";
    if (s.contains("type")) {
        bool ok = false;
        if (s["type"].is_string())
            ok = hasType(v, s["type"]);
        else
            for (const auto& t : s["type"])
                ok = ok || hasType(v, t);
        if (!ok)
            return at + ": " + v.dump() + " is not of type " + s["type"].dump();
    }
    if (s.contains("oneOf")) {
        int passed = 0;
        for (const auto& alt : s["oneOf"])
            passed += check(v, alt, at).empty() ? 1 : 0;
        if (passed != 1)
            return at + ": matches " + std::to_string(passed) + " of oneOf";
    }
    if (s.contains("minimum") && v.is_number() && v.get<double>() < s["minimum"].get<double>())
        return at + ": below the minimum";
    if (s.contains("pattern") && v.is_string() && !std::regex_search(v.get<std::string>(), std::regex(s["pattern"].get<std::string>())))
        return at + ": " + v.dump() + " does not match " + s["pattern"].get<std::string>();
    if (v.is_object()) {
        // Bound to locals: a range-for over a temporary's items() would dangle.
        const json required = s.value("required", json::array());
        const json properties = s.value("properties", json::object());
        for (const auto& r : required)
            if (!v.contains(r.get<std::string>()))
                return at + ": missing " + r.get<std::string>();
        for (const auto& [key, sub] : properties.items())
            if (v.contains(key))
                if (std::string e = check(v[key], sub, at + "." + key); !e.empty())
                    return e;
        if (s.contains("additionalProperties") && s["additionalProperties"].is_object())
            for (const auto& [key, sub] : v.items())
                if (std::string e = check(sub, s["additionalProperties"], at + "." + key); !e.empty())
                    return e;
    }
    if (v.is_array() && s.contains("items"))
        for (size_t i = 0; i < v.size(); i++)
            if (std::string e = check(v[i], s["items"], at + "[" + std::to_string(i) + "]"); !e.empty())
                return e;
    return {};
}

inline std::string validateReport(const json& report) { return check(report, schema(), "$"); }

} // namespace ravel::schema_check
