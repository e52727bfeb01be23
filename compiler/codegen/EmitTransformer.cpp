// The Transformer's forward pass: the embedding of the rows that are kept,
// then per layer its heads (EmitAttention.cpp), the residual update and the
// MLP (EmitMlp.cpp), then the read-out of the last row.
#include "codegen/Emitter.h"

namespace handwire {

using namespace llvm;

// Rows of x kept: every row if a later layer reads them, else the last.
void Emitter::keptRows() {
  rows_ = plan_.layers.size() > 1 ? length_ : c64(1);
  rowBase_ = plan_.layers.size() > 1
                 ? c64(0)
                 : B.CreateSub(length_, c64(1)); // position of X row 0
  bindScratch();
}

void Emitter::transformer(const std::vector<std::string> &layerFunctions) {
  const int64_t D = plan_.width;
  keptRows();
  Value *X = region(ScratchRegion::Residual);
  // Embedding of the rows that are kept.
  loop(c64(0), rows_,
       [&](Value *r) { embedRow(add(rowBase_, r), at(X, mul(r, c64(D)))); });
  for (size_t l = 0; l < plan_.layers.size(); ++l) {
    if (layerFunctions.empty()) {
      transformerLayer(l);
      continue;
    }
    Function *f = Function::Create(forwardType(), Function::ExternalLinkage,
                                   layerFunctions[l], m_);
    f->addFnAttr(Attribute::NoUnwind);
    B.CreateCall(f, {tokens_, length_, features_, scratch_, logits_});
  }
  readout(at(X, mul(B.CreateSub(rows_, c64(1)), c64(D))));
}

// x = tok[w_i] + pos[i] (+ feature f_i), stored. With continuous inputs the
// sum is rounded once, after the feature part (as the reference rounds X).
void Emitter::embedRow(Value *i, Value *x) {
  const int64_t D = plan_.width;
  Value *tok = addr(plan_.tokenTable), *pos = addr(plan_.positionTable);
  Value *t = at(tok, mul(token(i), c64(D)));
  Value *q = at(pos, mul(i, c64(D)));
  const bool features = !plan_.feature.empty();
  loop(c64(0), c64(D), [&](Value *c) {
    Value *v = B.CreateFAdd(ld(t, c), ld(q, c));
    st(features ? v : rnd(v), x, c);
  });
  if (!features)
    return;
  matvec(plan_.feature, featureRow(i), at(x, c64(plan_.featureRow0)), true);
  if (plan_.storage)
    loop(c64(0), c64(D), [&](Value *c) { st(rnd(ld(x, c)), x, c); });
}

// Layer l on the rows it updates: every row, or the last row of the last
// layer (the read-out's).
void Emitter::transformerLayer(size_t l) {
  const int64_t D = plan_.width;
  const LayerPlan &layer = plan_.layers[l];
  const bool last = l + 1 == plan_.layers.size();
  Value *U = region(ScratchRegion::Update);
  Value *first = last ? B.CreateSub(rows_, c64(1)) : c64(0); // X rows updated
  loop(first, rows_, [&](Value *r) {
    Value *u = at(U, mul(r, c64(D)));
    loop(c64(0), c64(D), [&](Value *c) { st(cf(0), u, c); });
  });
  for (const HeadPlan &h : layer.heads)
    attentionHead(l, h, first);
  loop(first, rows_, [&](Value *r) { residualAndMlp(layer, r); });
}

} // namespace handwire
