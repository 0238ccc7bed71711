#include "report/run_findings.hpp"

#include "trace/run_traces.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

namespace ravel {

namespace {

using json = nlohmann::ordered_json;

constexpr const char* kFormat = "ravel-run-findings";
constexpr int kVersion = 1;

std::string runIdText(uint64_t id) { return fmt::format("{:016x}", id); }

// The file as it is, or nullopt-like empty when absent; throws on a file that is not ours.
bool readDocument(const std::string& path, json& doc, std::string& error)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno != ENOENT)
            error = fmt::format("{}: cannot read: {}", path, std::strerror(errno));
        return false;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    try {
        doc = json::parse(buf.str());
    } catch (const json::exception& e) {
        error = fmt::format("{}: not a findings file ({}), ignored", path, e.what());
        return false;
    }
    if (!doc.is_object() || doc.value("format", "") != kFormat || !doc.contains("findings")
        || !doc["findings"].is_array()) {
        error = fmt::format("{}: not a ravel findings file, ignored", path);
        return false;
    }
    if (doc.value("version", 0) != kVersion) {
        error = fmt::format("{}: findings file version {}, this ravel reads version {}; ignored", path,
                            doc.value("version", 0), kVersion);
        return false;
    }
    return true;
}

} // namespace

RunFindings loadRunFindings(const std::string& mainPath, uint64_t runId)
{
    RunFindings out;
    std::string path = runFindingsPath(mainPath);
    struct stat st;
    if (stat(path.c_str(), &st) != 0)
        return out;
    json doc;
    std::string error;
    if (!readDocument(path, doc, error)) {
        if (!error.empty())
            out.warnings.push_back(error);
        return out;
    }
    // A file left by an earlier run with the same -o is not this run's.
    if (doc.value("run_id", "") != runIdText(runId)) {
        out.warnings.push_back(fmt::format("{}: from another run (run id {}, the trace's is {}), ignored", path,
                                           doc.value("run_id", ""), runIdText(runId)));
        return out;
    }
    size_t index = 0;
    for (const json& entry : doc["findings"]) {
        index++;
        if (!entry.is_object() || !entry.contains("finding") || !entry["finding"].is_object()
            || !entry["finding"].contains("title") || !entry.contains("text") || !entry["text"].is_string()) {
            out.warnings.push_back(fmt::format("{}: finding {} is damaged, skipped", path, index));
            continue;
        }
        out.findings.push_back({ entry["finding"], entry["text"].get<std::string>() });
    }
    return out;
}

void appendRunFinding(const std::string& mainPath, uint64_t runId, const StoredRunFinding& f)
{
    std::string path = runFindingsPath(mainPath);
    json doc;
    std::string error;
    if (!readDocument(path, doc, error) || doc.value("run_id", "") != runIdText(runId)) {
        doc = json::object();
        doc["format"] = kFormat;
        doc["version"] = kVersion;
        doc["run_id"] = runIdText(runId);
        doc["findings"] = json::array();
    }
    doc["findings"].push_back(json { { "finding", f.finding }, { "text", f.text } });
    std::string tmp = path + ".tmp";
    std::string text = doc.dump(2) + "\n";
    FILE* out = std::fopen(tmp.c_str(), "wb");
    if (!out)
        throw std::runtime_error(fmt::format("{}: cannot write: {}", tmp, std::strerror(errno)));
    bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size();
    ok = std::fflush(out) == 0 && ok;
    int err = errno;
    ok = std::fclose(out) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        err = err ? err : errno;
        std::remove(tmp.c_str());
        throw std::runtime_error(fmt::format("{}: cannot write: {}", path, std::strerror(err)));
    }
}

std::vector<std::string> runFindingCandidates(const json& finding)
{
    std::vector<std::string> out;
    auto add = [&](const std::string& s) {
        if (!s.empty())
            out.push_back(s);
    };
    for (const json& t : finding.value("threads", json::array())) {
        if (!t.is_object() || !t.contains("waits_for") || !t["waits_for"].is_object())
            continue;
        for (const json& fr : t["waits_for"].value("stack", json::array())) {
            if (!fr.is_object())
                continue;
            std::string fn = fr.value("function", "");
            add(fn);
            if (size_t paren = fn.find('('); paren != std::string::npos && paren > 0)
                add(fn.substr(0, paren));
            if (fr.contains("file") && fr["file"].is_string()) {
                std::string file = fr["file"].get<std::string>();
                add(file);
                if (size_t slash = file.rfind('/'); slash != std::string::npos)
                    add(file.substr(slash + 1));
            }
        }
    }
    for (const json& o : finding.value("objects", json::array()))
        if (o.is_object())
            add(o.value("name", ""));
    return out;
}

std::string numberedRunFindingText(const std::string& text, size_t number)
{
    for (const char* head : { "==ravel== ERROR: ", "==ravel== WARNING: " }) {
        size_t n = std::strlen(head);
        if (text.compare(0, n, head) == 0)
            return fmt::format("{} #{}: {}", std::string(head, n - 2), number, text.substr(n));
    }
    return text;
}

} // namespace ravel
