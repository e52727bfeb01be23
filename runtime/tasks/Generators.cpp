#include "tasks/Generators.h"

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
  }
  ex.label = groundTruth(task_, ex.tokens);
}

} // namespace handwire
