// A one-layer fp32 model with sparse matrices (SparseOneLayerPlan): the
// read-out row only, every product over the non-zeros.
#include "codegen/Emitter.h"

namespace handwire {

using namespace llvm;

void Emitter::sparseOneLayer() {
  const SparseOneLayerPlan &sp = *plan_.sparse;
  const int64_t D = plan_.width;
  bindScratch();
  Value *x = region(ScratchRegion::Residual),
        *u = region(ScratchRegion::Update);
  sparseEmbedLastRow(x);
  loop(c64(0), c64(D), [&](Value *c) { st(cf(0), u, c); });
  for (const SparseHeadPlan &h : sp.heads)
    sparseHead(h, x, u);
  loop(c64(0), c64(D),
       [&](Value *c) { st(B.CreateFAdd(ld(x, c), ld(u, c)), x, c); });
  if (sp.hasMlp)
    sparseMlp(sp, x, u);
  readout(x);
}

// x = token[w_{M-1}] + position[M-1] (the position row's non-zeros).
void Emitter::sparseEmbedLastRow(Value *x) {
  const SparseOneLayerPlan &sp = *plan_.sparse;
  const int64_t D = plan_.width;
  Value *M = length_, *last = B.CreateSub(M, c64(1));
  Value *tokRow = at(addr(sp.tokenRows.data()), mul(token(last), c64(D)));
  loop(c64(0), c64(D), [&](Value *c) { st(ld(tokRow, c), x, c); });
  Value *start = addr(sp.positionStart.data()),
        *cols = addr(sp.positionCols.data()),
        *vals = addr(sp.positionVals.data());
  loop(idx(start, last), idx(start, M), [&](Value *k) {
    Value *c = idx(cols, k);
    st(B.CreateFAdd(ld(x, c), ld(vals, k)), x, c);
  });
}

// u += O o for head h: q = Q x, softmax weights e over positions 0 .. M-1,
// o = (sum_t E_t valueTok[t] + valuePosT e) / Z.
void Emitter::sparseHead(const SparseHeadPlan &h, Value *x, Value *u) {
  const int64_t T = plan_.tokenCount;
  Value *q = region(ScratchRegion::Query), *e = region(ScratchRegion::Scores),
        *o = region(ScratchRegion::HeadOutput),
        *sums = region(ScratchRegion::TokenSums);
  spmv(h.query, x, q, nullptr);
  Value *total = sparseWeights(e, sparseScores(h, q, e)); // a slot
  Value *vt = addr(h.valueTok.data());
  loop(c64(0), c64(h.dv), [&](Value *c) {
    Value *acc = cf(0);
    for (int64_t t = 0; t < T; ++t)
      acc = B.CreateFAdd(
          acc, B.CreateFMul(ld(sums, c64(t)), ld(vt, add(c64(t * h.dv), c))));
    st(acc, o, c);
  });
  spmv(h.valuePosT, e, o, o);
  normalize(h.dv, B.CreateLoad(f32, total));
  spmv(h.output, o, u, u); // u += O o
}

// e[j] = q . (keyTok[w_j] + keyPos[j]) for j < M, from the folded key
// tables (dk is small: unrolled); returns their max.
Value *Emitter::sparseScores(const SparseHeadPlan &h, Value *q, Value *e) {
  Value *kt = addr(h.keyTok.data()), *kp = addr(h.keyPos.data());
  Value *mx = slot("max");
  B.CreateStore(ConstantFP::getInfinity(f32, true), mx);
  loop(c64(0), length_, [&](Value *j) {
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
  return B.CreateLoad(f32, mx);
}

// e_j = exp(e_j - m) (every exponent <= 0), their sum per token in
// TokenSums, and zeros past M (valuePosT reads every position); returns
// the slot of their sum.
Value *Emitter::sparseWeights(Value *e, Value *m) {
  Value *M = length_, *sums = region(ScratchRegion::TokenSums);
  Value *total = slot("sum");
  B.CreateStore(cf(0), total);
  loop(c64(0), c64(plan_.tokenCount), [&](Value *t) { st(cf(0), sums, t); });
  loop(c64(0), M, [&](Value *j) {
    Value *w = expNonPositive(B.CreateFSub(ld(e, j), m));
    st(w, e, j);
    B.CreateStore(B.CreateFAdd(B.CreateLoad(f32, total), w), total);
    Value *t = token(j);
    st(B.CreateFAdd(ld(sums, t), w), sums, t);
  });
  loop(M, c64(plan_.maxLength), [&](Value *j) { st(cf(0), e, j); });
  return total;
}

} // namespace handwire
