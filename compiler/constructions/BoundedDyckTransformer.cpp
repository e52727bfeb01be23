// Bounded Dyck-(k, m) recognition with a four-layer, soft-attention
// Transformer (one head in layers 1, 3 and 4, none in layer 2) of width
// 3L + 2m + 15, L = max(1, ceil(log2 k)), independent of N. Yao, Peng,
// Papadimitriou, Narasimhan (ACL 2021) for the depth and top-of-stack lookups,
// plus an aggregation layer for whole-string recognition;
// paper-constructions.md §6.7, codes-and-bounds.md §2.3-2.4. With the
// one-layer Transformer lower bound of Bhattamishra et al. (2024) (cut bits >=
// N/2 + 1) this makes bounded Dyck a depth separation: one layer needs linear
// size, four layers constant width.
//
// Task. Input b_1 .. b_n <eos> (n <= N), at 0-based positions 0 .. n; accept
// iff b is in Dyck-(k, m).
//
// Notation. M = N + 1 (the longest input); sigma_j = +1 for an open bracket,
// -1 for a close, 0 for <eos>; d_i = sum_{j<=i} sigma_j, the depth after
// position i (a close at i is at level d_i + 1 before it closes; an open at
// j sits at level d_j). type bits t_l(j), l < L. clip(x) = ReLU(x) - ReLU(x -
// 1), which is 0 for x <= 0 and 1 for x >= 1. lambda = 1/2, Z = 2 + lambda.
// Residual stream, D = 3L + 2m + 15:
//   SIG, ISOPEN, ISCLOSE   sigma and the bracket kind   (token)
//   ONE, P, POS            1, 1/(i+1), (i+1)/M           (position)
//   OT (L), CT (L)         type bits of opens, of closes (token)
//   A                      layer 1: d_i / (i+1)
//   GR (m+2)               MLP 1: [d_i >= v], v = 0 .. m+1, roughly
//   IND (m+1), NEG, OVER   MLP 2: [d_i = v] (v <= m), [d_i < 0], [d_i > m]
//   R (L)                  layer 3: type bits of the matching open
//   FLAG                   MLP 3: type mismatches at a close
//   AGG                    layer 4: average of FLAG + NEG + OVER
//   REJ                    MLP 4: 1 iff some position is flagged
//
// Lemma (characterization). b is in Dyck-(k, m) iff (i) 0 <= d_i <= m at
// every position, (ii) every close at i has the type of the most recent open
// j < i with d_j = d_i + 1, and (iii) d_n = 0. Proof: (i) and (iii) say the
// brackets are balanced and never deeper than m. For a close at i with d_i >=
// 0, the depth walk rises from 0 to d_{i-1} = d_i + 1, so an open at level
// d_i + 1 exists before i; take the most recent, j. Between j and i the depth
// stays >= d_i + 1 (a dip to d_i would need a later open at level d_i + 1), so
// j is exactly the open the close at i matches; (ii) says their types agree,
// which is well-nestedness. Conversely a Dyck string satisfies (i)-(iii). So
// with flags e_i = [d_i < 0] + [d_i > m] + [close at i with the wrong
// type] >= 0, b is accepted iff sum_i e_i = 0 and d_n = 0.
//
// Layer 1 (depth). A uniform causal head (query 0) with value SIG writes
//   A = (1/(i+1)) sum_{j<=i} sigma_j = d_i / (i+1).
// MLP 1 (thresholds): y_v = 2M (A - (v - 1/2) P) = 2M (d_i - v + 1/2)/(i+1) has
//   |y_v| >= M/(i+1) >= 1, with the sign of [d_i >= v]; GR_v = clip(y_v +
//   1/2) is [d_i >= v] as long as y_v is computed within 1/2 (condition C1).
// MLP 2 (clean-up; layer 2 has no head). GR_v is 0 exactly or 1 up to the
//   cancellation error of clip at |y| up to 2M(m+2) (<= 4 M u (m + 3), u the
//   unit roundoff), too coarse for the recency gap below. Re-clipping near 1
//   makes it exact again:
//   IND_v = clip(2(GR_v - GR_{v+1}) - 1/2), NEG = clip(3/2 - 2 GR_0),
//   OVER = clip(2 GR_{m+1} - 1/2): each is exactly 0, or 1 within a few u.
// Layer 3 (top of stack, Yao et al.). Query at i, key at j (per unit of
//   scale, divided by Z so that every score lies in [0, 1]):
//     q_i = [IND_{l-1}(i)]_{l=1..m} ; 1 ; lambda
//     k_j = [IND_l(j)]_{l=1..m}     ; ISOPEN(j) ; POS(j)
//   value OT -> R. At a close i with 0 <= d_i < m, the target j* (lemma) has
//   score (2 + lambda POS_{j*})/Z; an older open at the same level scores at
//   most lambda/(M Z) less; any other open (level mismatch) or non-open
//   (ISOPEN = 0; this includes i itself) at most (1 + lambda)/Z. So the gap is
//     g = min(lambda / M, 1 - lambda) / Z = 1 / (5M),
//   with M - 1 competitors, and with scale eta from SoftmaxScale (leakage
//   delta = 1/5) every R_l is within delta of t_l(j*). (At a close with d_i
//   outside [0, m-1], NEG or OVER is set at i or i-1; R is then a convex
//   combination of bits, in [0, 1], and only adds flags.)
// MLP 3 (mismatch flag, gated to closes by + 4 ISCLOSE - 4):
//   FLAG = sum_l clip(2(R_l - CT_l) - 1/2 + 4 ISCLOSE - 4)
//        + clip(2(CT_l - R_l) - 1/2 + 4 ISCLOSE - 4),
//   exactly 0 if |R_l - CT_l| <= delta < 1/4 for all l or the position is not
//   a close (pre-activations < 0), >= 1 if some bit differs (>= 1 - delta).
// Layer 4 (aggregation). A uniform head with value FLAG + NEG + OVER writes
//   AGG = sum_{j<=n} e_j / (n+1): exactly 0 if no position is flagged, else >=
//   (1 - O(u)) / M.
// MLP 4 / read-out. REJ = clip(2M AGG - 1/2): 0 or 1; logit(accept) = IND_0 -
//   REJ, logit(reject) = 1/2: margin 1/2 (up to a few u) either way, since
//   accept needs d_n = 0 (IND_0 at <eos>) and no flag (lemma). QED.
//
// Precision (fp32, u = 2^-24; the certificate refuses N beyond it, at
// max_length). Zeros are exact: a product with an exact 0 is 0 and adding it
// rounds nothing, so only a sum's non-zero terms count. The two units of a
// clip share their weights and inputs, so the forward pass computes the same
// dot product S for both and they differ only in the bias, added last (as
// the JIT and the reference do).
// C1 (thresholds): the uniform sum of the integers sigma_j is exact, so A is
//   within 2u of d_i/(i+1), P within u P, and the two-term dot product and
//   bias of y_v add at most 3 roundings of terms <= 2M(m + 5/2): |error| <=
//   2Mu(4m + 12) <= 1/2.
// C3 (clean-up): when y_v >= 1, S <= 2M (i + 3/2)/(i + 1) <= 3M, so GR_v =
//   fl(fl(S + 1/2) - fl(S - 1/2)) is within gamma = 7Mu of 1 (else exactly 0).
//   MLP 2 needs gamma <= 1/8: then IND_v's pre-activation is <= 4 gamma - 1/2
//   <= 0 unless d_i = v, when GR_{v+1} is exactly 0 and the clip's two
//   pre-activations 2 GR_v - 1/2 in [5/4, 7/4] and 2 GR_v - 3/2 are rounded
//   once each: IND_v is exactly 0 or within 4u of 1 (likewise OVER; NEG is
//   exactly 0 or 1).
// C2 (lookup): per unit of normalized score (scores / (eta / Z), in [0, 1]),
//   a query row has one non-zero level entry, common to all keys, so a key's
//   score has three non-zero terms: its level indicator (within 4u), ISOPEN
//   (exact) and lambda POS (within lambda u); two products round (1 + lambda)
//   u, and two additions of partial sums <= 2 + lambda round 2 (2 + lambda)
//   u. So every score is within Delta = (11/2 + 2 (2 + lambda)) u / Z = 4.4u;
//   the max subtraction is exact near the maximum (Sterbenz). The head's scale
//   is derived for the gap g - 2 Delta and the certificate requires g >= 4
//   Delta, i.e. M <= lambda / (4 Z Delta) = 1 / (88 u) (190,650).
// C1 allows M <= 1 / (16 (m + 3) u) (209,715 at m = 2, 95,325 at m = 8), C3
// M <= 1 / (56 u). The flags, the average and the read-out then have margins
// of order 1/4, 1/M and 1/2 against errors of order u and M u: layer 3's
// weighted sums of M terms are within 2Mu < 1/40 relative, inside the 1/4 -
// delta = 1/20 that MLP 3's clips leave.
#include "constructions/Construction.h"
#include "support/Bits.h"

#include "constructions/SoftmaxScale.h"
#include "spec/Vocabulary.h"
#include "support/Diagnostics.h"

#include <algorithm>
#include <cmath>

namespace handwire {
namespace {

constexpr double kLambda = 0.5;          // weight of recency in the lookup
constexpr double kZ = 2 + kLambda;       // score normalization
constexpr double kLeakage = 0.2;         // < 1/4, what MLP 3's clips allow
const double kUnit = std::ldexp(1, -24); // fp32 unit roundoff

int64_t typeBits(int64_t k) { return std::max<int64_t>(1, ceilLog2(k)); }

// Per-unit score error bound Delta (C2) and the lookup's gap g = 1/(5M).
double scoreError() {
  return (4 + kLambda + (1 + kLambda) + 2 * (2 + kLambda)) * kUnit / kZ;
}
double lookupGap(int64_t M) {
  return std::min(kLambda / static_cast<double>(M), 1 - kLambda) / kZ;
}

// The longest input (M = N + 1 tokens) for which C1, C2 and C3 hold in fp32.
int64_t certifiedMaxTokens(int64_t m) {
  const double c1 = 0.5 / (2 * kUnit * static_cast<double>(4 * m + 12));
  const double c2 = kLambda / (kZ * 4 * scoreError()); // g >= 4 Delta
  const double c3 = 1 / (8 * 7 * kUnit);               // gamma <= 1/8
  return static_cast<int64_t>(std::floor(std::min({c1, c2, c3})));
}

struct Layout {
  int64_t L, m;
  int64_t SIG = 0, ISOPEN = 1, ISCLOSE = 2, ONE = 3, P = 4, POS = 5, A = 6;
  int64_t OT() const { return 7; }
  int64_t CT() const { return 7 + L; }
  int64_t GR() const { return 7 + 2 * L; }     // m + 2
  int64_t IND() const { return GR() + m + 2; } // m + 1
  int64_t NEG() const { return IND() + m + 1; }
  int64_t OVER() const { return NEG() + 1; }
  int64_t R() const { return OVER() + 1; } // L
  int64_t FLAG() const { return R() + L; }
  int64_t AGG() const { return FLAG() + 1; }
  int64_t REJ() const { return AGG() + 1; }
  int64_t width() const { return REJ() + 1; } // 3L + 2m + 15
  // Per layer its head (query/key rows, value rows) and its MLP's units, two
  // per clip: the lookup's query has a row per level, one for "open" and one
  // for recency, and its value the L type bits.
  DenseTransformerShape shape() const {
    const DenseHeadShape uniform{1, 1}, lookup{m + 2, L};
    const DenseLayerShape depth{{uniform}, 2 * (m + 2)}, // m + 2 thresholds
        cleanUp{{}, 2 * (m + 1) + 4}, // m + 1 indicators, NEG and OVER
        match{{lookup}, 4 * L},       // both signs of each bit difference
        count{{uniform}, 2};          // REJ
    return {width(), {depth, cleanUp, match, count}};
  }
};

Layout layout(const Spec &spec) {
  return {typeBits(spec.task.brackets), spec.task.depth};
}

// Hidden units u, u+1 compute clip(w . x + c) into residual coordinate `to`:
// ReLU(w . x + c) - ReLU(w . x + c - 1). `w` lists (coordinate, weight).
void addClip(MLP &f, int64_t u, const std::vector<std::pair<int64_t, float>> &w,
             float c, int64_t to) {
  for (int step = 0; step < 2; ++step) {
    for (auto [col, weight] : w)
      f.in(u + step, col) = weight;
    f.inBias(u + step) = c - static_cast<float>(step);
    f.out(to, u + step) = step == 0 ? 1.0f : -1.0f;
  }
}

// Open bracket c: sigma = +1, isOpen, its type bits in OT; close c: sigma
// = -1, isClose, its bits in CT. Position i: 1, 1/(i+1), (i+1)/M.
void embed(const Layout &g, int64_t k, int64_t M, Embedding &e) {
  for (int64_t c = 0; c < k; ++c) {
    auto open = e.token.dense().row(2 * c),
         close = e.token.dense().row(2 * c + 1);
    open(g.SIG) = 1;
    open(g.ISOPEN) = 1;
    close(g.SIG) = -1;
    close(g.ISCLOSE) = 1;
    for (int64_t l = 0; l < g.L; ++l) {
      open(g.OT() + l) = static_cast<float>((c >> l) & 1);
      close(g.CT() + l) = static_cast<float>((c >> l) & 1);
    }
  }
  for (int64_t i = 0; i < e.position.rows(); ++i) {
    e.position(i, g.ONE) = 1;
    e.position(i, g.P) = static_cast<float>(1.0 / double(i + 1));
    e.position(i, g.POS) = static_cast<float>(double(i + 1) / double(M));
  }
}

// Layer 1: uniform average of sigma into A; thresholds GR_v = clip(y_v +
// 1/2), y_v = 2M A - 2M (v - 1/2) P.
void depthLayer(const Layout &g, int64_t M, TransformerLayer &layer) {
  AttentionHead &depth = layer.heads[0]; // query 0: uniform
  depth.value(0, g.SIG) = 1;
  depth.output(g.A, 0) = 1;
  const float twoM = static_cast<float>(2 * M);
  for (int64_t v = 0; v <= g.m + 1; ++v)
    addClip(*layer.mlp, 2 * v,
            {{g.A, twoM},
             {g.P, -static_cast<float>(M * (2 * v - 1))}}, // 2M (v - 1/2)
            0.5f, g.GR() + v);
}

// Layer 2: no head; re-clip near 1 for exact indicators.
void cleanUpLayer(const Layout &g, TransformerLayer &layer) {
  MLP &clean = *layer.mlp;
  const int64_t m = g.m;
  for (int64_t v = 0; v <= m; ++v)
    addClip(clean, 2 * v, {{g.GR() + v, 2.0f}, {g.GR() + v + 1, -2.0f}}, -0.5f,
            g.IND() + v);
  addClip(clean, 2 * (m + 1), {{g.GR(), -2.0f}}, 1.5f, g.NEG());
  addClip(clean, 2 * (m + 1) + 2, {{g.GR() + m + 1, 2.0f}}, -0.5f, g.OVER());
}

// Layer 3: the most recent open at level d_i + 1 (Yao et al.), its type bits
// into R; MLP 3 flags a close whose bits differ.
void lookupLayer(const Layout &g, double eta, TransformerLayer &layer) {
  const int64_t m = g.m, L = g.L;
  const float qs = static_cast<float>(eta / kZ);
  AttentionHead &lookup = layer.heads[0];
  for (int64_t l = 1; l <= m; ++l) {
    lookup.query(l - 1, g.IND() + l - 1) = qs; // level d_i + 1 ...
    lookup.key(l - 1, g.IND() + l) = 1;        // ... meets level d_j
  }
  lookup.query(m, g.ONE) = qs; // + 1 for an open
  lookup.key(m, g.ISOPEN) = 1;
  lookup.query(m + 1, g.ONE) = static_cast<float>(eta * kLambda / kZ);
  lookup.key(m + 1, g.POS) = 1; // + lambda (j+1)/M: recency
  for (int64_t l = 0; l < L; ++l) {
    lookup.value(l, g.OT() + l) = 1;
    lookup.output(g.R() + l, l) = 1;
  }
  for (int64_t l = 0; l < L; ++l)
    for (int sign = 0; sign < 2; ++sign) {
      const float s = sign == 0 ? 2.0f : -2.0f;
      addClip(*layer.mlp, 4 * l + 2 * sign,
              {{g.R() + l, s}, {g.CT() + l, -s}, {g.ISCLOSE, 4.0f}}, -4.5f,
              g.FLAG());
    }
}

// Layer 4: uniform average of the flags; REJ = clip(2M AGG - 1/2).
void countLayer(const Layout &g, int64_t M, TransformerLayer &layer) {
  AttentionHead &count = layer.heads[0]; // query 0: uniform
  count.value(0, g.FLAG()) = count.value(0, g.NEG()) =
      count.value(0, g.OVER()) = 1;
  count.output(g.AGG(), 0) = 1;
  addClip(*layer.mlp, 0, {{g.AGG(), static_cast<float>(2 * M)}}, -0.5f,
          g.REJ());
}

class BoundedDyckTransformer final : public TransformerOfDepth<4> {
public:
  const char *id() const override { return "bounded_dyck/transformer-4layer"; }
  TaskKind task() const override { return TaskKind::BoundedDyck; }
  std::string requirement() const override {
    return "transformer with layers >= 4 (width 3 ceil(log2 k) + 2m + 15)";
  }

  static void checkLength(const Spec &spec) {
    const int64_t M = spec.task.maxLength + 1,
                  limit = certifiedMaxTokens(spec.task.depth);
    if (M > limit)
      throw UserError(
          "the 4-layer Dyck transformer is certified in fp32 up to "
          "max_length = " +
              std::to_string(limit - 1) + " at depth " +
              std::to_string(spec.task.depth) +
              " (its depth thresholds and its lookup gap 1/(5(N+1)) "
              "must stay above fp32 rounding); got " +
              std::to_string(spec.task.maxLength) +
              "; use an rnn model for longer inputs",
          spec.task.fieldLoc("max_length"));
  }

  ConstructionSize size(const Spec &spec, const ModelSpec &) const override {
    checkLength(spec);
    return denseTransformerSize(spec, layout(spec).shape());
  }

  Network
  build(const Spec &spec, const ModelSpec &model,
        const std::function<void(const std::string &)> &) const override {
    checkLength(spec);
    const int64_t M = spec.task.maxLength + 1;
    const Layout g = layout(spec);
    const int64_t L = g.L, m = g.m;

    Network net = denseTransformerSkeleton(spec, model, g.shape());
    net.blocks = {
        {"sig", g.SIG, 1, "+1 at an open bracket, -1 at a close"},
        {"isOpen", g.ISOPEN, 1, "1 at an open bracket"},
        {"isClose", g.ISCLOSE, 1, "1 at a close bracket"},
        {"one", g.ONE, 1, "1 everywhere"},
        {"P", g.P, 1, "1/(i+1)"},
        {"pos", g.POS, 1, "(i+1)/M: recency"},
        {"A", g.A, 1, "layer 1: depth d_i / (i+1)"},
        {"OT", g.OT(), L, "type bits of an open bracket"},
        {"CT", g.CT(), L, "type bits of a close bracket"},
        {"GR", g.GR(), m + 2, "MLP 1: [d_i >= v], v = 0 .. m+1 (rough)"},
        {"IND", g.IND(), m + 1, "MLP 2: [d_i = v], v = 0 .. m (exact)"},
        {"neg", g.NEG(), 1, "MLP 2: [d_i < 0]"},
        {"over", g.OVER(), 1, "MLP 2: [d_i > m]"},
        {"R", g.R(), L, "layer 3: type bits of the matching open bracket"},
        {"flag", g.FLAG(), 1, "MLP 3: type mismatches at a close"},
        {"agg", g.AGG(), 1, "layer 4: average of flag + neg + over"},
        {"rej", g.REJ(), 1, "MLP 4: 1 iff some position is flagged"}};

    // Layer 3's scale, for the gap less twice the score rounding (C2).
    const double gap = lookupGap(M), delta = scoreError();
    const int64_t competitors = M - 1;
    SelectionHead lookup;
    lookup.head = "layers.2.heads.0";
    lookup.gap = gap;
    lookup.competitors = competitors;
    lookup.leakage = kLeakage;
    lookup.layer = 2;
    lookup.dotLength = g.m + 2;
    lookup.residualWidth = g.width();
    lookup.sequenceLength = M;
    lookup.scaleIsWeight = false;           // eta / Z, rounded
    lookup.scoreErrorUnits = delta / kUnit; // C2
    const HeadCertificate head = certifySelectionHead(lookup, model);
    const double eta = head.scale;

    TransformerBody &body = std::get<TransformerBody>(net.body);
    embed(g, spec.task.brackets, M, body.embed);
    depthLayer(g, M, body.layers[0]);
    cleanUpLayer(g, body.layers[1]);
    lookupLayer(g, eta, body.layers[2]);
    countLayer(g, M, body.layers[3]);

    net.readout.weight(1, g.IND()) = 1;  // accept: d_n = 0 ...
    net.readout.weight(1, g.REJ()) = -1; // ... and no flag
    net.readout.bias(0) = 0.5f;

    net.provenance = {
        id(),
        "Yao et al. 2021: bounded Dyck in constant width with more than one "
        "layer (depth separation against the one-layer Transformer lower "
        "bound for bounded Dyck, Bhattamishra et al. 2024)",
        "compiler/constructions/BoundedDyckTransformer.cpp",
        "layer 1 averages +-1 into depth/(i+1), MLPs make exact depth "
        "indicators; layer 3 finds each close's open by depth and recency; "
        "layer 4 averages the violation flags"};
    Certificate &cert = net.certificate;
    cert.heads.push_back(head);
    cert.readoutMargin = 0.5 - 1e-4; // up to a few u at IND_0 and REJ
    // Layer 4's average must resolve 1/M (and layer 1's d/(i+1) within
    // 1/(4M)): log2(M) + 3 significand bits.
    cert.smallestAverage = 1.0 / static_cast<double>(M);
    cert.averageBits =
        static_cast<int>(std::ceil(std::log2(static_cast<double>(M)))) + 3;
    cert.logitTolerance = 1e-3;
    cert.argument =
        "depth thresholds have margin 1/2 at scale 2M and are re-clipped to "
        "exact indicators; the lookup gap 1/(5M) exceeds twice the score "
        "rounding, so the matching open's type bits arrive within 1/5 < 1/4; "
        "flags are exact 0 unless violated, and their average is 0 or >= 1/M";
    checkHeadCertificates(cert, net.precision);
    return net;
  }
};

} // namespace

const Construction &boundedDyckTransformerConstruction() {
  static const BoundedDyckTransformer c;
  return c;
}

} // namespace handwire
