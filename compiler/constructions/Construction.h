// A construction turns a validated task and model spec into a Network whose
// exactness on every input up to N is argued in its own file. The registry is
// the only place that lists them all.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <functional>
#include <string>
#include <vector>

namespace handwire {

class Construction {
public:
  virtual ~Construction() = default;
  virtual const char *id() const = 0; // "index_lookup/transformer-1layer"
  virtual TaskKind task() const = 0;
  virtual Architecture arch() const = 0;
  virtual std::string
  requirement() const = 0; // what it accepts, for errors: "layers = 1"
  virtual bool accepts(const ModelSpec &model) const = 0;
  // The value of the model's `construction` field that selects this one
  // among constructions of the same (task, architecture, layers); "" if it is
  // the default (the field left out).
  virtual std::string variant() const { return ""; }
  // Bytes the weights will take, computed before anything is allocated. In
  // floating point: absurd specs (N = 2^26 with coherence 1e-9) must give an
  // absurd number to refuse, not a wrapped-around int64_t that passes.
  virtual double estimateBytes(const Spec &spec,
                               const ModelSpec &model) const = 0;
  // A cheap lower bound on estimateBytes, checked first, so that absurd sizes
  // are refused before the position code is searched for.
  virtual double minimumBytes(const Spec &, const ModelSpec &) const {
    return 0;
  }
  // Builds the network with its provenance and certificate. Throws UserError
  // (located at the spec field at fault) if the spec cannot be realized.
  virtual Network
  build(const Spec &spec, const ModelSpec &model,
        const std::function<void(const std::string &)> &progress) const = 0;
};

// A network whose counts (tokens, classes, longest input) come from the
// task's vocabulary, named and typed after the model.
Network networkSkeleton(const Spec &spec, const ModelSpec &model,
                        Architecture arch, int64_t width);

// The position code a model asks for: its `code`, `coherence` and `seed`
// fields, `count` codewords, and what the construction needs of them.
struct CodeRequest;
enum class Sidedness;
CodeRequest positionCodeRequest(const ModelSpec &model, int64_t count,
                                Sidedness sided);

using WeightTriplets = std::vector<Eigen::Triplet<float, int32_t>>;
// An Elman body from the non-zeros of the recurrent (H, H) and input
// (H, tokenCount) matrices.
ElmanBody elmanBody(int64_t H, int64_t tokenCount,
                    const WeightTriplets &recurrent,
                    const WeightTriplets &input, Vector bias, Vector initial);

// Every construction, sorted by id.
const std::vector<const Construction *> &allConstructions();
// The constructions for (task, arch), in registry order.
std::vector<const Construction *> constructionsFor(TaskKind task,
                                                   Architecture arch);

// Defined by each construction file, listed in Registry.cpp.
const Construction &associativeRecallRnnConstruction();
const Construction &associativeRecallTransformerConstruction();
const Construction &boundedDyckHewittRnnConstruction();
const Construction &boundedDyckRnnConstruction();
const Construction &boundedDyckTransformerConstruction();
const Construction &disjointnessRnnConstruction();
const Construction &disjointnessTransformer1LConstruction();
const Construction &disjointnessTransformerConstruction();
const Construction &indexLookupRnnConstruction();
const Construction &indexLookupTransformerConstruction();
const Construction &nearestNeighbourRnnConstruction();
const Construction &nearestNeighbourTransformerConstruction();
const Construction &stringEqualityRnnConstruction();
const Construction &stringEqualityTransformer1LConstruction();
const Construction &stringEqualityTransformerConstruction();

} // namespace handwire
