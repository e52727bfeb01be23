#include "codegen/ForwardPlan.h"

#include "codegen/WalshHead.h"
#include "support/Diagnostics.h"

#include <algorithm>
#include <cstring>

namespace handwire {
namespace {

CompactMatrix compact(const Matrix &m) {
  CompactMatrix c;
  c.rows = m.rows();
  int64_t c0 = m.cols(), c1 = 0;
  for (int64_t j = 0; j < m.cols(); ++j)
    if (!m.col(j).isZero(0)) {
      c0 = std::min(c0, j);
      c1 = j + 1;
    }
  if (c1 <= c0)
    c0 = c1 = 0;
  c.c0 = c0;
  c.c1 = c1;
  c.w.resize(static_cast<size_t>(c.rows * c.width()));
  for (int64_t r = 0; r < c.rows; ++r)
    for (int64_t j = c0; j < c1; ++j)
      c.w[r * c.width() + (j - c0)] = m(r, j);
  return c;
}

// W feature for a projection W compacted to [c0, c1) and the embedding's
// (D, F) feature matrix: (W.rows, F), compacted over F (empty if zero).
CompactMatrix featurePart(const CompactMatrix &W, const Matrix &feature) {
  if (W.empty())
    return compact(Matrix::Zero(W.rows, 0));
  const Eigen::Map<const Matrix> w(W.w.data(), W.rows, W.width());
  return compact(w * feature.middleRows(W.c0, W.width()));
}

} // namespace

void FoldedTable::materialize() {
  if (!isScaledView())
    return;
  data.resize(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      data[static_cast<size_t>(r * cols + c)] = view[r * stride + c] * scale;
  view = nullptr;
  stride = 0;
  scale = 1.0f;
}

const float *FoldedTable::base() const {
  HW_ASSERT(!isScaledView(), "a scaled view is read only by fillTables");
  return view ? view : data.data();
}

namespace {

// Whether columns [c0, c0 + width) of a row-major table are all zero (-0 is
// zero, NaN is not). Row by row (Eigen's isZero walks a row-major block column
// by column), OR-ing bit patterns without a branch per entry so that the
// loads of many rows are in flight at once: at N = 65536 this scan of a
// 65537-row table took 25 ms with an early exit per entry.
bool columnsAreZero(const Matrix &table, int64_t c0, int64_t width) {
  constexpr int64_t kRowsPerCheck = 256;
  const int64_t R = table.rows(), D = table.cols();
  for (int64_t r0 = 0; r0 < R; r0 += kRowsPerCheck) {
    uint32_t bits = 0;
    for (int64_t r = r0; r < std::min(R, r0 + kRowsPerCheck); ++r) {
      const float *row = table.data() + r * D + c0;
      for (int64_t c = 0; c < width; ++c) {
        uint32_t b;
        std::memcpy(&b, row + c, sizeof b);
        bits |= b << 1; // drop the sign
      }
    }
    if (bits != 0)
      return false;
  }
  return true;
}

// table * W^T restricted to W's non-zero columns; a diagonal W on a square
// block is a scaled slice, computed without a product.
FoldedTable fold(const Matrix &table, const Matrix &W,
                 const CompactMatrix &cw) {
  FoldedTable f;
  f.rows = table.rows();
  f.cols = W.rows();
  if (cw.empty() || columnsAreZero(table, cw.c0, cw.width()))
    return f; // identically zero
  f.present = true;
  const auto block = W.middleCols(cw.c0, cw.width());
  const bool diagonal =
      block.rows() == block.cols() &&
      (block - Matrix(block.diagonal().asDiagonal())).isZero(0);
  if (diagonal && (block.diagonal().array() == block(0, 0)).all()) {
    f.view = table.data() + cw.c0; // the slice itself: nothing to copy
    f.stride = table.cols();
    f.scale = block(0, 0);
    return f;
  }
  f.data.assign(static_cast<size_t>(f.rows * f.cols), 0.0f);
  Eigen::Map<Matrix> out(f.data.data(), f.rows, f.cols);
  if (diagonal) {
    out = table.middleCols(cw.c0, cw.width()) * block.diagonal().asDiagonal();
  } else {
    out.noalias() = table.middleCols(cw.c0, cw.width()) * block.transpose();
  }
  return f;
}

// The HYB layout of a compressed row-major sparse matrix (HybMatrix), read
// in place from Eigen's arrays. Chooses the ELL width w minimizing w rows +
// 4 (entries beyond w): a padded slot costs one gathered lane, a remainder
// entry a scalar read-modify-write, about four.
HybMatrix hybOf(const SparseMatrix &m) {
  if (!m.isCompressed()) { // the verifier refuses these; copy, to be safe
    SparseMatrix c = m;
    c.makeCompressed();
    return hybOf(c);
  }
  const int64_t R = m.rows();
  const int32_t *start = m.outerIndexPtr(), *cols = m.innerIndexPtr();
  const float *vals = m.valuePtr();
  std::vector<int64_t> rowsLonger; // rowsLonger[w]: rows with > w entries
  for (int64_t r = 0; r < R; ++r) {
    const int64_t n = start[r + 1] - start[r];
    if (static_cast<int64_t>(rowsLonger.size()) < n + 1)
      rowsLonger.resize(static_cast<size_t>(n + 1), 0);
    for (int64_t w = 0; w < n; ++w)
      ++rowsLonger[static_cast<size_t>(w)];
  }
  // extra(w) = sum_{v >= w} rowsLonger[v]; scan w downwards.
  int64_t best = 0;
  double bestCost = 0, extra = 0;
  for (int64_t w = static_cast<int64_t>(rowsLonger.size()); w >= 0; --w) {
    if (w < static_cast<int64_t>(rowsLonger.size()))
      extra += static_cast<double>(rowsLonger[static_cast<size_t>(w)]);
    const double cost =
        static_cast<double>(w) * static_cast<double>(R) + 4 * extra;
    if (w == static_cast<int64_t>(rowsLonger.size()) || cost <= bestCost) {
      best = w;
      bestCost = cost;
    }
  }
  HybMatrix p;
  p.rows = R;
  p.nonZeros = m.nonZeros();
  p.ellWidth = best;
  // The ELL part is column-major (slot s of every row, then slot s + 1):
  // written slot by slot, so the writes are sequential (row by row, each
  // row's slots are R floats apart: a TLB miss per entry at R in millions).
  p.ellCols.resize(static_cast<size_t>(best * R));
  p.ellVals.resize(static_cast<size_t>(best * R));
  for (int64_t s = 0; s < best; ++s) {
    int32_t *ec = p.ellCols.data() + s * R;
    float *ev = p.ellVals.data() + s * R;
    for (int64_t r = 0; r < R; ++r) {
      const int64_t k = start[r] + s;
      const bool has = k < start[r + 1];
      ec[r] = has ? cols[k] : 0;
      ev[r] = has ? vals[k] : 0.0f;
    }
  }
  size_t extras = 0; // entries past slot `best`
  for (size_t v = static_cast<size_t>(best); v < rowsLonger.size(); ++v)
    extras += static_cast<size_t>(rowsLonger[v]);
  p.extraRows.reserve(extras);
  p.extraCols.reserve(extras);
  p.extraVals.reserve(extras);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t k = start[r] + best; k < start[r + 1]; ++k) {
      p.extraRows.push_back(static_cast<int32_t>(r));
      p.extraCols.push_back(cols[k]);
      p.extraVals.push_back(vals[k]);
    }
  return p;
}

// Whether tok + pos is exact for every token and position: no column holds
// both a token and a position entry (x + 0 == x in any format).
bool embeddingSumIsExact(const Matrix &token, const Matrix &position) {
  std::vector<char> used(static_cast<size_t>(token.cols()), 0);
  for (int64_t r = 0; r < token.rows(); ++r) // row by row: row-major tables
    for (int64_t c = 0; c < token.cols(); ++c)
      used[c] |= token(r, c) != 0.0f;
  for (int64_t r = 0; r < position.rows(); ++r)
    for (int64_t c = 0; c < position.cols(); ++c)
      if (used[c] && position(r, c) != 0.0f)
        return false;
  return true;
}

// A folded table that is read alone: stored in the format, as the reference
// stores K x (views are slices of the rounded embedding: already exact).
void roundTable(FoldedTable &t, StorageFormat f) {
  for (float &x : t.data)
    x = roundToFormat(x, f);
}

std::vector<float> denseOf(const SparseMatrix &m) {
  const Matrix d(m);
  return std::vector<float>(d.data(), d.data() + d.size());
}

// SparseOneLayerPlan (ForwardPlan.h): every table from sparse products.
void planSparseOneLayer(const Network &net, ForwardPlan &p) {
  const TransformerBody &t = net.transformer();
  SparseOneLayerPlan s;
  const SparseMatrix token = t.embed.token.toSparse(),
                     position = t.embed.position.toSparse();
  s.tokenRows = denseOf(token);
  s.positionStart.assign(position.outerIndexPtr(),
                         position.outerIndexPtr() + position.rows() + 1);
  s.positionCols.assign(position.innerIndexPtr(),
                        position.innerIndexPtr() + position.nonZeros());
  s.positionVals.assign(position.valuePtr(),
                        position.valuePtr() + position.nonZeros());
  const TransformerLayer &layer = t.layers[t.computingLayers().front()];
  for (const AttentionHead &h : layer.heads) {
    SparseHeadPlan hp;
    hp.dk = h.query.rows();
    hp.dv = h.value.rows();
    const SparseMatrix K = h.key.toSparse(), V = h.value.toSparse();
    hp.query = hybOf(h.query.toSparse());
    hp.keyTok = denseOf(SparseMatrix(token * K.transpose()));
    hp.keyPos = denseOf(SparseMatrix(position * K.transpose()));
    hp.valueTok = denseOf(SparseMatrix(token * V.transpose()));
    hp.valuePosT = hybOf(SparseMatrix(V * position.transpose()));
    hp.output = hybOf(h.output.toSparse());
    s.heads.push_back(std::move(hp));
  }
  if (const auto &mlp = layer.mlp) {
    s.hasMlp = true;
    s.mlpIn = hybOf(mlp->in.toSparse());
    s.mlpOut = hybOf(mlp->out.toSparse());
    s.mlpInBias.assign(mlp->inBias.data(),
                       mlp->inBias.data() + mlp->inBias.size());
    s.mlpOutBias.assign(mlp->outBias.data(),
                        mlp->outBias.data() + mlp->outBias.size());
  }
  p.sparse = std::move(s);
}

} // namespace

namespace {

// The network the plan reads: `input`, or a copy of it in p.copy, with its
// Transformer matrices dense (unless `sparseOneLayer`) and, for a 16-bit
// plan, its weights rounded.
const Network &plannedNetwork(const Network &input, bool sparseOneLayer,
                              ForwardPlan &p) {
  const bool sparse =
      input.isTransformer() && input.hasSparseTransformerWeights();
  if (sparse && !sparseOneLayer) {
    // The kernels read Transformer matrices dense: expand a copy, if it fits.
    const double bytes = input.denseTransformerBytes();
    if (bytes > static_cast<double>(kDensePlanLimitBytes))
      throw UserError(
          "the JIT's 16-bit and multi-layer plans run Transformer matrices "
          "dense (its sparse plan is for one-layer fp32 models), and this "
          "model's would take " +
          humanBytes(bytes) + " dense (limit " +
          humanBytes(double(kDensePlanLimitBytes)) +
          "); evaluate it with --backend reference");
    p.copy = std::make_unique<Network>(input);
    makeTransformerWeightsDense(*p.copy);
  }
  if (p.storage) {
    if (!p.copy)
      p.copy = std::make_unique<Network>(input);
    roundWeights(*p.copy, *p.storage);
  }
  return p.copy ? *p.copy : input;
}

void planRnn(const Network &net, ForwardPlan &p) {
  p.transformer = false;
  const ElmanBody &e = net.elman();
  p.recurrent = hybOf(e.recurrent);
  Eigen::SparseMatrix<float, Eigen::ColMajor, int32_t> in = e.input;
  in.makeCompressed();
  p.inColStart.assign(in.outerIndexPtr(), in.outerIndexPtr() + in.cols() + 1);
  p.inRows.assign(in.innerIndexPtr(), in.innerIndexPtr() + in.nonZeros());
  p.inVals.assign(in.valuePtr(), in.valuePtr() + in.nonZeros());
  p.bias.assign(e.bias.data(), e.bias.data() + e.bias.size());
  p.initial.assign(e.initial.data(), e.initial.data() + e.initial.size());
  if (!p.storage) // 16-bit plans round every pre-activation: dense
    p.events = planEvents(e, p.tokenCount);
  for (const HeadLayer &layer : e.head)
    p.head.push_back(
        {hybOf(layer.weight),
         std::vector<float>(layer.bias.data(),
                            layer.bias.data() + layer.bias.size())});
  p.copy.reset(); // everything was copied: nothing is borrowed
}

// Layer 0's keys folded into per-token and per-position tables (ForwardPlan.h)
// of a head that is not uniform; `deep`: the model has two or more layers.
void foldKeys(const Embedding &embed, const AttentionHead &h,
              std::optional<StorageFormat> storage, bool deep, HeadPlan &hp) {
  hp.keyTok = fold(embed.token.dense(), h.key.dense(), hp.key);
  hp.keyPos = fold(embed.position.dense(), h.key.dense(), hp.key);
  if (embed.featureDim() > 0)
    hp.keyFeat = featurePart(hp.key, embed.feature.dense());
  HW_ASSERT(!storage || hp.keyFeat.empty(),
            "16-bit plans with continuous inputs do not fold layer 0");
  // 16-bit keys from both tables are summed and rounded per input
  // (ForwardPlan.h), and keys with a feature part are written per input
  // too, so they need no transposed table.
  const bool summed = storage && hp.keyTok.present && hp.keyPos.present;
  if (!hp.keyFeat.empty()) {
    // Written per input in the tile-major layout, as later layers' keys.
    hp.blockedScores = deep;
    hp.paddedKeys = deep ? paddedToTiles(embed.position.rows()) : 0;
  } else if (hp.keyPos.present && !summed) { // allocated, no page touched
    hp.paddedKeys = paddedToTiles(hp.keyPos.rows);
    hp.keyPosByDim = allocateHugeFloats(hp.dk * hp.paddedKeys);
    hp.blockedScores = !storage && deep;
  }
  // Only fp32 transposed key tables stay scaled views (fillTables scales
  // them); 16-bit tables are rounded after scaling.
  hp.keyTok.materialize();
  if (storage || !hp.keyPosByDim)
    hp.keyPos.materialize();
  if (storage && !summed) {
    roundTable(hp.keyTok, *storage);
    roundTable(hp.keyPos, *storage);
  }
}

// Layer 0's values folded into per-token and per-position tables.
void foldValues(const Embedding &embed, const AttentionHead &h,
                std::optional<StorageFormat> storage, HeadPlan &hp) {
  hp.valueTok = fold(embed.token.dense(), h.value.dense(), hp.value);
  hp.valuePos = fold(embed.position.dense(), h.value.dense(), hp.value);
  if (embed.featureDim() > 0)
    hp.valueFeat = featurePart(hp.value, embed.feature.dense());
  HW_ASSERT(!storage || hp.valueFeat.empty(),
            "16-bit plans with continuous inputs do not fold layer 0");
  hp.valueTok.materialize();
  hp.valuePos.materialize();
  if (storage && !(hp.valueTok.present && hp.valuePos.present)) {
    roundTable(hp.valueTok, *storage);
    roundTable(hp.valuePos, *storage);
  }
}

// A blocked layer-0 head whose keys have no token part: a Walsh head if its
// queries have none either and the scores have that structure (WalshHead.h);
// it then needs no transposed key table. WithTables: assumed to be one (the
// rare refusal is found by fillTables), its transforms planned there.
void planWalsh(const Embedding &embed, const AttentionHead &h,
               int64_t maxLength, WalshTiming timing, HeadPlan &hp) {
  if (!columnsAreZero(embed.token.dense(), hp.query.c0, hp.query.width())) {
    hp.notWalsh = "its queries depend on the token";
    return;
  }
  if (embed.featureDim() > 0 &&
      !featurePart(hp.query, embed.feature.dense()).empty()) {
    hp.notWalsh = "its queries depend on the continuous inputs";
    return;
  }
  FoldedTable queryPos =
      fold(embed.position.dense(), h.query.dense(), hp.query);
  if (timing == WalshTiming::WithTables) {
    hp.pendingWalsh =
        std::make_unique<HeadPlan::PendingWalsh>(HeadPlan::PendingWalsh{
            std::move(queryPos), embed.featureNorm, maxLength});
    hp.walsh.emplace(); // the placeholder
  } else {
    hp.walsh = planWalshHead({queryPos, hp.keyPos, hp.valueTok, hp.valuePos,
                              hp.valueFeat, embed.featureNorm, hp.dk, hp.dv,
                              maxLength},
                             hp.notWalsh);
    if (!hp.walsh)
      return;
  }
  hp.keyPosByDim.reset();
  hp.paddedKeys = 0;
  hp.blockedScores = false;
}

// Head h of the l-th of `depth` planned layers (identity layers are not
// planned: ForwardPlan.h).
HeadPlan planHead(const Network &net, const ForwardPlan &p, size_t l,
                  size_t depth, const AttentionHead &h, WalshTiming timing) {
  const TransformerBody &t = net.transformer();
  HeadPlan hp;
  hp.dk = h.query.rows();
  hp.dv = h.value.rows();
  hp.query = compact(h.query.dense());
  hp.key = compact(h.key.dense());
  hp.value = compact(h.value.dense());
  hp.output = compact(h.output.dense());
  hp.uniform = hp.query.empty();
  if (l == 0 && p.foldLayer0) {
    if (!hp.uniform)
      foldKeys(t.embed, h, p.storage, depth > 1, hp);
    foldValues(t.embed, h, p.storage, hp);
    // Scores that depend on positions only (no token or feature part).
    if (hp.blockedScores && !hp.keyTok.present && hp.keyFeat.empty())
      planWalsh(t.embed, h, net.maxSequenceLength, timing, hp);
  }
  // Later layers of fp32 plans that keep every row score in blocks too,
  // from keys written per input in the same tile-major layout (into K).
  if (l > 0 && l + 1 < depth && !p.storage && !hp.uniform) {
    hp.paddedKeys = paddedToTiles(net.maxSequenceLength);
    hp.blockedScores = true;
  }
  return hp;
}

// The rows of the embedding's feature matrix that are not zero (the residual
// columns the continuous inputs write), compacted over F.
void planFeatures(const Embedding &embed, ForwardPlan &p) {
  p.featureDim = embed.featureDim();
  if (p.featureDim == 0)
    return;
  const Matrix &feature = embed.feature.dense();
  const CompactMatrix rows = compact(Matrix(feature.transpose()));
  if (rows.empty())
    return; // the inputs change nothing
  p.featureRow0 = rows.c0;
  p.feature = compact(feature.middleRows(rows.c0, rows.width()));
}

void planTransformer(const Network &net, WalshTiming timing, ForwardPlan &p) {
  const TransformerBody &t = net.transformer();
  p.tokenTable = t.embed.token.dense().data();
  p.positionTable = t.embed.position.dense().data();
  planFeatures(t.embed, p);
  // 16-bit: folding is exact only if rounding tok + pos (+ feature f) is.
  if (p.storage)
    p.foldLayer0 =
        p.feature.empty() &&
        embeddingSumIsExact(t.embed.token.dense(), t.embed.position.dense());
  // An identity layer leaves x as it is (16-bit plans too: x is stored
  // rounded, and rounding it again changes nothing), so only the layers that
  // compute are planned: a one-layer model padded with identity layers runs
  // as the one-layer model.
  const std::vector<size_t> computing = t.computingLayers();
  p.networkLayers = t.layers.size();
  for (size_t l = 0; l < computing.size(); ++l) {
    const TransformerLayer &layer = t.layers[computing[l]];
    LayerPlan lp;
    for (const AttentionHead &h : layer.heads)
      lp.heads.push_back(planHead(net, p, l, computing.size(), h, timing));
    if (const auto &mlp = layer.mlp) {
      lp.hasMlp = true;
      lp.mlpIn = compact(mlp->in.dense());
      lp.mlpOut = compact(mlp->out.dense());
      lp.mlpInBias.assign(mlp->inBias.data(),
                          mlp->inBias.data() + mlp->inBias.size());
      lp.mlpOutBias.assign(mlp->outBias.data(),
                           mlp->outBias.data() + mlp->outBias.size());
    }
    p.layers.push_back(std::move(lp));
    p.networkLayer.push_back(computing[l]);
  }
}

// The scratch layouts (ScratchRegion says what each region holds).
ScratchLayout rnnScratch(const ForwardPlan &p) {
  ScratchLayout s;
  const int64_t H = p.width, head = p.head.empty() ? 0 : p.headWidthMax();
  s.add(ScratchRegion::State, ScratchSize::fixed(H));
  s.add(ScratchRegion::NextState, ScratchSize::fixed(H));
  s.add(ScratchRegion::HeadBufferA, ScratchSize::fixed(head));
  s.add(ScratchRegion::HeadBufferB, ScratchSize::fixed(head));
  if (const auto &ev = p.events) {
    int64_t rings = 0;
    for (const ShiftChain &c : ev->chains)
      rings += 2 * c.ringSize(); // values, then FIFO times (int32)
    s.add(ScratchRegion::EventZ, ScratchSize::fixed(ev->columns));
    s.add(ScratchRegion::EventSums, ScratchSize::fixed(H));
    s.add(ScratchRegion::EventNew, ScratchSize::fixed(H));
    s.add(ScratchRegion::EventFlags, ScratchSize::fixed(2 * H));
    s.add(ScratchRegion::EventLists, ScratchSize::fixed(3 * H + 2));
    s.add(ScratchRegion::EventDeltas, ScratchSize::fixed(H + 2));
    s.add(ScratchRegion::EventRings, ScratchSize::fixed(rings));
  }
  return s;
}

ScratchLayout sparseScratch(const ForwardPlan &p) {
  const SparseOneLayerPlan &sp = *p.sparse;
  int64_t dkMax = 1, dvMax = 1;
  for (const SparseHeadPlan &h : sp.heads) {
    dkMax = std::max(dkMax, h.dk);
    dvMax = std::max(dvMax, h.dv);
  }
  ScratchLayout s;
  s.add(ScratchRegion::Residual, ScratchSize::fixed(p.width));
  s.add(ScratchRegion::Update, ScratchSize::fixed(p.width));
  s.add(ScratchRegion::Query, ScratchSize::fixed(dkMax));
  s.add(ScratchRegion::Scores, ScratchSize::fixed(p.maxLength));
  s.add(ScratchRegion::HeadOutput, ScratchSize::fixed(dvMax));
  s.add(ScratchRegion::Hidden, ScratchSize::fixed(sp.mlpIn.rows));
  s.add(ScratchRegion::TokenSums, ScratchSize::fixed(p.tokenCount));
  return s;
}

ScratchLayout transformerScratch(const ForwardPlan &p) {
  int64_t dkMax = 1, dvMax = 1, hMax = 1;
  for (const LayerPlan &l : p.layers) {
    for (const HeadPlan &h : l.heads) {
      dkMax = std::max(dkMax, h.dk);
      dvMax = std::max(dvMax, h.dv);
    }
    hMax = std::max(hMax, l.mlpIn.rows);
  }
  // Every row of x is kept only if a layer other than the last reads them.
  const ScratchSize rows = p.layers.size() > 1
                               ? ScratchSize::perPositions(p.width)
                               : ScratchSize::fixed(p.width);
  const int64_t stride = p.blockedStrideMax(), blocked = stride ? 1 : 0;
  ScratchLayout s;
  s.add(ScratchRegion::Residual, rows);
  s.add(ScratchRegion::Update, rows);
  s.add(ScratchRegion::Keys, ScratchSize::perPositions(dkMax, kKeyTile));
  s.add(ScratchRegion::Values, ScratchSize::perPositions(dvMax));
  s.add(ScratchRegion::Query, ScratchSize::fixed(dkMax));
  s.add(ScratchRegion::Scores, ScratchSize::perPositions(1, kKeyTile));
  s.add(ScratchRegion::HeadOutput, ScratchSize::fixed(dvMax));
  s.add(ScratchRegion::Hidden, ScratchSize::fixed(hMax));
  s.add(ScratchRegion::Embedded, ScratchSize::fixed(p.storage ? p.width : 0));
  s.add(ScratchRegion::BlockScores, ScratchSize::fixed(kQueryBlock * stride));
  s.add(ScratchRegion::BlockQueries,
        ScratchSize::fixed(blocked * kQueryBlock * dkMax));
  s.add(ScratchRegion::TokenScores,
        ScratchSize::fixed(blocked * kQueryBlock * p.tokenCount));
  // Walsh heads: a block's values and one task's convolution at the largest
  // level, the rows' sums, the running sums. A level-l block has 2^l < M
  // positions (PlanWalshHead.cpp): the largest such block fits any plan's,
  // pending or not.
  int64_t walshBlock = 1, walshComponents = 0;
  while (2 * walshBlock < p.maxLength)
    walshBlock *= 2;
  for (const LayerPlan &l : p.layers)
    for (const HeadPlan &h : l.heads)
      if (h.walsh)
        walshComponents = std::max(walshComponents, h.dv + 1);
  bool prefix = false; // a uniform head in a layer that keeps every row
  for (size_t l = 0; l + 1 < p.layers.size(); ++l)
    for (const HeadPlan &h : p.layers[l].heads)
      prefix = prefix || h.uniform;
  if (prefix)
    s.add(ScratchRegion::PrefixSums, ScratchSize::fixed(dvMax));
  if (walshComponents) {
    s.add(ScratchRegion::WalshValues,
          ScratchSize::fixed(walshComponents * walshBlock));
    s.add(ScratchRegion::WalshTransform, ScratchSize::fixed(walshBlock));
    s.add(ScratchRegion::WalshSums, ScratchSize::perPositions(walshComponents));
    s.add(ScratchRegion::WalshRunning,
          ScratchSize::fixed(2 * walshComponents - 1));
  }
  return s;
}

} // namespace

ForwardPlan planForward(const Network &input,
                        std::optional<StorageFormat> storage,
                        WalshTiming walshTiming) {
  ForwardPlan p;
  p.storage = storage;
  // Continuous inputs are planned dense (the reference's sparse one-layer
  // pass has none either).
  const bool sparseOneLayer =
      input.isTransformer() && input.hasSparseTransformerWeights() &&
      input.transformer().computingLayers().size() == 1 && !storage &&
      input.transformer().embed.featureDim() == 0;
  const Network &net = plannedNetwork(input, sparseOneLayer, p);
  p.width = net.width;
  p.classes = net.classCount;
  p.tokenCount = net.tokenCount;
  p.maxLength = net.maxSequenceLength;
  p.readout = compact(net.readout.weight);
  p.readoutBias.assign(net.readout.bias.data(),
                       net.readout.bias.data() + net.classCount);
  if (sparseOneLayer) {
    planSparseOneLayer(net, p);
    p.scratch = sparseScratch(p);
  } else if (!net.isTransformer()) {
    planRnn(net, p);
    p.scratch = rnnScratch(p);
  } else {
    planTransformer(net, walshTiming, p);
    p.scratch = transformerScratch(p);
  }
  return p;
}

namespace {

// A Walsh head left pending by planForward: its plan into the placeholder
// (whose address the code holds), or walshRefused. Frees the query table.
void planPendingWalsh(HeadPlan &h) {
  HeadPlan::PendingWalsh &w = *h.pendingWalsh;
  std::optional<WalshHeadPlan> plan =
      planWalshHead({w.queryPos, h.keyPos, h.valueTok, h.valuePos, h.valueFeat,
                     w.featureNorm, h.dk, h.dv, w.maxLength},
                    h.notWalsh);
  if (plan)
    *h.walsh = std::move(*plan);
  else
    h.walshRefused = true;
  w.queryPos = FoldedTable{};
}

// Tiles [t0, t1) of a head's transposed key table: tile-major (ForwardPlan.h),
// the padding zero, a scaled view's entries scaled here.
void fillKeyTiles(HeadPlan &h, int64_t t0, int64_t t1) {
  const int64_t M = h.keyPos.rows, stride = h.keyPos.rowStride();
  const float *src = h.keyPos.view ? h.keyPos.view : h.keyPos.data.data();
  const float scale = h.keyPos.scale;
  float *dst = h.keyPosByDim.get() + t0 * h.dk * kKeyTile;
  for (int64_t j0 = t0 * kKeyTile; j0 < t1 * kKeyTile; j0 += kKeyTile)
    for (int64_t c = 0; c < h.dk; ++c)
      for (int64_t j = j0; j < j0 + kKeyTile; ++j)
        *dst++ = j < M ? src[j * stride + c] * scale : 0.0f;
}

} // namespace

void ForwardPlan::fillTables(std::atomic<int64_t> &nextChunk) {
  constexpr int64_t kTilesPerChunk = 128; // 1.8 MB at dk = 215
  // Fills chunk `chunk`: the pending Walsh heads first (the longest work,
  // one chunk each), then the key tables head by head; false past the last.
  auto fillChunk = [&](int64_t chunk) {
    for (LayerPlan &layer : layers)
      for (HeadPlan &h : layer.heads)
        if (h.pendingWalsh && chunk-- == 0) {
          planPendingWalsh(h);
          return true;
        }
    for (LayerPlan &layer : layers)
      for (HeadPlan &h : layer.heads) {
        if (!h.keyPosByDim)
          continue;
        const int64_t tiles = h.paddedKeys / kKeyTile,
                      chunks = (tiles + kTilesPerChunk - 1) / kTilesPerChunk;
        if (chunk < chunks) {
          const int64_t t0 = chunk * kTilesPerChunk;
          fillKeyTiles(h, t0, std::min(tiles, t0 + kTilesPerChunk));
          return true;
        }
        chunk -= chunks;
      }
    return false;
  };
  while (fillChunk(nextChunk.fetch_add(1))) {
  }
}

void ForwardPlan::fillTables() {
  std::atomic<int64_t> nextChunk{0};
  fillTables(nextChunk);
}

int64_t ForwardPlan::pendingWalshHeads() const {
  int64_t n = 0;
  for (const LayerPlan &layer : layers)
    for (const HeadPlan &h : layer.heads)
      n += h.pendingWalsh ? 1 : 0;
  return n;
}

bool ForwardPlan::walshRefused() const {
  for (const LayerPlan &layer : layers)
    for (const HeadPlan &h : layer.heads)
      if (h.walshRefused)
        return true;
  return false;
}

double ForwardPlan::tableBytes() const {
  double bytes = 0;
  for (const LayerPlan &layer : layers)
    for (const HeadPlan &h : layer.heads)
      if (h.keyPosByDim)
        bytes += static_cast<double>(h.dk) * static_cast<double>(h.paddedKeys) *
                 sizeof(float);
  return bytes;
}

int64_t ForwardPlan::blockedStrideMax() const {
  int64_t w = 0;
  for (const LayerPlan &l : layers)
    for (const HeadPlan &h : l.heads)
      if (h.blockedScores)
        w = std::max(w, h.paddedKeys);
  return w;
}

int64_t ForwardPlan::headWidthMax() const {
  int64_t w = 0;
  for (const HeadLayerPlan &l : head)
    w = std::max(w, l.weight.rows);
  return w;
}

int64_t ScratchLayout::floats(int64_t M) const {
  int64_t n = 0;
  for (const Region &r : regions)
    n += r.size.at(M);
  return n;
}

ScratchLayout ScratchLayout::withGuards(int64_t guardFloats) const {
  ScratchLayout g;
  for (const Region &r : regions) {
    g.add(ScratchRegion::Guard, ScratchSize::fixed(guardFloats));
    g.regions.push_back(r);
  }
  g.add(ScratchRegion::Guard, ScratchSize::fixed(guardFloats));
  return g;
}

double ForwardPlan::flops(int64_t M) const {
  if (!transformer && events) {
    // Event-driven: per token, about the readers of the few columns that
    // change (an estimate: the entries of an average column, a few times),
    // and the state once.
    const double perColumn =
        static_cast<double>(events->colRows.size() + events->rowCols.size()) /
        static_cast<double>(events->columns);
    double f = static_cast<double>(M) * 4 * (perColumn + 1) +
               static_cast<double>(width);
    for (const HeadLayerPlan &l : head)
      f += static_cast<double>(l.weight.nonZeros);
    return f;
  }
  if (!transformer) {
    double f = static_cast<double>(M) *
               static_cast<double>(recurrent.nonZeros + width);
    for (const HeadLayerPlan &l : head)
      f += static_cast<double>(l.weight.nonZeros);
    return f;
  }
  double f = 0;
  if (sparse) {
    const double m = static_cast<double>(M);
    for (const SparseHeadPlan &h : sparse->heads)
      f += static_cast<double>(h.query.nonZeros + h.valuePosT.nonZeros +
                               h.output.nonZeros) +
           m * static_cast<double>(h.dk + 2) +
           static_cast<double>(tokenCount * h.dv);
    return f +
           static_cast<double>(sparse->mlpIn.nonZeros +
                               sparse->mlpOut.nonZeros) +
           static_cast<double>(readout.rows * readout.width());
  }
  auto size = [](const CompactMatrix &m) {
    return static_cast<double>(m.rows * m.width());
  };
  // Continuous inputs: each embedded row, and layer 0's feature parts.
  f += (layers.size() > 1 ? static_cast<double>(M) : 1) * size(feature);
  for (size_t l = 0; l < layers.size(); ++l) {
    const bool last = l + 1 == layers.size();
    const double rows = last ? 1 : static_cast<double>(M);
    // Keys per query row: all M at the last row, (M + 1) / 2 on average
    // over every row (causal).
    const double attended =
        last ? static_cast<double>(M) : (static_cast<double>(M) + 1) / 2;
    for (const auto &h : layers[l].heads) {
      if (h.walsh) { // per block: a transform, and two per task
        const WalshHeadPlan &w = *h.walsh;
        double work = static_cast<double>(w.gathers);
        for (size_t b = 0; b < w.blockStart.size(); ++b) {
          const double l = w.blockLevel[b],
                       n = std::ldexp(1.0, w.blockLevel[b]),
                       tasks = w.blockTasks[b + 1] - w.blockTasks[b];
          work += n * (l + 1) * (1 + 2 * tasks);
        }
        f += static_cast<double>(h.dv + 1) * work +
             static_cast<double>(M) *
                 (static_cast<double>(h.dv) *
                      (4 + static_cast<double>(w.tapOffsets.size())) +
                  static_cast<double>(h.output.rows * h.output.width()) +
                  size(h.valueFeat));
        continue;
      }
      const double keys =
          static_cast<double>(M) * (l == 0 ? size(h.keyFeat) + size(h.valueFeat)
                                           : size(h.key) + size(h.value));
      f += keys + rows * static_cast<double>(h.query.rows * h.query.width()) +
           (h.uniform && !last
                ? rows * static_cast<double>(h.dv)
                : rows * attended *
                      static_cast<double>(h.uniform ? h.dv : h.dk + h.dv)) +
           rows * static_cast<double>(h.output.rows * h.output.width());
    }
    if (layers[l].hasMlp)
      f += rows * static_cast<double>(
                      layers[l].mlpIn.rows * layers[l].mlpIn.width() +
                      layers[l].mlpOut.rows * layers[l].mlpOut.width());
  }
  return f;
}

} // namespace handwire
