#include "symbols/symbolizer.hpp"

#include "trace/kind_names.hpp"

#include <fmt/format.h>
#include <llvm/DebugInfo/DIContext.h>
#include <llvm/DebugInfo/DWARF/DWARFContext.h>
#include <llvm/DebugInfo/DWARF/DWARFDie.h>
#include <llvm/DebugInfo/DWARF/DWARFCompileUnit.h>
#include <llvm/DebugInfo/DWARF/DWARFUnit.h>
#include <llvm/DebugInfo/Symbolize/Symbolize.h>
#include <llvm/Object/BuildID.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/Error.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <unordered_map>

namespace ravel {

namespace {

std::string_view baseName(std::string_view path)
{
    size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool isValid(const std::string& s) { return !s.empty() && s != llvm::DILineInfo::BadString; }

// GCC's clones of a function are the function to the person reading the stack: "writeAll.isra.0",
// "parse.constprop.0.isra.0", "run.cold", "f(int) [clone .isra.0]" all read as the function.
std::string withoutCloneSuffix(std::string name)
{
    for (size_t bracket; (bracket = name.rfind(" [clone .")) != std::string::npos && name.back() == ']';)
        name.resize(bracket);
    static const char* const kinds[] = { ".isra", ".constprop", ".part", ".cold", ".lto_priv", ".localalias" };
    for (bool again = true; again;) {
        again = false;
        size_t end = name.size();
        while (end > 0 && std::isdigit(static_cast<unsigned char>(name[end - 1])))
            end--;
        size_t stem = end < name.size() && end > 0 && name[end - 1] == '.' ? end - 1 : name.size();
        for (const char* k : kinds) {
            size_t n = std::strlen(k);
            if (stem > n && name.compare(stem - n, n, k) == 0) {
                name.resize(stem - n);
                again = true;
                break;
            }
        }
    }
    return name;
}

// A C static local compiled by GCC is the symbol "var.0" (or "var.lto_priv.3"); the numbering is
// noise to a reader.
std::string tidyDataName(std::string name)
{
    // "(anonymous namespace)::" says nothing a reader needs to find the variable.
    static constexpr std::string_view anon = "(anonymous namespace)::";
    for (size_t at; (at = name.find(anon)) != std::string::npos;)
        name.erase(at, anon.size());
    size_t dot = name.find('.');
    if (dot != std::string::npos && dot > 0) {
        std::string_view rest(name.c_str() + dot + 1);
        bool numberedSuffix = !rest.empty() && (std::isdigit(static_cast<unsigned char>(rest[0])) || startsWith(rest, "lto_priv"));
        if (numberedSuffix)
            name.resize(dot);
    }
    return name;
}

// Modules whose frames are never the user's call site: the C library, the C++ runtime, the
// dynamic loader and ravel's own runtime.
bool isSystemModule(std::string_view path)
{
    std::string_view name = baseName(path);
    static constexpr std::string_view prefixes[] = {
        "libc.so", "libc-", "libpthread", "libstdc++", "libravel_rt", "ld-linux", "libgcc_s", "libm.so",
    };
    for (std::string_view p : prefixes)
        if (startsWith(name, p))
            return true;
    return false;
}

// Frames inlined from the standard library's headers into the program (std::mutex::lock() inlines
// into its caller) are no more the user's site than libstdc++'s own frames.
bool isSystemInline(const Frame& f)
{
    // ravel's own public headers (chan.hpp, annotate.h) are a library too: the user's frame is
    // the caller of chan::send, not its inside.
    return startsWith(f.file, "/usr/include/") || startsWith(f.file, "/usr/lib/gcc/") || startsWith(f.function, "std::")
        || startsWith(f.function, "__gthread") || startsWith(f.function, "__gnu_cxx::")
        || f.file.find("/include/ravel/") != std::string::npos;
}

// The C++20 waiting primitives of libstdc++ wait on a futex word through inline functions of its
// headers; the frames expanded from them say which primitive the word belongs to. The outermost
// such frame is the one the program called (std::barrier::wait calls std::atomic's wait inside).
std::string futexTypeFromFrame(const Frame& f)
{
    static constexpr std::pair<std::string_view, std::string_view> types[] = {
        {"std::latch::", "std::latch"},
        {"std::counting_semaphore<1l>::", "std::binary_semaphore"},
        {"std::counting_semaphore<1>::", "std::binary_semaphore"},
        {"std::counting_semaphore<", "std::counting_semaphore"},
        {"std::__atomic_semaphore::", "std::counting_semaphore"},
        {"std::barrier<", "std::barrier"},
        {"std::__tree_barrier<", "std::barrier"},
        {"std::atomic_flag::", "std::atomic_flag"},
        {"std::__atomic_flag_base::", "std::atomic_flag"},
        {"std::atomic_ref<", "std::atomic_ref"},
    };
    for (auto [prefix, type] : types)
        if (startsWith(f.function, prefix))
            return std::string(type);
    // std::atomic<int>::wait is std::__atomic_base<int>::wait (inherited); std::atomic<bool> and
    // the pointer and floating-point atomics have their own. The template argument is kept.
    static constexpr std::string_view atomics[] = {"std::atomic<", "std::__atomic_base<", "std::__atomic_float<",
                                                   "std::__atomic_impl::"};
    for (std::string_view prefix : atomics) {
        if (!startsWith(f.function, prefix))
            continue;
        if (prefix == "std::__atomic_impl::")
            return "std::atomic";
        size_t end = f.function.find(">::", prefix.size());
        if (end == std::string::npos || end - prefix.size() > 40)
            return "std::atomic";
        return "std::atomic<" + f.function.substr(prefix.size(), end - prefix.size()) + ">";
    }
    return {};
}

// The C++ type of an object when the frames that touched it say so: "std::mutex at x.cpp:3" tells
// the reader more than "mutex at x.cpp:3".
std::string_view cxxTypeFromFrame(const Frame& f)
{
    static constexpr std::pair<std::string_view, std::string_view> types[] = {
        {"std::mutex::", "std::mutex"},
        {"std::recursive_mutex::", "std::recursive_mutex"},
        {"std::timed_mutex::", "std::timed_mutex"},
        {"std::recursive_timed_mutex::", "std::recursive_timed_mutex"},
        {"std::shared_mutex::", "std::shared_mutex"},
        {"std::__shared_mutex_pthread::", "std::shared_mutex"},
        {"std::shared_timed_mutex::", "std::shared_timed_mutex"},
        {"std::condition_variable::", "std::condition_variable"},
        {"std::_V2::condition_variable_any::", "std::condition_variable_any"},
        {"std::condition_variable_any::", "std::condition_variable_any"},
    };
    for (auto [prefix, type] : types)
        if (startsWith(f.function, prefix))
            return type;
    return {};
}


// ---- member and element names from DWARF ----

llvm::DWARFDie stripQualifiers(llvm::DWARFDie type)
{
    for (int i = 0; i < 16 && type; ++i) {
        switch (type.getTag()) {
        case llvm::dwarf::DW_TAG_typedef:
        case llvm::dwarf::DW_TAG_const_type:
        case llvm::dwarf::DW_TAG_volatile_type:
        case llvm::dwarf::DW_TAG_restrict_type:
        case llvm::dwarf::DW_TAG_atomic_type:
            type = type.getAttributeValueAsReferencedDie(llvm::dwarf::DW_AT_type);
            break;
        default:
            return type;
        }
    }
    return type;
}

std::optional<uint64_t> unsignedAttr(const llvm::DWARFDie& die, llvm::dwarf::Attribute attr)
{
    if (auto v = die.find(attr))
        return v->getAsUnsignedConstant();
    return std::nullopt;
}

// The path from a variable of type `type` to the byte at `offset` inside it, for an object of
// `objSize` bytes: "[3]", ".lock", "[1].m". Descends until the offset is 0 and what is left is no
// bigger than the object; "+0x.." for what the types cannot explain (padding, unions of bytes).
std::string memberPath(llvm::DWARFDie type, uint64_t offset, unsigned objSize)
{
    std::string path;
    for (int depth = 0; depth < 32; ++depth) {
        type = stripQualifiers(type);
        if (!type)
            break;
        std::optional<uint64_t> size = type.getTypeSize(8);
        if (!size || *size == 0 || (offset == 0 && (objSize == 0 || *size <= objSize)))
            break;
        auto tag = type.getTag();
        if (tag == llvm::dwarf::DW_TAG_array_type) {
            llvm::DWARFDie element = type.getAttributeValueAsReferencedDie(llvm::dwarf::DW_AT_type);
            std::optional<uint64_t> elementSize = stripQualifiers(element).getTypeSize(8);
            if (!elementSize || *elementSize == 0)
                break;
            std::vector<uint64_t> dims;
            for (llvm::DWARFDie child : type.children()) {
                if (child.getTag() != llvm::dwarf::DW_TAG_subrange_type)
                    continue;
                if (auto count = unsignedAttr(child, llvm::dwarf::DW_AT_count))
                    dims.push_back(*count);
                else if (auto upper = unsignedAttr(child, llvm::dwarf::DW_AT_upper_bound))
                    dims.push_back(*upper + 1 - unsignedAttr(child, llvm::dwarf::DW_AT_lower_bound).value_or(0));
                else
                    dims.push_back(0); // flexible
            }
            if (dims.empty())
                dims.push_back(0);
            // Row-major: the stride of a dimension is the element size times the later dimensions.
            for (size_t k = 0; k < dims.size(); ++k) {
                uint64_t stride = *elementSize;
                for (size_t l = k + 1; l < dims.size(); ++l)
                    stride *= dims[l] ? dims[l] : 1;
                path += fmt::format("[{}]", offset / stride);
                offset %= stride;
            }
            type = element;
            continue;
        }
        if (tag != llvm::dwarf::DW_TAG_structure_type && tag != llvm::dwarf::DW_TAG_class_type
            && tag != llvm::dwarf::DW_TAG_union_type)
            break;
        llvm::DWARFDie next;
        uint64_t nextStart = 0;
        bool base = false;
        for (llvm::DWARFDie child : type.children()) {
            auto childTag = child.getTag();
            if (childTag != llvm::dwarf::DW_TAG_member && childTag != llvm::dwarf::DW_TAG_inheritance)
                continue;
            uint64_t start = unsignedAttr(child, llvm::dwarf::DW_AT_data_member_location).value_or(0);
            llvm::DWARFDie memberType = child.getAttributeValueAsReferencedDie(llvm::dwarf::DW_AT_type);
            std::optional<uint64_t> memberSize = stripQualifiers(memberType).getTypeSize(8);
            if (!memberSize || offset < start || offset >= start + *memberSize)
                continue;
            next = child;
            nextStart = start;
            base = childTag == llvm::dwarf::DW_TAG_inheritance;
            break;
        }
        if (!next)
            break;
        const char* name = next.getShortName();
        if (!base && name && *name)
            path += fmt::format(".{}", name);
        offset -= nextStart;
        type = next.getAttributeValueAsReferencedDie(llvm::dwarf::DW_AT_type);
    }
    if (offset != 0)
        path += fmt::format("+0x{:x}", offset);
    return path;
}

// The function a static local variable belongs to, from its DIE's parents.
std::string enclosingFunction(llvm::DWARFDie die)
{
    for (llvm::DWARFDie p = die.getParent(); p; p = p.getParent()) {
        if (p.getTag() == llvm::dwarf::DW_TAG_subprogram) {
            const char* name = p.getSubroutineName(llvm::DINameKind::ShortName);
            return name ? name : "";
        }
        if (p.getTag() == llvm::dwarf::DW_TAG_compile_unit)
            break;
    }
    return {};
}

} // namespace

struct Symbolizer::Impl {
    std::vector<Module> modules; // sorted by lo
    llvm::symbolize::LLVMSymbolizer llvm;
    std::unordered_map<uint64_t, std::vector<Frame>> code;
    std::unordered_map<uint64_t, std::optional<DataSymbol>> data;
    // Each module file is opened (and checked against the recorded build id) once; a module that
    // cannot be read or has changed since the run is never asked again and shows as module+offset.
    std::unordered_map<std::string, bool> usableModules;
    std::vector<std::string> warnings;
    // Our own view of module files: LLVMSymbolizer answers with a symbol and its extent, not with
    // the member or element at an offset, so data names need the DWARF context too.
    struct ModuleFile {
        llvm::object::OwningBinary<llvm::object::ObjectFile> binary;
        std::unique_ptr<llvm::DWARFContext> context; // created at first use
    };
    std::unordered_map<std::string, std::unique_ptr<ModuleFile>> files; // nullptr: unreadable
    std::string cwd;

    static llvm::symbolize::LLVMSymbolizer::Options options()
    {
        llvm::symbolize::LLVMSymbolizer::Options o;
        o.Demangle = true;
        o.UseSymbolTable = true;
        o.PathStyle = llvm::DILineInfoSpecifier::FileLineInfoKind::AbsoluteFilePath;
        return o;
    }

    explicit Impl(std::vector<Module> m)
        : modules(std::move(m))
        , llvm(options())
    {
        std::sort(modules.begin(), modules.end(), [](const Module& a, const Module& b) { return a.lo < b.lo; });
        std::error_code ec;
        std::filesystem::path p = std::filesystem::current_path(ec);
        if (!ec)
            cwd = p.string();
    }

    ModuleFile* file(const Module& module)
    {
        auto [it, fresh] = files.try_emplace(module.path);
        if (fresh) {
            // The path comes from an untrusted trace: a device or a FIFO would be read forever.
            std::error_code ec;
            auto type = std::filesystem::status(module.path, ec).type();
            if (type != std::filesystem::file_type::regular) {
                std::string why = type == std::filesystem::file_type::not_found ? "no such file"
                    : ec                                                      ? ec.message()
                                                                              : "not a regular file";
                warnings.push_back(fmt::format("cannot read {}: {}; its addresses are shown as module+offset",
                    module.path, why));
                return nullptr;
            }
            auto binary = llvm::object::ObjectFile::createObjectFile(module.path);
            if (!binary) {
                warnings.push_back(fmt::format("cannot read {}: {}; its addresses are shown as module+offset",
                    module.path, llvm::toString(binary.takeError())));
                return nullptr;
            }
            it->second = std::make_unique<ModuleFile>();
            it->second->binary = std::move(*binary);
        }
        return it->second.get();
    }

    bool usable(const Module& module)
    {
        auto [it, fresh] = usableModules.try_emplace(module.path, false);
        if (!fresh)
            return it->second;
        ModuleFile* f = file(module);
        if (!f)
            return false;
        if (!module.build_id.empty()) {
            // A program rebuilt since the run would otherwise be symbolized with the new code's
            // lines, silently wrong.
            std::string id;
            for (uint8_t b : llvm::object::getBuildID(f->binary.getBinary()))
                id += fmt::format("{:02x}", b);
            bool same = id.empty() || startsWith(id, module.build_id) || startsWith(module.build_id, id);
            if (!same) {
                warnings.push_back(fmt::format("{} has changed since the trace was recorded (build id {}, "
                                               "recorded {}); its addresses are shown as module+offset",
                    module.path, id, module.build_id));
                return false;
            }
        }
        it->second = true;
        return true;
    }

    llvm::DWARFContext* dwarfFor(const Module& module)
    {
        if (!usable(module))
            return nullptr;
        ModuleFile* f = file(module);
        if (!f->context) {
            auto quiet = [](llvm::Error e) { llvm::consumeError(std::move(e)); };
            f->context = llvm::DWARFContext::create(*f->binary.getBinary(),
                llvm::DWARFContext::ProcessDebugRelocations::Process, nullptr, "", quiet, quiet);
        }
        return f->context.get();
    }

    // The variable's DIE, by the file address of its start.
    llvm::DWARFDie variableDie(const Module& module, uint64_t fileAddress)
    {
        llvm::DWARFContext* context = dwarfFor(module);
        if (!context)
            return {};
        llvm::DWARFCompileUnit* unit = context->getCompileUnitForDataAddress(fileAddress);
        return unit ? unit->getVariableForAddress(fileAddress) : llvm::DWARFDie();
    }

    // Turns an LLVM error into "no answer": a missing or stripped module must not stop a report.
    template <typename T>
    std::optional<T> take(const Module& module, llvm::Expected<T> value)
    {
        if (value)
            return std::move(*value);
        warnings.push_back(fmt::format("cannot symbolize {}: {}", module.path, llvm::toString(value.takeError())));
        usableModules[module.path] = false;
        return std::nullopt;
    }
};

Symbolizer::Symbolizer(std::vector<Module> modules)
    : m_impl(std::make_unique<Impl>(std::move(modules)))
{
}

Symbolizer::~Symbolizer() = default;

const std::vector<std::string>& Symbolizer::warnings() const { return m_impl->warnings; }

const llvm::object::ObjectFile* Symbolizer::objectFile(const Module& module)
{
    return m_impl->usable(module) ? m_impl->file(module)->binary.getBinary() : nullptr;
}

bool Symbolizer::isSystemModule(const std::string& path) { return ravel::isSystemModule(path); }

const Module* Symbolizer::moduleFor(uint64_t addr) const
{
    const auto& mods = m_impl->modules;
    auto it = std::upper_bound(mods.begin(), mods.end(), addr, [](uint64_t a, const Module& m) { return a < m.lo; });
    if (it == mods.begin())
        return nullptr;
    --it;
    return addr < it->hi ? &*it : nullptr;
}

std::string Symbolizer::displayPath(const std::string& path) const
{
    if (path.empty())
        return path;
    // "./csu/../sysdeps/x.h" (glibc's debug info) reads better as "sysdeps/x.h".
    std::string normal = std::filesystem::path(path).lexically_normal().string();
    if (path[0] != '/')
        return normal;
    const std::string& cwd = m_impl->cwd;
    if (!cwd.empty() && cwd != "/" && normal.size() > cwd.size() + 1 && startsWith(normal, cwd) && normal[cwd.size()] == '/')
        return normal.substr(cwd.size() + 1);
    return normal;
}

const std::vector<Frame>& Symbolizer::symbolizeCode(uint64_t pc)
{
    auto [it, fresh] = m_impl->code.try_emplace(pc);
    std::vector<Frame>& out = it->second;
    if (!fresh)
        return out;

    const Module* module = moduleFor(pc);
    if (!module) {
        Frame f;
        f.function = fmt::format("0x{:x}", pc);
        f.address = pc;
        out.push_back(std::move(f));
        return out;
    }
    uint64_t offset = pc - module->base;
    if (m_impl->usable(*module)) {
        llvm::object::SectionedAddress where {offset, llvm::object::SectionedAddress::UndefSection};
        if (auto info = m_impl->take(*module, m_impl->llvm.symbolizeInlinedCode(module->path, where))) {
            unsigned n = info->getNumberOfFrames();
            for (unsigned i = 0; i < n; ++i) {
                const llvm::DILineInfo& li = info->getFrame(i);
                if (!isValid(li.FunctionName) && !isValid(li.FileName))
                    continue;
                Frame f;
                f.function = isValid(li.FunctionName) ? withoutCloneSuffix(li.FunctionName) : std::string();
                f.file = isValid(li.FileName) ? displayPath(li.FileName) : std::string();
                f.line = li.Line;
                f.column = li.Column;
                f.module = module->path;
                f.address = pc;
                f.inlined = i + 1 < n;
                out.push_back(std::move(f));
            }
        }
    }
    if (out.empty() || out.back().function.empty()) {
        // No symbol at all (stripped, or the file is gone): module+offset still lets a person run
        // addr2line on the right binary later.
        std::string fallback = fmt::format("{}+0x{:x}", baseName(module->path), offset);
        if (out.empty()) {
            Frame f;
            f.module = module->path;
            f.address = pc;
            out.push_back(std::move(f));
        }
        out.back().function = std::move(fallback);
    }
    return out;
}

std::vector<Frame> Symbolizer::symbolizeStack(const std::vector<uint64_t>& frames, bool firstIsPc)
{
    std::vector<Frame> out;
    out.reserve(frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
        uint64_t addr = frames[i];
        if (addr == 0)
            continue;
        bool exact = i == 0 && firstIsPc;
        for (Frame f : symbolizeCode(exact ? addr : addr - 1)) {
            f.address = addr;
            out.push_back(std::move(f));
        }
    }
    return out;
}

std::optional<DataSymbol> Symbolizer::symbolizeData(uint64_t addr)
{
    auto [it, fresh] = m_impl->data.try_emplace(addr);
    if (!fresh)
        return it->second;
    const Module* module = moduleFor(addr);
    if (!module || !m_impl->usable(*module))
        return std::nullopt;
    llvm::object::SectionedAddress where {addr - module->base, llvm::object::SectionedAddress::UndefSection};
    auto global = m_impl->take(*module, m_impl->llvm.symbolizeData(module->path, where));
    if (!global || !isValid(global->Name))
        return std::nullopt;
    DataSymbol d;
    d.start = global->Start + module->base;
    d.size = global->Size;
    // A symbol of unknown size only names its own first byte; the symbol table otherwise answers
    // with whatever precedes the address.
    if (addr < d.start || (d.size == 0 ? addr != d.start : addr >= d.start + d.size))
        return std::nullopt;
    d.name = tidyDataName(global->Name);
    // A C static local is just "var" in the symbol table; its function makes it findable.
    if (d.name.find("::") == std::string::npos) {
        if (llvm::DWARFDie var = m_impl->variableDie(*module, global->Start)) {
            std::string function = enclosingFunction(var);
            if (!function.empty())
                d.name = function + "::" + d.name;
        }
    }
    d.file = isValid(global->DeclFile) ? displayPath(global->DeclFile) : std::string();
    d.line = uint32_t(global->DeclLine);
    it->second = d;
    return d;
}

const Frame* Symbolizer::userFrame(const std::vector<Frame>& frames)
{
    for (const Frame& f : frames)
        if (!isSystemModule(f.module) && !isSystemInline(f) && !f.module.empty())
            return &f;
    return nullptr;
}

std::string Symbolizer::site(const Frame& frame)
{
    if (frame.file.empty())
        return {};
    if (frame.line == 0)
        return frame.file;
    return fmt::format("{}:{}", frame.file, frame.line);
}

std::string Symbolizer::objectName(uint64_t addr, unsigned objKind, const std::vector<Frame>& firstUse,
                                   unsigned accessSize)
{
    std::optional<DataSymbol> d = symbolizeData(addr);
    // libstdc++ waits for some objects (std::barrier, std::atomic<bool>, 8-byte atomics) on a
    // word of its shared waiter pool, not on the object: the pool's name would mislead, the
    // primitive and the site that waited do not.
    bool poolWord = objKind == RAVEL_OBJ_FUTEX && isWaiterPoolWord(addr);
    if (d && !poolWord) {
        uint64_t offset = addr - d->start;
        std::string name = d->name;
        // The kind column already says it is a guard; the variable it guards is the name.
        static constexpr std::string_view guardPrefix = "guard variable for ";
        if (startsWith(name, guardPrefix))
            name.erase(0, guardPrefix.size());
        unsigned size = accessSize ? accessSize : objectKindSize(objKind);
        const Module* module = moduleFor(addr);
        if (llvm::DWARFDie var = module ? m_impl->variableDie(*module, d->start - module->base) : llvm::DWARFDie()) {
            if (auto typeRef = var.findRecursively(llvm::dwarf::DW_AT_type)) {
                if (llvm::DWARFDie type = var.getAttributeValueAsReferencedDie(*typeRef))
                    return name + memberPath(type, offset, size);
            }
        }
        // Without type information: an offset that is a whole number of objects into a global
        // made of several such objects is an array element (element 0 included: `locks[0]`, not
        // `locks`); anything else is a member we cannot name.
        if (size != 0 && offset % size == 0 && d->size % size == 0 && d->size > size)
            return fmt::format("{}[{}]", name, offset / size);
        if (offset == 0)
            return name;
        return fmt::format("{}+0x{:x}", name, offset);
    }

    std::string kind = objectType(objKind, firstUse);
    if (kind.empty())
        kind = objectKindName(objKind);
    if (objKind == RAVEL_OBJ_FUTEX) {
        if (std::string local = localVariableName(addr, kind, firstUse); !local.empty())
            return local;
    }
    std::string pool = poolWord ? " (a libstdc++ waiter-pool word)" : "";
    if (const Frame* user = userFrame(firstUse)) {
        std::string where = site(*user);
        if (where.empty())
            where = user->function;
        return fmt::format("{} at {}{}", kind, where, pool);
    }
    return fmt::format("{} 0x{:x}{}", kind, addr, pool);
}

bool Symbolizer::isWaiterPoolWord(uint64_t addr)
{
    std::optional<DataSymbol> d = symbolizeData(addr);
    return d && d->name.find("__waiter_pool") != std::string::npos;
}

std::string Symbolizer::objectType(unsigned objKind, const std::vector<Frame>& firstUse)
{
    const Frame* user = userFrame(firstUse);
    if (!user)
        return {};
    std::string type;
    for (const Frame* f = firstUse.data(); f != user; ++f) {
        if (objKind == RAVEL_OBJ_FUTEX) {
            if (std::string t = futexTypeFromFrame(*f); !t.empty())
                type = t;
        } else if (std::string_view t = cxxTypeFromFrame(*f); !t.empty())
            type = t;
    }
    return type;
}

namespace {

// "std::" + the name of a class declared in namespace std, else "".
std::string stdClassName(llvm::DWARFDie type)
{
    const char* name = type.getShortName();
    llvm::DWARFDie parent = type.getParent();
    if (!name || !parent || parent.getTag() != llvm::dwarf::DW_TAG_namespace)
        return {};
    const char* ns = parent.getShortName();
    return ns && std::string_view(ns) == "std" ? fmt::format("std::{}", name) : std::string();
}

bool typeIs(llvm::DWARFDie type, const std::string& want)
{
    std::string name = stdClassName(type);
    if (name.empty())
        return false;
    if (want == "std::binary_semaphore")
        return startsWith(name, "std::counting_semaphore<1>");
    return name == want || startsWith(name, want + "<");
}

llvm::DWARFDie typeOf(llvm::DWARFDie die)
{
    auto ref = die.findRecursively(llvm::dwarf::DW_AT_type);
    return ref ? stripQualifiers(die.getAttributeValueAsReferencedDie(*ref)) : llvm::DWARFDie();
}

// What a variable of this type may name: itself (an object or a reference of the type), or, for
// the object a method runs on (`this`; GCC calls a lambda's `__closure`), its members of the type:
// a lambda's captures by their names, a class's members as `Class::member`.
void matchVariable(llvm::DWARFDie var, const std::string& want, std::vector<std::string>& out,
                   const std::string& prefix = {})
{
    const char* name = var.getShortName();
    llvm::DWARFDie type = typeOf(var);
    if (!name || !type)
        return;
    auto tag = type.getTag();
    if (tag == llvm::dwarf::DW_TAG_reference_type || tag == llvm::dwarf::DW_TAG_rvalue_reference_type)
        type = typeOf(type);
    else if (tag == llvm::dwarf::DW_TAG_pointer_type && prefix.empty()
             && (std::string_view(name) == "this" || std::string_view(name) == "__closure")) {
        llvm::DWARFDie object = typeOf(type);
        if (!object || stdClassName(object).size())
            return; // a libstdc++ method's own object: the primitive itself, not a holder of it
        const char* cname = object.getShortName();
        bool lambda = !cname || std::string_view(cname).starts_with("<lambda") || std::string_view(cname).starts_with("(lambda");
        for (llvm::DWARFDie member : object.children())
            if (member.getTag() == llvm::dwarf::DW_TAG_member)
                matchVariable(member, want, out, lambda ? "" : fmt::format("{}::", cname));
        return;
    } else if (tag == llvm::dwarf::DW_TAG_pointer_type)
        return;
    if (type && typeIs(type, want)) {
        std::string n = name;
        if (startsWith(n, "__") && var.getTag() == llvm::dwarf::DW_TAG_member && prefix.empty())
            n.erase(0, 2); // GCC names a lambda's capture field "__x"
        n = prefix + n;
        if (std::find(out.begin(), out.end(), n) == out.end())
            out.push_back(n);
    }
}

void collectScope(llvm::DWARFDie scope, uint64_t pc, const std::string& want, std::vector<std::string>& out, int depth)
{
    if (depth > 32)
        return;
    for (llvm::DWARFDie child : scope.children()) {
        auto tag = child.getTag();
        if (tag == llvm::dwarf::DW_TAG_variable || tag == llvm::dwarf::DW_TAG_formal_parameter)
            matchVariable(child, want, out);
        else if (tag == llvm::dwarf::DW_TAG_lexical_block || tag == llvm::dwarf::DW_TAG_inlined_subroutine) {
            bool ranged = child.find(llvm::dwarf::DW_AT_low_pc) || child.find(llvm::dwarf::DW_AT_ranges);
            if (!ranged || child.addressRangeContainsAddress(pc))
                collectScope(child, pc, want, out, depth + 1);
        }
    }
}

} // namespace

std::string Symbolizer::localVariableName(uint64_t, const std::string& type, const std::vector<Frame>& frames)
{
    if (type.empty() || !startsWith(type, "std::"))
        return {};
    // The program's frames, innermost first: the first whose scope holds exactly one variable of
    // the type names it. Inlined frames share their address with the frame they are inlined in.
    const Frame* user = userFrame(frames);
    if (!user)
        return {};
    uint64_t lastAddress = 0;
    for (const Frame* f = user; f != frames.data() + frames.size(); ++f) {
        if (f->address == lastAddress || f->module.empty() || isSystemModule(f->module) || isSystemInline(*f))
            continue;
        lastAddress = f->address;
        const Module* m = moduleFor(f->address);
        llvm::DWARFContext* context = m ? m_impl->dwarfFor(*m) : nullptr;
        if (!context)
            continue;
        uint64_t pc = f->address - m->base - 1;
        llvm::DWARFContext::DIEsForAddress dies = context->getDIEsForAddress(pc);
        // The innermost inlined scope comes back: the frame's variables are in the concrete
        // function around it (and in the inlined scopes down to the address).
        llvm::DWARFDie function = dies.FunctionDIE;
        while (function && function.getTag() != llvm::dwarf::DW_TAG_subprogram)
            function = function.getParent();
        if (!function)
            continue;
        std::vector<std::string> names;
        collectScope(function, pc, type, names, 0);

        if (names.size() == 1)
            return names[0];
        if (names.size() > 1)
            return {};
    }
    return {};
}

} // namespace ravel
