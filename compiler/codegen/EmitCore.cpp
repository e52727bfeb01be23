// The emitter's core: the function's frame, the loop builder, 16-bit
// rounding, dot and dense products, exp and the scratch regions.
#include "codegen/Emitter.h"

#include "support/Diagnostics.h"

namespace handwire {

using namespace llvm;

Emitter::Emitter(const ForwardPlan &plan, Module &m, bool nativeBf16)
    : plan_(plan), ctx_(m.getContext()), m_(m), B(ctx_),
      f32(Type::getFloatTy(ctx_)), i32(Type::getInt32Ty(ctx_)),
      i64(Type::getInt64Ty(ctx_)), ptr(PointerType::get(ctx_, 0)),
      nativeBf16_(nativeBf16) {}

FunctionType *Emitter::forwardType() {
  return FunctionType::get(Type::getVoidTy(ctx_), {ptr, i64, ptr, ptr, ptr},
                           false);
}

// A function of the forward ABI, its arguments bound, its entry block the
// insertion point.
void Emitter::beginFunction(const std::string &name) {
  fn_ = Function::Create(forwardType(), Function::ExternalLinkage, name, m_);
  fn_->addFnAttr(Attribute::NoUnwind);
  for (unsigned a : {0u, 2u, 3u, 4u})
    fn_->addParamAttr(a, Attribute::NoAlias);
  tokens_ = fn_->getArg(0);
  length_ = fn_->getArg(1);
  features_ = fn_->getArg(2);
  scratch_ = fn_->getArg(3);
  logits_ = fn_->getArg(4);
  entry_ = BasicBlock::Create(ctx_, "entry", fn_);
  B.SetInsertPoint(entry_);
  // Reductions may be reassociated (vectorized) and fused; nothing else.
  FastMathFlags fmf;
  fmf.setAllowReassoc();
  fmf.setAllowContract();
  B.setFastMathFlags(fmf);
}

Function *Emitter::emit(const std::string &name,
                        const std::vector<std::string> &layerFunctions) {
  beginFunction(name);
  if (plan_.sparse)
    sparseOneLayer();
  else if (plan_.transformer)
    transformer(layerFunctions);
  else
    rnn();
  B.CreateRetVoid();
  return fn_;
}

Function *Emitter::emitLayer(const std::string &name, size_t l) {
  HW_ASSERT(plan_.transformer && !plan_.sparse && l < plan_.layers.size(),
            "emitLayer: no such Transformer layer");
  beginFunction(name);
  keptRows();
  transformerLayer(l);
  B.CreateRetVoid();
  return fn_;
}

// A stored activation: rounded to the plan's 16-bit format and widened back
// (fptrunc/fpext: vcvtps2ph + vcvtph2ps, vcvtneps2bf16 + a shift), so that
// the next sum accumulates the stored value in fp32, as the reference does.
// The identity in fp32 plans.
Value *Emitter::rnd(Value *v) {
  if (!plan_.storage)
    return v;
  IRBuilder<>::FastMathFlagGuard guard(B);
  B.clearFastMathFlags();
  if (*plan_.storage == StorageFormat::F16)
    return B.CreateFPExt(B.CreateFPTrunc(v, B.getHalfTy()), f32);
  // vcvtneps2bf16 rounds to nearest even but flushes fp32 subnormals
  // (|x| < 2^-126) to zero, where the reference keeps them: a difference
  // of at most 1.2e-38 in one stored value.
  if (nativeBf16_)
    return B.CreateFPExt(B.CreateFPTrunc(v, B.getBFloatTy()), f32);
  // Without AVX512-BF16, LLVM 19 lowers fptrunc to bfloat as a call to
  // __truncsfbf2, which libgcc 12 lacks and the JIT cannot resolve: round
  // to nearest even with integer ops (roundToBf16 in ir/StorageFormat.cpp).
  Value *bits = B.CreateBitCast(v, i32);
  Value *odd = B.CreateAnd(B.CreateLShr(bits, 16), ConstantInt::get(i32, 1));
  Value *r = B.CreateAnd(
      B.CreateAdd(B.CreateAdd(bits, ConstantInt::get(i32, 0x7FFF)), odd),
      ConstantInt::get(i32, 0xFFFF0000u));
  return B.CreateSelect(B.CreateFCmpUNO(v, v), v, B.CreateBitCast(r, f32));
}

// A scalar accumulator (promoted to a register by mem2reg).
Value *Emitter::slot(const char *name) {
  IRBuilder<> e(entry_, entry_->begin());
  return e.CreateAlloca(f32, nullptr, name);
}

Value *Emitter::slot64(const char *name) {
  IRBuilder<> e(entry_, entry_->begin());
  return e.CreateAlloca(i64, nullptr, name);
}

void Emitter::ifThen(Value *cond, function_ref<void()> then) {
  BasicBlock *yes = BasicBlock::Create(ctx_, "then", fn_);
  BasicBlock *done = BasicBlock::Create(ctx_, "endif", fn_);
  B.CreateCondBr(cond, yes, done);
  B.SetInsertPoint(yes);
  then();
  B.CreateBr(done);
  B.SetInsertPoint(done);
}

// for (i = lo; i < hi; ++i) body(i). A parallel loop declares its
// iterations independent (llvm.loop.parallel_accesses): LLVM cannot prove
// that a gather x[cols[i]] does not alias the store to out[i], and would
// keep the loop scalar. Its body must be straight-line code that only
// writes out[i]. `unroll` > 1 asks for that unroll count
// (llvm.loop.unroll.count, unrolledLoop): the pipeline unrolls no other
// loop (optimizeModule).
void Emitter::loop(Value *lo, Value *hi, Body body, bool parallel, int unroll) {
  BasicBlock *pre = B.GetInsertBlock();
  BasicBlock *head = BasicBlock::Create(ctx_, "loop", fn_);
  BasicBlock *bodyBB = BasicBlock::Create(ctx_, "body", fn_);
  BasicBlock *exit = BasicBlock::Create(ctx_, "exit", fn_);
  B.CreateBr(head);
  B.SetInsertPoint(head);
  PHINode *i = B.CreatePHI(i64, 2);
  i->addIncoming(lo, pre);
  B.CreateCondBr(B.CreateICmpSLT(i, hi), bodyBB, exit);
  B.SetInsertPoint(bodyBB);
  body(i);
  Value *next = add(i, c64(1));
  i->addIncoming(next, B.GetInsertBlock());
  Instruction *latch = B.CreateBr(head);
  std::vector<Metadata *> properties{nullptr}; // operand 0: the loop itself
  if (parallel) {
    HW_ASSERT(latch->getParent() == bodyBB,
              "a parallel loop's body must not branch");
    MDNode *group = MDNode::getDistinct(ctx_, {});
    for (Instruction &inst : *bodyBB)
      if (inst.mayReadOrWriteMemory())
        inst.setMetadata(LLVMContext::MD_access_group, group);
    properties.push_back(MDNode::get(
        ctx_, {MDString::get(ctx_, "llvm.loop.parallel_accesses"), group}));
  }
  if (unroll > 1)
    properties.push_back(
        MDNode::get(ctx_, {MDString::get(ctx_, "llvm.loop.unroll.count"),
                           ConstantAsMetadata::get(B.getInt32(unroll))}));
  if (properties.size() > 1) {
    MDNode *id = MDNode::getDistinct(ctx_, properties);
    id->replaceOperandWith(0, id);
    latch->setMetadata(LLVMContext::MD_loop, id);
  }
  B.SetInsertPoint(exit);
}

void Emitter::ifThenElse(Value *cond, function_ref<void()> then,
                         function_ref<void()> otherwise) {
  BasicBlock *t = BasicBlock::Create(ctx_, "then", fn_),
             *e = BasicBlock::Create(ctx_, "else", fn_),
             *join = BasicBlock::Create(ctx_, "join", fn_);
  B.CreateCondBr(cond, t, e);
  B.SetInsertPoint(t);
  then();
  B.CreateBr(join);
  B.SetInsertPoint(e);
  otherwise();
  B.CreateBr(join);
  B.SetInsertPoint(join);
}

// sum_{c < n} a[c] * b[c]
Value *Emitter::dot(Value *a, Value *b, int64_t n) {
  Value *acc = slot("dot");
  B.CreateStore(cf(0), acc);
  loop(c64(0), c64(n), [&](Value *c) {
    B.CreateStore(
        B.CreateFAdd(B.CreateLoad(f32, acc), B.CreateFMul(ld(a, c), ld(b, c))),
        acc);
  });
  return B.CreateLoad(f32, acc);
}

// out[o] (+)= sum_c W[o][c] in[c0 + c] for o < W.rows; `stored`: the
// result is a stored activation (rounded in 16-bit plans).
void Emitter::matvec(const CompactMatrix &W, Value *in, Value *out,
                     bool accumulate, bool stored) {
  if (W.empty()) {
    if (!accumulate)
      loop(c64(0), c64(W.rows), [&](Value *o) { st(cf(0), out, o); });
    return;
  }
  Value *w = addr(W.w.data());
  Value *x = at(in, c64(W.c0));
  loop(c64(0), c64(W.rows), [&](Value *o) {
    Value *v = dot(at(w, mul(o, c64(W.width()))), x, W.width());
    v = accumulate ? B.CreateFAdd(ld(out, o), v) : v;
    st(stored ? rnd(v) : v, out, o);
  });
}

// max(a, s) for attention scores. Scores are finite (nnan): a max
// reduction then vectorizes (maxnum's NaN rule would keep it a serial
// chain).
Value *Emitter::scoreMax(Value *a, Value *s) {
  IRBuilder<>::FastMathFlagGuard guard(B);
  FastMathFlags fmf = B.getFastMathFlags();
  fmf.setNoNaNs();
  fmf.setNoSignedZeros();
  B.setFastMathFlags(fmf);
  return B.CreateMaxNum(a, s);
}

// exp(x) for x <= 0 (the max-subtracted logits), as straight-line IR that
// vectorizes (a call to expf does not): Cephes' expf, 2^n * p(r) with
// r = x - n ln 2 and a degree-6 polynomial, within 2 ulp. x is clamped at
// ln of the smallest normal float, where exp is 1e-38 against a sum >= 1.
Value *Emitter::expNonPositive(Value *x) {
  IRBuilder<>::FastMathFlagGuard guard(B);
  FastMathFlags contractOnly; // keep the hi/lo split of ln 2 in order
  contractOnly.setAllowContract();
  B.setFastMathFlags(contractOnly);
  x = B.CreateMaxNum(x, cf(-87.33654f));
  Value *n = B.CreateUnaryIntrinsic(Intrinsic::rint,
                                    B.CreateFMul(x, cf(1.44269504088896341f)));
  Value *r = B.CreateFSub(x, B.CreateFMul(n, cf(0.693359375f)));
  r = B.CreateFSub(r, B.CreateFMul(n, cf(-2.12194440e-4f)));
  Value *p = cf(1.9875691500e-4f);
  for (float k : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
                  1.6666665459e-1f, 5.0000001201e-1f})
    p = B.CreateFAdd(B.CreateFMul(p, r), cf(k));
  Value *y =
      B.CreateFAdd(B.CreateFAdd(B.CreateFMul(B.CreateFMul(p, r), r), r), cf(1));
  Value *bits = B.CreateShl(
      B.CreateAdd(B.CreateFPToSI(n, i32), ConstantInt::get(i32, 127)), 23);
  return B.CreateFMul(y, B.CreateBitCast(bits, f32));
}

// The scratch regions at the plan's offsets (ForwardPlan::scratch): each one
// after the last, at the current insertion point.
void Emitter::bindScratch() {
  regions_.fill(nullptr);
  Value *p = scratch_;
  const ScratchLayout::Region *before = nullptr;
  for (const ScratchLayout::Region &r : plan_.scratch.regions) {
    if (before) {
      const ScratchSize &s = before->size;
      Value *size = c64(s.floats);
      if (s.perPosition) {
        Value *n =
            s.extraPositions ? add(length_, c64(s.extraPositions)) : length_;
        size = s.floats == 1 ? n : mul(n, c64(s.floats));
      }
      p = at(p, size);
    }
    regions_[static_cast<size_t>(r.id)] = p;
    before = &r;
  }
}

} // namespace handwire
