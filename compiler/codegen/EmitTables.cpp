// Reads of the plan's tables: layer 0's folded key/value tables, the keys and
// values of every position written per input (from tables or projected), and
// products with HYB sparse matrices.
#include "codegen/Emitter.h"

namespace handwire {

using namespace llvm;

// tok[w_j][c] + pos[j][c] over the present tables (0 if neither is).
Value *Emitter::tableSum(const FoldedTable &tt, const FoldedTable &pt, Value *j,
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

// s[j] = q . keyTok[w_j] for j < n: one dot product per key.
void Emitter::tokenKeyScores(const FoldedTable &kt, int64_t dk, Value *q,
                             Value *s, Value *n) {
  loop(c64(0), n, [&](Value *j) {
    st(dot(q, at(addr(kt.base()), mul(token(j), c64(kt.rowStride()))), dk), s,
       j);
  });
}

// Key k (dk floats) of position j into row j of a blocked head's Keys,
// tile-major (ForwardPlan.h).
void Emitter::storeKeyTiles(const HeadPlan &h, Value *k, Value *j) {
  Value *K = region(ScratchRegion::Keys);
  Value *lane = B.CreateAnd(j, c64(kKeyTile - 1));
  Value *base = add(mul(B.CreateSub(j, lane), c64(h.dk)), lane); // c = 0
  loop(c64(0), c64(h.dk),
       [&](Value *c) { st(ld(k, c), K, add(base, mul(c, c64(kKeyTile)))); });
}

// The key and value of position j of head h (layer l) that src says are
// written per input: to row j of Keys (tile-major for blocked heads) and of
// Values. From layer 0's tables: their sum, plus the feature part (fp32
// plans only: ForwardPlan.h), or rounded (16-bit sums of two tables).
void Emitter::keysAndValuesAt(size_t l, const HeadPlan &h,
                              const HeadSources &src, Value *j) {
  Value *K = region(ScratchRegion::Keys), *V = region(ScratchRegion::Values);
  Value *kj = at(K, mul(j, c64(h.dk)));
  Value *vj = at(V, mul(j, c64(h.dv)));
  if (src.tables) {
    auto fromTables = [&](const FoldedTable &tt, const FoldedTable &pt,
                          const CompactMatrix &feat, int64_t n, Value *out) {
      loop(c64(0), c64(n),
           [&](Value *c) { st(rnd(tableSum(tt, pt, j, c)), out, c); });
      if (!feat.empty())
        matvec(feat, featureRow(j), out, true);
    };
    if (src.keysInK) { // blocked: through Query (free until the rows)
      Value *k = h.blockedScores ? region(ScratchRegion::Query) : kj;
      fromTables(h.keyTok, h.keyPos, h.keyFeat, h.dk, k);
      if (h.blockedScores)
        storeKeyTiles(h, k, j);
    }
    if (src.valuesInV)
      fromTables(h.valueTok, h.valuePos, h.valueFeat, h.dv, vj);
    return;
  }
  // Projected from x_j: a row of X, or (an unfolded layer 0 of a one-layer
  // plan, which keeps only the last row) embedded in Embedded.
  Value *xj = region(ScratchRegion::Embedded);
  if (l > 0 || plan_.layers.size() > 1)
    xj = at(region(ScratchRegion::Residual), mul(j, c64(plan_.width)));
  else
    embedRow(j, xj);
  if (src.keysInK && h.blockedScores) { // tile-major (ForwardPlan.h)
    Value *Q = region(ScratchRegion::Query);
    matvec(h.key, xj, Q, false, true); // Q: free until the rows
    storeKeyTiles(h, Q, j);
  } else if (src.keysInK) {
    matvec(h.key, xj, kj, false, true);
  }
  if (src.valuesInV)
    matvec(h.value, xj, vj, false, true);
}

// out[r] = W[r] . x (+ bias[r] if bias) for every row of W, in the HYB
// layout (HybMatrix): the padded slots row-parallel, unrolled when few,
// then the remainder entries one by one.
void Emitter::spmv(const HybMatrix &W, Value *x, Value *out, Value *bias) {
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

} // namespace handwire
