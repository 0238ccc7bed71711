#include "symbols/code_shape.hpp"

#include "symbols/symbolizer.hpp"

#include <llvm/DebugInfo/DWARF/DWARFContext.h>
#include <llvm/DebugInfo/DWARF/DWARFDebugFrame.h>
#include <llvm/MC/MCAsmInfo.h>
#include <llvm/MC/MCContext.h>
#include <llvm/MC/MCDisassembler/MCDisassembler.h>
#include <llvm/MC/MCInst.h>
#include <llvm/MC/MCInstrAnalysis.h>
#include <llvm/MC/MCInstrInfo.h>
#include <llvm/MC/MCRegisterInfo.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/MCTargetOptions.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Triple.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace ravel {

const char* waitShapeName(WaitShape s)
{
    switch (s) {
    case WaitShape::Loop: return "loop";
    case WaitShape::Guarded: return "guarded";
    case WaitShape::Bare: return "bare";
    case WaitShape::Unknown: break;
    }
    return "unknown";
}

namespace {

constexpr size_t kMaxFunctionBytes = 1u << 20; // a function bigger than this is not read
constexpr size_t kMaxFrames = 8;               // program frames looked at above the wait

struct Insn {
    uint64_t addr = 0;
    uint32_t size = 0;
    bool call = false;
    bool branch = false;      // a jump (not a call, not a return)
    bool conditional = false;
    bool targetKnown = false; // a direct jump
    bool compare = false;     // test / cmp: sets the flags a conditional jump reads
    uint64_t target = 0;
};

struct Function {
    uint64_t lo = 0, hi = 0;  // file addresses
    std::vector<Insn> insns;  // empty when it could not be decoded
    bool decoded = false;
};

// One function's instructions, by file address, from a module's ELF symbol table.
struct ModuleCode {
    const llvm::object::ObjectFile* object = nullptr;
    std::vector<std::pair<uint64_t, uint64_t>> functions; // [lo, hi), sorted
    std::map<uint64_t, Function> decoded;                // by lo
};

} // namespace

struct CodeShapes::Impl {
    Symbolizer& sym;
    std::unordered_map<std::string, std::unique_ptr<ModuleCode>> modules; // by path; null: unusable
    bool llvmReady = false;
    std::unique_ptr<llvm::MCRegisterInfo> regs;
    std::unique_ptr<llvm::MCAsmInfo> asmInfo;
    std::unique_ptr<llvm::MCSubtargetInfo> subtarget;
    std::unique_ptr<llvm::MCInstrInfo> instrInfo;
    std::unique_ptr<llvm::MCContext> context;
    std::unique_ptr<llvm::MCDisassembler> disassembler;
    std::unique_ptr<llvm::MCInstrAnalysis> analysis;

    explicit Impl(Symbolizer& s)
        : sym(s)
    {
    }

    bool setUpLlvm()
    {
        if (llvmReady)
            return disassembler != nullptr;
        llvmReady = true;
        static std::once_flag once;
        std::call_once(once, [] {
            LLVMInitializeX86TargetInfo();
            LLVMInitializeX86TargetMC();
            LLVMInitializeX86Disassembler();
        });
        llvm::Triple triple("x86_64-pc-linux-gnu");
        std::string error;
        const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple.str(), error);
        if (!target)
            return false;
        regs.reset(target->createMCRegInfo(triple.str()));
        llvm::MCTargetOptions options;
        asmInfo.reset(regs ? target->createMCAsmInfo(*regs, triple.str(), options) : nullptr);
        subtarget.reset(target->createMCSubtargetInfo(triple.str(), "", ""));
        instrInfo.reset(target->createMCInstrInfo());
        if (!regs || !asmInfo || !subtarget || !instrInfo)
            return false;
        context = std::make_unique<llvm::MCContext>(triple, asmInfo.get(), regs.get(), subtarget.get());
        disassembler.reset(target->createMCDisassembler(*subtarget, *context));
        analysis.reset(target->createMCInstrAnalysis(instrInfo.get()));
        if (!analysis)
            disassembler.reset();
        return disassembler != nullptr;
    }

    ModuleCode* moduleCode(const Module& m)
    {
        auto [it, fresh] = modules.try_emplace(m.path);
        if (!fresh)
            return it->second.get();
        const llvm::object::ObjectFile* object = sym.objectFile(m);
        if (!object || object->getArch() != llvm::Triple::x86_64 || !llvm::isa<llvm::object::ELFObjectFileBase>(object))
            return nullptr;
        auto code = std::make_unique<ModuleCode>();
        code->object = object;
        for (const llvm::object::ELFSymbolRef s : llvm::cast<llvm::object::ELFObjectFileBase>(object)->symbols()) {
            auto type = s.getType();
            auto addr = s.getAddress();
            if (!type || !addr) {
                if (!type)
                    llvm::consumeError(type.takeError());
                if (!addr)
                    llvm::consumeError(addr.takeError());
                continue;
            }
            if (*type == llvm::object::SymbolRef::ST_Function && s.getSize() > 0)
                code->functions.emplace_back(*addr, *addr + s.getSize());
        }
        bool symtab = false;
        for (const llvm::object::SectionRef& sec : object->sections()) {
            auto name = sec.getName();
            if (name && *name == ".symtab")
                symtab = true;
            else if (!name)
                llvm::consumeError(name.takeError());
        }
        if (!symtab) {
            // Stripped (as Debian's packages are): the unwind table still bounds every function.
            auto quiet = [](llvm::Error e) { llvm::consumeError(std::move(e)); };
            auto dwarf = llvm::DWARFContext::create(*object, llvm::DWARFContext::ProcessDebugRelocations::Ignore,
                                                    nullptr, "", quiet, quiet);
            auto frames = dwarf->getEHFrame();
            if (!frames) {
                llvm::consumeError(frames.takeError());
            } else if (*frames) {
                for (const llvm::dwarf::FrameEntry& entry : **frames)
                    if (const auto* fde = llvm::dyn_cast<llvm::dwarf::FDE>(&entry); fde && fde->getAddressRange())
                        code->functions.emplace_back(fde->getInitialLocation(),
                                                     fde->getInitialLocation() + fde->getAddressRange());
            }
        }
        std::sort(code->functions.begin(), code->functions.end());
        code->functions.erase(std::unique(code->functions.begin(), code->functions.end()), code->functions.end());
        if (code->functions.empty())
            return nullptr; // nothing bounds a function
        it->second = std::move(code);
        return it->second.get();
    }

    // The decoded function containing file address `at` (a return address: `at - 1` is inside the
    // call), or nullptr.
    Function* functionAt(ModuleCode& code, uint64_t at)
    {
        uint64_t inside = at - 1;
        auto it = std::upper_bound(code.functions.begin(), code.functions.end(), std::make_pair(inside, UINT64_MAX));
        if (it == code.functions.begin())
            return nullptr;
        --it;
        if (inside >= it->second)
            return nullptr;
        Function& f = code.decoded[it->first];
        if (f.decoded)
            return f.insns.empty() ? nullptr : &f;
        f.decoded = true;
        f.lo = it->first;
        f.hi = it->second;
        if (f.hi - f.lo > kMaxFunctionBytes || !setUpLlvm())
            return nullptr;
        for (const llvm::object::SectionRef& s : code.object->sections()) {
            if (!s.isText() || f.lo < s.getAddress() || f.hi > s.getAddress() + s.getSize())
                continue;
            auto contents = s.getContents();
            if (!contents) {
                llvm::consumeError(contents.takeError());
                return nullptr;
            }
            uint64_t offset = f.lo - s.getAddress();
            if (offset + (f.hi - f.lo) > contents->size())
                return nullptr; // NOBITS, or a section cut short
            llvm::ArrayRef<uint8_t> bytes(reinterpret_cast<const uint8_t*>(contents->data()) + offset, f.hi - f.lo);
            for (uint64_t pos = 0; pos < bytes.size();) {
                llvm::MCInst inst;
                uint64_t size = 0;
                uint64_t addr = f.lo + pos;
                auto status = disassembler->getInstruction(inst, size, bytes.slice(pos), addr, llvm::nulls());
                if (status != llvm::MCDisassembler::Success || size == 0) {
                    size = size ? size : 1; // padding or data: step over it
                    pos += size;
                    continue;
                }
                Insn in;
                in.addr = addr;
                in.size = static_cast<uint32_t>(size);
                in.call = analysis->isCall(inst);
                in.branch = !in.call && analysis->isBranch(inst) && !analysis->isReturn(inst);
                in.conditional = in.branch && analysis->isConditionalBranch(inst);
                llvm::StringRef name = instrInfo->getName(inst.getOpcode());
                in.compare = name.starts_with("TEST") || name.starts_with("CMP");
                uint64_t target = 0;
                if (in.branch && analysis->evaluateBranch(inst, addr, size, target)) {
                    in.targetKnown = true;
                    in.target = target;
                }
                f.insns.push_back(in);
                pos += size;
            }
            break;
        }
        return f.insns.empty() ? nullptr : &f;
    }

    // The call instruction that returns to `ret` in f, or nullptr.
    static const Insn* callBefore(const Function& f, uint64_t ret)
    {
        auto it = std::lower_bound(f.insns.begin(), f.insns.end(), ret,
                                   [](const Insn& i, uint64_t a) { return i.addr + i.size < a; });
        return it != f.insns.end() && it->addr + it->size == ret && it->call ? &*it : nullptr;
    }
};

CodeShapes::CodeShapes(Symbolizer& sym)
    : m_impl(std::make_unique<Impl>(sym))
{
}

CodeShapes::~CodeShapes() = default;

WaitShape CodeShapes::waitShape(const std::vector<uint64_t>& waitFrames, const std::vector<uint64_t>& lockFrames)
{
    Symbolizer& sym = m_impl->sym;
    struct Place {
        const Module* module = nullptr;
        Function* function = nullptr;
        uint64_t ret = 0; // file address
    };
    auto placeOf = [&](uint64_t addr) -> std::optional<Place> {
        const Module* m = sym.moduleFor(addr);
        if (!m || Symbolizer::isSystemModule(m->path))
            return std::nullopt;
        ModuleCode* code = m_impl->moduleCode(*m);
        Function* f = code ? m_impl->functionAt(*code, addr - m->base) : nullptr;
        if (!f)
            return Place { m, nullptr, addr - m->base };
        return Place { m, f, addr - m->base };
    };

    // The wait's frames in the program's code, innermost first: the libc / libstdc++ frames of
    // std::condition_variable::wait come before them.
    size_t first = 0;
    while (first < waitFrames.size()) {
        const Module* m = sym.moduleFor(waitFrames[first]);
        if (m && !Symbolizer::isSystemModule(m->path))
            break;
        first++;
    }
    if (first == waitFrames.size())
        return WaitShape::Unknown;

    // Where the lock call sits in the function of wait frame i, when that function took the mutex
    // before the wait (the latest such call: the innermost critical section).
    auto lockReturnIn = [&](const Place& w) -> std::optional<uint64_t> {
        std::optional<uint64_t> best;
        for (uint64_t addr : lockFrames) {
            std::optional<Place> l = addr ? placeOf(addr) : std::nullopt;
            if (l && l->function == w.function && l->ret < w.ret && (!best || l->ret > *best))
                best = l->ret;
        }
        return best;
    };

    bool sawLockFunction = false;
    for (size_t i = first; i < waitFrames.size() && i < first + kMaxFrames; i++) {
        std::optional<Place> p = placeOf(waitFrames[i]);
        if (!p)
            break; // left the program's code (a callback from a library): stop here
        if (!p->function)
            return WaitShape::Unknown;
        const Insn* call = Impl::callBefore(*p->function, p->ret);
        if (!call)
            return WaitShape::Unknown;
        std::optional<uint64_t> lockRet = lockReturnIn(*p);
        uint64_t low = lockRet ? *lockRet : p->function->lo;
        const std::vector<Insn>& insns = p->function->insns;
        for (size_t k = 0; k < insns.size(); k++) {
            const Insn& in = insns[k];
            if (!in.branch || !in.targetKnown)
                continue; // indirect jumps: switch tables and tail calls, never a predicate loop
            if (in.addr >= p->ret && in.target <= call->addr && in.target >= low)
                return WaitShape::Loop;
            // The lock's own error check (`call pthread_mutex_lock; test %eax,%eax; jne <throw>`,
            // std::mutex::lock's __throw_system_error) jumps past the wait too, but checks nothing
            // the signaller sets.
            bool lockResultCheck = lockRet && k > 0 && insns[k - 1].compare && insns[k - 1].addr == *lockRet;
            if (in.conditional && !lockResultCheck && in.addr >= low && in.addr < call->addr && in.target >= p->ret)
                return WaitShape::Guarded;
        }
        if (lockRet) {
            sawLockFunction = true;
            break; // the mutex was taken here: its callers' loops take it again
        }
    }
    // A stack that never reached the function taking the mutex may have its loop further out.
    return sawLockFunction ? WaitShape::Bare : WaitShape::Unknown;
}

} // namespace ravel
