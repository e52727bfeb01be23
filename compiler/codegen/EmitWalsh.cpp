// A Walsh head (ForwardPlan.h, WalshHeadPlan): the values of every position
// into V (values with a feature part are there already: attentionHead wrote
// them per input), the precompiled kernel (WalshKernel.cpp) for every row's
// output, then U[r] += output * o_r.
#include "codegen/Emitter.h"
#include "codegen/WalshKernel.h"

namespace handwire {

using namespace llvm;

void Emitter::walshHead(const HeadPlan &h, const HeadSources &src) {
  const int64_t dv = h.dv, components = dv + 1;
  Value *V = region(ScratchRegion::Values),
        *sums = region(ScratchRegion::WalshSums);
  if (!src.valuesInV)
    loop(c64(0), length_, [&](Value *s) {
      Value *v = at(V, mul(s, c64(dv)));
      loop(c64(0), c64(dv), [&](Value *c) { st(valueAt(h, src, s, c), v, c); });
    });
  FunctionType *kernel = FunctionType::get(
      Type::getVoidTy(ctx_), {ptr, i64, i64, ptr, ptr, ptr, ptr, ptr}, false);
  B.CreateCall(kernel, addr(reinterpret_cast<const void *>(&walshHeadKernel)),
               {addr(&*h.walsh), c64(dv), length_, V, sums,
                region(ScratchRegion::WalshValues),
                region(ScratchRegion::WalshTransform),
                region(ScratchRegion::WalshRunning)});
  Value *U = region(ScratchRegion::Update);
  loop(c64(0), rows_, [&](Value *r) {
    matvec(h.output, at(sums, mul(r, c64(components))),
           at(U, mul(r, c64(plan_.width))), true, true);
  });
}

} // namespace handwire
