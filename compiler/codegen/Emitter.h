// The emitter of a plan's forward function, private to compiler/codegen. One
// class, its members defined by what they emit:
//   EmitCore.cpp         IR helpers, the loop builder, dot and dense products,
//                        16-bit rounding, exp, the scratch regions
//   EmitTransformer.cpp  the Transformer: embedding, layers, residual stream
//   EmitAttention.cpp    a head: scores (blocked tiles too), softmax, values
//   EmitTables.cpp       folded key/value tables, keys per position, HYB
//                        sparse products
//   EmitMlp.cpp          MLPs, the read-out, the RNN's read-out head
//   EmitRecurrence.cpp   the Elman RNN
//   EmitSparse.cpp       the sparse one-layer Transformer
//   EmitWalsh.cpp        a Walsh head: a call of its precompiled kernel
#pragma once

#include "codegen/ForwardPlan.h"
#include "support/Diagnostics.h"

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <array>
#include <string>
#include <vector>

namespace handwire {

class Emitter {
public:
  // `nativeBf16`: the target converts to bfloat in hardware (AVX512-BF16).
  Emitter(const ForwardPlan &plan, llvm::Module &m, bool nativeBf16);
  // The forward function (EmitLLVM.h's ABI), named `name`. A Transformer
  // given `layerFunctions` (one name per planned layer) calls them for its
  // layers instead of inlining them; emitLayer defines them (in modules of
  // their own: EmitLLVM.cpp compiles modules on several threads).
  llvm::Function *emit(const std::string &name,
                       const std::vector<std::string> &layerFunctions = {});
  // Layer l of a Transformer as a function of the same ABI, on the residual
  // stream in the scratch.
  llvm::Function *emitLayer(const std::string &name, size_t l);

private:
  using Value = llvm::Value;
  using Body = llvm::function_ref<void(Value *)>;
  using Term = llvm::function_ref<Value *(Value *, Value *)>;

  // --- EmitCore.cpp ---
  llvm::FunctionType *forwardType();
  void beginFunction(const std::string &name);
  Value *c64(int64_t v) { return llvm::ConstantInt::get(i64, v); }
  Value *cf(float v) { return llvm::ConstantFP::get(f32, v); }
  Value *addr(const void *p) {
    return B.CreateIntToPtr(c64(reinterpret_cast<int64_t>(p)), ptr);
  }
  Value *at(Value *base, Value *index) { return B.CreateGEP(f32, base, index); }
  Value *ld(Value *base, Value *index) {
    return B.CreateLoad(f32, at(base, index));
  }
  void st(Value *v, Value *base, Value *index) {
    B.CreateStore(v, at(base, index));
  }
  Value *mul(Value *a, Value *b) { return B.CreateMul(a, b, "", true, true); }
  Value *add(Value *a, Value *b) { return B.CreateAdd(a, b, "", true, true); }
  // int32 base[i], widened to an index.
  Value *idx(Value *base, Value *i) {
    return B.CreateSExt(B.CreateLoad(i32, B.CreateGEP(i32, base, i)), i64);
  }
  Value *token(Value *j) { return idx(tokens_, j); }
  // Position j's continuous input f_j (plan_.featureDim floats).
  Value *featureRow(Value *j) {
    return at(features_, mul(j, c64(plan_.featureDim)));
  }
  // int32 base[i] = v (an i64, truncated).
  void sti(Value *v, Value *base, Value *i) {
    B.CreateStore(B.CreateTrunc(v, i32), B.CreateGEP(i32, base, i));
  }
  // An i64 variable (promoted to a register by mem2reg).
  Value *slot64(const char *name);
  Value *get(Value *slot64) { return B.CreateLoad(i64, slot64); }
  void set(Value *slot64, Value *v) { B.CreateStore(v, slot64); }
  void ifThen(Value *cond, llvm::function_ref<void()> then);
  Value *rnd(Value *v);
  Value *slot(const char *name);
  void loop(Value *lo, Value *hi, Body body, bool parallel = false,
            int unroll = 0);
  void ifThenElse(Value *cond, llvm::function_ref<void()> then,
                  llvm::function_ref<void()> otherwise);
  void parallelLoop(Value *lo, Value *hi, Body body) {
    loop(lo, hi, body, /*parallel=*/true);
  }
  void unrolledLoop(Value *lo, Value *hi, int count, Body body) {
    loop(lo, hi, body, /*parallel=*/false, count);
  }
  Value *dot(Value *a, Value *b, int64_t n);
  void matvec(const CompactMatrix &W, Value *in, Value *out, bool accumulate,
              bool stored = false);
  Value *scoreMax(Value *a, Value *s);
  Value *expNonPositive(Value *x);
  void bindScratch();
  Value *region(ScratchRegion id) const {
    Value *p = regions_[static_cast<size_t>(id)];
    HW_ASSERT(p, "the plan's scratch layout has no such region");
    return p;
  }

  // --- EmitTransformer.cpp ---
  void transformer(const std::vector<std::string> &layerFunctions);
  void keptRows();
  void embedRow(Value *i, Value *x);
  void transformerLayer(size_t l);

  // --- EmitAttention.cpp ---
  // Where a head's keys and values come from.
  struct HeadSources {
    bool tables = false;    // layer 0, folded: read from the tables
    bool keysInK = false;   // keys written per input to Keys
    bool valuesInV = false; // values written per input to Values
  };
  HeadSources headSources(size_t l, const HeadPlan &h) const;
  void attentionHead(size_t l, const HeadPlan &h, Value *first);
  void blockedHead(size_t l, const HeadPlan &h, const HeadSources &src);
  void uniformPrefixHead(const HeadPlan &h, const HeadSources &src);
  void attendRow(const HeadPlan &h, const HeadSources &src, Value *r, Value *S);
  Value *softmaxInPlace(Value *S, Value *n);
  Value *valueAt(const HeadPlan &h, const HeadSources &src, Value *j, Value *c);
  void mix(int64_t dv, Value *n, Term term);
  void normalize(int64_t dv, Value *total);
  void scores(const HeadPlan &h, bool keysInK, Value *n, Value *K);
  void scoreTiles(const HeadPlan &h, Value *keyTiles, int64_t R, Value *QB,
                  Value *S, int64_t stride, Value *n, bool accumulate);
  void blockScores(const HeadPlan &h, Value *r0, Value *rows, Value *X,
                   Value *SB, Value *keys, bool tokenPart);
  void tokenScoreRow(const HeadPlan &h, Value *b, Value *SB, Value *n,
                     bool perToken);

  // --- EmitWalsh.cpp ---
  void walshHead(const HeadPlan &h, const HeadSources &src);

  // --- EmitTables.cpp ---
  Value *tableSum(const FoldedTable &tt, const FoldedTable &pt, Value *j,
                  Value *c);
  void tokenKeyScores(const FoldedTable &kt, int64_t dk, Value *q, Value *s,
                      Value *n);
  void keysAndValuesAt(size_t l, const HeadPlan &h, const HeadSources &src,
                       Value *j);
  void storeKeyTiles(const HeadPlan &h, Value *k, Value *j);
  void spmv(const HybMatrix &W, Value *x, Value *out, Value *bias);

  // --- EmitMlp.cpp ---
  void residualAndMlp(const LayerPlan &layer, Value *r);
  void readout(Value *x);
  void readoutHead(Value *z);
  void sparseMlp(const SparseOneLayerPlan &sp, Value *x, Value *u);

  // --- EmitRecurrence.cpp ---
  void rnn();
  void denseRecurrence(Value *h);
  void eventRecurrence();
  void eventInit();
  void eventStep(Value *t);
  void pushChange(Value *column, Value *delta);
  void touch(Value *row);
  void chainTaps(size_t c, Value *t);
  void chainRecord(size_t c, Value *t);
  void applyChanges();
  void scanCandidates();
  void computeRows();
  void commitRows();
  void materializeChains();
  // The event-driven recurrence's buffers and variables (EventPlan).
  struct EventValues {
    Value *z, *sums, *fresh, *touched, *inCandidates, *work, *candidates,
        *changed, *deltas;
    Value *workCount, *candidateCount, *changeCount, *fallback, *broadcastHit;
    std::vector<Value *> ring, fifo, fifoHead, fifoTail; // per chain
  } ev_{};

  // --- EmitSparse.cpp ---
  void sparseOneLayer();
  void sparseEmbedLastRow(Value *x);
  void sparseHead(const SparseHeadPlan &h, Value *x, Value *u);
  Value *sparseScores(const SparseHeadPlan &h, Value *q, Value *e);
  Value *sparseWeights(Value *e, Value *m);

  const ForwardPlan &plan_;
  llvm::LLVMContext &ctx_;
  llvm::Module &m_;
  llvm::IRBuilder<> B;
  llvm::Type *f32, *i32, *i64;
  llvm::PointerType *ptr;
  llvm::Function *fn_ = nullptr;
  llvm::BasicBlock *entry_ = nullptr;
  // features_: the continuous inputs (length x plan_.featureDim floats; read
  // only if plan_.featureDim > 0, else possibly null: ForwardFn).
  Value *tokens_ = nullptr, *length_ = nullptr, *features_ = nullptr,
        *scratch_ = nullptr, *logits_ = nullptr;
  // The scratch regions (plan_.scratch), by ScratchRegion.
  std::array<Value *, static_cast<size_t>(ScratchRegion::Guard) + 1> regions_{};
  // Transformer: rows of x kept (M, or 1 in a one-layer model), and the
  // position of row 0.
  Value *rows_ = nullptr, *rowBase_ = nullptr;
  bool nativeBf16_ = false;
};

} // namespace handwire
