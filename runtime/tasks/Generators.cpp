#include "tasks/Generators.h"

#include <algorithm>

#include "spec/Vocabulary.h"
#include "support/Random.h"
#include "tasks/TaskSemantics.h"

namespace handwire {

ExampleGenerator::ExampleGenerator(const TaskSpec &task, InputDistribution dist,
                                   uint64_t seed, AdversarialHints hints)
    : task_(task), dist_(dist), seed_(seed), hints_(std::move(hints)) {}

namespace {

// Uniform: n uniform in 1..N, symbols uniform, query uniform in 1..n.
void uniformIndexLookup(const TaskSpec &task, const Vocabulary &voc,
                        SplitMix64 &rng, Example &ex) {
  const int64_t n = 1 + static_cast<int64_t>(rng.below(task.maxLength));
  ex.tokens.resize(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i < n; ++i)
    ex.tokens[i] = static_cast<int32_t>(rng.below(voc.symbolCount));
  const int64_t p = 1 + static_cast<int64_t>(rng.below(n));
  ex.tokens[n] = static_cast<int32_t>(voc.firstIndexToken + p - 1);
}

// Adversarial: n = N (most competitors); the query sits on one of the
// positions whose code is most coherent with another's, and every other
// symbol is the same wrong one, so all leaked attention lands on one class.
void adversarialIndexLookup(const TaskSpec &task, const Vocabulary &voc,
                            const AdversarialHints &hints, SplitMix64 &rng,
                            Example &ex) {
  const int64_t N = task.maxLength, n = N;
  int64_t p;
  if (!hints.coherentPositions.empty()) {
    auto pair =
        hints.coherentPositions[rng.below(hints.coherentPositions.size())];
    // Position N+1 is the index token itself and cannot be queried.
    if (pair.first > n)
      std::swap(pair.first, pair.second);
    p = (pair.second <= n && rng.below(2)) ? pair.second : pair.first;
    if (p > n)
      p = 1 + static_cast<int64_t>(rng.below(n));
  } else {
    // Without hints, the ends of the sequence.
    p = rng.below(2) ? 1 : n;
  }
  const int64_t target = static_cast<int64_t>(rng.below(voc.symbolCount));
  const int64_t wrong =
      (target + 1 + static_cast<int64_t>(rng.below(voc.symbolCount - 1))) %
      voc.symbolCount;
  ex.tokens.assign(static_cast<size_t>(n + 1), static_cast<int32_t>(wrong));
  ex.tokens[p - 1] = static_cast<int32_t>(target);
  ex.tokens[n] = static_cast<int32_t>(voc.firstIndexToken + p - 1);
}

// A random string of Dyck-(k, m) with `n` brackets (n even): a random walk on
// the depth that never exceeds m and returns to 0, with random bracket types.
void randomDyck(const TaskSpec &task, int64_t n, SplitMix64 &rng,
                std::vector<int32_t> &out) {
  std::vector<int32_t> stack;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t left = n - i, depth = static_cast<int64_t>(stack.size());
    const bool mustClose = depth == left || depth == task.depth;
    const bool mayClose = depth > 0;
    if (mustClose || (mayClose && rng.below(2))) {
      out.push_back(2 * stack.back() + 1);
      stack.pop_back();
    } else {
      const int32_t type = static_cast<int32_t>(rng.below(task.brackets));
      stack.push_back(type);
      out.push_back(2 * type);
    }
  }
}

// One edit that usually breaks membership: change, swap or delete a bracket
// at the start, the middle, the end, or anywhere.
void nearMiss(const TaskSpec &task, SplitMix64 &rng, std::vector<int32_t> &b) {
  if (b.empty()) {
    b.push_back(static_cast<int32_t>(rng.below(2 * task.brackets)));
    return;
  }
  const int64_t n = static_cast<int64_t>(b.size());
  const int64_t where[] = {0, n / 2, n - 1, static_cast<int64_t>(rng.below(n))};
  const int64_t i = where[rng.below(4)];
  switch (rng.below(3)) {
  case 0: // change into another bracket
    b[i] = static_cast<int32_t>((b[i] + 1 + rng.below(2 * task.brackets - 1)) %
                                (2 * task.brackets));
    break;
  case 1: // swap with the next one
    std::swap(b[i], b[(i + 1) % n]);
    break;
  default: // delete
    b.erase(b.begin() + i);
  }
}

// Uniform: a random even length in 0..N, a random Dyck string; half the time
// one near-miss edit (so both classes are common).
void uniformDyck(const TaskSpec &task, const Vocabulary &voc, SplitMix64 &rng,
                 Example &ex) {
  const int64_t n = 2 * static_cast<int64_t>(rng.below(task.maxLength / 2 + 1));
  ex.tokens.clear();
  randomDyck(task, n, rng, ex.tokens);
  if (rng.below(2))
    nearMiss(task, rng, ex.tokens);
  ex.tokens.push_back(static_cast<int32_t>(voc.endToken));
}

// Adversarial: length N (rounded down to even), depth pinned at m as often as
// possible; then left valid, edited once, or pushed one level too deep.
void adversarialDyck(const TaskSpec &task, const Vocabulary &voc,
                     SplitMix64 &rng, Example &ex) {
  const int variant =
      static_cast<int>(rng.below(3)); // valid, near miss, too deep
  const int64_t n =
      task.maxLength - task.maxLength % 2 - (variant == 2 ? 2 : 0);
  ex.tokens.clear();
  // Blocks of m opens then m matching closes: depth m, as deep as allowed.
  while (static_cast<int64_t>(ex.tokens.size()) + 2 * task.depth <= n) {
    std::vector<int32_t> types;
    for (int64_t d = 0; d < task.depth; ++d) {
      types.push_back(static_cast<int32_t>(rng.below(task.brackets)));
      ex.tokens.push_back(2 * types.back());
    }
    for (int64_t d = task.depth - 1; d >= 0; --d)
      ex.tokens.push_back(2 * types[d] + 1);
  }
  randomDyck(task, n - static_cast<int64_t>(ex.tokens.size()), rng, ex.tokens);
  if (variant == 1) {
    nearMiss(task, rng, ex.tokens);
  } else if (variant == 2) {
    // Wrap the first block (or the whole string if it is empty) in one more
    // pair.
    const int32_t type = static_cast<int32_t>(rng.below(task.brackets));
    const int64_t blockEnd =
        std::min<int64_t>(2 * task.depth, ex.tokens.size());
    ex.tokens.insert(ex.tokens.begin() + blockEnd, 2 * type + 1);
    ex.tokens.insert(ex.tokens.begin(), 2 * type);
  }
  ex.tokens.push_back(static_cast<int32_t>(voc.endToken));
}

// Equality and disjointness. Uniform: random x, and y = x (equality) or the
// complement of x (disjointness) half the time, else uniform. Adversarial:
// a near miss, one position away from the other class, at the start, the
// middle, the end or anywhere (the hardest case for a counting read-out).
void pairTask(const TaskSpec &task, bool adversarial, SplitMix64 &rng,
              Example &ex) {
  const int64_t n = task.maxLength;
  const bool equality = task.kind == TaskKind::StringEquality;
  ex.tokens.assign(static_cast<size_t>(2 * n + 1), 0);
  for (int64_t i = 0; i < n; ++i)
    ex.tokens[i] = static_cast<int32_t>(rng.below(2));
  const bool related = adversarial || rng.below(2);
  for (int64_t i = 0; i < n; ++i)
    ex.tokens[n + i] =
        related ? (equality ? ex.tokens[i]
                            : (1 - ex.tokens[i]) & (rng.below(2) ? 1 : 0))
                : static_cast<int32_t>(rng.below(2));
  if (adversarial && rng.below(2)) {
    const int64_t where[] = {0, n / 2, n - 1,
                             static_cast<int64_t>(rng.below(n))};
    const int64_t i = where[rng.below(4)];
    if (equality) {
      ex.tokens[n + i] = 1 - ex.tokens[i]; // exactly one difference
    } else {
      ex.tokens[i] = 1; // exactly one common element
      ex.tokens[n + i] = 1;
    }
  }
  ex.tokens[2 * n] = 2; // <out>
}

// Nearest neighbour. Points are the ids 0 .. 2^d - 1 of cube points; the
// Hamming distance h gives the inner product 1 - 2h/d, and the margin is
// "every other example at least m further than the nearest"
// (TaskSpec::hammingMargin).
int64_t hamming(int64_t a, int64_t b) {
  return __builtin_popcountll(static_cast<uint64_t>(a ^ b));
}

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

// Uniform: n uniform in 1..N, points, labels and the query uniform; then the
// margin is restored by resampling. The nearest example stays (if it is too
// far for any competitor to be m further, it is redrawn at a uniform distance
// in [0, d - m]); every other example closer than h* + m is redrawn at
// distance >= h* + m.
void uniformNearestNeighbour(const TaskSpec &task, const Vocabulary &voc,
                             SplitMix64 &rng, Example &ex) {
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
  nearestNeighbourTokens(voc, points, labels, query, ex);
}

// Adversarial ("sets at the margin"): n = N; the nearest example at the
// first, middle or last position or anywhere; at Hamming distance 0 (the
// query equals an example), d - m (the query is far from every example) or
// anywhere in between; every other example exactly m further (the runner-up
// exactly Delta behind, all of them tied with one another) or, half the time,
// only some of them, the others anywhere further; every other example shares
// one wrong label, so all leaked attention lands on one class.
void adversarialNearestNeighbour(const TaskSpec &task, const Vocabulary &voc,
                                 SplitMix64 &rng, Example &ex) {
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
  nearestNeighbourTokens(voc, points, labels, query, ex);
}

} // namespace

void ExampleGenerator::generate(uint64_t index, Example &ex) const {
  SplitMix64 rng(streamSeed(seed_, index));
  const Vocabulary voc = vocabularyOf(task_);
  ex.adversarial = dist_ == InputDistribution::Adversarial ||
                   (dist_ == InputDistribution::Mixed && (index & 1));
  switch (task_.kind) {
  case TaskKind::IndexLookup:
    if (ex.adversarial)
      adversarialIndexLookup(task_, voc, hints_, rng, ex);
    else
      uniformIndexLookup(task_, voc, rng, ex);
    break;
  case TaskKind::BoundedDyck:
    if (ex.adversarial)
      adversarialDyck(task_, voc, rng, ex);
    else
      uniformDyck(task_, voc, rng, ex);
    break;
  case TaskKind::StringEquality:
  case TaskKind::Disjointness:
    pairTask(task_, ex.adversarial, rng, ex);
    break;
  case TaskKind::NearestNeighbour:
    if (ex.adversarial)
      adversarialNearestNeighbour(task_, voc, rng, ex);
    else
      uniformNearestNeighbour(task_, voc, rng, ex);
    break;
  }
  ex.label = groundTruth(task_, ex.tokens);
}

} // namespace handwire
