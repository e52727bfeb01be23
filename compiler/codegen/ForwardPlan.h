// Stage "plan": Network -> ForwardPlan, the work a forward pass really needs,
// laid out for code generation. No LLVM here.
//
// What the plan exploits (each is exact, not an approximation):
//  - The read-out looks at the last position, so the last layer needs its
//    query, attention, MLP and read-out at that row only; a one-layer model
//    never materializes the other rows at all.
//  - A layer with no head and no MLP (an identity, as a construction pads
//    itself to the depth a spec asks for) is not planned: below, "layer l"
//    is the l-th layer that computes, and a model whose other layers are
//    identities is planned as a one-layer model.
//  - Layer 0 sees x_j = token[w_j] + position[j], so its keys and values are
//    folded into per-token and per-position tables (K token^T, K position^T):
//    gathers instead of projections, read in place (never copied per input);
//    the per-position key table is also stored transposed, so that scores
//    are computed position-parallel. A table that is identically zero is
//    dropped; a projection that is a scaled identity on a block becomes a
//    scaled slice of the embedding (no matrix product at all).
//  - Continuous inputs (Embedding::feature, F > 0): every materialized row
//    gains feature f_i (its non-zero rows only, compacted over F), and layer
//    0's keys and values a third folded part, K feature and V feature
//    ((dk, F), (dv, F); dropped if zero). A key or value with a feature part
//    is written per input (tables plus that part times f_j) instead of read
//    in place, so the score and mix loops stay as they are; a Walsh head
//    (position-only queries and keys) takes values with a feature part, its
//    error bound grown by max_c ||(V feature)_c||_2 featureNorm.
//  - Every projection is compacted to the range of columns where it is not
//    zero (the constructions write disjoint blocks of the residual stream).
//  - A head whose query is identically zero attends uniformly: no scores;
//    in a layer that keeps every row, a running sum gives every row's mean.
//  - A layer-0 head whose scores depend on positions only and are a XOR
//    convolution (queries and keys are +-alpha / +-beta sign vectors of one
//    linear code) is evaluated with fast Walsh-Hadamard transforms over
//    dyadic blocks of positions: O(M log^2 M) per input instead of
//    O(M^2 dk) (WalshHeadPlan; docs/jit.md, "Walsh heads"). Used only when
//    its worst-case rounding error is at most the dense kernel's.
//  - Elman RNNs keep their sparse (CSR) recurrence and read-out head layers:
//    work and memory are O(non-zeros), however wide a head is.
//  - An fp32 RNN whose weights, bias and initial state are integers is
//    stepped event-driven (EventPlan): per token only the units whose
//    pre-activation changed are recomputed, from the columns of the units
//    that changed at the previous step. Integer sums below 2^24 are exact in
//    fp32 in any order, so this equals the dense update bit for bit; the
//    emitted code checks every value it computes against a bound that keeps
//    every partial sum below 2^24, and on a violation recomputes the input
//    densely. 16-bit plans and non-integer RNNs keep the dense update.
//
// A 16-bit plan (planForward(net, format)) is built from a copy of the network
// with its weights rounded as the emulated reference rounds them
// (ir/StorageFormat.h), and the emitter rounds every stored activation where
// reference/Evaluator.cpp does. Folding must not move a rounding point:
//  - The reference rounds x_j = tok + pos, then K x_j. Folding K tok and
//    K pos is only valid if that first rounding is exact, i.e. if no column
//    of the residual stream holds both a token and a position entry (then
//    tok + pos adds zeros). Otherwise layer 0 is not folded: keys and values
//    are projected from the rounded embedding, as in later layers.
//  - A key or value that comes from one folded table is that table rounded
//    once, at plan time; one that sums a token and a position table is summed
//    in fp32 and rounded per input (materialized, like later layers' keys).
//  - With continuous inputs the reference rounds x_j = tok + pos + feature f_j,
//    which is not exact for arbitrary f_j, so K x_j is not K tok + K pos + (K
//    feature) f_j after rounding: a 16-bit plan whose feature matrix is not
//    zero does not fold layer 0.
#pragma once

#include "ir/Network.h"
#include "ir/StorageFormat.h"
#include "support/HugeArray.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace handwire {

// Rows x [c0, c1) of a (rows, D) matrix, row-major, zero outside.
struct CompactMatrix {
  int64_t rows = 0, c0 = 0, c1 = 0;
  std::vector<float> w; // rows * (c1 - c0)
  int64_t width() const { return c1 - c0; }
  bool empty() const { return c1 <= c0; }
};

// A (rows, cols) table; absent if identically zero. Either owned (`data`,
// row stride cols) or a view into an embedding table (`view`, row stride
// `stride`, entries times `scale`): a projection that is a scaled identity on
// a block is a slice, so nothing is copied at plan time. Only fillTables
// reads a scaled view (scaling as it transposes, one pass over the slice);
// every other consumer reads base(), after materialize().
struct FoldedTable {
  bool present = false;
  int64_t rows = 0, cols = 0;
  HugeVector<float> data; // megabytes at N = 65536, written once
  const float *view = nullptr;
  int64_t stride = 0;
  float scale = 1.0f;
  bool isScaledView() const { return view && scale != 1.0f; }
  // A scaled view becomes owned data (the same products fillTables forms).
  void materialize();
  const float *base() const;
  int64_t rowStride() const { return view ? stride : cols; }
};

// A Walsh head (layer 0 of an fp32 plan that keeps every row; docs/jit.md,
// "Walsh heads"). The sign patterns of its non-zero queries (all of one
// magnitude alpha) and keys (beta) are p = c(a) for a linear map c: Z_2^K ->
// F_2^dk (a basis of their span, found by elimination), so query row t and
// key s score alpha beta (dk - 2 |c(a_t ^ b_s)|), a function of a_t ^ b_s.
// Shifted by the largest score, the weight is w(a_t ^ b_s) with w(x) =
// exp(-2 alpha beta |c(x)|) <= 1. The causal sums
//   num_t = sum_{s <= t} w(a_t ^ b_s) v_s,   den_t = sum_{s <= t} w(...)
// split by the highest bit in which s and t differ: for each level l, keys
// in a left block [2k 2^l, (2k+1) 2^l) and queries in its right sibling.
// The keys of a block lie in one coset of the subgroup of the low l bits
// (checked), so their contribution to a query is a XOR convolution of size
// 2^l, read at a_t's low bits: H(spectrum . H V_block), with the kernel
// restricted to one coset (a task per block and kernel coset). The pair s =
// t is the row's own term. The few large weights (taps, w >= kWalshTapWeight)
// are left out of the kernels and added directly, so the transforms' rounding
// scales with the small weights only. Zero keys (score 0, weight w0 =
// exp(-alpha beta dk)) and rows with a zero query (uniform) use running sums.
// den is computed like num, as one more value component that is 1 per key.
struct WalshHeadPlan {
  int bits = 0;                 // K: the group has 2^K elements
  int levels = 0, maxLevel = 0; // levels with a task; the largest
  // The blocks with tasks, by level, then position: level l, first key
  // position s0 (keys s0 .. s0 + 2^l - 1, queries the next 2^l rows), and
  // tasks (CSR); a task: its kernel's offset in `spectra` and the high bits
  // a_t >> l of its queries (the rows t of the next block whose query has
  // them; each reads its convolution at a_t mod 2^l). Query lists would take
  // M log M entries, megabytes of fresh memory at N = 65536.
  // (HugeVector: megabytes at N = 65536, filled once in a fresh process.)
  HugeVector<int32_t> blockLevel, blockStart, blockTasks;
  HugeVector<int32_t> taskSpectrum, taskHigh;
  int64_t gathers = 0;       // (query, task) pairs: the reads of convolutions
  HugeVector<float> spectra; // per kernel: H(rest on coset) / 2^l
  HugeVector<int32_t> keyIndex;    // per position: b_s, or -1 (zero key)
  HugeVector<int32_t> queryIndex;  // per position: a_t, or -1 (zero query)
  HugeVector<int32_t> keyAt;       // per group element: its key's position, -1
  HugeVector<float> selfWeight;    // per position: w(a_t ^ b_t) if no tap
  std::vector<int32_t> tapOffsets; // x with w(x) >= kWalshTapWeight
  std::vector<float> tapWeights;   // w(x)
  float zeroKeyWeight = 0;         // w0
  // Worst-case error of a row's head output (absolute, per component) of
  // this evaluation, and of the dense kernel's recursive sums (gamma_{M+3}
  // vmax, which the precision certificate covers): used only if the first
  // is at most the second.
  double errorBound = 0, denseErrorBound = 0;
};
constexpr double kWalshTapWeight = 1.0 / 4096;

struct HeadPlan {
  int64_t dk = 0, dv = 0;
  bool uniform = false; // query identically zero: uniform attention
  CompactMatrix query, key, value, output;
  // Layer 0 only: keys/values of position j = tok[w_j] + pos[j].
  FoldedTable keyTok, keyPos, valueTok, valuePos;
  // Layer 0 of an fp32 plan with continuous inputs: K feature and V feature,
  // (dk, F) and (dv, F) compacted over F, empty if zero. Position j's key
  // (value) gains keyFeat f_j (valueFeat f_j); it is then written per input.
  CompactMatrix keyFeat, valueFeat;
  // keyPos transposed in tiles of kKeyTile positions, tile-major: position
  // j's key component c at (j / kKeyTile) dk kKeyTile + c kKeyTile + j %
  // kKeyTile, zero-padded to paddedKeys positions (whole tiles). A tile of
  // scores is then dk vector multiply-adds over one contiguous block. Allocated
  // by planForward, filled by ForwardPlan::fillTables (which can overlap code
  // generation: only its address is compiled in).
  HugeArray<float> keyPosByDim;
  int64_t paddedKeys = 0;
  // A head of an fp32 plan whose layer keeps every row (all but the last
  // of a model of two or more layers): scores are computed for kQueryBlock
  // query rows at once, from keyPosByDim (layer 0) or from keys written per
  // input in the same tile-major layout (later layers). Each key tile is
  // loaded once per block instead of once per row: the O(M^2 dk) score work
  // is then compute-bound. Score rows have stride paddedKeys.
  bool blockedScores = false;
  // Scores that are a XOR convolution of positions (layer 0, fp32, every
  // row kept): evaluated by Walsh-Hadamard transforms instead.
  std::optional<WalshHeadPlan> walsh;
  std::string notWalsh; // why a blocked layer-0 head is not one, if tried
  // Planned with the tables (WalshTiming::WithTables): `walsh` is a
  // placeholder at its final address (all the emitted code holds) until
  // fillTables plans it from these; if it refuses there, walshRefused is set
  // and the plan must not run (ForwardPlan::walshRefused).
  struct PendingWalsh {
    FoldedTable queryPos; // emptied once planned
    double featureNorm = 0;
    int64_t maxLength = 0;
  };
  std::unique_ptr<PendingWalsh> pendingWalsh;
  bool walshRefused = false;
};

// The score kernel's shape: kKeyTile keys per vector, kRegisterRows query
// rows per register block, kQueryBlock rows per block of a blocked head.
constexpr int64_t kKeyTile = 16, kRegisterRows = 8, kQueryBlock = 32;
constexpr int64_t paddedToTiles(int64_t keys) {
  return (keys + kKeyTile - 1) / kKeyTile * kKeyTile;
}

struct LayerPlan {
  std::vector<HeadPlan> heads;
  bool hasMlp = false;
  CompactMatrix mlpIn, mlpOut;
  std::vector<float> mlpInBias, mlpOutBias;
};

// A sparse matrix as the code generator reads it (HYB): the first
// ellWidth entries of every row slot-major (entry s of row r at
// s * rows + r; short rows padded with column 0, value 0), the rest as
// (row, col, val) triples. Rows then need no bounds, so a loop over rows
// vectorizes with one gather per slot; ellWidth balances padding against
// the scalar remainder. Built from the network's compressed row-major
// matrix; nothing else of it is kept.
struct HybMatrix {
  int64_t rows = 0, nonZeros = 0;
  int64_t ellWidth = 0;
  std::vector<int32_t> ellCols, extraRows, extraCols;
  std::vector<float> ellVals, extraVals;
};

// A head of a sparse one-layer plan (SparseOneLayerPlan).
struct SparseHeadPlan {
  int64_t dk = 0, dv = 0;
  HybMatrix query;             // (dk, D)
  std::vector<float> keyTok;   // (tokens, dk): K token^T, dense
  std::vector<float> keyPos;   // (positions, dk): K position^T, dense
  std::vector<float> valueTok; // (tokens, dv): V token^T, dense
  HybMatrix valuePosT;         // (dv, positions): V position^T
  HybMatrix output;            // (D, dv)
};

// A one-layer fp32 model that stores its Transformer matrices sparse (the
// linear-width models: dense, 384 GiB at N = 65536): planned without
// expanding them. Only the last row is computed (the read-out's):
//   x = token[w_{M-1}] + position[M-1];
//   per head: q = Q x; s_j = q . (keyTok[w_j] + keyPos[j]) (dk is small);
//     e_j = exp(s_j - max s); o = (sum_t E_t valueTok[t] + valuePosT e) / Z
//     with E_t = sum_{j: w_j = t} e_j and Z = sum_j e_j; x += O o;
//   x += mlpOut ReLU(mlpIn x + b1) + b2; logits from x.
// Work and memory are O(non-zeros + M dk) per input.
struct SparseOneLayerPlan {
  std::vector<float> tokenRows;                     // (tokens, D), dense
  std::vector<int32_t> positionStart, positionCols; // CSR of (positions, D)
  std::vector<float> positionVals;
  std::vector<SparseHeadPlan> heads;
  bool hasMlp = false;
  HybMatrix mlpIn, mlpOut;
  std::vector<float> mlpInBias, mlpOutBias;
};

// One ReLU layer of an RNN's read-out head: y = ReLU(W x + bias).
struct HeadLayerPlan {
  HybMatrix weight;
  std::vector<float> bias;
};

// A shift chain of an event-driven RNN: units[i] = units[i-1] one step
// later for i >= 1 (its row is the single weight 1 on units[i-1], no bias,
// no input, and h_0 >= 0, so ReLU copies exactly); units[0], the head, is an
// ordinary unit. The chain is not stepped: a ring of K = k + 2 values holds
// the head's history (value(s) = h_s(head), value(-j) = h_0(units[j])), so
// h_t(units[i]) = value(t - i). Changes of a tapped unit (one whose column
// others read) are delivered either by scanning the taps or by walking the
// head's recent change times (a FIFO), whichever is shorter at that step.
struct ShiftChain {
  std::vector<int32_t> units;   // c_0 .. c_k
  std::vector<int32_t> taps;    // positions i >= 1 whose column is read
  std::vector<int32_t> tapped;  // per position 0 .. k: 1 if tapped
  std::vector<float> ring;      // K values at t = 0 (ring index (s + K) % K)
  std::vector<int64_t> changes; // times s <= 0 where value(s) != value(s-1)
  int64_t length() const { return static_cast<int64_t>(units.size()) - 1; }
  int64_t ringSize() const { return length() + 2; }
};

// The event-driven recurrence (see the header comment; docs/jit.md). The
// extended state z = [h; e(x_t)] has H + T columns (T tokens), so a token
// change is two column changes. s(r) = bias + the sum over non-broadcast
// columns, kept incrementally; a broadcast column (more than
// kBroadcastFanOut readers, and a known bound on its value) is read by the
// rows that need it instead of pushed to all of them: a row with broadcast
// entries has a = s + g, g <= bound, so if s + bound <= 0 its h is 0 without
// reading g; the others are candidates, recomputed when a broadcast column
// changes. All values are integers; `cap` keeps every partial sum below
// 2^24.
struct EventPlan {
  int64_t columns = 0; // H + T
  // CSC of [W U] over columns that are not broadcast, rows that are computed
  // (not chain members).
  std::vector<int32_t> colStart, colRows;
  std::vector<float> colVals;
  std::vector<int32_t> broadcast; // per column: 1 if broadcast
  // CSR of the broadcast entries (H + 1 starts; columns of z).
  std::vector<int32_t> rowStart, rowCols;
  std::vector<float> rowVals;
  std::vector<float> bound;  // per row: the largest g (0: no broadcast entry)
  std::vector<float> cap;    // per unit: a larger h falls back to dense
  std::vector<float> s0;     // per row: bias + non-broadcast W h_0
  std::vector<int32_t> rows; // computed rows (not chain members), ascending
  std::vector<ShiftChain> chains;
  float limit =
      0; // the common cap: 2 sum|W_r| limit + |b_r| + 2 max|U_r| <= 2^24
};
constexpr int64_t kBroadcastFanOut = 32, kMinChainLength = 4;

// The event plan of an fp32 Elman body, or none if its weights are not all
// integers (or too large for any state to stay exact).
std::optional<EventPlan> planEvents(const ElmanBody &e, int64_t tokenCount);

// A region of the scratch buffer the forward function works in.
enum class ScratchRegion {
  Residual,    // x: rows x D (rows: M in a model of two or more layers, else 1)
  Update,      // u, what the layer adds to x: rows x D
  Keys,        // K: (M + kKeyTile) x dkMax (blocked heads: tile-major)
  Values,      // V: M x dvMax
  Query,       // q: dkMax
  Scores,      // S: M + kKeyTile (whole key tiles); sparse plans: maxLength
  HeadOutput,  // o: dvMax
  Hidden,      // the MLP's hidden units
  Embedded,    // one embedded row (16-bit plans: D; fp32 plans: none)
  BlockScores, // kQueryBlock rows of scores, stride blockedStrideMax()
  BlockQueries, // kQueryBlock queries (dkMax each), if any head is blocked
  TokenScores,  // kQueryBlock rows of per-token scores, if blocked
  TokenSums,    // sparse plans: per-token sums of the softmax weights
  State,        // RNN: h (H)
  NextState,    // RNN: the next h (H)
  HeadBufferA,  // RNN read-out head: two buffers in turn (its widest layer)
  HeadBufferB,
  WalshValues,    // Walsh heads: a block's V, (dv + 1) 2^maxLevel
  WalshTransform, // one task's convolution, 2^maxLevel
  WalshSums,      // per row: the convolutions' sums, M x (dv + 1)
  WalshRunning,   // running sums: all values, zero keys' values and count
  PrefixSums,     // uniform heads of layers that keep every row: dvMax
  EventZ,         // event-driven RNN: z = [h; e(x_t)] (H + T)
  EventSums,      // s (H)
  EventNew,       // new values of the rows in the work list (H)
  EventFlags,     // int32: in the work list (H), then candidate (H)
  EventLists,     // int32: work list (H), candidates (H), changed rows (H)
  EventDeltas,    // changes of the changed rows (H)
  EventRings,     // the chains' rings (floats), then their FIFOs (int64 as 2)
  Guard, // a gap that nothing reads or writes (ScratchLayout::withGuards)
};

// Floats of a scratch region for an input of M tokens: `floats`, or with
// `perPosition`, (M + extraPositions) * floats.
struct ScratchSize {
  int64_t floats = 0;
  bool perPosition = false;
  int64_t extraPositions = 0;
  static ScratchSize fixed(int64_t floats) { return {floats, false, 0}; }
  static ScratchSize perPositions(int64_t floats, int64_t extra = 0) {
    return {floats, true, extra};
  }
  int64_t at(int64_t M) const {
    return perPosition ? (M + extraPositions) * floats : floats;
  }
};

// Where the forward function keeps its per-call buffers: regions laid out
// one after another from offset 0, in this order. Computed once by
// planForward; the emitter places every buffer as the layout says, and
// ForwardPlan::scratchFloats is its total.
struct ScratchLayout {
  struct Region {
    ScratchRegion id;
    ScratchSize size;
  };
  std::vector<Region> regions;

  void add(ScratchRegion id, ScratchSize size) {
    regions.push_back({id, size});
  }
  int64_t floats(int64_t M) const;
  // The same regions with a Guard region of `guardFloats` before each and
  // after the last: code that writes outside its regions writes a guard.
  ScratchLayout withGuards(int64_t guardFloats) const;
};

struct ForwardPlan {
  bool transformer = true;
  int64_t width = 0, classes = 0, tokenCount = 0, maxLength = 0;
  // Where weights and stored activations live: fp32 (none) or a 16-bit
  // format (rounded to nearest even; sums still accumulate in fp32).
  std::optional<StorageFormat> storage;
  // The network the plan borrows its embedding tables from when that is not
  // the input: a copy with Transformer matrices expanded dense (the input
  // stores some sparse) and, for 16-bit plans, weights rounded.
  std::unique_ptr<Network> copy;
  // A one-layer fp32 model with sparse matrices: this plan instead of layers.
  std::optional<SparseOneLayerPlan> sparse;
  // Layer 0 reads folded key/value tables (always in fp32; see above).
  bool foldLayer0 = true;
  // Transformer
  const float *tokenTable = nullptr,
              *positionTable = nullptr; // borrowed from the Network
  // Continuous inputs (F = featureDim floats per position): x_i gains
  // feature f_i; `feature` is the rows [featureRow0, featureRow0 +
  // feature.rows) of the (D, F) matrix where it is not zero, compacted over
  // F (empty: the inputs change nothing, or F = 0).
  int64_t featureDim = 0, featureRow0 = 0;
  CompactMatrix feature;
  std::vector<LayerPlan> layers;
  std::vector<size_t> networkLayer; // per planned layer: its network index
  size_t networkLayers = 0;         // the network's layers, identities too
  // RNN (HYB recurrence, CSC input columns)
  HybMatrix recurrent;
  std::vector<int32_t> inColStart, inRows;
  std::vector<float> inVals, bias, initial;
  std::vector<HeadLayerPlan> head;  // applied to h_M, in order
  std::optional<EventPlan> events;  // event-driven recurrence, if exact
  int64_t headWidthMax() const;     // widest head layer (0: no head)
  int64_t blockedStrideMax() const; // widest blocked score row (0: none)
  // Read-out
  CompactMatrix readout;
  std::vector<float> readoutBias;

  // Fills the tables planForward allocated (keyPosByDim), after planning
  // the Walsh heads it left pending (WalshTiming::WithTables); must run
  // before the compiled function is called, and may run while it is being
  // compiled.
  void fillTables();
  // The same work in chunks, claimed from `nextChunk` (start at 0): threads
  // that share the counter share the work; each returns when none is left.
  void fillTables(std::atomic<int64_t> &nextChunk);
  // Bytes of those tables (0: the plan has none).
  double tableBytes() const;
  // Walsh heads left to fillTables, and whether one of them was refused
  // there: the plan is then not runnable (plan again, WalshTiming::Now).
  int64_t pendingWalshHeads() const;
  bool walshRefused() const;

  // The scratch buffer's regions (planForward fills it in).
  ScratchLayout scratch;
  // Floats of scratch one call needs for an input of `length` tokens.
  int64_t scratchFloats(int64_t length) const { return scratch.floats(length); }
  // Multiply-adds per input of `length` tokens (for GFLOP/s reports).
  double flops(int64_t length) const;
};

// Largest dense expansion of a network's sparse Transformer matrices that
// planForward makes (16-bit or multi-layer plans of such networks; one-layer
// fp32 ones are planned sparse); above it, it refuses (UserError).
constexpr int64_t kDensePlanLimitBytes = int64_t(8) << 30;

// When a Walsh head's transforms are planned: in planForward, or with the
// tables (fillTables), while LLVM compiles; a Walsh head's code only holds
// its plan's address and the scratch has room for any of its blocks, so the
// emitted code is the same. Planning a head at N = 65536 takes most of the
// plan's time; the JIT lets it overlap the compile and, in the rare case it
// is refused then, plans and compiles again without it.
enum class WalshTiming { Now, WithTables };

// `storage`: plan the 16-bit forward pass of LowPrecisionBackend instead.
ForwardPlan planForward(const Network &net,
                        std::optional<StorageFormat> storage = std::nullopt,
                        WalshTiming walshTiming = WalshTiming::Now);

} // namespace handwire
