#include "model/channels.hpp"

#include <algorithm>

namespace ravel {

const char* chanOpName(ChanOp op)
{
    switch (op) {
    case ChanOp::Send:
        return "send";
    case ChanOp::Recv:
        return "receive";
    case ChanOp::Select:
        return "select";
    default:
        return "";
    }
}

ChannelInfo& ChannelTable::at(uint64_t address)
{
    ChannelInfo& c = m_channels[address];
    c.address = address;
    return c;
}

void ChannelTable::setName(uint64_t address, const std::string& name)
{
    at(address).name = name;
}

const ChannelInfo* ChannelTable::find(uint64_t address) const
{
    auto it = m_channels.find(address);
    return it == m_channels.end() ? nullptr : &it->second;
}

void ChannelTable::onEvent(const Event& e)
{
    auto role = [&](std::unordered_map<uint32_t, uint64_t>& users) { users.try_emplace(e.thread, e.time_ns); };
    switch (e.kind) {
    case RAVEL_EV_CHAN_CREATE: {
        // A channel created again at an address is a new channel: what the old one saw is gone.
        std::string name = m_channels.count(e.obj) ? m_channels[e.obj].name : std::string();
        ChannelInfo& c = at(e.obj);
        c = ChannelInfo {};
        c.address = e.obj;
        c.capacity = e.aux;
        c.createdNs = e.time_ns;
        c.creator = e.thread;
        c.name = name;
        break;
    }
    case RAVEL_EV_SEND_REQ:
        if (e.obj)
            role(at(e.obj).senders);
        break;
    case RAVEL_EV_RECV_REQ:
        if (e.obj)
            role(at(e.obj).receivers);
        break;
    case RAVEL_EV_SELECT_CASE:
        if (e.obj)
            role((e.aux & RAVEL_SELECT_SEND) ? at(e.obj).senders : at(e.obj).receivers);
        break;
    case RAVEL_EV_SENT: {
        if (!e.obj)
            break;
        ChannelInfo& c = at(e.obj);
        role(c.senders);
        c.sent++;
        c.occupancy++;
        c.maxOccupancy = std::max(c.maxOccupancy, std::min<uint64_t>(c.occupancy, c.capacity ? c.capacity : 1));
        break;
    }
    case RAVEL_EV_RECEIVED: {
        if (!e.obj)
            break;
        ChannelInfo& c = at(e.obj);
        role(c.receivers);
        if (e.aux != 0) {
            c.received++;
            if (c.occupancy)
                c.occupancy--;
        }
        break;
    }
    case RAVEL_EV_CHAN_CLOSE: {
        if (!e.obj)
            break;
        ChannelInfo& c = at(e.obj);
        if (e.aux == 0 && c.closedNs == kNever) {
            c.closedNs = e.time_ns;
            c.closer = e.thread;
        }
        break;
    }
    default:
        break;
    }
}

std::vector<uint32_t> ChannelTable::wakers(uint64_t channel, ChanOp op, uint32_t self, uint64_t t,
                                           const ThreadLiveness& live, bool* goneForGood) const
{
    std::vector<uint32_t> out;
    if (goneForGood)
        *goneForGood = false;
    const ChannelInfo* c = find(channel);
    if (!c)
        return out;
    auto add = [&](uint32_t id) {
        if (id && id != self && live.alive(id) && std::find(out.begin(), out.end(), id) == out.end())
            out.push_back(id);
    };
    const auto& other = op == ChanOp::Send ? c->receivers : c->senders;
    bool hadOther = false;
    for (const auto& [id, since] : other) {
        if (since > t)
            continue;
        hadOther = hadOther || id != self;
        add(id);
    }
    // Until someone has shown they play the other role, whoever created the channel may (it made the
    // channel to hand it out). Once others have, the creator is not presumed to be one more: that
    // presumption would hide every cycle of a program whose main thread made its channels and runs
    // on. A receive also ends when someone closes the channel: its senders are the usual closers.
    if (c->createdNs <= t && !hadOther)
        add(c->creator);
    if (goneForGood && op == ChanOp::Send && hadOther && !c->closedAt(t)) {
        // Every thread that ever received from it has exited: nobody will ever take this message.
        bool anyAlive = false;
        for (const auto& [id, since] : other)
            anyAlive = anyAlive || (since <= t && id != self && live.alive(id));
        *goneForGood = !anyAlive;
        if (*goneForGood)
            out.clear();
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string objectNameAt(const TraceReader& trace, uint64_t address, uint64_t t)
{
    // Sorted by time: the latest name given at or before t (else the first one given: a name
    // recorded a hair after the first use is still the object's name).
    const std::string* best = nullptr;
    for (const ObjectName& n : trace.names())
        if (n.obj == address && (n.time_ns <= t || !best))
            best = &n.name;
    return best ? *best : std::string();
}

ChannelTable channelTableOf(const TraceReader& trace)
{
    ChannelTable table;
    for (const ObjectName& n : trace.names())
        table.setName(n.obj, n.name);
    trace.forEachEvent([&](const Event& e) {
        if (e.kind >= RAVEL_EV_CHAN_CREATE && e.kind <= RAVEL_EV_SELECT_DONE)
            table.onEvent(e);
        return true;
    });
    return table;
}

} // namespace ravel
