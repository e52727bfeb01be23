// One attention head of a Transformer layer: keys and values per position
// (EmitTables.cpp), scores row by row or in blocks of query rows (key tiles),
// the max-subtracted softmax, the values mixed by its weights, and the head's
// output added to the layer's update U.
#include "codegen/Emitter.h"

#include "support/Diagnostics.h"

namespace handwire {

using namespace llvm;

// Keys and values of every position in K and V; layer 0 reads its folded
// tables in place instead, except for 16-bit sums of a token and a position
// table, which are rounded once per input, and for keys or values with a
// feature part, added once per input.
Emitter::HeadSources Emitter::headSources(size_t l, const HeadPlan &h) const {
  const bool lowp = plan_.storage.has_value();
  HeadSources s;
  s.tables = l == 0 && plan_.foldLayer0;
  s.keysInK = !h.uniform && (!s.tables || !h.keyFeat.empty() ||
                             (lowp && h.keyTok.present && h.keyPos.present));
  s.valuesInV = !s.tables || !h.valueFeat.empty() ||
                (lowp && h.valueTok.present && h.valuePos.present);
  return s;
}

// Head h of layer l on the rows first .. rows_ - 1: U[r] += output * o_r.
void Emitter::attentionHead(size_t l, const HeadPlan &h, Value *first) {
  const HeadSources src = headSources(l, h);
  if (src.keysInK || src.valuesInV)
    loop(c64(0), length_, [&](Value *j) { keysAndValuesAt(l, h, src, j); });
  if (h.walsh) {
    walshHead(h, src);
    return;
  }
  if (h.uniform && l + 1 < plan_.layers.size()) {
    uniformPrefixHead(h, src);
    return;
  }
  if (h.blockedScores) {
    blockedHead(l, h, src);
    return;
  }
  Value *X = region(ScratchRegion::Residual);
  Value *Q = region(ScratchRegion::Query), *S = region(ScratchRegion::Scores);
  loop(first, rows_, [&](Value *r) {
    if (!h.uniform) {
      matvec(h.query, at(X, mul(r, c64(plan_.width))), Q, false, true);
      scores(h, src.keysInK, add(add(rowBase_, r), c64(1)),
             region(ScratchRegion::Keys));
    }
    attendRow(h, src, r, S);
  });
}

// A uniform head on every row (a layer that keeps them): row r's output is
// the mean of values 0 .. r, from a running sum (O(M dv), not O(M^2 dv)).
void Emitter::uniformPrefixHead(const HeadPlan &h, const HeadSources &src) {
  Value *run = region(ScratchRegion::PrefixSums),
        *O = region(ScratchRegion::HeadOutput);
  loop(c64(0), c64(h.dv), [&](Value *c) { st(cf(0), run, c); });
  loop(c64(0), rows_, [&](Value *r) {
    loop(c64(0), c64(h.dv), [&](Value *c) {
      Value *sum = B.CreateFAdd(ld(run, c), valueAt(h, src, r, c));
      st(sum, run, c);
      st(sum, O, c);
    });
    normalize(h.dv, B.CreateSIToFP(add(r, c64(1)), f32));
    matvec(h.output, O,
           at(region(ScratchRegion::Update), mul(r, c64(plan_.width))), true,
           true);
  });
}

// kQueryBlock rows at a time (a blocked layer keeps every row: rowBase_ = 0,
// first = 0): their scores in BlockScores, then each row's softmax.
void Emitter::blockedHead(size_t l, const HeadPlan &h, const HeadSources &src) {
  HW_ASSERT(l + 1 < plan_.layers.size() && !plan_.storage &&
                (src.keysInK || (l == 0 && src.tables)),
            "blocked scores are planned for fp32 layers that keep "
            "every row");
  Value *X = region(ScratchRegion::Residual),
        *SB = region(ScratchRegion::BlockScores);
  Value *K = region(ScratchRegion::Keys);
  loop(c64(0), B.CreateUDiv(add(rows_, c64(kQueryBlock - 1)), c64(kQueryBlock)),
       [&](Value *blk) {
         Value *r0 = mul(blk, c64(kQueryBlock));
         // Keys in K are whole; layer 0's table keys add their token part.
         blockScores(h, r0, rows_, X, SB,
                     src.keysInK ? K : addr(h.keyPosByDim.get()), !src.keysInK);
         Value *nb =
             B.CreateSub(B.CreateBinaryIntrinsic(
                             Intrinsic::smin, add(r0, c64(kQueryBlock)), rows_),
                         r0);
         loop(c64(0), nb, [&](Value *b) {
           attendRow(h, src, add(r0, b), at(SB, mul(b, c64(h.paddedKeys))));
         });
       });
}

// Softmax of row r's scores (S[0 .. i], at position i), the values mixed
// into HeadOutput, and U[r] += output * o.
void Emitter::attendRow(const HeadPlan &h, const HeadSources &src, Value *r,
                        Value *S) {
  Value *i = add(rowBase_, r);
  Value *n = add(i, c64(1)); // causal: keys 0 .. i
  if (h.uniform) {
    mix(h.dv, n, [&](Value *j, Value *c) { return valueAt(h, src, j, c); });
    normalize(h.dv, B.CreateSIToFP(n, f32));
  } else {
    Value *sum = softmaxInPlace(S, n); // a slot
    mix(h.dv, n, [&](Value *j, Value *c) {
      return B.CreateFMul(ld(S, j), valueAt(h, src, j, c));
    });
    normalize(h.dv, B.CreateLoad(f32, sum));
  }
  // U[r] += output * o (output is (D, dv), compacted over dv).
  matvec(h.output, region(ScratchRegion::HeadOutput),
         at(region(ScratchRegion::Update), mul(r, c64(plan_.width))), true,
         true);
}

// S[j] = exp(S[j] - max S) for j < n (16-bit plans: the scores stored
// first); returns the slot of their sum.
Value *Emitter::softmaxInPlace(Value *S, Value *n) {
  Value *mx = slot("max");
  B.CreateStore(ConstantFP::getInfinity(f32, true), mx);
  loop(c64(0), n, [&](Value *j) {
    Value *s = ld(S, j);
    if (plan_.storage) { // the scores are stored
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
  return sum;
}

// value(j)[c], for c < dv
Value *Emitter::valueAt(const HeadPlan &h, const HeadSources &src, Value *j,
                        Value *c) {
  if (src.valuesInV)
    return ld(at(region(ScratchRegion::Values), mul(j, c64(h.dv))), c);
  return tableSum(h.valueTok, h.valuePos, j, c);
}

// O[c] = sum_{j < n} term(j, c) for c < dv: one reduction over the keys
// per component, in a register, so that it vectorizes (accumulating into
// O[c] in memory would keep it a serial chain of stores).
void Emitter::mix(int64_t dv, Value *n, Term term) {
  Value *O = region(ScratchRegion::HeadOutput);
  loop(c64(0), c64(dv), [&](Value *c) {
    Value *acc = slot("mix");
    B.CreateStore(cf(0), acc);
    loop(c64(0), n, [&](Value *j) {
      B.CreateStore(B.CreateFAdd(B.CreateLoad(f32, acc), term(j, c)), acc);
    });
    st(B.CreateLoad(f32, acc), O, c);
  });
}

// O[c] /= total for c < dv. fp32 plans multiply by the reciprocal; 16-bit
// plans divide and round, exactly the reference's operations.
void Emitter::normalize(int64_t dv, Value *total) {
  Value *O = region(ScratchRegion::HeadOutput);
  if (plan_.storage) {
    loop(c64(0), c64(dv),
         [&](Value *c) { st(rnd(B.CreateFDiv(ld(O, c), total)), O, c); });
    return;
  }
  Value *inv = B.CreateFDiv(cf(1), total);
  loop(c64(0), c64(dv),
       [&](Value *c) { st(B.CreateFMul(ld(O, c), inv), O, c); });
}

// S[j] = q . k_j for j < n, with k_j in K (`keysInK`), or (layer 0) split
// as k_j = keyTok[w_j] + keyPos[j], the position part taken as dk axpys
// over the transposed table, which vectorize across positions (a dot per
// position would reduce 16 lanes into one for every key).
void Emitter::scores(const HeadPlan &h, bool keysInK, Value *n, Value *K) {
  Value *Q = region(ScratchRegion::Query), *S = region(ScratchRegion::Scores);
  if (keysInK) {
    loop(c64(0), n,
         [&](Value *j) { st(dot(Q, at(K, mul(j, c64(h.dk))), h.dk), S, j); });
    return;
  }
  const FoldedTable &kt = h.keyTok;
  if (kt.present)
    tokenKeyScores(kt, h.dk, Q, S, n);
  else
    loop(c64(0), n, [&](Value *j) { st(cf(0), S, j); });
  if (!h.keyPos.present)
    return;
  scoreTiles(h, addr(h.keyPosByDim.get()), 1, Q, S, 0, n, true);
}

// S[b][j] (+)= q_b . k_j for R query rows q_b (rows of QB, stride dk) and
// keys j < n, read from `keyTiles` in the tile-major layout (ForwardPlan.h),
// in whole key tiles (S rows have stride `stride` and room for them;
// `accumulate`: add to what S holds). A tile (dk x kKeyTile floats,
// contiguous) is loaded once for all R rows and stays in L1 while register
// blocks of up to kRegisterRows rows take one fused multiply-add per key
// dimension each.
void Emitter::scoreTiles(const HeadPlan &h, Value *keyTiles, int64_t R,
                         Value *QB, Value *S, int64_t stride, Value *n,
                         bool accumulate) {
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
      // unrolled by 4 (LLVM unrolls only loops that ask: optimizeModule).
      // At N = 65536: 350-410 us per input, 400-450 without.
      Value *q = at(QB, mul(row0, c64(dk)));
      unrolledLoop(c64(0), c64(dk), 4, [&](Value *c) {
        Value *k =
            B.CreateAlignedLoad(vt, at(keys, mul(c, c64(kKeyTile))), Align(4));
        for (int64_t b = 0; b < regs; ++b) {
          Value *qb = B.CreateVectorSplat(kKeyTile, ld(q, add(c64(b * dk), c)));
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
// 0's keys (`tokenPart`: not in `keys`), then scoreTiles over `keys`
// (tile-major). Rows past the last repeat it, and lanes past a row's keys are
// computed but never read.
void Emitter::blockScores(const HeadPlan &h, Value *r0, Value *rows, Value *X,
                          Value *SB, Value *keys, bool tokenPart) {
  const int64_t R = kQueryBlock, dk = h.dk, stride = h.paddedKeys;
  Value *QB = region(ScratchRegion::BlockQueries);
  Value *last = B.CreateSub(rows, c64(1));
  loop(c64(0), c64(R), [&](Value *b) {
    Value *r = B.CreateBinaryIntrinsic(Intrinsic::smin, add(r0, b), last);
    matvec(h.query, at(X, mul(r, c64(plan_.width))), at(QB, mul(b, c64(dk))),
           false, true);
  });
  Value *n = B.CreateBinaryIntrinsic(Intrinsic::smin, add(r0, c64(R)), rows);
  const bool tokens = tokenPart && h.keyTok.present;
  // The token part: q . keyTok[t] once per token and gathered per key when
  // there are fewer tokens than half the keys (every block scores all
  // tokens, the rows average M/2 keys); else one dot product per key.
  const bool perToken = 2 * plan_.tokenCount <= stride;
  if (tokens)
    loop(c64(0), c64(R),
         [&](Value *b) { tokenScoreRow(h, b, SB, n, perToken); });
  scoreTiles(h, keys, R, QB, SB, stride, n, tokens);
}

// Row b of a block: SB[b][j] = q_b . keyTok[w_j] for j < n, gathered from
// the tokens' scores (`perToken`: row b of TokenScores, computed first) or
// one dot product per key.
void Emitter::tokenScoreRow(const HeadPlan &h, Value *b, Value *SB, Value *n,
                            bool perToken) {
  const FoldedTable &kt = h.keyTok;
  const int64_t dk = h.dk, T = plan_.tokenCount;
  Value *q = at(region(ScratchRegion::BlockQueries), mul(b, c64(dk))),
        *sb = at(SB, mul(b, c64(h.paddedKeys)));
  if (!perToken) {
    tokenKeyScores(kt, dk, q, sb, n);
    return;
  }
  Value *ts = at(region(ScratchRegion::TokenScores), mul(b, c64(T)));
  loop(c64(0), c64(T), [&](Value *t) {
    st(dot(q, at(addr(kt.base()), mul(t, c64(kt.rowStride()))), dk), ts, t);
  });
  parallelLoop(c64(0), n, [&](Value *j) { st(ld(ts, token(j)), sb, j); });
}

} // namespace handwire
