// `ravel export --perfetto` in Perfetto's protobuf format, on traces of real programs recorded
// with `ravel run`: decoded by protoc against the subset of the trace protos kept in the repo (what
// a person would look for: the threads, "lock forks[..]", the deadlock), decoded again here field by
// field to check what the viewer relies on (tracks declared before use, slices that nest on every
// track, flows that pair up, the same content as the JSON export), the --from/--to window, and the
// size against JSON.
#include "e2e_util.hpp"

#include <algorithm>
#include <map>
#include <set>

using namespace ravel::e2e;
using nlohmann::json;

namespace {

// A minimal protobuf reader: fields of one message, in order.
struct Field {
    uint32_t number = 0;
    unsigned wire = 0;
    uint64_t value = 0; // varint or fixed64
    std::string_view bytes; // length-delimited
};

std::vector<Field> fields(std::string_view m)
{
    std::vector<Field> out;
    size_t i = 0;
    auto varint = [&]() {
        uint64_t v = 0;
        for (int shift = 0; i < m.size() && shift < 64; shift += 7) {
            uint8_t b = uint8_t(m[i++]);
            v |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80))
                return v;
        }
        ADD_FAILURE() << "truncated varint";
        i = m.size();
        return v;
    };
    while (i < m.size()) {
        uint64_t key = varint();
        Field f;
        f.number = uint32_t(key >> 3);
        f.wire = unsigned(key & 7);
        if (f.wire == 0) {
            f.value = varint();
        } else if (f.wire == 1) {
            if (i + 8 > m.size()) {
                ADD_FAILURE() << "truncated fixed64";
                break;
            }
            for (int k = 0; k < 8; k++)
                f.value |= uint64_t(uint8_t(m[i + k])) << (8 * k);
            i += 8;
        } else if (f.wire == 2) {
            uint64_t len = varint();
            if (len > m.size() - i) {
                ADD_FAILURE() << "length past the end";
                break;
            }
            f.bytes = m.substr(i, len);
            i += len;
        } else {
            ADD_FAILURE() << "unexpected wire type " << f.wire;
            break;
        }
        out.push_back(f);
    }
    return out;
}

struct Event {
    uint64_t ts = 0;
    uint64_t type = 0; // 1 begin, 2 end, 3 instant
    uint64_t track = 0;
    std::string name, category;
    std::map<std::string, std::string> args;
    std::vector<uint64_t> flows, terminating;
};
struct Track {
    std::string name;
    uint64_t parent = 0;
    bool thread = false;
    int64_t pid = 0, tid = 0;
    std::string threadName, processName;
    bool process = false;
};
struct Decoded {
    std::map<uint64_t, Track> tracks;
    std::vector<Event> events;
    size_t packets = 0;
    std::vector<const Event*> on(const std::function<bool(const Track&)>& which, uint64_t type) const
    {
        std::vector<const Event*> out;
        for (const Event& e : events)
            if (e.type == type && which(tracks.at(e.track)))
                out.push_back(&e);
        return out;
    }
};

// Decodes a whole file: interned names resolved, every check a viewer relies on made on the way.
Decoded decode(const std::string& bytes)
{
    Decoded d;
    std::map<uint64_t, std::string> names, categories, keys, strings;
    bool cleared = false;
    for (const Field& p : fields(bytes)) {
        EXPECT_EQ(p.number, 1u) << "Trace has only packets";
        d.packets++;
        std::optional<uint64_t> ts, flags;
        std::string_view event;
        for (const Field& f : fields(p.bytes)) {
            if (f.number == 8)
                ts = f.value;
            else if (f.number == 10)
                EXPECT_EQ(f.value, 1u) << "one sequence";
            else if (f.number == 13)
                flags = f.value;
            else if (f.number == 11)
                event = f.bytes;
            else if (f.number == 12) {
                for (const Field& list : fields(f.bytes)) {
                    uint64_t iid = 0;
                    std::string text;
                    for (const Field& e : fields(list.bytes))
                        (e.number == 1 ? (void)(iid = e.value) : (void)(text = std::string(e.bytes)));
                    std::map<uint64_t, std::string>* table = list.number == 1 ? &categories
                        : list.number == 2                                    ? &names
                        : list.number == 3                                    ? &keys
                        : list.number == 29                                   ? &strings
                                                                              : nullptr;
                    EXPECT_TRUE(table) << "interned field " << list.number;
                    if (!table)
                        continue;
                    EXPECT_TRUE(table->emplace(iid, text).second) << "iid " << iid << " interned twice";
                }
            } else if (f.number == 60) {
                Track t;
                uint64_t uuid = 0;
                for (const Field& g : fields(f.bytes)) {
                    if (g.number == 1)
                        uuid = g.value;
                    else if (g.number == 2)
                        t.name = g.bytes;
                    else if (g.number == 5)
                        t.parent = g.value;
                    else if (g.number == 3 || g.number == 4) {
                        (g.number == 3 ? t.process : t.thread) = true;
                        for (const Field& h : fields(g.bytes)) {
                            if (h.number == 1)
                                t.pid = int64_t(h.value);
                            else if (h.number == 2)
                                t.tid = int64_t(h.value);
                            else if (h.number == 5 || h.number == 6)
                                (g.number == 3 ? t.processName : t.threadName) = h.bytes;
                        }
                    }
                }
                EXPECT_NE(uuid, 0u);
                if (t.parent) {
                    EXPECT_TRUE(d.tracks.count(t.parent)) << "parent declared first: " << t.name;
                }
                EXPECT_TRUE(d.tracks.emplace(uuid, t).second) << "track " << uuid << " declared twice";
            }
        }
        if (d.packets == 1) {
            EXPECT_EQ(flags.value_or(0), 1u) << "the first packet clears the incremental state";
            cleared = true;
        }
        if (event.empty())
            continue;
        EXPECT_TRUE(cleared);
        EXPECT_TRUE(ts) << "an event has a time";
        Event e;
        e.ts = ts.value_or(0);
        for (const Field& f : fields(event)) {
            if (f.number == 9)
                e.type = f.value;
            else if (f.number == 11)
                e.track = f.value;
            else if (f.number == 10) {
                EXPECT_TRUE(names.count(f.value)) << "name iid " << f.value << " interned before use";
                e.name = names[f.value];
                EXPECT_EQ(flags.value_or(0), 2u) << "uses interned names: SEQ_NEEDS_INCREMENTAL_STATE";
            } else if (f.number == 3)
                e.category = categories.at(f.value);
            else if (f.number == 47)
                e.flows.push_back(f.value);
            else if (f.number == 48)
                e.terminating.push_back(f.value);
            else if (f.number == 4) {
                std::string key, value;
                for (const Field& a : fields(f.bytes)) {
                    if (a.number == 1)
                        key = keys.at(a.value);
                    else if (a.number == 17)
                        value = strings.at(a.value);
                    else if (a.number == 6)
                        value = a.bytes;
                    else if (a.number == 3)
                        value = std::to_string(a.value);
                    else if (a.number == 2)
                        value = a.value ? "true" : "false";
                }
                e.args[key] = value;
            }
        }
        EXPECT_TRUE(d.tracks.count(e.track)) << "track " << e.track << " declared before use";
        d.events.push_back(std::move(e));
    }

    // On every track, in time order (ties in file order, as the trace processor sorts), slices nest.
    std::map<uint64_t, std::vector<const Event*>> byTrack;
    for (const Event& e : d.events)
        byTrack[e.track].push_back(&e);
    for (auto& [track, events] : byTrack) {
        std::stable_sort(events.begin(), events.end(), [](const Event* a, const Event* b) { return a->ts < b->ts; });
        size_t depth = 0;
        for (const Event* e : events) {
            if (e->type == 1)
                depth++;
            else if (e->type == 2) {
                EXPECT_GT(depth, 0u) << "an end without a begin on " << d.tracks[track].name << " at " << e->ts;
                depth -= depth > 0;
            }
        }
        EXPECT_EQ(depth, 0u) << "slices left open on " << d.tracks[track].name;
    }
    // Flows: each starts once and ends once, not before it started.
    std::map<uint64_t, uint64_t> started;
    for (const Event& e : d.events)
        for (uint64_t id : e.flows)
            EXPECT_TRUE(started.emplace(id, e.ts).second) << "flow " << id << " started twice";
    std::set<uint64_t> ended;
    for (const Event& e : d.events)
        for (uint64_t id : e.terminating) {
            EXPECT_TRUE(started.count(id)) << "flow " << id << " ends without a start";
            EXPECT_GE(e.ts, started[id]);
            EXPECT_TRUE(ended.insert(id).second);
        }
    EXPECT_EQ(ended.size(), started.size());
    return d;
}

bool isThread(const Track& t)
{
    return t.thread;
}
bool isLock(const Track& t)
{
    return !t.thread && !t.process && t.parent != 0;
}
bool isFindings(const Track& t)
{
    return t.name == "findings";
}

class PerfettoProtoCli : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        s_dir = new TempDir("export-proto");
        RunResult d = ravelRun(s_dir->file("dining.ravel"), { example("dining"), "5" }, withTimeout(60s));
        ASSERT_EQ(d.status, 66) << d.err;
        RunResult a = ravelRun(s_dir->file("abba.ravel"), { example("abba") }, withTimeout(60s));
        ASSERT_EQ(a.status, 66) << a.err;
        RunResult b = ravelRun(s_dir->file("bank.ravel"), { example("bank_std"), "4", "5000" }, withTimeout(120s));
        ASSERT_EQ(b.status, 0) << b.err;
    }
    static void TearDownTestSuite()
    {
        delete s_dir;
        s_dir = nullptr;
    }
    static std::string trace(const std::string& name) { return s_dir->file(name + ".ravel"); }
    static RunResult exportCmd(const std::vector<std::string>& args)
    {
        std::vector<std::string> argv { ravelBinary(), "export" };
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, withTimeout(120s));
    }
    // Exports `name` to `file` (in the suite's directory) and returns the file's bytes.
    static std::string exported(const std::string& name, const std::string& file, std::vector<std::string> extra = {})
    {
        std::string out = s_dir->file(file);
        std::vector<std::string> args { trace(name), "--perfetto", "-o", out };
        args.insert(args.end(), extra.begin(), extra.end());
        RunResult r = exportCmd(args);
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.out, "");
        return readFile(out);
    }
    // protoc's text rendering of a file, against the subset kept beside the encoder.
    static std::string protocDecode(const std::string& file)
    {
        std::string proto = RAVEL_PERFETTO_SUBSET;
        std::filesystem::path p(proto);
        RunOptions o = withTimeout(60s);
        o.stdinFile = file;
        RunResult r = run({ "protoc", "--proto_path=" + p.parent_path().string(),
                              "--decode=perfetto.protos.Trace", p.filename().string() },
            o);
        EXPECT_EQ(r.status, 0) << "protoc (protobuf-compiler, installed by scripts/setup): " << r.err;
        EXPECT_EQ(r.err, "");
        return r.out;
    }
    static TempDir* s_dir;
};

TempDir* PerfettoProtoCli::s_dir = nullptr;

TEST_F(PerfettoProtoCli, DiningDecodesWithProtocAndShowsThreadsForksAndTheDeadlock)
{
    std::string bytes = exported("dining", "dining.pftrace"); // .pftrace: protobuf by default
    ASSERT_FALSE(bytes.empty());
    EXPECT_NE(bytes.front(), '{') << "not JSON";
    std::string text = protocDecode(s_dir->file("dining.pftrace"));
    EXPECT_NE(text.find("thread_name: \"T1 main\""), std::string::npos) << text.substr(0, 2000);
    for (int i = 0; i < 5; i++)
        EXPECT_NE(text.find("thread_name: \"T" + std::to_string(i + 2) + " philosopher-" + std::to_string(i) + "\""),
            std::string::npos);
    EXPECT_NE(text.find("name: \"lock forks["), std::string::npos);
    EXPECT_NE(text.find("name: \"deadlock (certain)\""), std::string::npos);
    EXPECT_NE(text.find("TYPE_SLICE_BEGIN"), std::string::npos);
    EXPECT_NE(text.find("TYPE_INSTANT"), std::string::npos);

    Decoded d = decode(bytes);
    std::optional<json> info = infoJson(trace("dining"));
    ASSERT_TRUE(info);
    std::set<std::string> threads;
    for (const auto& [uuid, t] : d.tracks)
        if (t.thread) {
            threads.insert(t.threadName);
            EXPECT_TRUE(d.tracks.at(t.parent).process) << "a thread's track sits under its process";
            EXPECT_EQ(d.tracks.at(t.parent).processName, "dining");
        }
    EXPECT_EQ(threads.size(), info->at("threads").size());
    // Each philosopher blocks on a fork while holding the other: a "lock forks[k]" slice on its
    // track still open at the end, and holds on the forks' own tracks.
    size_t forkWaits = 0;
    for (const Event* e : d.on(isThread, 1))
        if (e->name.rfind("lock forks[", 0) == 0) {
            forkWaits++;
            EXPECT_EQ(e->category, "blocked");
            EXPECT_EQ(e->args.at("outcome"), "still blocked when the trace ended");
            EXPECT_NE(e->args.at("at").find("dining.c:"), std::string::npos);
        }
    EXPECT_EQ(forkWaits, 5u);
    std::set<std::string> lockTracks;
    for (const Event* e : d.on(isLock, 1)) {
        lockTracks.insert(d.tracks.at(e->track).name);
        EXPECT_EQ(e->name, d.tracks.at(e->track).name) << "a hold is named by its lock";
        EXPECT_EQ(e->args.at("holder").rfind("T", 0), 0u);
    }
    EXPECT_EQ(lockTracks.size(), 5u);
    auto findings = d.on(isFindings, 3);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0]->name, "deadlock (certain)");
    EXPECT_EQ(findings[0]->args.at("finding"), "1");
    EXPECT_NE(findings[0]->args.at("objects").find("forks["), std::string::npos);
}

TEST_F(PerfettoProtoCli, AbbaShowsTheAccountsAndSameContentAsJson)
{
    std::string bytes = exported("abba", "abba.out", { "--format", "proto" });
    std::string text = protocDecode(s_dir->file("abba.out"));
    EXPECT_NE(text.find("name: \"lock account_a\""), std::string::npos);
    EXPECT_NE(text.find("name: \"account_a\""), std::string::npos) << "the lock's track";
    EXPECT_NE(text.find("name: \"deadlock (certain)\""), std::string::npos);

    // The same items as the JSON export: blocked slices and markers, holds, flows, findings.
    for (const std::string name : { "abba", "bank" }) {
        Decoded d = decode(name == "abba" ? bytes : exported(name, name + ".pftrace"));
        json events = json::parse(exported(name, name + ".json")).at("traceEvents");
        std::map<std::string, size_t> json;
        for (const auto& e : events)
            json[e.at("ph")]++;
        EXPECT_EQ(d.on(isThread, 1).size() + d.on(isThread, 3).size(), json["X"]) << name;
        EXPECT_EQ(d.on(isLock, 1).size(), json["b"]) << name;
        EXPECT_EQ(d.on(isFindings, 3).size(), json["i"]) << name;
        size_t flows = 0;
        for (const Event& e : d.events)
            flows += e.flows.size();
        EXPECT_EQ(flows, json["s"]) << name;
    }
}

TEST_F(PerfettoProtoCli, WindowKeepsOnlyWhatHappensInIt)
{
    // The window: from the hold a third of the way through to the one two thirds through, by count
    // (where they are in time depends on the machine: on a slow one they bunch at the ends, and
    // the middle third of their time span can hold none).
    Decoded all = decode(exported("bank", "bank-all.pftrace"));
    auto holdsAll = all.on(isLock, 1);
    ASSERT_GE(holdsAll.size(), 6u);
    std::vector<uint64_t> starts;
    for (const Event* e : holdsAll)
        starts.push_back(e->ts);
    std::sort(starts.begin(), starts.end());
    uint64_t from = starts[starts.size() / 3] / 1000, to = (starts[2 * starts.size() / 3] + 999) / 1000; // whole us
    ASSERT_LT(from, to);
    std::vector<std::string> window { "--from", std::to_string(from) + "us", "--to", std::to_string(to) + "us" };
    Decoded cut = decode(exported("bank", "bank-cut.pftrace", window));
    ASSERT_FALSE(cut.on(isLock, 1).empty());
    EXPECT_LT(cut.on(isLock, 1).size(), all.on(isLock, 1).size());
    for (const Event& e : cut.events) {
        EXPECT_GE(e.ts, from * 1000) << e.name;
        EXPECT_LE(e.ts, to * 1000) << e.name;
    }
    // Every hold of the full export that overlaps the window is there.
    size_t overlapping = 0;
    std::map<uint64_t, std::vector<const Event*>> byTrack;
    for (const Event& e : all.events)
        byTrack[e.track].push_back(&e);
    for (auto& [track, events] : byTrack) {
        if (!isLock(all.tracks.at(track)))
            continue;
        for (size_t i = 0; i + 1 < events.size(); i++)
            if (events[i]->type == 1 && events[i + 1]->type == 2 && events[i + 1]->ts >= from * 1000
                && events[i]->ts <= to * 1000)
                overlapping++;
    }
    EXPECT_EQ(cut.on(isLock, 1).size(), overlapping);

    // The JSON export takes the same window.
    json events = json::parse(exported("bank", "bank-cut.json", window)).at("traceEvents");
    size_t holds = 0;
    for (const json& e : events) {
        if (!e.contains("ts"))
            continue;
        double ts = e.at("ts");
        EXPECT_GE(ts, double(from) - 1e-6);
        EXPECT_LE(ts + (e.contains("dur") ? e.at("dur").get<double>() : 0), double(to) + 1e-6);
        holds += e.at("ph") == "b";
    }
    EXPECT_EQ(holds, overlapping);
}

TEST_F(PerfettoProtoCli, ProtoIsSeveralTimesSmallerThanJson)
{
    size_t proto = exported("bank", "size.pftrace").size(), json = exported("bank", "size.json").size();
    std::printf("bank_std 4 5000: protobuf %zu bytes, JSON %zu bytes (%.1fx)\n", proto, json, double(json) / proto);
    EXPECT_LT(proto * 3, json);
}

TEST_F(PerfettoProtoCli, FormatFollowsTheNameUnlessAskedAndBadOptionsSayWhy)
{
    EXPECT_EQ(exported("abba", "a.perfetto-trace").front(), '\x0a') << "a Trace's first packet";
    EXPECT_EQ(exported("abba", "a.json").front(), '{');
    EXPECT_EQ(exported("abba", "b.pftrace", { "--format", "json" }).front(), '{');
    RunResult r = exportCmd({ trace("abba"), "--perfetto", "-o", s_dir->file("x.pftrace"), "--from", "12" });
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("'12' is not a time"), std::string::npos) << r.err;
    r = exportCmd({ trace("abba"), "--perfetto", "-o", s_dir->file("x.pftrace"), "--from", "2s", "--to", "1s" });
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("before --from"), std::string::npos) << r.err;
    r = exportCmd({ trace("abba"), "--perfetto", "-o", s_dir->file("x.pftrace"), "--format", "xml" });
    EXPECT_EQ(r.status, 2);
    EXPECT_FALSE(std::filesystem::exists(s_dir->file("x.pftrace")));
}

} // namespace
