// The Elman RNN: h = ReLU(W h + U[:, w_t] + b) per token, W in HYB, U in CSC;
// then the read-out head (EmitMlp.cpp).
#include "codegen/Emitter.h"

namespace handwire {

using namespace llvm;

void Emitter::rnn() {
  const ForwardPlan &p = plan_;
  const int64_t H = p.width;
  bindScratch();
  Value *h = region(ScratchRegion::State),
        *next = region(ScratchRegion::NextState);
  Value *init = addr(p.initial.data()), *bias = addr(p.bias.data());
  Value *colStart = addr(p.inColStart.data()), *inRows = addr(p.inRows.data());
  Value *inVals = addr(p.inVals.data());
  loop(c64(0), c64(H), [&](Value *r) { st(ld(init, r), h, r); });
  loop(c64(0), length_, [&](Value *t) {
    spmv(p.recurrent, h, next, bias);
    Value *w = token(t);
    loop(idx(colStart, w), idx(colStart, add(w, c64(1))), [&](Value *k) {
      Value *r = idx(inRows, k);
      st(B.CreateFAdd(ld(next, r), ld(inVals, k)), next, r);
    });
    loop(c64(0), c64(H),
         [&](Value *r) { st(B.CreateMaxNum(rnd(ld(next, r)), cf(0)), h, r); });
  });
  readoutHead(h);
}

} // namespace handwire
