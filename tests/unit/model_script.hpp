// ModelScript: a synthetic trace written event by event (1 µs apart), then opened as a
// ReplayModel, for tests of what is built on the model (handoffs, exports, the model itself).
#pragma once

#include "model/replay_model.hpp"
#include "trace_builder.hpp"

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ravel::test {

class ModelScript {
public:
    // One thread per name, ravel ids from 1; thread 1 is main and the parent of the others.
    explicit ModelScript(const std::vector<std::string>& names)
    {
        for (uint32_t tid = 1; tid <= names.size(); tid++) {
            RavelThreadEntry& t = b.thread(tid, names[tid - 1].c_str());
            t.parent = tid == 1 ? 0 : 1;
            t.pthread = 0x7f0000001000ull * tid;
            t.start_tsc = TraceBuilder::StartTsc;
        }
    }
    ~ModelScript()
    {
        if (!m_dir.empty())
            std::filesystem::remove_all(m_dir);
    }
    ModelScript(const ModelScript&) = delete;
    ModelScript& operator=(const ModelScript&) = delete;

    // Returns the event's time in ns from the trace start.
    uint64_t ev(uint32_t tid, unsigned kind, uint64_t obj, unsigned flags = RAVEL_OBJ_MUTEX, uint32_t aux = 0)
    {
        m_tsc += 1000;
        b.time(tid, m_tsc);
        b.event(tid, kind, obj, aux, 0, flags);
        return m_tsc / 2;
    }
    const ReplayModel& model(ReplayModel::Retain retain = ReplayModel::Retain::Everything)
    {
        char dir[] = "/tmp/ravel-model-XXXXXX";
        if (!mkdtemp(dir))
            throw std::runtime_error("mkdtemp");
        m_dir = dir;
        b.write(m_dir + "/t.ravel");
        m_reader = std::make_unique<TraceReader>(m_dir + "/t.ravel");
        m_model = std::make_unique<ReplayModel>(*m_reader, nullptr, retain);
        return *m_model;
    }

    TraceBuilder b { 1 << 16 };

private:
    uint64_t m_tsc = 1000;
    std::string m_dir;
    std::unique_ptr<TraceReader> m_reader;
    std::unique_ptr<ReplayModel> m_model;
};

} // namespace ravel::test
