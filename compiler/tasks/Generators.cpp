#include "tasks/Generators.h"

#include "tasks/TaskSemantics.h"

namespace handwire {

ExampleGenerator::ExampleGenerator(const TaskSpec &task, InputDistribution dist,
                                   uint64_t seed, AdversarialHints hints)
    : task_(task), definition_(taskDefinition(task.kind)), dist_(dist),
      seed_(seed), hints_(std::move(hints)) {}

void ExampleGenerator::generate(uint64_t index, Example &ex) const {
  SplitMix64 rng(streamSeed(seed_, index));
  ex.adversarial = dist_ == InputDistribution::Adversarial ||
                   (dist_ == InputDistribution::Mixed && (index & 1));
  ex.features.clear();
  if (ex.adversarial)
    definition_.generateAdversarial(task_, hints_, rng, ex);
  else
    definition_.generateUniform(task_, rng, ex);
  ex.label = groundTruth(task_, ex.tokens, ex.features);
}

} // namespace handwire
