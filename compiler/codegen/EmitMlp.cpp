// The position-wise parts: a Transformer layer's residual update and MLP
// (dense, or sparse in a SparseOneLayerPlan), the read-out, and the ReLU
// layers of an RNN's read-out head.
#include "codegen/Emitter.h"

namespace handwire {

using namespace llvm;

// Row r of a layer: x += u (stored), then the MLP: x += W2 ReLU(W1 x + b1)
// + b2.
void Emitter::residualAndMlp(const LayerPlan &layer, Value *r) {
  const int64_t D = plan_.width;
  const bool lowp = plan_.storage.has_value();
  Value *X = region(ScratchRegion::Residual),
        *U = region(ScratchRegion::Update);
  Value *Hd = region(ScratchRegion::Hidden);
  Value *x = at(X, mul(r, c64(D))), *u = at(U, mul(r, c64(D)));
  loop(c64(0), c64(D),
       [&](Value *c) { st(rnd(B.CreateFAdd(ld(x, c), ld(u, c))), x, c); });
  if (!layer.hasMlp)
    return;
  matvec(layer.mlpIn, x, Hd, false);
  Value *b1 = addr(layer.mlpInBias.data());
  loop(c64(0), c64(layer.mlpIn.rows), [&](Value *k) {
    st(B.CreateMaxNum(rnd(B.CreateFAdd(ld(Hd, k), ld(b1, k))), cf(0)), Hd, k);
  });
  Value *b2 = addr(layer.mlpOutBias.data());
  if (!lowp) { // x += W h + b, fused
    matvec(layer.mlpOut, Hd, x, true);
    loop(c64(0), c64(D),
         [&](Value *c) { st(B.CreateFAdd(ld(x, c), ld(b2, c)), x, c); });
  } else { // the MLP's output is stored before it is added (in u)
    matvec(layer.mlpOut, Hd, u, false);
    loop(c64(0), c64(D), [&](Value *c) {
      Value *out = rnd(B.CreateFAdd(ld(u, c), ld(b2, c)));
      st(rnd(B.CreateFAdd(ld(x, c), out)), x, c);
    });
  }
}

// The sparse plan's MLP: x += mlpOut ReLU(mlpIn x + b1) + b2, through u.
void Emitter::sparseMlp(const SparseOneLayerPlan &sp, Value *x, Value *u) {
  const int64_t D = plan_.width;
  Value *hidden = region(ScratchRegion::Hidden);
  spmv(sp.mlpIn, x, hidden, addr(sp.mlpInBias.data()));
  loop(c64(0), c64(sp.mlpIn.rows),
       [&](Value *k) { st(B.CreateMaxNum(ld(hidden, k), cf(0)), hidden, k); });
  spmv(sp.mlpOut, hidden, u, addr(sp.mlpOutBias.data()));
  loop(c64(0), c64(D),
       [&](Value *c) { st(B.CreateFAdd(ld(x, c), ld(u, c)), x, c); });
}

void Emitter::readout(Value *x) {
  matvec(plan_.readout, x, logits_, false);
  Value *b = addr(plan_.readoutBias.data());
  loop(c64(0), c64(plan_.classes), [&](Value *c) {
    st(rnd(B.CreateFAdd(ld(logits_, c), ld(b, c))), logits_, c);
  });
}

// The RNN's read-out head on its final state z: z = ReLU(W z + bias) per
// layer, alternating between the two head buffers, then the read-out. Sums
// run in the HYB order, not the reference's column order: the
// constructions' integer sums are exact in any order, and the random tests
// allow for it.
void Emitter::readoutHead(Value *z) {
  Value *buffers[2] = {region(ScratchRegion::HeadBufferA),
                       region(ScratchRegion::HeadBufferB)};
  for (size_t k = 0; k < plan_.head.size(); ++k) {
    const HeadLayerPlan &layer = plan_.head[k];
    Value *out = buffers[k % 2];
    spmv(layer.weight, z, out, addr(layer.bias.data()));
    loop(c64(0), c64(layer.weight.rows),
         [&](Value *o) { st(B.CreateMaxNum(rnd(ld(out, o)), cf(0)), out, o); });
    z = out;
  }
  readout(z);
}

} // namespace handwire
