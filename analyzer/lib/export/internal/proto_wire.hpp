// Protocol buffers' wire format, by hand: enough to write Perfetto's trace packets without
// libprotobuf. A message is built in one growing buffer; a nested message is opened with its
// field's key and closed by inserting its length in front of it (bodies are small, so the move is
// cheap), which keeps every length in its shortest varint.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ravel::perfetto_detail {

class ProtoMessage {
public:
    enum Wire : unsigned { Varint = 0, Fixed64 = 1, Bytes = 2 };

    void clear()
    {
        m_buf.clear();
        m_open.clear();
    }
    const std::string& data() const { return m_buf; }
    size_t size() const { return m_buf.size(); }

    void uint(uint32_t field, uint64_t v)
    {
        key(field, Varint);
        varint(v);
    }
    // int32/int64 fields: negative values are ten bytes of two's complement, as protobuf has them.
    void sint(uint32_t field, int64_t v) { uint(field, uint64_t(v)); }
    void boolean(uint32_t field, bool v) { uint(field, v ? 1 : 0); }
    void fixed64(uint32_t field, uint64_t v)
    {
        key(field, Fixed64);
        for (int i = 0; i < 8; i++)
            m_buf.push_back(char(v >> (8 * i)));
    }
    void string(uint32_t field, std::string_view s)
    {
        key(field, Bytes);
        varint(s.size());
        m_buf.append(s);
    }
    // A nested message (or an already encoded one) as a length-delimited field.
    void message(uint32_t field, const ProtoMessage& m) { string(field, m.data()); }
    void open(uint32_t field)
    {
        key(field, Bytes);
        m_open.push_back(m_buf.size());
    }
    void close()
    {
        size_t start = m_open.back();
        m_open.pop_back();
        char len[10];
        size_t n = encode(len, m_buf.size() - start);
        m_buf.insert(start, len, n);
    }

    static size_t encode(char* out, uint64_t v)
    {
        size_t n = 0;
        while (v >= 0x80) {
            out[n++] = char(0x80 | (v & 0x7f));
            v >>= 7;
        }
        out[n++] = char(v);
        return n;
    }

private:
    void key(uint32_t field, Wire wire) { varint(uint64_t(field) << 3 | wire); }
    void varint(uint64_t v)
    {
        char b[10];
        m_buf.append(b, encode(b, v));
    }

    std::string m_buf;
    std::vector<size_t> m_open;
};

} // namespace ravel::perfetto_detail
