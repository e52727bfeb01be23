// Nearest neighbour with L labels: the label of the example nearest to the
// query, under the promise that it leads every other by the margin Delta.
// Points are unit vectors of R^d, in one of two forms (`points`):
//
// points = sphere: any unit vectors, given as continuous inputs.
//   token   0                 <point>: its vector is the position's features
//   tokens  1 .. L            labels y0 .. y{L-1}
//   token   L+1               <bos>
//   features                  d numbers per position: a unit vector at each
//                             <point> (|norm - 1| <= 2^-16), zeros elsewhere
//
// points = cube (the default): the corners of {+1,-1}^d / sqrt(d), d <= 16,
// one token each.
//   tokens  0 .. 2^d-1        points: point p has coordinate j equal to
//                             +1/sqrt(d) if bit j of p is 0, else -1/sqrt(d)
//                             (named x followed by bits 0 .. d-1 of p)
//   tokens  2^d .. 2^d+L-1    labels y0 .. y{L-1}
//   token   2^d+L             <bos>
//   classes 0 .. L-1          the label of the nearest example
// An input is <bos> x_1 y_1 .. x_n y_n x_q with 1 <= n <= N (length 2n + 2),
// read at x_q. Valid inputs keep the task's margin: the nearest example x_i*
// (largest <x_q, x_i>) leads every other by inner product >= Delta (on the
// cube: by Hamming distance >= m, TaskSpec::hammingMargin).
// Lower bound: an RNN needs min(N, A) log2 L state bits (the RNN lower bound
// for nearest neighbour of Bhattamishra et al. 2024, A the Gilbert-Varshamov
// number of cube points m apart, which lie on the sphere too); none for
// Transformers.
#include "tasks/TaskDefinition.h"
#include "tasks/TaskSemantics.h"

#include "support/Diagnostics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace handwire {
namespace {

int64_t hamming(int64_t a, int64_t b) {
  return __builtin_popcountll(static_cast<uint64_t>(a ^ b));
}

// Every cube corner is a token (2^d embedding rows); sphere points are
// continuous inputs, d numbers per position.
constexpr int64_t kMaxCubeDimension = 16, kMaxSphereDimension = 1024;
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
// with pairwise Hamming distance >= m (m = the margin in Hamming units; on
// the sphere, the cube's corners are unit vectors m apart, inner products
// <= 1 - Delta). Capped at 2^62 (d up to 1024 on the sphere).
double gilbertVarshamov(const TaskSpec &task) {
  constexpr double kCap = 0x1p62;
  const int64_t d = task.dimension;
  if (d <= 60) { // exact in doubles, as the cube always was
    double ball = 0, binom = 1;
    for (int64_t i = 0; i < task.hammingMargin(); ++i) {
      ball += binom;
      binom = binom * static_cast<double>(d - i) / static_cast<double>(i + 1);
    }
    return std::floor(std::ldexp(1.0, static_cast<int>(d)) / ball);
  }
  // log2 of the ball, summed relative to its largest term (i = m - 1 for
  // m <= d/2, and m - 1 <= d - 1 always).
  const int64_t m = std::min(task.hammingMargin(), d);
  auto log2Binom = [&](int64_t i) {
    return (std::lgamma(double(d) + 1) - std::lgamma(double(i) + 1) -
            std::lgamma(double(d - i) + 1)) /
           std::log(2.0);
  };
  double top = 0;
  for (int64_t i = 0; i < m; ++i)
    top = std::max(top, log2Binom(i));
  double rest = 0;
  for (int64_t i = 0; i < m; ++i)
    rest += std::exp2(log2Binom(i) - top);
  const double log2Points = double(d) - top - std::log2(rest);
  return log2Points >= 62 ? kCap : std::floor(std::exp2(log2Points));
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

// --- points on the sphere: vectors in double while generated, stored as
// float features; every check reads the stored floats (in double, where the
// products of two floats are exact and d <= 1024 sums lose < 2^-42).

// A random direction: d coordinates of Irwin-Hall(4) noise, normalized. Only
// sqrt is used (correctly rounded in IEEE 754), so inputs are the same on
// every platform; the directions are close to, not exactly, uniform.
std::vector<double> randomDirection(int64_t d, SplitMix64 &rng) {
  std::vector<double> u(static_cast<size_t>(d));
  for (;;) {
    double norm2 = 0;
    for (double &x : u) {
      x = -2;
      for (int k = 0; k < 4; ++k)
        x += static_cast<double>(rng.next() >> 11) * 0x1p-53;
      norm2 += x * x;
    }
    if (norm2 > 1e-6) {
      for (double &x : u)
        x /= std::sqrt(norm2);
      return u;
    }
  }
}

// A unit vector with inner product c with the unit vector q: c q + sqrt(1 -
// c^2) u, u a random direction orthogonal to q (d = 1: +-q).
std::vector<double> pointWithInnerProduct(const std::vector<double> &q,
                                          double c, SplitMix64 &rng) {
  c = std::clamp(c, -1.0, 1.0);
  std::vector<double> u = randomDirection(static_cast<int64_t>(q.size()), rng);
  double along = 0;
  for (size_t j = 0; j < q.size(); ++j)
    along += u[j] * q[j];
  double norm2 = 0;
  for (size_t j = 0; j < q.size(); ++j) {
    u[j] -= along * q[j];
    norm2 += u[j] * u[j];
  }
  const double s = std::sqrt(std::max(0.0, 1 - c * c));
  std::vector<double> x(q.size());
  for (size_t j = 0; j < q.size(); ++j)
    x[j] = c * q[j] + (norm2 > 1e-12 ? s * u[j] / std::sqrt(norm2) : 0.0);
  return x;
}

// Rounding to float moves an inner product of unit vectors by < 2^-22; the
// generators aim this far beyond the margin and then check the floats.
constexpr double kMarginSlack = 1e-6;

std::vector<float> asFloats(const std::vector<double> &x) {
  return std::vector<float>(x.begin(), x.end());
}
std::vector<double> asDoubles(const float *x, int64_t d) {
  return std::vector<double>(x, x + d);
}
double dot(const std::vector<double> &a, const float *b) {
  double s = 0;
  for (size_t j = 0; j < a.size(); ++j)
    s += a[j] * static_cast<double>(b[j]);
  return s;
}

// The input <bos> x_1 y_1 .. x_n y_n x_q on the sphere: tokens and features.
void sphereExample(const TaskSpec &task, const Vocabulary &voc,
                   const std::vector<std::vector<double>> &points,
                   const std::vector<int32_t> &labels,
                   const std::vector<double> &query, Example &ex) {
  const int64_t d = task.dimension;
  const size_t n = points.size();
  ex.tokens.resize(2 * n + 2);
  ex.features.assign((2 * n + 2) * static_cast<size_t>(d), 0.0f);
  ex.tokens[0] = static_cast<int32_t>(voc.beginToken);
  auto put = [&](size_t position, const std::vector<double> &x) {
    ex.tokens[position] = 0; // <point>
    std::copy(x.begin(), x.end(),
              ex.features.begin() + static_cast<std::ptrdiff_t>(position * d));
  };
  for (size_t i = 0; i < n; ++i) {
    put(2 * i + 1, points[i]);
    ex.tokens[2 * i + 2] =
        static_cast<int32_t>(voc.firstLabelToken) + labels[i];
  }
  put(2 * n + 1, query);
}

double uniform01(SplitMix64 &rng) {
  return static_cast<double>(rng.next() >> 11) * 0x1p-53;
}

// The features of position t of an input on the sphere.
float *pointAt(const TaskSpec &task, Example &ex, int64_t t) {
  return &ex.features[static_cast<size_t>(t * task.dimension)];
}

// Moves every example other than `best` (1-based) whose inner product with
// the query exceeds <x_q, x_best> - margin to an inner product uniform in
// [-1, <x_q, x_best> - margin - slack] (the caller keeps x_best at least
// margin + 2 slack above -1). Checked in the stored floats.
void keepMarginOnSphere(const TaskSpec &task, Example &ex, int64_t best,
                        SplitMix64 &rng) {
  const int64_t d = task.dimension;
  const int64_t n = (static_cast<int64_t>(ex.tokens.size()) - 2) / 2;
  const std::vector<double> query = asDoubles(pointAt(task, ex, 2 * n + 1), d);
  const double limit =
      dot(query, pointAt(task, ex, 2 * best - 1)) - task.effectiveMargin();
  const double top = std::max(-1.0, limit - kMarginSlack);
  for (int64_t i = 1; i <= n; ++i) {
    float *x = pointAt(task, ex, 2 * i - 1);
    // The rounding to float is < slack, so one draw does; the loop guards.
    for (int attempt = 0; i != best && dot(query, x) > limit; ++attempt) {
      HW_ASSERT(attempt < 64, "no point keeps the margin");
      const double c =
          attempt < 8 ? -1 + (top + 1) * uniform01(rng) : -1.0; // -1: -x_q
      const std::vector<float> p =
          asFloats(pointWithInnerProduct(query, c, rng));
      std::copy(p.begin(), p.end(), x);
    }
  }
}

// d = 1: the sphere is {-1, +1}, so a margin > 0 leaves one valid shape:
// the nearest example equals the query (0-based `best`), every other is -q.
void twoPointSphere(const TaskSpec &task, int64_t n, int64_t best,
                    SplitMix64 &rng, Example &ex) {
  const std::vector<double> q{rng.below(2) ? 1.0 : -1.0}, far{-q[0]};
  std::vector<std::vector<double>> points(static_cast<size_t>(n), far);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int32_t &y : labels)
    y = static_cast<int32_t>(rng.below(task.labels));
  points[best] = q;
  sphereExample(task, vocabularyOf(task), points, labels, q, ex);
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
  void checkSpec(const TaskSpec &task, const std::vector<ModelSpec> &models,
                 const TaskErrorSink &error) const override {
    if (!task.onSphere() && task.dimension > kMaxCubeDimension)
      error(task.fieldLoc("dimension"),
            "'dimension' must be at most " + std::to_string(kMaxCubeDimension) +
                ", got " + std::to_string(task.dimension) +
                " for points = cube: every point of {+1,-1}^d is a token, and "
                "2^" +
                std::to_string(task.dimension) +
                " embedding rows are too many (points = sphere takes any d "
                "up to " +
                std::to_string(kMaxSphereDimension) + " as continuous inputs)");
    if (task.onSphere())
      for (const ModelSpec &m : models)
        if (m.arch == Architecture::RNN)
          error(m.loc,
                "no RNN construction for nearest neighbour with points = "
                "sphere (the rnn model stores cube points bit by bit; any "
                "RNN needs min(N, A) log2 L state bits either way): use "
                "points = cube, or a transformer model only");
  }
  std::string describe(const TaskSpec &task) const override {
    std::ostringstream os;
    os << "N = " << task.maxLength << " examples, ";
    if (task.onSphere())
      os << "unit vectors of R^" << task.dimension << " (continuous inputs), "
         << task.labels << " labels, margin " << task.margin;
    else
      os << "points of {+1,-1}^" << task.dimension << " / sqrt("
         << task.dimension << "), " << task.labels << " labels, margin "
         << task.effectiveMargin() << " (Hamming " << task.hammingMargin()
         << ")";
    return os.str();
  }
  void writeDerivedJson(const TaskSpec &task,
                        nlohmann::json &j) const override {
    j["effective_margin"] = task.effectiveMargin();
    if (!task.onSphere())
      j["hamming_margin"] = task.hammingMargin();
  }

  Vocabulary vocabulary(const TaskSpec &task) const override {
    Vocabulary v;
    // The points: one <point> token whose vector is a continuous input, or
    // one token per cube corner.
    v.symbolCount = task.onSphere() ? 1 : int64_t(1) << task.dimension;
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
    if (task.onSphere())
      return "<point>";
    std::string bits = "x";
    for (int64_t j = 0; j < task.dimension; ++j)
      bits += (token >> j) & 1 ? '1' : '0';
    return bits;
  }
  std::string className(const TaskSpec &, int64_t cls) const override {
    return "y" + std::to_string(cls);
  }

  std::vector<TokenGroup> tokenGroups(const TaskSpec &task,
                                      const Vocabulary &voc) const override {
    TokenGroup points{0, voc.symbolCount, "point", {{"point"}}, ""};
    if (task.onSphere())
      points.fields.clear(); // one <point>: the vector is in the features
    return {
        points,
        {voc.firstLabelToken, task.labels, "label", {{"label"}}, "y{label}"},
        {voc.beginToken, 1, "begin", {}, ""}};
  }
  std::vector<std::pair<std::string, std::string>>
  roleMeanings(const TaskSpec &task) const override {
    const std::string point =
        task.onSphere()
            ? "<point>: a point whose unit vector is the position's features "
              "(input_layout.features)"
            : "a point of {+1,-1}^d / sqrt(d), d = " +
                  std::to_string(task.dimension) +
                  ": coordinate j is +1/sqrt(d) if bit j of `point` is 0, "
                  "else -1/sqrt(d) (the name is x then bits 0 .. d-1)";
    return {{"point", point},
            {"label", "the label `label` (a class) of the point before it"},
            {"begin", "<bos>: the first token of every input"}};
  }
  InputLayout inputLayout(const TaskSpec &task) const override {
    InputLayout l;
    l.pattern = "<bos> x_1 y_1 .. x_n y_n x_q";
    l.length = "2 n + 2";
    l.variables = {{"n", "1", std::to_string(task.maxLength),
                    "the number of (point, label) examples (N = max_length)"}};
    std::ostringstream margin;
    margin << task.effectiveMargin();
    l.description =
        "<bos>, n examples (a point x_i then its label y_i), then the query "
        "point x_q; valid inputs keep the promise that the example nearest "
        "to x_q (largest inner product <x_q, x_i>) leads every other by at "
        "least the margin " +
        margin.str() +
        (task.onSphere()
             ? ""
             : " (Hamming distance " + std::to_string(task.hammingMargin()) +
                   " on the cube: <a, b> = 1 - 2 hamming(a, b) / d)");
    l.answer = "the label y_i of the example x_i nearest to x_q";
    l.readAt = "the last position (x_q)";
    if (task.onSphere()) {
      l.features = task.dimension;
      l.featureMeaning = "d numbers per position: a unit vector of R^d "
                         "(|norm - 1| <= 2^-16) at each <point>, zeros at "
                         "every other position";
    }
    return l;
  }
  std::string classMeaning(const TaskSpec &, int64_t cls) const override {
    return "the nearest example's label is y" + std::to_string(cls);
  }

  int64_t featureDim(const TaskSpec &task) const override {
    return task.onSphere() ? task.dimension : 0;
  }

  std::string checkInput(const TaskSpec &task,
                         const std::vector<int32_t> &tokens) const override {
    // <bos> x_1 y_1 .. x_n y_n x_q with 1 <= n <= N, and the margin kept.
    if (std::string bad = nearestNeighbourShape(task, tokens); !bad.empty())
      return bad;
    if (task.onSphere())
      return "an input with points = sphere carries each point's vector as "
             "continuous inputs (" +
             std::to_string(task.dimension) + " numbers per position)";
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
  std::string
  checkInputWithFeatures(const TaskSpec &task,
                         const std::vector<int32_t> &tokens,
                         const std::vector<float> &features) const override;
  int64_t
  groundTruthWithFeatures(const TaskSpec &task,
                          const std::vector<int32_t> &tokens,
                          const std::vector<float> &features) const override {
    if (!task.onSphere())
      return groundTruth(task, tokens);
    return nearestOnSphere(task, tokens, features).label;
  }

  void generateUniform(const TaskSpec &task, SplitMix64 &rng,
                       Example &ex) const override;
  void generateAdversarial(const TaskSpec &task, const AdversarialHints &,
                           SplitMix64 &rng, Example &ex) const override;
  void generateUniformOnSphere(const TaskSpec &task, SplitMix64 &rng,
                               Example &ex) const;
  void generateAdversarialOnSphere(const TaskSpec &task, SplitMix64 &rng,
                                   Example &ex) const;

  LowerBound lowerBound(const TaskSpec &task, Architecture arch,
                        int64_t) const override;
  int64_t alphabetSize(const TaskSpec &task) const override {
    return task.labels;
  }
};

std::vector<TaskParameter> NearestNeighbourTask::parameters() const {
  // d <= 16 for the cube is checkSpec's (it depends on `points`).
  const TaskParameter dimension = integerParameter(
      "dimension",
      "d: points are unit vectors of R^d (the corners of {+1,-1}^d / sqrt(d) "
      "for points = cube, d <= 16)",
      1, kMaxSphereDimension, &TaskSpec::dimension);
  TaskParameter margin = numberParameter(
      "margin",
      "Delta: the nearest example's promised lead in inner product (rounded "
      "up to a multiple of 2/d)",
      0, 2, &TaskSpec::margin, "2/dimension");
  margin.whyAtMost = whyMarginAtMost;
  return {dimension,
          integerParameter("labels", "L: the number of labels", 2, 65536,
                           &TaskSpec::labels),
          margin, maxLengthParameter("N: the most (point, label) examples"),
          choiceParameter("points",
                          "cube: the corners of {+1,-1}^d / sqrt(d), a token "
                          "each; sphere: any unit vectors, as continuous "
                          "inputs (d numbers per position)",
                          "cube", {"cube", "sphere"}, &TaskSpec::points)};
}

// Uniform: n uniform in 1..N, points, labels and the query uniform; then the
// margin is restored by resampling. The nearest example stays (if it is too
// far for any competitor to be m further, it is redrawn at a uniform distance
// in [0, d - m]); every other example closer than h* + m is redrawn at
// distance >= h* + m.
void NearestNeighbourTask::generateUniform(const TaskSpec &task,
                                           SplitMix64 &rng, Example &ex) const {
  if (task.onSphere())
    return generateUniformOnSphere(task, rng, ex);
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
  if (task.onSphere())
    return generateAdversarialOnSphere(task, rng, ex);
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

std::string NearestNeighbourTask::checkInputWithFeatures(
    const TaskSpec &task, const std::vector<int32_t> &tokens,
    const std::vector<float> &features) const {
  if (!task.onSphere())
    return TaskDefinition::checkInputWithFeatures(task, tokens, features);
  if (std::string bad = nearestNeighbourShape(task, tokens); !bad.empty())
    return bad;
  const int64_t d = task.dimension, M = static_cast<int64_t>(tokens.size());
  if (static_cast<int64_t>(features.size()) != M * d)
    return "an input of " + std::to_string(M) + " tokens carries " +
           std::to_string(M) + " x " + std::to_string(d) +
           " continuous values, got " + std::to_string(features.size());
  for (int64_t t = 0; t < M; ++t) {
    const float *x = &features[static_cast<size_t>(t * d)];
    double norm2 = 0;
    for (int64_t j = 0; j < d; ++j) {
      if (!std::isfinite(x[j]))
        return "position " + std::to_string(t + 1) +
               " carries a value that is not finite";
      norm2 += static_cast<double>(x[j]) * x[j];
    }
    const bool point = t % 2 == 1;
    if (!point && norm2 != 0)
      return "position " + std::to_string(t + 1) +
             " is not a point, but carries a non-zero vector";
    if (point && std::fabs(std::sqrt(norm2) - 1) > kSphereNormTolerance) {
      std::ostringstream os;
      os.precision(9);
      os << "the point at position " << t + 1 << " has norm "
         << std::sqrt(norm2) << ", not 1 (up to 2^-16)";
      return os.str();
    }
  }
  const NearestOnSphere best = nearestOnSphere(task, tokens, features);
  if (best.lead < task.margin) {
    std::ostringstream os;
    os.precision(9);
    os << "the nearest example x_" << best.index
       << " leads the runner-up by inner product " << best.lead
       << ", below the margin " << task.margin;
    return os.str();
  }
  return {};
}

// Uniform: n uniform in 1..N, points, labels and the query random; then the
// margin is restored: the nearest example stays (moved to a random inner
// product in [-1 + margin, 1] if it is too far for any competitor to be
// margin further), every other example within margin of it is redrawn
// further away.
void NearestNeighbourTask::generateUniformOnSphere(const TaskSpec &task,
                                                   SplitMix64 &rng,
                                                   Example &ex) const {
  const int64_t d = task.dimension, N = task.maxLength;
  const int64_t n = 1 + static_cast<int64_t>(rng.below(N));
  if (d == 1) // S^0 = {-1, +1}: one example at the query, the others at -q
    return twoPointSphere(task, n, static_cast<int64_t>(rng.below(n)), rng, ex);
  std::vector<std::vector<double>> points(static_cast<size_t>(n));
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    points[i] = randomDirection(d, rng);
    labels[i] = static_cast<int32_t>(rng.below(task.labels));
  }
  const std::vector<double> query = randomDirection(d, rng);
  const Vocabulary voc = vocabulary(task);
  sphereExample(task, voc, points, labels, query, ex);
  const std::vector<double> q = asDoubles(pointAt(task, ex, 2 * n + 1), d);
  const NearestOnSphere nearest = nearestOnSphere(task, ex.tokens, ex.features);
  const int64_t best = nearest.index;
  const double lowest = -1 + task.margin + 4 * kMarginSlack;
  if (n > 1 && nearest.inner < lowest) {
    const double c = lowest + (1 - lowest) * uniform01(rng);
    const std::vector<float> p = asFloats(pointWithInnerProduct(q, c, rng));
    std::copy(p.begin(), p.end(), pointAt(task, ex, 2 * best - 1));
  }
  keepMarginOnSphere(task, ex, best, rng);
}

// Adversarial ("sets at the margin"), as on the cube: n = N; the nearest
// example first, in the middle, last or anywhere; equal to the query
// (inner product 1), as far as the margin allows (every inner product at
// most -1 + margin: the key's shift +2 must carry the labels) or anywhere
// between; every other example exactly margin (+ 1e-6) behind it, all tied,
// or half the time only some of them and the others further; all of them
// sharing one wrong label, so that all leaked attention lands on one class.
void NearestNeighbourTask::generateAdversarialOnSphere(const TaskSpec &task,
                                                       SplitMix64 &rng,
                                                       Example &ex) const {
  const int64_t d = task.dimension, n = task.maxLength;
  const int64_t where[] = {0, n / 2, n - 1, static_cast<int64_t>(rng.below(n))};
  const int64_t best = where[rng.below(4)];
  if (d == 1)
    return twoPointSphere(task, n, best, rng, ex);
  const double lowest = -1 + task.margin + 4 * kMarginSlack;
  const double inners[] = {1, lowest, lowest + (1 - lowest) * uniform01(rng)};
  const double inner = inners[rng.below(3)];
  const bool allAtMargin = rng.below(2);
  const std::vector<double> query = randomDirection(d, rng);
  const int32_t right = static_cast<int32_t>(rng.below(task.labels));
  const int32_t wrong = static_cast<int32_t>(
      (right + 1 + rng.below(task.labels - 1)) % task.labels);
  std::vector<std::vector<double>> points(static_cast<size_t>(n));
  std::vector<int32_t> labels(static_cast<size_t>(n), wrong);
  points[best] = inner == 1 ? query : pointWithInnerProduct(query, inner, rng);
  labels[best] = right;
  const double atMargin = inner - task.margin - 2 * kMarginSlack;
  for (int64_t i = 0; i < n; ++i)
    if (i != best)
      points[i] = pointWithInnerProduct(
          query,
          allAtMargin || rng.below(2) ? atMargin
                                      : -1 + (atMargin + 1) * uniform01(rng),
          rng);
  sphereExample(task, vocabulary(task), points, labels, query, ex);
  keepMarginOnSphere(task, ex, best + 1, rng); // only if rounding broke it
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
       << (task.onSphere() ? ", corners of the cube on the sphere" : "")
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
  b.cap = static_cast<int64_t>(gilbertVarshamov(task)); // <= 2^62
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

NearestOnSphere nearestOnSphere(const TaskSpec &task,
                                const std::vector<int32_t> &tokens,
                                const std::vector<float> &features) {
  HW_ASSERT(nearestNeighbourShape(task, tokens).empty() &&
                features.size() ==
                    tokens.size() * static_cast<size_t>(task.dimension),
            "nearest example of a malformed input");
  const int64_t d = task.dimension;
  const int64_t n = (static_cast<int64_t>(tokens.size()) - 2) / 2;
  const int64_t firstLabel = vocabularyOf(task).firstLabelToken;
  const float *q = &features[static_cast<size_t>((2 * n + 1) * d)];
  NearestOnSphere best;
  double runnerUp = -std::numeric_limits<double>::infinity();
  best.inner = -std::numeric_limits<double>::infinity();
  for (int64_t i = 1; i <= n; ++i) {
    const float *x = &features[static_cast<size_t>((2 * i - 1) * d)];
    double c = 0;
    for (int64_t j = 0; j < d; ++j)
      c += static_cast<double>(q[j]) * x[j]; // exact products
    if (c > best.inner) {
      runnerUp = best.inner;
      best.inner = c;
      best.index = i;
      best.label = tokens[static_cast<size_t>(2 * i)] - firstLabel;
    } else if (c > runnerUp) {
      runnerUp = c; // a tie makes the lead 0
    }
  }
  best.lead = best.inner - runnerUp; // +inf if n = 1
  return best;
}

const TaskDefinition &nearestNeighbourTask() {
  static const NearestNeighbourTask task;
  return task;
}

} // namespace handwire
