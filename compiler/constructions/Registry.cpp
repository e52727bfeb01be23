#include "constructions/Construction.h"

#include "codes/NearOrthogonalCode.h"

#include "spec/Vocabulary.h"

namespace handwire {

const std::vector<const Construction *> &allConstructions() {
  // keep sorted by id
  static const std::vector<const Construction *> all = {
      &associativeRecallRnnConstruction(),
      &associativeRecallTransformerConstruction(),
      &boundedDyckRnnConstruction(),
      &boundedDyckHewittRnnConstruction(),
      &boundedDyckTransformerConstruction(),
      &disjointnessRnnConstruction(),
      &disjointnessTransformer1LConstruction(),
      &disjointnessTransformerConstruction(),
      &indexLookupRnnConstruction(),
      &indexLookupTransformerConstruction(),
      &nearestNeighbourRnnConstruction(),
      &nearestNeighbourTransformerConstruction(),
      &stringEqualityRnnConstruction(),
      &stringEqualityTransformer1LConstruction(),
      &stringEqualityTransformerConstruction(),
  };
  return all;
}

CodeRequest positionCodeRequest(const ModelSpec &model, int64_t count,
                                Sidedness sided) {
  CodeRequest r;
  r.family = model.code;
  r.count = count;
  r.coherence = model.coherence;
  r.seed = model.seed;
  r.sided = sided;
  r.loc = model.fieldLoc("code");
  return r;
}

Network networkSkeleton(const Spec &spec, const ModelSpec &model,
                        Architecture arch, int64_t width) {
  const Vocabulary voc = vocabularyOf(spec.task);
  Network net;
  net.name = model.name;
  net.task = spec.task.kind;
  net.arch = arch;
  net.precision = model.precision;
  net.tokenCount = voc.tokenCount;
  net.classCount = voc.classCount;
  net.maxSequenceLength = voc.maxSequenceLength;
  net.width = width;
  return net;
}

ElmanBody elmanBody(int64_t H, int64_t tokenCount,
                    const WeightTriplets &recurrent,
                    const WeightTriplets &input, Vector bias, Vector initial) {
  ElmanBody body;
  body.recurrent.resize(H, H);
  body.recurrent.setFromTriplets(recurrent.begin(), recurrent.end());
  body.input.resize(H, tokenCount);
  body.input.setFromTriplets(input.begin(), input.end());
  body.bias = std::move(bias);
  body.initial = std::move(initial);
  return body;
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
