// The Elman RNN: h = ReLU(W h + U[:, w_t] + b) per token, then the read-out
// head (EmitMlp.cpp). Dense: W in HYB over all H units, U in CSC. Event-driven
// (plan.events, EventPlan in ForwardPlan.h): only the rows whose
// pre-activation changed, exact because every value is an integer below
// 2^24; a value past its cap makes the input run again densely.
#include "codegen/Emitter.h"

namespace handwire {

using namespace llvm;

void Emitter::rnn() {
  bindScratch();
  Value *h = region(ScratchRegion::State);
  if (!plan_.events) {
    denseRecurrence(h);
    readoutHead(h);
    return;
  }
  eventRecurrence();
  Value *fellBack = B.CreateICmpNE(get(ev_.fallback), c64(0));
  BasicBlock *fromEvents = B.GetInsertBlock();
  BasicBlock *dense = BasicBlock::Create(ctx_, "dense", fn_);
  BasicBlock *done = BasicBlock::Create(ctx_, "recurrence.done", fn_);
  B.CreateCondBr(fellBack, dense, done);
  B.SetInsertPoint(dense);
  denseRecurrence(h);
  BasicBlock *fromDense = B.GetInsertBlock();
  B.CreateBr(done);
  B.SetInsertPoint(done);
  PHINode *state = B.CreatePHI(ptr, 2);
  state->addIncoming(ev_.z, fromEvents);
  state->addIncoming(h, fromDense);
  readoutHead(state);
}

void Emitter::denseRecurrence(Value *h) {
  const ForwardPlan &p = plan_;
  const int64_t H = p.width;
  Value *next = region(ScratchRegion::NextState);
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
}

void Emitter::eventRecurrence() {
  const EventPlan &ev = *plan_.events;
  const int64_t H = plan_.width;
  ev_ = EventValues{};
  ev_.z = region(ScratchRegion::EventZ);
  ev_.sums = region(ScratchRegion::EventSums);
  ev_.fresh = region(ScratchRegion::EventNew);
  ev_.touched = region(ScratchRegion::EventFlags);
  ev_.inCandidates = at(ev_.touched, c64(H)); // int32 and float: same size
  ev_.work = region(ScratchRegion::EventLists);
  ev_.candidates = at(ev_.work, c64(H));
  ev_.changed = at(ev_.work, c64(2 * H));
  ev_.deltas = region(ScratchRegion::EventDeltas);
  Value *rings = region(ScratchRegion::EventRings);
  int64_t offset = 0;
  for (const ShiftChain &c : ev.chains) {
    ev_.ring.push_back(at(rings, c64(offset)));
    ev_.fifo.push_back(at(rings, c64(offset + c.ringSize())));
    offset += 2 * c.ringSize();
    ev_.fifoHead.push_back(slot64("fifo.head"));
    ev_.fifoTail.push_back(slot64("fifo.tail"));
  }
  ev_.workCount = slot64("work.count");
  ev_.candidateCount = slot64("candidate.count");
  ev_.changeCount = slot64("change.count");
  ev_.fallback = slot64("fallback");
  ev_.broadcastHit = slot64("broadcast.hit");
  eventInit();
  loop(c64(0), length_, [&](Value *t) {
    ifThen(B.CreateICmpEQ(get(ev_.fallback), c64(0)), [&] { eventStep(t); });
  });
  materializeChains();
}

// z = [h_0; 0], s = s0, every computed row in the work list (the first step
// recomputes them all), no candidate, no change; the chains' rings and FIFOs
// as at t = 0.
void Emitter::eventInit() {
  const EventPlan &ev = *plan_.events;
  const int64_t H = plan_.width;
  Value *init = addr(plan_.initial.data()), *s0 = addr(ev.s0.data()),
        *rows = addr(ev.rows.data());
  loop(c64(0), c64(H), [&](Value *r) {
    st(ld(init, r), ev_.z, r);
    st(ld(s0, r), ev_.sums, r);
    sti(c64(1), ev_.touched, r);
    sti(c64(0), ev_.inCandidates, r);
  });
  loop(c64(H), c64(ev.columns), [&](Value *c) { st(cf(0), ev_.z, c); });
  const int64_t n = static_cast<int64_t>(ev.rows.size());
  loop(c64(0), c64(n), [&](Value *i) { sti(idx(rows, i), ev_.work, i); });
  set(ev_.workCount, c64(n));
  set(ev_.candidateCount, c64(0));
  set(ev_.changeCount, c64(0));
  set(ev_.fallback, c64(0));
  for (size_t c = 0; c < ev.chains.size(); ++c) {
    const ShiftChain &ch = ev.chains[c];
    Value *ring = addr(ch.ring.data()), *changes = addr(ch.changes.data());
    loop(c64(0), c64(ch.ringSize()),
         [&](Value *i) { st(ld(ring, i), ev_.ring[c], i); });
    const int64_t m = static_cast<int64_t>(ch.changes.size());
    loop(c64(0), c64(m), [&](Value *i) {
      Value *s = B.CreateLoad(i64, B.CreateGEP(i64, changes, i));
      sti(s, ev_.fifo[c], i);
    });
    set(ev_.fifoHead[c], c64(0));
    set(ev_.fifoTail[c], c64(m));
  }
}

// One token t: the changes of step t (chain taps, the token's indicator)
// join the changed rows, s follows them, then the touched rows and, if a
// broadcast column changed, the candidates are recomputed.
void Emitter::eventStep(Value *t) {
  const EventPlan &ev = *plan_.events;
  const int64_t H = plan_.width;
  set(ev_.broadcastHit, c64(0));
  if (!ev.chains.empty())
    ifThen(B.CreateICmpSGE(t, c64(1)), [&] {
      for (size_t c = 0; c < ev.chains.size(); ++c)
        chainTaps(c, t);
    });
  Value *col = add(token(t), c64(H));
  ifThen(B.CreateICmpEQ(t, c64(0)), [&] {
    st(cf(1), ev_.z, col);
    pushChange(col, cf(1));
  });
  ifThen(B.CreateICmpNE(t, c64(0)), [&] {
    Value *before = add(token(B.CreateSub(t, c64(1))), c64(H));
    ifThen(B.CreateICmpNE(before, col), [&] {
      st(cf(0), ev_.z, before);
      st(cf(1), ev_.z, col);
      pushChange(before, cf(-1));
      pushChange(col, cf(1));
    });
  });
  applyChanges();
  set(ev_.changeCount, c64(0));
  ifThen(B.CreateICmpNE(get(ev_.broadcastHit), c64(0)),
         [&] { scanCandidates(); });
  computeRows();
  commitRows();
  for (size_t c = 0; c < ev.chains.size(); ++c)
    chainRecord(c, t);
}

void Emitter::pushChange(Value *column, Value *delta) {
  Value *n = get(ev_.changeCount);
  sti(column, ev_.changed, n);
  st(delta, ev_.deltas, n);
  set(ev_.changeCount, add(n, c64(1)));
}

void Emitter::touch(Value *r) {
  ifThen(B.CreateICmpEQ(idx(ev_.touched, r), c64(0)), [&] {
    sti(c64(1), ev_.touched, r);
    Value *n = get(ev_.workCount);
    sti(r, ev_.work, n);
    set(ev_.workCount, add(n, c64(1)));
  });
}

// Ring index of time s >= -K (ShiftChain): (s + K) % K.
static Value *ringIndex(IRBuilder<> &B, Value *s, int64_t K) {
  return B.CreateURem(B.CreateNSWAdd(s, B.getInt64(K)), B.getInt64(K));
}

// Before step t + 1: the changes of chain c's tapped units at step t. Unit i
// changed iff value(t - i) != value(t - i - 1), i.e. the head changed at
// time s = t - i. Either walk the FIFO of the head's change times (unit
// t - s for each) or scan the taps, whichever is shorter.
void Emitter::chainTaps(size_t c, Value *t) {
  const ShiftChain &ch = plan_.events->chains[c];
  const int64_t k = ch.length(), K = ch.ringSize(),
                taps = static_cast<int64_t>(ch.taps.size());
  Value *R = ev_.ring[c], *F = ev_.fifo[c];
  Value *units = addr(ch.units.data()), *tapped = addr(ch.tapped.data()),
        *tapList = addr(ch.taps.data());
  // Times enter in order, one per step at most: at most one leaves per step.
  Value *head = get(ev_.fifoHead[c]), *tail = get(ev_.fifoTail[c]);
  Value *oldest = idx(F, B.CreateURem(head, c64(K)));
  ifThen(B.CreateAnd(B.CreateICmpSLT(head, tail),
                     B.CreateICmpSLT(oldest, B.CreateNSWSub(t, c64(k)))),
         [&] { set(ev_.fifoHead[c], add(head, c64(1))); });
  if (taps == 0)
    return;
  auto delta = [&](Value *s) {
    return B.CreateFSub(ld(R, ringIndex(B, s, K)),
                        ld(R, ringIndex(B, B.CreateNSWSub(s, c64(1)), K)));
  };
  Value *alive = B.CreateSub(get(ev_.fifoTail[c]), get(ev_.fifoHead[c]));
  Value *walk = B.CreateICmpSLE(alive, c64(taps));
  ifThen(walk, [&] {
    loop(get(ev_.fifoHead[c]), get(ev_.fifoTail[c]), [&](Value *q) {
      Value *s = idx(F, B.CreateURem(q, c64(K)));
      Value *i = B.CreateNSWSub(t, s); // 0 <= i <= k
      ifThen(B.CreateICmpNE(idx(tapped, i), c64(0)),
             [&] { pushChange(idx(units, i), delta(s)); });
    });
  });
  ifThen(B.CreateNot(walk), [&] {
    loop(c64(0), c64(taps), [&](Value *j) {
      Value *i = idx(tapList, j);
      Value *d = delta(B.CreateNSWSub(t, i));
      ifThen(B.CreateFCmpUNE(d, cf(0)), [&] { pushChange(idx(units, i), d); });
    });
  });
}

// After step t: value(t + 1) = the head's new value, and its time in the
// FIFO if it changed.
void Emitter::chainRecord(size_t c, Value *t) {
  const ShiftChain &ch = plan_.events->chains[c];
  const int64_t K = ch.ringSize();
  Value *v = ld(ev_.z, c64(ch.units[0]));
  Value *before = ld(ev_.ring[c], ringIndex(B, t, K));
  Value *now = add(t, c64(1));
  st(v, ev_.ring[c], ringIndex(B, now, K));
  ifThen(B.CreateFCmpUNE(v, before), [&] {
    Value *tail = get(ev_.fifoTail[c]);
    sti(now, ev_.fifo[c], B.CreateURem(tail, c64(K)));
    set(ev_.fifoTail[c], add(tail, c64(1)));
  });
}

// s += column * change for every changed plain column (its readers join the
// work list); a changed broadcast column only flags the candidates.
void Emitter::applyChanges() {
  const EventPlan &ev = *plan_.events;
  Value *colStart = addr(ev.colStart.data()),
        *colRows = addr(ev.colRows.data()), *colVals = addr(ev.colVals.data()),
        *broadcast = addr(ev.broadcast.data());
  loop(c64(0), get(ev_.changeCount), [&](Value *i) {
    Value *c = idx(ev_.changed, i);
    Value *d = ld(ev_.deltas, i);
    Value *isBroadcast = B.CreateICmpNE(idx(broadcast, c), c64(0));
    ifThen(isBroadcast, [&] { set(ev_.broadcastHit, c64(1)); });
    ifThen(B.CreateNot(isBroadcast), [&] {
      loop(idx(colStart, c), idx(colStart, add(c, c64(1))), [&](Value *k) {
        Value *r = idx(colRows, k);
        st(B.CreateFAdd(ld(ev_.sums, r), B.CreateFMul(ld(colVals, k), d)),
           ev_.sums, r);
        touch(r);
      });
    });
  });
}

// A broadcast column changed: every candidate still live (s + bound > 0)
// joins the work list; the others leave the candidates (their h is 0: they
// were recomputed when s last changed).
void Emitter::scanCandidates() {
  Value *bound = addr(plan_.events->bound.data());
  Value *kept = slot64("kept");
  set(kept, c64(0));
  loop(c64(0), get(ev_.candidateCount), [&](Value *i) {
    Value *r = idx(ev_.candidates, i);
    Value *live =
        B.CreateFCmpOGT(B.CreateFAdd(ld(ev_.sums, r), ld(bound, r)), cf(0));
    ifThen(live, [&] {
      Value *n = get(kept);
      sti(r, ev_.candidates, n);
      set(kept, add(n, c64(1)));
      touch(r);
    });
    ifThen(B.CreateNot(live), [&] { sti(c64(0), ev_.inCandidates, r); });
  });
  set(ev_.candidateCount, get(kept));
}

// h(r) = ReLU(s + g) for every row of the work list, into `fresh`: g (the
// broadcast entries) is read only if s + bound > 0, else h(r) = 0. A value
// past its cap sets the fallback flag.
void Emitter::computeRows() {
  const EventPlan &ev = *plan_.events;
  Value *rowStart = addr(ev.rowStart.data()),
        *rowCols = addr(ev.rowCols.data()), *rowVals = addr(ev.rowVals.data()),
        *bound = addr(ev.bound.data()), *cap = addr(ev.cap.data());
  Value *acc = slot("a");
  loop(c64(0), get(ev_.workCount), [&](Value *i) {
    Value *r = idx(ev_.work, i);
    Value *s = ld(ev_.sums, r);
    B.CreateStore(s, acc);
    Value *lo = idx(rowStart, r), *hi = idx(rowStart, add(r, c64(1)));
    ifThen(B.CreateICmpSLT(lo, hi), [&] {
      Value *live = B.CreateFCmpOGT(B.CreateFAdd(s, ld(bound, r)), cf(0));
      ifThen(B.CreateNot(live), [&] { B.CreateStore(cf(0), acc); });
      ifThen(live, [&] {
        loop(lo, hi, [&](Value *k) {
          Value *term =
              B.CreateFMul(ld(rowVals, k), ld(ev_.z, idx(rowCols, k)));
          B.CreateStore(B.CreateFAdd(B.CreateLoad(f32, acc), term), acc);
        });
        ifThen(B.CreateICmpEQ(idx(ev_.inCandidates, r), c64(0)), [&] {
          sti(c64(1), ev_.inCandidates, r);
          Value *n = get(ev_.candidateCount);
          sti(r, ev_.candidates, n);
          set(ev_.candidateCount, add(n, c64(1)));
        });
      });
    });
    Value *v = B.CreateMaxNum(B.CreateLoad(f32, acc), cf(0));
    st(v, ev_.fresh, i);
    ifThen(B.CreateFCmpOGT(v, ld(cap, r)), [&] { set(ev_.fallback, c64(1)); });
  });
}

// The new values into z; the rows that changed become the next step's
// changes; the work list empties.
void Emitter::commitRows() {
  loop(c64(0), get(ev_.workCount), [&](Value *i) {
    Value *r = idx(ev_.work, i);
    Value *v = ld(ev_.fresh, i), *old = ld(ev_.z, r);
    ifThen(B.CreateFCmpUNE(v, old), [&] {
      pushChange(r, B.CreateFSub(v, old));
      st(v, ev_.z, r);
    });
    sti(c64(0), ev_.touched, r);
  });
  set(ev_.workCount, c64(0));
}

// h_M of the chains' units: unit i = value(M - i).
void Emitter::materializeChains() {
  const EventPlan &ev = *plan_.events;
  for (size_t c = 0; c < ev.chains.size(); ++c) {
    const ShiftChain &ch = ev.chains[c];
    Value *units = addr(ch.units.data());
    loop(c64(1), c64(ch.length() + 1), [&](Value *i) {
      Value *s = B.CreateNSWSub(length_, i);
      st(ld(ev_.ring[c], ringIndex(B, s, ch.ringSize())), ev_.z, idx(units, i));
    });
  }
}

} // namespace handwire
