// Nearest neighbour over the cube {+1,-1}^d / sqrt(d) with L labels: the
// label of the example nearest to the query, under the promise that it leads
// every other by the margin Delta.
//   tokens  0 .. 2^d-1        points: point p has coordinate j equal to
//                             +1/sqrt(d) if bit j of p is 0, else -1/sqrt(d)
//                             (named x followed by bits 0 .. d-1 of p)
//   tokens  2^d .. 2^d+L-1    labels y0 .. y{L-1}
//   token   2^d+L             <bos>
//   classes 0 .. L-1          the label of the nearest example
// An input is <bos> x_1 y_1 .. x_n y_n x_q with 1 <= n <= N (length 2n + 2),
// read at x_q. Valid inputs keep the task's margin: the nearest example x_i*
// (largest <x_q, x_i>) leads every other by Hamming distance >= m, i.e. inner
// product >= Delta (TaskSpec::hammingMargin).
// Lower bound: an RNN needs min(N, A) log2 L state bits (the RNN lower bound
// for nearest neighbour of Bhattamishra et al. 2024, A the Gilbert-Varshamov
// number of points m apart); none for Transformers.
#include "tasks/TaskDefinition.h"
#include "tasks/TaskSemantics.h"

#include "support/Diagnostics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace handwire {
namespace {

int64_t hamming(int64_t a, int64_t b) {
  return __builtin_popcountll(static_cast<uint64_t>(a ^ b));
}

std::string whyDimensionAtMost(const std::string &written) {
  return "every point of {+1,-1}^d is a token, and 2^" + written +
         " embedding rows are too many";
}
// Inner products of unit vectors lie in [-1, 1]: no two differ by more than 2.
std::string whyMarginAtMost(const std::string &) {
  return "inner products of unit vectors lie in [-1, 1], so no input could "
         "keep it";
}

// The token types of <bos> x_1 y_1 .. x_n y_n x_q, 1 <= n <= N.
std::string nearestNeighbourShape(const TaskSpec &task,
                                  const std::vector<int32_t> &tokens) {
  const Vocabulary voc = vocabularyOf(task);
  if (tokens.size() < 4 || tokens.size() % 2)
    return "a nearest-neighbour input is <bos>, n >= 1 (point, label) pairs "
           "and a query point: an even length of at least 4, got " +
           std::to_string(tokens.size()) + " tokens";
  const int64_t n = (static_cast<int64_t>(tokens.size()) - 2) / 2;
  if (n > task.maxLength)
    return "input has " + std::to_string(n) +
           " examples, more than N = " + std::to_string(task.maxLength);
  if (tokens[0] != voc.beginToken)
    return "the first token is not <bos>";
  for (size_t i = 1; i < tokens.size(); ++i) {
    const bool point = i % 2 == 1; // odd positions: x_1, .., x_n, x_q
    const int64_t t = tokens[i];
    if (point && (t < 0 || t >= voc.symbolCount))
      return "token " + std::to_string(i + 1) + " is not a point";
    if (!point && (t < voc.firstLabelToken || t >= voc.beginToken))
      return "token " + std::to_string(i + 1) + " is not a label";
  }
  return {};
}

// Gilbert-Varshamov: {+1,-1}^d holds at least 2^d / sum_{i<m} C(d, i) points
// with pairwise Hamming distance >= m (m = the margin in Hamming units).
double gilbertVarshamov(const TaskSpec &task) {
  double ball = 0, binom = 1;
  for (int64_t i = 0; i < task.hammingMargin(); ++i) {
    ball += binom;
    binom = binom * static_cast<double>(task.dimension - i) /
            static_cast<double>(i + 1);
  }
  return std::floor(std::ldexp(1.0, static_cast<int>(task.dimension)) / ball);
}

// --- generators: points are the ids 0 .. 2^d - 1 of cube points; the Hamming
// distance h gives the inner product 1 - 2h/d, and the margin is "every other
// example at least m further than the nearest" (TaskSpec::hammingMargin).

// A point at Hamming distance exactly h from `from`: h distinct coordinates
// flipped (a partial Fisher-Yates shuffle of the d coordinates).
int32_t pointAtDistance(int64_t d, int32_t from, int64_t h, SplitMix64 &rng) {
  int coords[16];
  for (int j = 0; j < d; ++j)
    coords[j] = j;
  int32_t p = from;
  for (int64_t i = 0; i < h; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng.below(d - i));
    std::swap(coords[i], coords[j]);
    p ^= int32_t(1) << coords[i];
  }
  return p;
}

// A point at Hamming distance >= h from `from` (h <= d): a uniform point if
// one of a few draws qualifies, else one at a uniform distance in [h, d].
int32_t pointAtLeast(int64_t d, int32_t from, int64_t h, SplitMix64 &rng) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int32_t p = static_cast<int32_t>(rng.below(uint64_t(1) << d));
    if (hamming(p, from) >= h)
      return p;
  }
  return pointAtDistance(d, from,
                         h + static_cast<int64_t>(rng.below(d - h + 1)), rng);
}

// Writes <bos> x_1 y_1 .. x_n y_n x_q from points and labels.
void nearestNeighbourTokens(const Vocabulary &voc,
                            const std::vector<int32_t> &points,
                            const std::vector<int32_t> &labels, int32_t query,
                            Example &ex) {
  const size_t n = points.size();
  ex.tokens.resize(2 * n + 2);
  ex.tokens[0] = static_cast<int32_t>(voc.beginToken);
  for (size_t i = 0; i < n; ++i) {
    ex.tokens[2 * i + 1] = points[i];
    ex.tokens[2 * i + 2] =
        static_cast<int32_t>(voc.firstLabelToken) + labels[i];
  }
  ex.tokens[2 * n + 1] = query;
}

class NearestNeighbourTask final : public TaskDefinition {
public:
  TaskKind kind() const override { return TaskKind::NearestNeighbour; }
  const char *name() const override { return "nearest_neighbour"; }

  std::vector<TaskParameter> parameters() const override;
  void completeDefaults(TaskSpec &t) const override {
    if (t.dimension > 0 && !t.locs.count("margin"))
      t.margin = 2.0 / static_cast<double>(t.dimension); // any unique nearest
  }
  std::string describe(const TaskSpec &task) const override {
    std::ostringstream os;
    os << "N = " << task.maxLength << " examples, points of {+1,-1}^"
       << task.dimension << " / sqrt(" << task.dimension << "), " << task.labels
       << " labels, margin " << task.effectiveMargin() << " (Hamming "
       << task.hammingMargin() << ")";
    return os.str();
  }
  void writeDerivedJson(const TaskSpec &task,
                        nlohmann::json &j) const override {
    j["effective_margin"] = task.effectiveMargin();
    j["hamming_margin"] = task.hammingMargin();
  }

  Vocabulary vocabulary(const TaskSpec &task) const override {
    Vocabulary v;
    v.symbolCount = int64_t(1) << task.dimension; // the points
    v.firstLabelToken = v.symbolCount;
    v.beginToken = v.symbolCount + task.labels;
    v.tokenCount = v.beginToken + 1;
    v.classCount = task.labels;
    v.maxSequenceLength = 2 * task.maxLength + 2; // <bos>, pairs, query
    return v;
  }
  std::string tokenName(const TaskSpec &task, const Vocabulary &voc,
                        int64_t token) const override {
    if (token == voc.beginToken)
      return "<bos>";
    if (token >= voc.firstLabelToken)
      return "y" + std::to_string(token - voc.firstLabelToken);
    std::string bits = "x";
    for (int64_t j = 0; j < task.dimension; ++j)
      bits += (token >> j) & 1 ? '1' : '0';
    return bits;
  }
  std::string className(const TaskSpec &, int64_t cls) const override {
    return "y" + std::to_string(cls);
  }

  std::string checkInput(const TaskSpec &task,
                         const std::vector<int32_t> &tokens) const override {
    // <bos> x_1 y_1 .. x_n y_n x_q with 1 <= n <= N, and the margin kept.
    if (std::string bad = nearestNeighbourShape(task, tokens); !bad.empty())
      return bad;
    const NearestExample best = nearestExample(task, tokens);
    if (best.lead < task.hammingMargin())
      return "the nearest example x_" + std::to_string(best.index) +
             " leads the runner-up by Hamming distance " +
             std::to_string(best.lead) + ", below the margin's " +
             std::to_string(task.hammingMargin());
    return {};
  }
  int64_t groundTruth(const TaskSpec &task,
                      const std::vector<int32_t> &tokens) const override {
    return nearestExample(task, tokens).label;
  }

  void generateUniform(const TaskSpec &task, SplitMix64 &rng,
                       Example &ex) const override;
  void generateAdversarial(const TaskSpec &task, const AdversarialHints &,
                           SplitMix64 &rng, Example &ex) const override;

  LowerBound lowerBound(const TaskSpec &task, Architecture arch,
                        int64_t) const override;
  int64_t alphabetSize(const TaskSpec &task) const override {
    return task.labels;
  }
};

std::vector<TaskParameter> NearestNeighbourTask::parameters() const {
  TaskParameter dimension = integerParameter(
      "dimension", "d: points are the corners of {+1,-1}^d / sqrt(d)", 1, 16,
      &TaskSpec::dimension);
  dimension.whyAtMost = whyDimensionAtMost;
  TaskParameter margin = numberParameter(
      "margin",
      "Delta: the nearest example's promised lead in inner product (rounded "
      "up to a multiple of 2/d)",
      0, 2, &TaskSpec::margin, "2/dimension");
  margin.whyAtMost = whyMarginAtMost;
  return {dimension,
          integerParameter("labels", "L: the number of labels", 2, 65536,
                           &TaskSpec::labels),
          margin, maxLengthParameter("N: the most (point, label) examples")};
}

// Uniform: n uniform in 1..N, points, labels and the query uniform; then the
// margin is restored by resampling. The nearest example stays (if it is too
// far for any competitor to be m further, it is redrawn at a uniform distance
// in [0, d - m]); every other example closer than h* + m is redrawn at
// distance >= h* + m.
void NearestNeighbourTask::generateUniform(const TaskSpec &task,
                                           SplitMix64 &rng, Example &ex) const {
  const int64_t d = task.dimension, m = task.hammingMargin();
  const int64_t n = 1 + static_cast<int64_t>(rng.below(task.maxLength));
  std::vector<int32_t> points(n), labels(n);
  for (int64_t i = 0; i < n; ++i) {
    points[i] = static_cast<int32_t>(rng.below(uint64_t(1) << d));
    labels[i] = static_cast<int32_t>(rng.below(task.labels));
  }
  const int32_t query = static_cast<int32_t>(rng.below(uint64_t(1) << d));
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (hamming(points[i], query) < hamming(points[best], query))
      best = i;
  int64_t h = hamming(points[best], query);
  if (n > 1 && h + m > d) {
    h = static_cast<int64_t>(rng.below(d - m + 1));
    points[best] = pointAtDistance(d, query, h, rng);
  }
  for (int64_t i = 0; i < n; ++i)
    if (i != best && hamming(points[i], query) < h + m)
      points[i] = pointAtLeast(d, query, h + m, rng);
  nearestNeighbourTokens(vocabulary(task), points, labels, query, ex);
}

// Adversarial ("sets at the margin"): n = N; the nearest example at the
// first, middle or last position or anywhere; at Hamming distance 0 (the
// query equals an example), d - m (the query is far from every example) or
// anywhere in between; every other example exactly m further (the runner-up
// exactly Delta behind, all of them tied with one another) or, half the time,
// only some of them, the others anywhere further; every other example shares
// one wrong label, so all leaked attention lands on one class.
void NearestNeighbourTask::generateAdversarial(const TaskSpec &task,
                                               const AdversarialHints &,
                                               SplitMix64 &rng,
                                               Example &ex) const {
  const int64_t d = task.dimension, m = task.hammingMargin();
  const int64_t n = task.maxLength;
  const int64_t where[] = {0, n / 2, n - 1, static_cast<int64_t>(rng.below(n))};
  const int64_t best = where[rng.below(4)];
  const int64_t distances[] = {0, d - m,
                               static_cast<int64_t>(rng.below(d - m + 1))};
  const int64_t h = distances[rng.below(3)];
  const bool allAtMargin = rng.below(2);
  const int32_t query = static_cast<int32_t>(rng.below(uint64_t(1) << d));
  const int32_t right = static_cast<int32_t>(rng.below(task.labels));
  const int32_t wrong = static_cast<int32_t>(
      (right + 1 + rng.below(task.labels - 1)) % task.labels);
  std::vector<int32_t> points(n), labels(n, wrong);
  points[best] = pointAtDistance(d, query, h, rng);
  labels[best] = right;
  for (int64_t i = 0; i < n; ++i)
    if (i != best)
      points[i] = allAtMargin || rng.below(2)
                      ? pointAtDistance(d, query, h + m, rng)
                      : pointAtLeast(d, query, h + m, rng);
  nearestNeighbourTokens(vocabulary(task), points, labels, query, ex);
}

LowerBound NearestNeighbourTask::lowerBound(const TaskSpec &task,
                                            Architecture arch, int64_t) const {
  LowerBound b;
  if (arch != Architecture::RNN) {
    b.note = "no lower bound for two or more layers; the upper bound used is "
             "width D = 2d + L + 2 + 2k with k = O(log N)";
    return b;
  }
  // The RNN lower bound via one-way INDEX: Alice's labels sit on a code of
  // points with pairwise Hamming distance >= m (the margin), Bob queries one of
  // them. The cube holds at least the Gilbert-Varshamov number of such points,
  // so the bound is min(N, GV) log2 L.
  const double points =
      std::min(static_cast<double>(task.maxLength), gilbertVarshamov(task));
  std::ostringstream note;
  note << "RNN lower bound for nearest neighbour (Bhattamishra et al. "
          "2024), via one-way INDEX: the labels of A = "
       << static_cast<int64_t>(points)
       << " examples on points m = " << task.hammingMargin()
       << " apart (Gilbert-Varshamov in {+1,-1}^" << task.dimension
       << ", capped at N) must all survive in the state";
  const double perExample = std::log2(static_cast<double>(task.labels));
  b = stateSizeBound(
      "state bits >= min(N, A) log2 L", points * perExample,
      "one-way communication: INDEX (Alice holds the labels of A examples on "
      "points m apart, Bob queries one point) needs min(N, A) log2 L bits "
      "from Alice to Bob; the state after the examples is that message",
      note.str());
  b.perLength = perExample;
  b.perLengthMeaning = "log2 L";
  b.cap = static_cast<int64_t>(gilbertVarshamov(task)); // d <= 16: <= 2^16
  b.capMeaning = "A, the Gilbert-Varshamov number of points m apart";
  return b;
}

} // namespace

NearestExample nearestExample(const TaskSpec &task,
                              const std::vector<int32_t> &tokens) {
  HW_ASSERT(nearestNeighbourShape(task, tokens).empty(),
            "nearest example of a malformed input");
  const Vocabulary voc = vocabularyOf(task);
  const int64_t n = (static_cast<int64_t>(tokens.size()) - 2) / 2;
  const int32_t query = tokens.back();
  // <x_q, x_i> = 1 - 2 h / d: the largest inner product is the smallest
  // Hamming distance h.
  NearestExample best;
  int64_t runnerUp = task.dimension + 1; // beyond any distance
  best.hamming = task.dimension + 1;
  for (int64_t i = 1; i <= n; ++i) {
    const int64_t h = hamming(tokens[2 * i - 1], query);
    if (h < best.hamming) {
      runnerUp = best.hamming;
      best.hamming = h;
      best.index = i;
      best.label = tokens[2 * i] - voc.firstLabelToken;
    } else if (h < runnerUp) {
      runnerUp = h; // a tie (h == best) makes the lead 0
    }
  }
  best.lead = n == 1 ? task.dimension + 1 : runnerUp - best.hamming;
  return best;
}

const TaskDefinition &nearestNeighbourTask() {
  static const NearestNeighbourTask task;
  return task;
}

} // namespace handwire
