// A Walsh head (ForwardPlan.h, WalshHeadPlan): per level of the dyadic
// decomposition, each block's values transformed once and convolved with
// each of its tasks' kernels, the results added to the rows that need them;
// then per row the taps, its own term, the zero keys' running sums and the
// division by the denominator. Rows with a zero query take the running mean
// of the values, as a uniform head does.
#include "codegen/Emitter.h"

namespace handwire {

using namespace llvm;

void Emitter::walshHead(const HeadPlan &h, const HeadSources &src) {
  const int64_t components = h.dv + 1; // the values and the key count
  Value *sums = region(ScratchRegion::WalshSums);
  parallelLoop(c64(0), mul(length_, c64(components)),
               [&](Value *i) { st(cf(0), sums, i); });
  loop(c64(0), c64(static_cast<int64_t>(h.walsh->blockStart.size())),
       [&](Value *blk) { walshBlock(h, src, blk); });
  walshRows(h, src);
}

// Block blk of the decomposition (level l, n = 2^l): WalshSums[t][c] += its
// tasks' convolutions for every query row t < M.
void Emitter::walshBlock(const HeadPlan &h, const HeadSources &src,
                         Value *blk) {
  const WalshHeadPlan &w = *h.walsh;
  const int64_t dv = h.dv, components = dv + 1;
  Value *V = region(ScratchRegion::WalshValues),
        *T = region(ScratchRegion::WalshTransform),
        *sums = region(ScratchRegion::WalshSums);
  Value *blockTasks = addr(w.blockTasks.data()),
        *taskSpectrum = addr(w.taskSpectrum.data()),
        *taskQueries = addr(w.taskQueries.data()),
        *queryRow = addr(w.queryRow.data()),
        *queryLow = addr(w.queryLow.data()),
        *keyIndex = addr(w.keyIndex.data()), *spectra = addr(w.spectra.data());
  Value *l = idx(addr(w.blockLevel.data()), blk),
        *s0 = idx(addr(w.blockStart.data()), blk);
  Value *n = B.CreateShl(c64(1), l);
  // Only blocks whose right sibling starts inside the input.
  ifThenElse(
      B.CreateICmpSLT(add(s0, n), length_),
      [&] {
        // V[c][b_s mod n] = value_s[c] (and 1 for the count) for the block's
        // keys; a zero key adds 0 to slot n - 1.
        parallelLoop(c64(0), mul(c64(components), n),
                     [&](Value *i) { st(cf(0), V, i); });
        Value *low = B.CreateSub(n, c64(1));
        loop(s0, add(s0, n), [&](Value *s) {
          Value *b = idx(keyIndex, s);
          Value *isKey = B.CreateICmpSGE(b, c64(0));
          Value *slot = B.CreateAnd(b, low);
          loop(c64(0), c64(dv), [&](Value *c) {
            Value *i = add(mul(c, n), slot);
            st(B.CreateFAdd(ld(V, i), B.CreateSelect(
                                          isKey, valueAt(h, src, s, c), cf(0))),
               V, i);
          });
          Value *i = add(mul(c64(dv), n), slot);
          st(B.CreateFAdd(ld(V, i), B.CreateSelect(isKey, cf(1), cf(0))), V, i);
        });
        loop(c64(0), c64(components),
             [&](Value *c) { walshTransform(at(V, mul(c, n)), n, l); });
        loop(idx(blockTasks, blk), idx(blockTasks, add(blk, c64(1))),
             [&](Value *task) {
               Value *spectrum = at(spectra, idx(taskSpectrum, task));
               Value *q0 = idx(taskQueries, task),
                     *q1 = idx(taskQueries, add(task, c64(1)));
               loop(c64(0), c64(components), [&](Value *c) {
                 Value *Vc = at(V, mul(c, n));
                 parallelLoop(c64(0), n, [&](Value *u) {
                   st(B.CreateFMul(ld(Vc, u), ld(spectrum, u)), T, u);
                 });
                 walshTransform(T, n, l);
                 loop(q0, q1, [&](Value *q) {
                   Value *t = idx(queryRow, q);
                   ifThenElse(
                       B.CreateICmpSLT(t, length_),
                       [&] {
                         Value *i = add(mul(t, c64(components)), c);
                         st(B.CreateFAdd(ld(sums, i), ld(T, idx(queryLow, q))),
                            sums, i);
                       },
                       [] {});
                 });
               });
             });
      },
      [] {});
}

// Row by row: running sums of all values and of the zero keys' values and
// count (WalshRunning), the head output o into HeadOutput, U[r] += output o.
void Emitter::walshRows(const HeadPlan &h, const HeadSources &src) {
  const WalshHeadPlan &w = *h.walsh;
  const int64_t dv = h.dv, components = dv + 1;
  Value *sums = region(ScratchRegion::WalshSums),
        *run = region(ScratchRegion::WalshRunning),
        *O = region(ScratchRegion::HeadOutput);
  Value *query = addr(w.queryIndex.data()), *keyIndex = addr(w.keyIndex.data()),
        *keyAt = addr(w.keyAt.data()), *self = addr(w.selfWeight.data());
  parallelLoop(c64(0), c64(2 * dv + 1), [&](Value *i) { st(cf(0), run, i); });
  loop(c64(0), rows_, [&](Value *r) {
    Value *zero = B.CreateICmpSLT(idx(keyIndex, r), c64(0));
    loop(c64(0), c64(dv), [&](Value *c) { // O[c]: the row's value, kept
      Value *v = valueAt(h, src, r, c), *cz = add(c, c64(dv));
      st(v, O, c);
      st(B.CreateFAdd(ld(run, c), v), run, c);
      st(B.CreateFAdd(ld(run, cz), B.CreateSelect(zero, v, cf(0))), run, cz);
    });
    st(B.CreateFAdd(ld(run, c64(2 * dv)), B.CreateSelect(zero, cf(1), cf(0))),
       run, c64(2 * dv));
    Value *a = idx(query, r);
    ifThenElse(
        B.CreateICmpSGE(a, c64(0)),
        [&] {
          // Taps: the key at a ^ x, if there is one at or before r.
          const size_t taps = w.tapOffsets.size();
          std::vector<Value *> key(taps), on(taps);
          for (size_t t = 0; t < taps; ++t) {
            Value *s = idx(keyAt, B.CreateXor(a, c64(w.tapOffsets[t])));
            on[t] =
                B.CreateAnd(B.CreateICmpSGE(s, c64(0)), B.CreateICmpSLE(s, r));
            key[t] = B.CreateSelect(on[t], s, r);
          }
          Value *selfWeight = ld(self, r), *base = mul(r, c64(components));
          Value *den = B.CreateFAdd(ld(sums, add(base, c64(dv))), selfWeight);
          for (size_t t = 0; t < taps; ++t)
            den = B.CreateFAdd(
                den, B.CreateSelect(on[t], cf(w.tapWeights[t]), cf(0)));
          den = B.CreateFAdd(
              den, B.CreateFMul(cf(w.zeroKeyWeight), ld(run, c64(2 * dv))));
          Value *inverse = B.CreateFDiv(cf(1), den);
          loop(c64(0), c64(dv), [&](Value *c) {
            Value *num = B.CreateFAdd(ld(sums, add(base, c)),
                                      B.CreateFMul(selfWeight, ld(O, c)));
            for (size_t t = 0; t < taps; ++t)
              num = B.CreateFAdd(
                  num, B.CreateSelect(on[t],
                                      B.CreateFMul(cf(w.tapWeights[t]),
                                                   valueAt(h, src, key[t], c)),
                                      cf(0)));
            num = B.CreateFAdd(num, B.CreateFMul(cf(w.zeroKeyWeight),
                                                 ld(run, add(c, c64(dv)))));
            st(B.CreateFMul(num, inverse), O, c);
          });
        },
        [&] { // uniform over keys 0 .. r
          loop(c64(0), c64(dv), [&](Value *c) { st(ld(run, c), O, c); });
          normalize(dv, B.CreateSIToFP(add(r, c64(1)), f32));
        });
    matvec(h.output, O,
           at(region(ScratchRegion::Update), mul(r, c64(plan_.width))), true,
           true);
  });
}

// x <- H x for x[0 .. n), n = 2^logn (runtime values): logn butterfly
// stages. Runs of 16 or more vectorize; the four shorter stages are scalar
// loops (an unrolled 16-value block for them cost 50 ms of code generation
// and gained nothing measurable: bench/README.md).
void Emitter::walshTransform(Value *x, Value *n, Value *logn) {
  auto butterfly = [&](Value *j, Value *h) {
    Value *k = add(j, h);
    Value *p = ld(x, j), *q = ld(x, k);
    st(B.CreateFAdd(p, q), x, j);
    st(B.CreateFSub(p, q), x, k);
  };
  // Stages [s0, s1): runs of h = 2^s, blocks of 2h.
  auto stages = [&](Value *s0, Value *s1, bool parallel) {
    loop(s0, s1, [&](Value *s) {
      Value *h = B.CreateShl(c64(1), s);
      loop(c64(0), B.CreateLShr(n, add(s, c64(1))), [&](Value *blk) {
        Value *base = B.CreateShl(blk, add(s, c64(1)));
        loop(
            c64(0), h, [&](Value *j) { butterfly(add(base, j), h); }, parallel);
      });
    });
  };
  // Stages with runs shorter than 16 go one butterfly at a time; the
  // later ones vectorize within a run.
  Value *shortStages = B.CreateBinaryIntrinsic(Intrinsic::smin, logn, c64(4));
  stages(c64(0), shortStages, /*parallel=*/false);
  stages(shortStages, logn, /*parallel=*/true);
}

} // namespace handwire
