// ravel-pass.so: the LLVM 19 pass plugin behind ravel-cc / ravel-c++. It inserts, before each
// memory access that could race, a call of a hook of <ravel/race_hooks.h>, guarded by an inline
// test of __ravel_race_flag so that a binary run without ravel costs one load and one branch per
// access. It runs last in the optimizer pipeline (at -O0 too), when -O1 and above have promoted
// most locals to registers, and skips what cannot race: locals whose address never escapes,
// constant globals, vtable loads (TBAA vtable accesses, !invariant.group loads).
//
// The plugin links no LLVM library: clang provides every symbol it uses.
#include <ravel/race_hooks.h>

#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/SmallPtrSet.h>
#include <llvm/Analysis/CaptureTracking.h>
#include <llvm/Analysis/ValueTracking.h>
#include <llvm/IR/DataLayout.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/PassManager.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Passes/PassPlugin.h>
#include <llvm/Transforms/Utils/BasicBlockUtils.h>
#include <llvm/Transforms/Utils/Cloning.h>
#include <llvm/Transforms/Utils/ModuleUtils.h>

#include <algorithm>

using namespace llvm;

namespace {

uint32_t c11Order(AtomicOrdering o)
{
    switch (o) {
    case AtomicOrdering::Acquire:
        return 2;
    case AtomicOrdering::Release:
        return 3;
    case AtomicOrdering::AcquireRelease:
        return 4;
    case AtomicOrdering::SequentiallyConsistent:
        return 5;
    default:
        return 0; // unordered, monotonic: relaxed
    }
}

class RavelInstrumenter {
public:
    explicit RavelInstrumenter(Module& m)
        : m_module(m)
        , m_ctx(m.getContext())
        , m_dl(m.getDataLayout())
    {
        Type* voidTy = Type::getVoidTy(m_ctx);
        Type* ptrTy = PointerType::getUnqual(m_ctx);
        Type* i32 = Type::getInt32Ty(m_ctx);
        m_sizeTy = m_dl.getIntPtrType(m_ctx);
        m_flag = m.getOrInsertGlobal("__ravel_race_flag", Type::getInt8Ty(m_ctx));
        const char* sizes[] = {"1", "2", "4", "8", "16"};
        for (int i = 0; i < 5; i++) {
            m_read[i] = m.getOrInsertFunction(std::string("__ravel_read") + sizes[i], voidTy, ptrTy);
            m_write[i] = m.getOrInsertFunction(std::string("__ravel_write") + sizes[i], voidTy, ptrTy);
        }
        m_readN = m.getOrInsertFunction("__ravel_read_n", voidTy, ptrTy, m_sizeTy);
        m_writeN = m.getOrInsertFunction("__ravel_write_n", voidTy, ptrTy, m_sizeTy);
        m_atomicOp = m.getOrInsertFunction("__ravel_atomic_op", voidTy, ptrTy, i32, i32);
        m_atomicAfter = m.getOrInsertFunction("__ravel_atomic_after", voidTy, ptrTy, i32);
        m_fence = m.getOrInsertFunction("__ravel_fence", voidTy, i32);
        m_memcpy = m.getOrInsertFunction("__ravel_memcpy", voidTy, ptrTy, ptrTy, m_sizeTy);
        m_memmove = m.getOrInsertFunction("__ravel_memmove", voidTy, ptrTy, ptrTy, m_sizeTy);
        m_memset = m.getOrInsertFunction("__ravel_memset", voidTy, ptrTy, m_sizeTy);
        m_funcEntry = m.getOrInsertFunction("__ravel_func_entry", voidTy, ptrTy, ptrTy);
        m_funcExit = m.getOrInsertFunction("__ravel_func_exit", voidTy);
    }

    bool run()
    {
        bool changed = false;
        for (Function& f : m_module) {
            if (f.isDeclaration() || f.getName().starts_with("__ravel") || f.getName().starts_with("llvm.")
                || f.hasFnAttribute(Attribute::Naked) || f.hasFnAttribute(Attribute::DisableSanitizerInstrumentation))
                continue;
            changed |= instrumentFunction(f);
        }
        if (changed) {
            // Ties the module to the hook ABI it was built for: a libravel_hooks.so of another ABI
            // fails the link instead of misbehaving.
            std::string abi = "__ravel_hooks_abi_" + std::to_string(RAVEL_HOOKS_ABI);
            Constant* ref = m_module.getOrInsertGlobal(abi, Type::getInt32Ty(m_ctx));
            auto* holder = new GlobalVariable(m_module, PointerType::getUnqual(m_ctx), true,
                                              GlobalValue::PrivateLinkage, ref, "__ravel_abi_ref");
            appendToCompilerUsed(m_module, {holder});
        }
        return changed;
    }

private:
    // True when the access through ptr can be seen by another thread.
    bool mayBeShared(Value* ptr)
    {
        if (ptr->getType()->getPointerAddressSpace() != 0)
            return false;
        const Value* obj = getUnderlyingObject(ptr, 12);
        if (isa<AllocaInst>(obj))
            return PointerMayBeCaptured(obj, /*ReturnCaptures=*/true, /*StoreCaptures=*/true);
        if (const auto* gv = dyn_cast<GlobalVariable>(obj)) {
            if (gv->isConstant())
                return false;
            StringRef name = gv->getName();
            if (name.starts_with("__ravel") || name.starts_with("llvm.") || name.starts_with("__llvm_gcov")
                || name.starts_with("__llvm_prf"))
                return false;
            if (gv->isThreadLocal())
                return false; // each thread has its own; a pointer to it that escapes is rare
        }
        return true;
    }

    static bool isVtableAccess(const Instruction* i)
    {
        if (const MDNode* tag = i->getMetadata(LLVMContext::MD_tbaa))
            if (tag->isTBAAVtableAccess())
                return true;
        return i->hasMetadata(LLVMContext::MD_invariant_group) || i->hasMetadata(LLVMContext::MD_invariant_load);
    }

    // A call of hook before `at`: in the instrumented copy of a versioned function a plain call (the
    // copy runs only when the flag was set); otherwise taken only when the flag is set.
    CallInst* guardedCall(Instruction* at, FunctionCallee hook, ArrayRef<Value*> args)
    {
        if (!m_guard) {
            IRBuilder<> b(at);
            CallInst* call = b.CreateCall(hook, args);
            setDebugLoc(call, at);
            return call;
        }
        IRBuilder<> b(at);
        LoadInst* flag = b.CreateLoad(Type::getInt8Ty(m_ctx), m_flag, "ravel.on");
        flag->setVolatile(false);
        Value* on = b.CreateICmpNE(flag, b.getInt8(0));
        Instruction* then = SplitBlockAndInsertIfThen(on, at, false, MDBuilder(m_ctx).createUnlikelyBranchWeights());
        IRBuilder<> tb(then);
        CallInst* call = tb.CreateCall(hook, args);
        setDebugLoc(call, at);
        return call;
    }

    // The access's own line; the optimizer drops it from loads it moved, so the nearest line in
    // the block (after, then before) is the next best; calls in a function with debug info need one.
    void setDebugLoc(CallInst* call, Instruction* like)
    {
        DebugLoc loc = like->getDebugLoc();
        for (Instruction* i = like->getNextNode(); !loc && i; i = i->getNextNode())
            if (i->getDebugLoc() && i->getDebugLoc().getLine())
                loc = i->getDebugLoc();
        for (Instruction* i = like->getPrevNode(); !loc && i; i = i->getPrevNode())
            if (i->getDebugLoc() && i->getDebugLoc().getLine())
                loc = i->getDebugLoc();
        if (loc)
            call->setDebugLoc(loc);
        else if (DISubprogram* sp = like->getFunction()->getSubprogram())
            call->setDebugLoc(DILocation::get(m_ctx, sp->getLine(), 0, sp));
    }

    int sizeIndex(uint64_t bytes)
    {
        switch (bytes) {
        case 1:
            return 0;
        case 2:
            return 1;
        case 4:
            return 2;
        case 8:
            return 3;
        case 16:
            return 4;
        default:
            return -1;
        }
    }

    void plainAccess(Instruction* at, Value* ptr, Type* ty, bool write)
    {
        TypeSize ts = m_dl.getTypeStoreSize(ty);
        if (ts.isScalable())
            return; // scalable vectors: not on x86-64
        uint64_t bytes = ts.getFixedValue();
        if (bytes == 0)
            return;
        int idx = sizeIndex(bytes);
        if (idx >= 0)
            guardedCall(at, write ? m_write[idx] : m_read[idx], {ptr});
        else
            guardedCall(at, write ? m_writeN : m_readN, {ptr, ConstantInt::get(m_sizeTy, bytes)});
    }

    void atomicAccess(Instruction* at, Value* ptr, Type* ty, bool write, AtomicOrdering order, bool reads)
    {
        uint64_t bytes = m_dl.getTypeStoreSize(ty).getFixedValue();
        Type* i32 = Type::getInt32Ty(m_ctx);
        uint32_t o = c11Order(order);
        guardedCall(at, m_atomicOp,
                    {ptr, ConstantInt::get(i32, bytes), ConstantInt::get(i32, (write ? 1u : 0u) | (o << 8))});
        if (reads) {
            Instruction* next = at->getNextNode();
            guardedCall(next, m_atomicAfter, {ptr, ConstantInt::get(i32, o)});
        }
    }

    // Function versioning: the function's blocks are cloned, the clone is instrumented with plain
    // hook calls, and a new entry block picks the clone when the flag is set and the untouched,
    // fully optimized original otherwise. Run alone, the binary pays one load and branch per call
    // of an instrumented function, and its loops keep their vectorization. Functions whose blocks
    // have their address taken (computed goto) are instrumented in place, each hook guarded.
    // Returns the instructions of the copy to instrument, mapped from `work`.
    bool versionFunction(Function& f, SmallVectorImpl<Instruction*>& work, SmallVectorImpl<BasicBlock*>& copy)
    {
        for (BasicBlock& bb : f)
            if (bb.hasAddressTaken())
                return false;
        ValueToValueMapTy vmap;
        SmallVector<BasicBlock*, 32> orig;
        for (BasicBlock& bb : f)
            orig.push_back(&bb);
        for (BasicBlock* bb : orig) {
            BasicBlock* c = CloneBasicBlock(bb, vmap, ".ravel", &f);
            vmap[bb] = c;
            copy.push_back(c);
        }
        remapInstructionsInBlocks(copy, vmap);
        BasicBlock* origEntry = orig.front();
        BasicBlock* copyEntry = copy.front();
        BasicBlock* dispatch = BasicBlock::Create(m_ctx, "ravel.dispatch", &f, origEntry);
        IRBuilder<> b(dispatch);
        LoadInst* flag = b.CreateLoad(Type::getInt8Ty(m_ctx), m_flag, "ravel.on");
        Value* on = b.CreateICmpNE(flag, b.getInt8(0));
        BranchInst* br = b.CreateCondBr(on, copyEntry, origEntry, MDBuilder(m_ctx).createUnlikelyBranchWeights());
        // Static allocas of both copies move to the new entry: left behind they would be dynamic.
        for (BasicBlock* entry : {origEntry, copyEntry}) {
            for (auto it = entry->begin(); it != entry->end();) {
                Instruction* i = &*it++;
                if (auto* ai = dyn_cast<AllocaInst>(i); ai && isa<ConstantInt>(ai->getArraySize()) && !ai->isUsedWithInAlloca())
                    ai->moveBefore(br);
            }
        }
        for (Instruction*& i : work)
            i = cast<Instruction>(vmap[i]);
        return true;
    }

    // A plain load followed in its block by a plain store of at least as many bytes to the same
    // pointer, with no call, atomic or fence between (nothing that synchronizes), races exactly
    // when that store does, as ThreadSanitizer's pass reasons: only the store is checked.
    void dropSubsumedLoads(SmallVectorImpl<Instruction*>& work)
    {
        SmallPtrSet<Instruction*, 32> chosen(work.begin(), work.end());
        SmallPtrSet<Instruction*, 16> drop;
        DenseMap<Value*, uint64_t> stored; // pointer -> bytes a later store in the block writes
        BasicBlock* bb = nullptr;
        for (Instruction* i : work) {
            if (i->getParent() == bb)
                continue;
            bb = i->getParent();
            stored.clear();
            for (Instruction& inst : reverse(*bb)) {
                if (isa<CallBase>(inst) && !isa<DbgInfoIntrinsic>(inst) && !isa<LifetimeIntrinsic>(inst)) {
                    stored.clear();
                } else if (inst.isAtomic() || isa<FenceInst>(inst)) {
                    stored.clear();
                } else if (auto* st = dyn_cast<StoreInst>(&inst); st && chosen.count(st)) {
                    uint64_t n = m_dl.getTypeStoreSize(st->getValueOperand()->getType()).getKnownMinValue();
                    uint64_t& have = stored[st->getPointerOperand()];
                    have = have > n ? have : n;
                } else if (auto* ld = dyn_cast<LoadInst>(&inst); ld && chosen.count(ld)) {
                    auto it = stored.find(ld->getPointerOperand());
                    if (it != stored.end() && it->second >= m_dl.getTypeStoreSize(ld->getType()).getKnownMinValue())
                        drop.insert(ld);
                }
            }
        }
        if (!drop.empty())
            work.erase(std::remove_if(work.begin(), work.end(), [&](Instruction* i) { return drop.count(i); }),
                       work.end());
    }

    bool instrumentFunction(Function& f)
    {
        SmallVector<Instruction*, 64> work;
        for (Instruction& i : instructions(f)) {
            if (auto* ld = dyn_cast<LoadInst>(&i)) {
                if (!isVtableAccess(ld) && !ld->isVolatile() && mayBeShared(ld->getPointerOperand()))
                    work.push_back(ld);
            } else if (auto* st = dyn_cast<StoreInst>(&i)) {
                if (!isVtableAccess(st) && !st->isVolatile() && mayBeShared(st->getPointerOperand()))
                    work.push_back(st);
            } else if (isa<AtomicRMWInst>(i) || isa<AtomicCmpXchgInst>(i)) {
                work.push_back(&i);
            } else if (auto* fe = dyn_cast<FenceInst>(&i)) {
                if (fe->getSyncScopeID() != SyncScope::SingleThread)
                    work.push_back(fe);
            } else if (auto* mi = dyn_cast<MemIntrinsic>(&i)) {
                if (!mi->isVolatile() && mayBeShared(mi->getDest()))
                    work.push_back(mi);
                else if (auto* mt = dyn_cast<MemTransferInst>(mi); mt && mayBeShared(mt->getSource()))
                    work.push_back(mi);
            }
        }
        dropSubsumedLoads(work);
        if (work.empty())
            return false;
        // The hooks read and write memory the function's inferred attributes know nothing of.
        f.setMemoryEffects(MemoryEffects::unknown());
        f.removeFnAttr(Attribute::NoSync);
        SmallVector<BasicBlock*, 32> copy;
        m_guard = !versionFunction(f, work, copy);
        for (Instruction* i : work) {
            if (auto* ld = dyn_cast<LoadInst>(i)) {
                if (ld->isAtomic())
                    atomicAccess(ld, ld->getPointerOperand(), ld->getType(), false, ld->getOrdering(), true);
                else
                    plainAccess(ld, ld->getPointerOperand(), ld->getType(), false);
            } else if (auto* st = dyn_cast<StoreInst>(i)) {
                Type* ty = st->getValueOperand()->getType();
                if (st->isAtomic())
                    atomicAccess(st, st->getPointerOperand(), ty, true, st->getOrdering(), false);
                else
                    plainAccess(st, st->getPointerOperand(), ty, true);
            } else if (auto* rmw = dyn_cast<AtomicRMWInst>(i)) {
                atomicAccess(rmw, rmw->getPointerOperand(), rmw->getValOperand()->getType(), true,
                             rmw->getOrdering(), true);
            } else if (auto* cas = dyn_cast<AtomicCmpXchgInst>(i)) {
                atomicAccess(cas, cas->getPointerOperand(), cas->getNewValOperand()->getType(), true,
                             cas->getSuccessOrdering(), true);
            } else if (auto* fe = dyn_cast<FenceInst>(i)) {
                guardedCall(fe, m_fence, {ConstantInt::get(Type::getInt32Ty(m_ctx), c11Order(fe->getOrdering()))});
            } else if (auto* ms = dyn_cast<MemSetInst>(i)) {
                Value* len = IRBuilder<>(ms).CreateZExtOrTrunc(ms->getLength(), m_sizeTy);
                guardedCall(ms, m_memset, {ms->getDest(), len});
            } else if (auto* mt = dyn_cast<MemTransferInst>(i)) {
                Value* len = IRBuilder<>(mt).CreateZExtOrTrunc(mt->getLength(), m_sizeTy);
                guardedCall(mt, isa<MemMoveInst>(mt) ? m_memmove : m_memcpy, {mt->getDest(), mt->getSource(), len});
            }
        }
        instrumentEntryExit(f, copy);
        return true;
    }

    // Entry (with the return address and the frame address) and every return. A frame left by an
    // exception has no exit call: the runtime drops shadow-stack entries whose frame is not above
    // the frame of the function being entered, so the stack heals at the next call.
    void instrumentEntryExit(Function& f, ArrayRef<BasicBlock*> copy)
    {
        BasicBlock* entry = copy.empty() ? &f.getEntryBlock() : copy.front();
        // After the entry block's allocas: split off, they would become dynamic allocas.
        BasicBlock::iterator it = entry->getFirstInsertionPt();
        while (isa<AllocaInst>(*it))
            ++it;
        Instruction* first = &*it;
        IRBuilder<> b(first);
        Value* ret = b.CreateIntrinsic(Intrinsic::returnaddress, {}, {b.getInt32(0)});
        Value* frame = b.CreateIntrinsic(Intrinsic::frameaddress, {PointerType::getUnqual(m_ctx)}, {b.getInt32(0)});
        guardedCall(first, m_funcEntry, {ret, frame});
        SmallVector<ReturnInst*, 8> rets;
        if (copy.empty()) {
            for (BasicBlock& bb : f)
                if (auto* r = dyn_cast<ReturnInst>(bb.getTerminator()))
                    rets.push_back(r);
        } else {
            for (BasicBlock* bb : copy)
                if (auto* r = dyn_cast<ReturnInst>(bb->getTerminator()))
                    rets.push_back(r);
        }
        for (ReturnInst* r : rets) {
            // A musttail call must stay right before its return: the exit goes before the call.
            Instruction* at = r;
            if (CallInst* ci = r->getParent()->getTerminatingMustTailCall())
                at = ci;
            guardedCall(at, m_funcExit, {});
        }
    }

    Module& m_module;
    LLVMContext& m_ctx;
    const DataLayout& m_dl;
    Type* m_sizeTy;
    Constant* m_flag;
    FunctionCallee m_read[5], m_write[5], m_readN, m_writeN;
    FunctionCallee m_atomicOp, m_atomicAfter, m_fence;
    FunctionCallee m_memcpy, m_memmove, m_memset;
    FunctionCallee m_funcEntry, m_funcExit;
    bool m_guard = true;
};

struct RavelPass : PassInfoMixin<RavelPass> {
    PreservedAnalyses run(Module& m, ModuleAnalysisManager&)
    {
        return RavelInstrumenter(m).run() ? PreservedAnalyses::none() : PreservedAnalyses::all();
    }
    static bool isRequired() { return true; } // at -O0 too
};

} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo llvmGetPassPluginInfo()
{
    return {LLVM_PLUGIN_API_VERSION, "ravel-pass", "0.1", [](PassBuilder& pb) {
                pb.registerOptimizerLastEPCallback(
                    [](ModulePassManager& mpm, OptimizationLevel) { mpm.addPass(RavelPass()); });
                pb.registerPipelineParsingCallback(
                    [](StringRef name, ModulePassManager& mpm, ArrayRef<PassBuilder::PipelineElement>) {
                        if (name != "ravel")
                            return false;
                        mpm.addPass(RavelPass());
                        return true;
                    });
            }};
}
