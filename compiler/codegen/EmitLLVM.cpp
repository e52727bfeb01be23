// ForwardPlan -> LLVM IR (IRBuilder) -> O3 with the host TargetMachine ->
// ORC LLJIT. The only translation unit of the compiler that includes LLVM.
#include "codegen/EmitLLVM.h"

#include "support/Diagnostics.h"

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

#include <chrono>
#include <mutex>

namespace handwire {

using namespace llvm;

namespace {

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void initLLVM() {
  static std::once_flag once;
  std::call_once(once, [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
    InitializeNativeTargetAsmParser();
  });
}

// Emits the forward function of a plan into a module. `nativeBf16`: the
// target converts to bfloat in hardware (AVX512-BF16).
class Emitter {
public:
  Emitter(const ForwardPlan &plan, Module &m, bool nativeBf16)
      : plan_(plan), ctx_(m.getContext()), m_(m), B(ctx_),
        f32(Type::getFloatTy(ctx_)), i32(Type::getInt32Ty(ctx_)),
        i64(Type::getInt64Ty(ctx_)), ptr(PointerType::get(ctx_, 0)),
        nativeBf16_(nativeBf16) {}

  Function *emit(const std::string &name) {
    FunctionType *ft =
        FunctionType::get(Type::getVoidTy(ctx_), {ptr, i64, ptr, ptr}, false);
    fn_ = Function::Create(ft, Function::ExternalLinkage, name, m_);
    fn_->addFnAttr(Attribute::NoUnwind);
    for (unsigned a : {0u, 2u, 3u})
      fn_->addParamAttr(a, Attribute::NoAlias);
    tokens_ = fn_->getArg(0);
    length_ = fn_->getArg(1);
    scratch_ = fn_->getArg(2);
    logits_ = fn_->getArg(3);
    entry_ = BasicBlock::Create(ctx_, "entry", fn_);
    B.SetInsertPoint(entry_);
    // Reductions may be reassociated (vectorized) and fused; nothing else.
    FastMathFlags fmf;
    fmf.setAllowReassoc();
    fmf.setAllowContract();
    B.setFastMathFlags(fmf);
    if (plan_.sparse)
      sparseOneLayer();
    else if (plan_.transformer)
      transformer();
    else
      rnn();
    B.CreateRetVoid();
    return fn_;
  }

private:
  // --- small IR helpers ---
  Value *c64(int64_t v) { return ConstantInt::get(i64, v); }
  Value *cf(float v) { return ConstantFP::get(f32, v); }
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
  Value *token(Value *j) {
    return B.CreateSExt(B.CreateLoad(i32, B.CreateGEP(i32, tokens_, j)), i64);
  }
  // A stored activation: rounded to the plan's 16-bit format and widened back
  // (fptrunc/fpext: vcvtps2ph + vcvtph2ps, vcvtneps2bf16 + a shift), so that
  // the next sum accumulates the stored value in fp32, as the reference does.
  // The identity in fp32 plans.
  Value *rnd(Value *v) {
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
  Value *slot(const char *name) {
    IRBuilder<> e(entry_, entry_->begin());
    return e.CreateAlloca(f32, nullptr, name);
  }

  // for (i = lo; i < hi; ++i) body(i). A parallel loop declares its
  // iterations independent (llvm.loop.parallel_accesses): LLVM cannot prove
  // that a gather x[cols[i]] does not alias the store to out[i], and would
  // keep the loop scalar. Its body must be straight-line code that only
  // writes out[i]. `unroll` > 1 asks for that unroll count
  // (llvm.loop.unroll.count, unrolledLoop): the pipeline unrolls no other
  // loop (optimize()).
  template <typename F>
  void loop(Value *lo, Value *hi, F body, bool parallel = false,
            int unroll = 0) {
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
  template <typename F> void parallelLoop(Value *lo, Value *hi, F body) {
    loop(lo, hi, body, /*parallel=*/true);
  }
  template <typename F>
  void unrolledLoop(Value *lo, Value *hi, int count, F body) {
    loop(lo, hi, body, /*parallel=*/false, count);
  }

  // sum_{c < n} a[c] * b[c]
  Value *dot(Value *a, Value *b, int64_t n) {
    Value *acc = slot("dot");
    B.CreateStore(cf(0), acc);
    loop(c64(0), c64(n), [&](Value *c) {
      B.CreateStore(B.CreateFAdd(B.CreateLoad(f32, acc),
                                 B.CreateFMul(ld(a, c), ld(b, c))),
                    acc);
    });
    return B.CreateLoad(f32, acc);
  }

  // out[o] (+)= sum_c W[o][c] in[c0 + c] for o < W.rows; `stored`: the
  // result is a stored activation (rounded in 16-bit plans).
  void matvec(const CompactMatrix &W, Value *in, Value *out, bool accumulate,
              bool stored = false) {
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

  // int32 base[i], widened to an index.
  Value *idx(Value *base, Value *i) {
    return B.CreateSExt(B.CreateLoad(i32, B.CreateGEP(i32, base, i)), i64);
  }

  // out[r] = W[r] . x (+ bias[r] if bias) for every row of W, in the HYB
  // layout (HybMatrix): the padded slots row-parallel, unrolled when few,
  // then the remainder entries one by one.
  void spmv(const HybMatrix &W, Value *x, Value *out, Value *bias) {
    const int64_t R = W.rows, w = W.ellWidth;
    Value *cols = addr(W.ellCols.data()), *vals = addr(W.ellVals.data());
    auto term = [&](Value *e) {
      return B.CreateFMul(ld(vals, e), ld(x, idx(cols, e)));
    };
    constexpr int64_t kUnrolled = 32;
    if (w <= kUnrolled) {
      parallelLoop(c64(0), c64(R), [&](Value *r) {
        Value *acc = cf(0);
        for (int64_t s = 0; s < w; ++s)
          acc = B.CreateFAdd(acc, term(add(c64(s * R), r)));
        st(bias ? B.CreateFAdd(acc, ld(bias, r)) : acc, out, r);
      });
    } else {
      parallelLoop(c64(0), c64(R),
                   [&](Value *r) { st(bias ? ld(bias, r) : cf(0), out, r); });
      loop(c64(0), c64(w), [&](Value *s) {
        Value *base = mul(s, c64(R));
        parallelLoop(c64(0), c64(R), [&](Value *r) {
          st(B.CreateFAdd(ld(out, r), term(add(base, r))), out, r);
        });
      });
    }
    if (W.extraVals.empty())
      return;
    Value *rows = addr(W.extraRows.data()), *ecols = addr(W.extraCols.data()),
          *evals = addr(W.extraVals.data());
    loop(c64(0), c64(static_cast<int64_t>(W.extraVals.size())), [&](Value *k) {
      Value *r = idx(rows, k);
      Value *v = B.CreateFMul(ld(evals, k), ld(x, idx(ecols, k)));
      st(B.CreateFAdd(ld(out, r), v), out, r);
    });
  }

  // O[c] = sum_{j < n} term(j, c) for c < dv: one reduction over the keys
  // per component, in a register, so that it vectorizes (accumulating into
  // O[c] in memory would keep it a serial chain of stores).
  template <typename F> void mix(int64_t dv, Value *n, F term) {
    loop(c64(0), c64(dv), [&](Value *c) {
      Value *acc = slot("mix");
      B.CreateStore(cf(0), acc);
      loop(c64(0), n, [&](Value *j) {
        B.CreateStore(B.CreateFAdd(B.CreateLoad(f32, acc), term(j, c)), acc);
      });
      st(B.CreateLoad(f32, acc), O_, c);
    });
  }

  // max(a, s) for attention scores. Scores are finite (nnan): a max
  // reduction then vectorizes (maxnum's NaN rule would keep it a serial
  // chain).
  Value *scoreMax(Value *a, Value *s) {
    IRBuilder<>::FastMathFlagGuard guard(B);
    FastMathFlags fmf = B.getFastMathFlags();
    fmf.setNoNaNs();
    fmf.setNoSignedZeros();
    B.setFastMathFlags(fmf);
    return B.CreateMaxNum(a, s);
  }

  // O[c] /= total for c < dv. fp32 plans multiply by the reciprocal; 16-bit
  // plans divide and round, exactly the reference's operations.
  void normalize(int64_t dv, Value *total) {
    Value *O = O_;
    if (plan_.storage) {
      loop(c64(0), c64(dv),
           [&](Value *c) { st(rnd(B.CreateFDiv(ld(O, c), total)), O, c); });
      return;
    }
    Value *inv = B.CreateFDiv(cf(1), total);
    loop(c64(0), c64(dv),
         [&](Value *c) { st(B.CreateFMul(ld(O, c), inv), O, c); });
  }

  // --- transformer ---
  void transformer() {
    const ForwardPlan &p = plan_;
    const bool lowp = p.storage.has_value();
    const int64_t D = p.width, L = static_cast<int64_t>(p.layers.size());
    int64_t dkMax = 1, dvMax = 1, hMax = 1;
    for (const auto &l : p.layers) {
      for (const auto &h : l.heads) {
        dkMax = std::max(dkMax, h.dk);
        dvMax = std::max(dvMax, h.dv);
      }
      hMax = std::max(hMax, l.mlpIn.rows);
    }
    Value *M = length_;
    Value *rows = L > 1 ? M : c64(1);
    Value *rowBase =
        L > 1 ? c64(0) : B.CreateSub(M, c64(1)); // position of X row 0
    // Scratch layout (floats): X, U (rows x D), K ((M + kKeyTile) x dkMax), V
    // (M x dvMax), Q (dkMax), S (M + kKeyTile), O (dvMax), hidden (hMax), in
    // 16-bit plans E (D), one embedded row, and for blocked heads kQueryBlock
    // rows of scores SB (stride paddedKeys), queries QB (dkMax) and token
    // scores TS.
    Value *X = scratch_;
    Value *U = at(X, mul(rows, c64(D)));
    Value *K = at(U, mul(rows, c64(D)));
    Value *V = at(K, mul(add(M, c64(kKeyTile)), c64(dkMax)));
    Value *Q = at(V, mul(M, c64(dvMax)));
    Value *S = at(Q, c64(dkMax));
    Value *O = at(S, add(M, c64(kKeyTile))); // S: whole key tiles
    Value *Hd = at(O, c64(dvMax));
    Value *E = at(Hd, c64(hMax));
    Value *SB = at(E, c64(lowp ? D : 0));
    QB_ = at(SB, c64(kQueryBlock * p.blockedStrideMax()));
    TS_ = at(QB_, c64(kQueryBlock * dkMax));
    Q_ = Q;
    S_ = S;
    O_ = O;
    Value *tok = addr(p.tokenTable), *pos = addr(p.positionTable);

    // x = tok[w_i] + pos[i], stored.
    auto embed = [&](Value *i, Value *x) {
      Value *t = at(tok, mul(token(i), c64(D)));
      Value *q = at(pos, mul(i, c64(D)));
      loop(c64(0), c64(D),
           [&](Value *c) { st(rnd(B.CreateFAdd(ld(t, c), ld(q, c))), x, c); });
    };
    // Embedding of the rows that are kept.
    loop(c64(0), rows,
         [&](Value *r) { embed(add(rowBase, r), at(X, mul(r, c64(D)))); });

    for (int64_t l = 0; l < L; ++l) {
      const LayerPlan &layer = p.layers[l];
      const bool last = l + 1 == L;
      Value *first =
          last ? B.CreateSub(rows, c64(1)) : c64(0); // X rows updated
      loop(first, rows, [&](Value *r) {
        Value *u = at(U, mul(r, c64(D)));
        loop(c64(0), c64(D), [&](Value *c) { st(cf(0), u, c); });
      });
      for (const HeadPlan &h : layer.heads) {
        // Keys and values of every position in K and V; layer 0 reads its
        // folded tables in place instead, except for 16-bit sums of a token
        // and a position table, which are rounded once per input here.
        const bool tables = l == 0 && p.foldLayer0;
        const bool keysInK =
            !h.uniform &&
            (!tables || (lowp && h.keyTok.present && h.keyPos.present));
        const bool valuesInV =
            !tables || (lowp && h.valueTok.present && h.valuePos.present);
        if (keysInK || valuesInV)
          loop(c64(0), M, [&](Value *j) {
            Value *kj = at(K, mul(j, c64(h.dk)));
            Value *vj = at(V, mul(j, c64(h.dv)));
            if (tables) {
              if (keysInK)
                loop(c64(0), c64(h.dk), [&](Value *c) {
                  st(rnd(tableSum(h.keyTok, h.keyPos, j, c)), kj, c);
                });
              if (valuesInV)
                loop(c64(0), c64(h.dv), [&](Value *c) {
                  st(rnd(tableSum(h.valueTok, h.valuePos, j, c)), vj, c);
                });
              return;
            }
            // Projected from x_j: a row of X, or (an unfolded layer 0 of a
            // one-layer plan, which keeps only the last row) embedded in E.
            Value *xj = E;
            if (l > 0 || L > 1)
              xj = at(X, mul(j, c64(D)));
            else
              embed(j, E);
            if (keysInK && h.blockedScores) {    // tile-major (ForwardPlan.h)
              matvec(h.key, xj, Q, false, true); // Q: free until the rows
              Value *lane = B.CreateAnd(j, c64(kKeyTile - 1));
              Value *base =
                  add(mul(B.CreateSub(j, lane), c64(h.dk)), lane); // c = 0
              loop(c64(0), c64(h.dk), [&](Value *c) {
                st(ld(Q, c), K, add(base, mul(c, c64(kKeyTile))));
              });
            } else if (keysInK) {
              matvec(h.key, xj, kj, false, true);
            }
            if (valuesInV)
              matvec(h.value, xj, vj, false, true);
          });
        // value(j)[c], for c < dv
        auto valueRow = [&](Value *j, Value *c) -> Value * {
          if (valuesInV)
            return ld(at(V, mul(j, c64(h.dv))), c);
          return tableSum(h.valueTok, h.valuePos, j, c);
        };
        // Softmax of row r's scores (S[0 .. i], at position i), the values
        // mixed into O, and U[r] += output * O.
        auto attendRow = [&](Value *r, Value *S) {
          Value *i = add(rowBase, r);
          Value *n = add(i, c64(1)); // causal: keys 0 .. i
          if (h.uniform) {
            mix(h.dv, n, [&](Value *j, Value *c) { return valueRow(j, c); });
            normalize(h.dv, B.CreateSIToFP(n, f32));
          } else {
            Value *mx = slot("max");
            B.CreateStore(ConstantFP::getInfinity(f32, true), mx);
            loop(c64(0), n, [&](Value *j) {
              Value *s = ld(S, j);
              if (lowp) { // the scores are stored
                s = rnd(s);
                st(s, S, j);
              }
              B.CreateStore(scoreMax(B.CreateLoad(f32, mx), s), mx);
            });
            // Max-subtracted: every exponent is <= 0, nothing overflows.
            Value *m = B.CreateLoad(f32, mx);
            Value *sum = slot("sum");
            B.CreateStore(cf(0), sum);
            loop(c64(0), n, [&](Value *j) {
              Value *e = rnd(expNonPositive(B.CreateFSub(ld(S, j), m)));
              st(e, S, j);
              B.CreateStore(B.CreateFAdd(B.CreateLoad(f32, sum), e), sum);
            });
            mix(h.dv, n, [&](Value *j, Value *c) {
              return B.CreateFMul(ld(S, j), valueRow(j, c));
            });
            normalize(h.dv, B.CreateLoad(f32, sum));
          }
          // U[r] += output * o (output is (D, dv), compacted over dv).
          matvec(h.output, O, at(U, mul(r, c64(D))), true, true);
        };
        if (h.blockedScores) {
          // kQueryBlock rows at a time (layer 0 keeps every row: rowBase =
          // 0, first = 0): their scores in SB, then each row's softmax.
          HW_ASSERT(!last && !lowp && (l == 0 ? tables && !keysInK : keysInK),
                    "blocked scores are planned for fp32 layers that keep "
                    "every row");
          loop(c64(0),
               B.CreateUDiv(add(rows, c64(kQueryBlock - 1)), c64(kQueryBlock)),
               [&](Value *blk) {
                 Value *r0 = mul(blk, c64(kQueryBlock));
                 blockScores(h, r0, rows, X, SB,
                             l == 0 ? addr(h.keyPosByDim.get()) : K);
                 Value *nb = B.CreateSub(
                     B.CreateBinaryIntrinsic(Intrinsic::smin,
                                             add(r0, c64(kQueryBlock)), rows),
                     r0);
                 loop(c64(0), nb, [&](Value *b) {
                   attendRow(add(r0, b), at(SB, mul(b, c64(h.paddedKeys))));
                 });
               });
        } else {
          loop(first, rows, [&](Value *r) {
            if (!h.uniform) {
              matvec(h.query, at(X, mul(r, c64(D))), Q, false, true);
              scores(h, keysInK, add(add(rowBase, r), c64(1)), K);
            }
            attendRow(r, S);
          });
        }
      }
      loop(first, rows, [&](Value *r) {
        Value *x = at(X, mul(r, c64(D))), *u = at(U, mul(r, c64(D)));
        loop(c64(0), c64(D), [&](Value *c) {
          st(rnd(B.CreateFAdd(ld(x, c), ld(u, c))), x, c);
        });
        if (layer.hasMlp) {
          matvec(layer.mlpIn, x, Hd, false);
          Value *b1 = addr(layer.mlpInBias.data());
          loop(c64(0), c64(layer.mlpIn.rows), [&](Value *k) {
            st(B.CreateMaxNum(rnd(B.CreateFAdd(ld(Hd, k), ld(b1, k))), cf(0)),
               Hd, k);
          });
          Value *b2 = addr(layer.mlpOutBias.data());
          if (!lowp) { // x += W h + b, fused
            matvec(layer.mlpOut, Hd, x, true);
            loop(c64(0), c64(D), [&](Value *c) {
              st(B.CreateFAdd(ld(x, c), ld(b2, c)), x, c);
            });
          } else { // the MLP's output is stored before it is added (in u)
            matvec(layer.mlpOut, Hd, u, false);
            loop(c64(0), c64(D), [&](Value *c) {
              Value *out = rnd(B.CreateFAdd(ld(u, c), ld(b2, c)));
              st(rnd(B.CreateFAdd(ld(x, c), out)), x, c);
            });
          }
        }
      });
    }
    readout(at(X, mul(B.CreateSub(rows, c64(1)), c64(D))));
  }

  // --- a one-layer fp32 model with sparse matrices (SparseOneLayerPlan):
  // the read-out row only, every product over the non-zeros ---
  void sparseOneLayer() {
    const ForwardPlan &p = plan_;
    const SparseOneLayerPlan &sp = *p.sparse;
    const int64_t D = p.width, T = p.tokenCount, P = p.maxLength;
    int64_t dkMax = 1, dvMax = 1;
    for (const SparseHeadPlan &h : sp.heads) {
      dkMax = std::max(dkMax, h.dk);
      dvMax = std::max(dvMax, h.dv);
    }
    // Scratch (ForwardPlan::scratchFloats): x, u (D), q (dkMax), e (P),
    // o (dvMax), hidden (MLP width), per-token sums (T).
    Value *x = scratch_, *u = at(x, c64(D)), *q = at(u, c64(D));
    Value *e = at(q, c64(dkMax)), *o = at(e, c64(P));
    Value *hidden = at(o, c64(dvMax)), *sums = at(hidden, c64(sp.mlpIn.rows));
    O_ = o;
    Value *M = length_, *last = B.CreateSub(M, c64(1));
    // x = token[w_{M-1}] + position[M-1] (the position row's non-zeros).
    Value *tokRow = at(addr(sp.tokenRows.data()), mul(token(last), c64(D)));
    loop(c64(0), c64(D), [&](Value *c) { st(ld(tokRow, c), x, c); });
    Value *start = addr(sp.positionStart.data()),
          *cols = addr(sp.positionCols.data()),
          *vals = addr(sp.positionVals.data());
    loop(idx(start, last), idx(start, M), [&](Value *k) {
      Value *c = idx(cols, k);
      st(B.CreateFAdd(ld(x, c), ld(vals, k)), x, c);
    });
    loop(c64(0), c64(D), [&](Value *c) { st(cf(0), u, c); });
    for (const SparseHeadPlan &h : sp.heads) {
      spmv(h.query, x, q, nullptr);
      // Scores of positions 0 .. M-1 from the folded key tables.
      Value *kt = addr(h.keyTok.data()), *kp = addr(h.keyPos.data());
      Value *mx = slot("max");
      B.CreateStore(ConstantFP::getInfinity(f32, true), mx);
      loop(c64(0), M, [&](Value *j) {
        Value *tk = at(kt, mul(token(j), c64(h.dk)));
        Value *pk = at(kp, mul(j, c64(h.dk)));
        Value *s = cf(0);
        for (int64_t c = 0; c < h.dk; ++c)
          s = B.CreateFAdd(
              s, B.CreateFMul(ld(q, c64(c)),
                              B.CreateFAdd(ld(tk, c64(c)), ld(pk, c64(c)))));
        st(s, e, j);
        B.CreateStore(scoreMax(B.CreateLoad(f32, mx), s), mx);
      });
      // e_j = exp(s_j - max) (every exponent <= 0), their sum, their sum
      // per token, and zeros past M (valuePosT reads every position).
      Value *m = B.CreateLoad(f32, mx);
      Value *total = slot("sum");
      B.CreateStore(cf(0), total);
      loop(c64(0), c64(T), [&](Value *t) { st(cf(0), sums, t); });
      loop(c64(0), M, [&](Value *j) {
        Value *w = expNonPositive(B.CreateFSub(ld(e, j), m));
        st(w, e, j);
        B.CreateStore(B.CreateFAdd(B.CreateLoad(f32, total), w), total);
        Value *t = token(j);
        st(B.CreateFAdd(ld(sums, t), w), sums, t);
      });
      loop(M, c64(P), [&](Value *j) { st(cf(0), e, j); });
      // o = (sum_t E_t valueTok[t] + valuePosT e) / Z
      Value *vt = addr(h.valueTok.data());
      loop(c64(0), c64(h.dv), [&](Value *c) {
        Value *acc = cf(0);
        for (int64_t t = 0; t < T; ++t)
          acc = B.CreateFAdd(acc, B.CreateFMul(ld(sums, c64(t)),
                                               ld(vt, add(c64(t * h.dv), c))));
        st(acc, o, c);
      });
      spmv(h.valuePosT, e, o, o);
      normalize(h.dv, B.CreateLoad(f32, total));
      spmv(h.output, o, u, u); // u += O o
    }
    loop(c64(0), c64(D),
         [&](Value *c) { st(B.CreateFAdd(ld(x, c), ld(u, c)), x, c); });
    if (sp.hasMlp) {
      spmv(sp.mlpIn, x, hidden, addr(sp.mlpInBias.data()));
      loop(c64(0), c64(sp.mlpIn.rows), [&](Value *k) {
        st(B.CreateMaxNum(ld(hidden, k), cf(0)), hidden, k);
      });
      spmv(sp.mlpOut, hidden, u, addr(sp.mlpOutBias.data()));
      loop(c64(0), c64(D),
           [&](Value *c) { st(B.CreateFAdd(ld(x, c), ld(u, c)), x, c); });
    }
    readout(x);
  }

  // tok[w_j][c] + pos[j][c] over the present tables (0 if neither is).
  Value *tableSum(const FoldedTable &tt, const FoldedTable &pt, Value *j,
                  Value *c) {
    Value *v = nullptr;
    if (tt.present)
      v = ld(at(addr(tt.base()), mul(token(j), c64(tt.rowStride()))), c);
    if (pt.present) {
      Value *b = ld(at(addr(pt.base()), mul(j, c64(pt.rowStride()))), c);
      v = v ? B.CreateFAdd(v, b) : b;
    }
    return v ? v : cf(0);
  }

  // S[j] = q . k_j for j < n, with k_j in K (`keysInK`), or (layer 0) split
  // as k_j = keyTok[w_j] + keyPos[j], the position part taken as dk axpys
  // over the transposed table, which vectorize across positions (a dot per
  // position would reduce 16 lanes into one for every key).
  void scores(const HeadPlan &h, bool keysInK, Value *n, Value *K) {
    if (keysInK) {
      loop(c64(0), n, [&](Value *j) {
        st(dot(Q_, at(K, mul(j, c64(h.dk))), h.dk), S_, j);
      });
      return;
    }
    const FoldedTable &kt = h.keyTok;
    if (kt.present)
      tokenKeyScores(kt, h.dk, Q_, S_, n);
    else
      loop(c64(0), n, [&](Value *j) { st(cf(0), S_, j); });
    if (!h.keyPos.present)
      return;
    scoreTiles(h, addr(h.keyPosByDim.get()), 1, Q_, S_, 0, n, true);
  }

  // s[j] = q . keyTok[w_j] for j < n: one dot product per key.
  void tokenKeyScores(const FoldedTable &kt, int64_t dk, Value *q, Value *s,
                      Value *n) {
    loop(c64(0), n, [&](Value *j) {
      st(dot(q, at(addr(kt.base()), mul(token(j), c64(kt.rowStride()))), dk), s,
         j);
    });
  }

  // S[b][j] (+)= q_b . k_j for R query rows q_b (rows of QB, stride dk) and
  // keys j < n, read from `keyTiles` in the tile-major layout (ForwardPlan.h),
  // in whole key tiles (S rows have stride `stride` and room for them;
  // `accumulate`: add to what S holds). A tile (dk x kKeyTile floats,
  // contiguous) is loaded once for all R rows and stays in L1 while register
  // blocks of up to kRegisterRows rows take one fused multiply-add per key
  // dimension each.
  void scoreTiles(const HeadPlan &h, Value *keyTiles, int64_t R, Value *QB,
                  Value *S, int64_t stride, Value *n, bool accumulate) {
    const int64_t dk = h.dk, regs = std::min(R, kRegisterRows);
    HW_ASSERT(R % regs == 0, "query rows must fill register blocks");
    auto *vt = FixedVectorType::get(f32, kKeyTile);
    std::vector<Value *> acc(regs);
    for (int64_t b = 0; b < regs; ++b) {
      IRBuilder<> e(entry_, entry_->begin());
      acc[b] = e.CreateAlloca(vt, nullptr, "acc");
    }
    Value *tiles = B.CreateUDiv(add(n, c64(kKeyTile - 1)), c64(kKeyTile));
    loop(c64(0), tiles, [&](Value *tile) {
      Value *j0 = mul(tile, c64(kKeyTile));
      Value *keys = at(keyTiles, mul(tile, c64(dk * kKeyTile)));
      loop(c64(0), c64(R / regs), [&](Value *block) {
        Value *row0 = mul(block, c64(regs));
        auto sRow = [&](int64_t b) {
          return at(S, add(mul(add(row0, c64(b)), c64(stride)), j0));
        };
        for (int64_t b = 0; b < regs; ++b)
          B.CreateStore(accumulate ? static_cast<Value *>(B.CreateAlignedLoad(
                                         vt, sRow(b), Align(4)))
                                   : ConstantAggregateZero::get(vt),
                        acc[b]);
        // The hottest loop of index lookup (dk multiply-adds per tile),
        // unrolled by 4 (LLVM unrolls only loops that ask: optimize()). At
        // N = 65536: 350-410 us per input, 400-450 without.
        Value *q = at(QB, mul(row0, c64(dk)));
        unrolledLoop(c64(0), c64(dk), 4, [&](Value *c) {
          Value *k = B.CreateAlignedLoad(vt, at(keys, mul(c, c64(kKeyTile))),
                                         Align(4));
          for (int64_t b = 0; b < regs; ++b) {
            Value *qb =
                B.CreateVectorSplat(kKeyTile, ld(q, add(c64(b * dk), c)));
            B.CreateStore(B.CreateIntrinsic(Intrinsic::fmuladd, {vt},
                                            {qb, k, B.CreateLoad(vt, acc[b])}),
                          acc[b]);
          }
        });
        for (int64_t b = 0; b < regs; ++b)
          B.CreateAlignedStore(B.CreateLoad(vt, acc[b]), sRow(b), Align(4));
      });
    });
  }

  // Scores of the query rows r0 .. r0 + kQueryBlock - 1 of a blocked head
  // (HeadPlan::blockedScores) against keys 0 .. min(r0 + kQueryBlock, rows)
  // - 1, into SB (row stride paddedKeys): queries, the token part of layer
  // 0's keys, then scoreTiles over `keys` (tile-major). Rows past the last
  // repeat it, and lanes past a row's keys are computed but never read.
  void blockScores(const HeadPlan &h, Value *r0, Value *rows, Value *X,
                   Value *SB, Value *keys) {
    const int64_t R = kQueryBlock, dk = h.dk, stride = h.paddedKeys,
                  T = plan_.tokenCount;
    Value *last = B.CreateSub(rows, c64(1));
    loop(c64(0), c64(R), [&](Value *b) {
      Value *r = B.CreateBinaryIntrinsic(Intrinsic::smin, add(r0, b), last);
      matvec(h.query, at(X, mul(r, c64(plan_.width))), at(QB_, mul(b, c64(dk))),
             false, true);
    });
    Value *n = B.CreateBinaryIntrinsic(Intrinsic::smin, add(r0, c64(R)), rows);
    const FoldedTable &kt = h.keyTok;
    // The token part: q . keyTok[t] once per token and gathered per key when
    // there are fewer tokens than half the keys (every block scores all
    // tokens, the rows average M/2 keys); else one dot product per key.
    const bool perToken = 2 * T <= stride;
    if (kt.present)
      loop(c64(0), c64(R), [&](Value *b) {
        Value *q = at(QB_, mul(b, c64(dk))), *sb = at(SB, mul(b, c64(stride)));
        if (!perToken) {
          tokenKeyScores(kt, dk, q, sb, n);
          return;
        }
        Value *ts = at(TS_, mul(b, c64(T)));
        loop(c64(0), c64(T), [&](Value *t) {
          st(dot(q, at(addr(kt.base()), mul(t, c64(kt.rowStride()))), dk), ts,
             t);
        });
        parallelLoop(c64(0), n, [&](Value *j) { st(ld(ts, token(j)), sb, j); });
      });
    scoreTiles(h, keys, R, QB_, SB, stride, n, kt.present);
  }

  // exp(x) for x <= 0 (the max-subtracted logits), as straight-line IR that
  // vectorizes (a call to expf does not): Cephes' expf, 2^n * p(r) with
  // r = x - n ln 2 and a degree-6 polynomial, within 2 ulp. x is clamped at
  // ln of the smallest normal float, where exp is 1e-38 against a sum >= 1.
  Value *expNonPositive(Value *x) {
    IRBuilder<>::FastMathFlagGuard guard(B);
    FastMathFlags contractOnly; // keep the hi/lo split of ln 2 in order
    contractOnly.setAllowContract();
    B.setFastMathFlags(contractOnly);
    x = B.CreateMaxNum(x, cf(-87.33654f));
    Value *n = B.CreateUnaryIntrinsic(
        Intrinsic::rint, B.CreateFMul(x, cf(1.44269504088896341f)));
    Value *r = B.CreateFSub(x, B.CreateFMul(n, cf(0.693359375f)));
    r = B.CreateFSub(r, B.CreateFMul(n, cf(-2.12194440e-4f)));
    Value *p = cf(1.9875691500e-4f);
    for (float k : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
                    1.6666665459e-1f, 5.0000001201e-1f})
      p = B.CreateFAdd(B.CreateFMul(p, r), cf(k));
    Value *y = B.CreateFAdd(
        B.CreateFAdd(B.CreateFMul(B.CreateFMul(p, r), r), r), cf(1));
    Value *bits = B.CreateShl(
        B.CreateAdd(B.CreateFPToSI(n, i32), ConstantInt::get(i32, 127)), 23);
    return B.CreateFMul(y, B.CreateBitCast(bits, f32));
  }

  void readout(Value *x) {
    matvec(plan_.readout, x, logits_, false);
    Value *b = addr(plan_.readoutBias.data());
    loop(c64(0), c64(plan_.classes), [&](Value *c) {
      st(rnd(B.CreateFAdd(ld(logits_, c), ld(b, c))), logits_, c);
    });
  }

  // --- Elman RNN: h = ReLU(W h + U[:, w_t] + b), W in CSR, U in CSC; then
  // the read-out head's ReLU layers, also CSR ---
  void rnn() {
    const ForwardPlan &p = plan_;
    const int64_t H = p.width;
    Value *h = scratch_, *next = at(scratch_, c64(H));
    Value *init = addr(p.initial.data()), *bias = addr(p.bias.data());
    Value *colStart = addr(p.inColStart.data()),
          *inRows = addr(p.inRows.data());
    Value *inVals = addr(p.inVals.data());
    loop(c64(0), c64(H), [&](Value *r) { st(ld(init, r), h, r); });
    loop(c64(0), length_, [&](Value *t) {
      spmv(p.recurrent, h, next, bias);
      Value *w = token(t);
      loop(idx(colStart, w), idx(colStart, add(w, c64(1))), [&](Value *k) {
        Value *r = idx(inRows, k);
        st(B.CreateFAdd(ld(next, r), ld(inVals, k)), next, r);
      });
      loop(c64(0), c64(H), [&](Value *r) {
        st(B.CreateMaxNum(rnd(ld(next, r)), cf(0)), h, r);
      });
    });
    // Read-out head: z = ReLU(W z + bias), alternating between two buffers
    // after the state (scratch layout: h, next, A, B). Sums run in the HYB
    // order, not the reference's column order: the constructions' integer
    // sums are exact in any order, and the random tests allow for it.
    Value *z = h;
    Value *buffers[2] = {at(scratch_, c64(2 * H)),
                         at(scratch_, c64(2 * H + p.headWidthMax()))};
    for (size_t k = 0; k < p.head.size(); ++k) {
      const HeadLayerPlan &layer = p.head[k];
      Value *out = buffers[k % 2];
      spmv(layer.weight, z, out, addr(layer.bias.data()));
      loop(c64(0), c64(layer.weight.rows), [&](Value *o) {
        st(B.CreateMaxNum(rnd(ld(out, o)), cf(0)), out, o);
      });
      z = out;
    }
    readout(z);
  }

  const ForwardPlan &plan_;
  LLVMContext &ctx_;
  Module &m_;
  IRBuilder<> B;
  Type *f32, *i32, *i64;
  PointerType *ptr;
  Function *fn_ = nullptr;
  BasicBlock *entry_ = nullptr;
  Value *tokens_ = nullptr, *length_ = nullptr, *scratch_ = nullptr,
        *logits_ = nullptr;
  Value *Q_ = nullptr, *S_ = nullptr,
        *O_ = nullptr; // query, scores and output of the current head
  Value *QB_ = nullptr, *TS_ = nullptr; // blocked heads' queries, token scores
  bool nativeBf16_ = false;
};

std::unique_ptr<TargetMachine> hostMachine() {
  auto jtmb = orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb)
    internalError(__FILE__, __LINE__, toString(jtmb.takeError()));
  jtmb->setCodeGenOptLevel(CodeGenOptLevel::Aggressive);
  auto tm = jtmb->createTargetMachine();
  if (!tm)
    internalError(__FILE__, __LINE__, toString(tm.takeError()));
  return std::move(*tm);
}

// O3 with the host TargetMachine (without it the loops stay scalar:
// toolchain.md §1.4), vectorized but neither interleaved nor unrolled unless
// a loop asks (loop(..., unroll)). Interleaving (four vector bodies per loop,
// then an epilogue) and unrolling multiplied the code of every small loop:
// index lookup's compile took 75 ms with both, 57 with unrolling only and
// 33-42 with neither, and the forward passes ran as fast or faster
// (bench/README.md, 2026-12-05).
void optimize(Module &m, TargetMachine &tm) {
  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PipelineTuningOptions tuning;
  tuning.LoopInterleaving = false;
  tuning.LoopUnrolling = false;
  PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(OptimizationLevel::O3).run(m, mam);
}

std::unique_ptr<Module> build(const ForwardPlan &plan, const std::string &name,
                              LLVMContext &ctx, TargetMachine &tm) {
  auto m = std::make_unique<Module>("handwire." + name, ctx);
  m->setDataLayout(tm.createDataLayout());
  m->setTargetTriple(tm.getTargetTriple().str());
  // Host features as "+avx512bf16,..." (JITTargetMachineBuilder::detectHost).
  const bool nativeBf16 = tm.getTargetFeatureString().contains("+avx512bf16");
  Emitter(plan, *m, nativeBf16).emit("hw_forward");
  std::string err;
  raw_string_ostream es(err);
  if (verifyModule(*m, &es))
    internalError(__FILE__, __LINE__, "emitted invalid LLVM IR: " + es.str());
  return m;
}

} // namespace

struct CompiledForward::Impl {
  std::unique_ptr<orc::LLJIT> jit;
};

CompiledForward::~CompiledForward() = default;

std::unique_ptr<CompiledForward> compileForward(const ForwardPlan &plan,
                                                const std::string &name) {
  initLLVM();
  auto out = std::unique_ptr<CompiledForward>(new CompiledForward());
  auto t0 = Clock::now();
  auto tm = hostMachine();
  auto ctx = std::make_unique<LLVMContext>();
  auto m = build(plan, name, *ctx, *tm);
  out->times_.emitMs = msSince(t0);
  t0 = Clock::now();
  optimize(*m, *tm);
  out->times_.optimizeMs = msSince(t0);
  t0 = Clock::now();
  auto jtmb = orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb)
    internalError(__FILE__, __LINE__, toString(jtmb.takeError()));
  jtmb->setCodeGenOptLevel(CodeGenOptLevel::Aggressive);
  // No platform support: the module has no static initializers or atexit
  // handlers, and the generic platform's own support module cost 5-10 ms of
  // every compile (index lookup: 40-55 -> 36-40 ms, warm).
  auto jit = orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(std::move(*jtmb))
                 .setPlatformSetUp(orc::setUpInactivePlatform)
                 .create();
  if (!jit)
    internalError(__FILE__, __LINE__, toString(jit.takeError()));
  if (auto e = (*jit)->addIRModule(
          orc::ThreadSafeModule(std::move(m), std::move(ctx))))
    internalError(__FILE__, __LINE__, toString(std::move(e)));
  auto sym = (*jit)->lookup("hw_forward");
  if (!sym)
    internalError(__FILE__, __LINE__, toString(sym.takeError()));
  out->fn_ = sym->toPtr<ForwardFn>();
  out->times_.codegenMs = msSince(t0);
  out->impl_ = std::make_unique<CompiledForward::Impl>();
  out->impl_->jit = std::move(*jit);
  return out;
}

std::string emitText(const ForwardPlan &plan, const std::string &name,
                     EmitKind kind) {
  initLLVM();
  auto tm = hostMachine();
  LLVMContext ctx;
  auto m = build(plan, name, ctx, *tm);
  std::string text;
  raw_string_ostream os(text);
  if (kind != EmitKind::LLVM)
    optimize(*m, *tm);
  if (kind == EmitKind::Assembly) {
    SmallVector<char, 0> buf;
    raw_svector_ostream asmOs(buf);
    legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, asmOs, nullptr,
                                CodeGenFileType::AssemblyFile))
      internalError(__FILE__, __LINE__, "the host target cannot emit assembly");
    pm.run(*m);
    return std::string(buf.begin(), buf.end());
  }
  m->print(os, nullptr);
  return os.str();
}

} // namespace handwire
