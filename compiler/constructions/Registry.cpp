#include "constructions/Construction.h"

namespace handwire {

const std::vector<const Construction *> &allConstructions() {
  // keep sorted by id
  static const std::vector<const Construction *> all = {
      &boundedDyckRnnConstruction(),
      &disjointnessRnnConstruction(),
      &disjointnessTransformer1LConstruction(),
      &disjointnessTransformerConstruction(),
      &indexLookupRnnConstruction(),
      &indexLookupTransformerConstruction(),
      &stringEqualityRnnConstruction(),
      &stringEqualityTransformer1LConstruction(),
      &stringEqualityTransformerConstruction(),
  };
  return all;
}

std::vector<const Construction *> constructionsFor(TaskKind task,
                                                   Architecture arch) {
  std::vector<const Construction *> out;
  for (const Construction *c : allConstructions())
    if (c->task() == task && c->arch() == arch)
      out.push_back(c);
  return out;
}

} // namespace handwire
