// A construction turns a validated task and model spec into a Network whose
// exactness on every input up to N is argued in its own file. The registry is
// the only place that lists them all.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace handwire {

// The size of the network a construction's build() returns, computed before
// anything is allocated from the layout build() itself uses: the residual
// width D (Transformer) or hidden size H (RNN), and the weights as weightSize()
// counts them. Doubles, so that absurd specs (N = 2^26 with coherence 1e-9)
// give absurd sizes to refuse, not wrapped-around integers. Exact wherever the
// position code's width is planned exactly (plannedCodeWidth): algebraic
// families up to 2^24 codewords (beyond, the plan can only overstate), random
// ones unless makeCode misses three draws and widens the code.
struct ConstructionSize {
  double width = 0;
  double parameters = 0; // = parameterCount(net)
  double bytes = 0;      // = weightSize(net).bytes
};

class Construction {
public:
  virtual ~Construction() = default;
  virtual const char *id() const = 0; // "index_lookup/transformer-1layer"
  virtual TaskKind task() const = 0;
  virtual Architecture arch() const = 0;
  virtual std::string
  requirement() const = 0; // what it accepts, for errors: "layers >= 1"
  virtual bool accepts(const ModelSpec &model) const = 0;
  // The layers a Transformer construction computes with (0: an RNN). It
  // accepts any depth from there: construct() appends identity layers.
  virtual int depth() const { return 0; }
  // The value of the model's `construction` field that selects this one
  // among constructions of the same (task, architecture, layers); "" if it is
  // the default (the field left out).
  virtual std::string variant() const { return ""; }
  // The size of build(spec, model)'s network, from the same layout. Plans the
  // position code where there is one (certifying algebraic candidates under
  // code = auto). Throws UserError where the plan itself fails (no code meets
  // the request, a length beyond what the construction certifies); the other
  // refusals (a margin below the precision) are build()'s.
  virtual ConstructionSize size(const Spec &spec,
                                const ModelSpec &model) const = 0;
  // Bytes the weights will take (size().bytes), for the memory limit.
  double estimateBytes(const Spec &spec, const ModelSpec &model) const {
    return size(spec, model).bytes;
  }
  // A cheap lower bound on estimateBytes, checked first, so that absurd sizes
  // are refused before the position code is searched for: the size at the
  // narrowest code any family could have. 0 where size() is itself cheap.
  virtual double minimumBytes(const Spec &, const ModelSpec &) const {
    return 0;
  }
  // Builds the network with its provenance and certificate. Throws UserError
  // (located at the spec field at fault) if the spec cannot be realized.
  virtual Network
  build(const Spec &spec, const ModelSpec &model,
        const std::function<void(const std::string &)> &progress) const = 0;
  // build(), then, for a Transformer asked for more layers than depth(),
  // identity layers after the construction's (no head, no MLP: x passes
  // unchanged, so the proof and the certificate stand as they are; no
  // parameter, so size() is the same). What the pipeline calls.
  Network
  construct(const Spec &spec, const ModelSpec &model,
            const std::function<void(const std::string &)> &progress) const;
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

// The matrices of a dense Transformer: per layer, each head's query and key
// rows and value rows, and the MLP's hidden units (none: no MLP). A
// construction allocates its network from the shape and counts its size from
// the same shape, so the two cannot disagree.
struct DenseHeadShape {
  int64_t keyWidth = 0;   // rows of query and key
  int64_t valueWidth = 0; // rows of value, columns of output
};
struct DenseLayerShape {
  std::vector<DenseHeadShape> heads;
  std::optional<int64_t> mlpUnits;
};
struct DenseTransformerShape {
  int64_t width = 0; // D
  std::vector<DenseLayerShape> layers;
};
// networkSkeleton with every matrix of `shape` dense and zero, and a zero
// (classCount, D) read-out: the construction writes the non-zero entries.
Network denseTransformerSkeleton(const Spec &spec, const ModelSpec &model,
                                 const DenseTransformerShape &shape);
ConstructionSize denseTransformerSize(const Spec &spec,
                                      const DenseTransformerShape &shape);

// The copy head of the index-lookup construction (Bhattamishra et al. 2024,
// Theorem 1; index lookup, associative recall), in layer 0, head 0 of a dense
// skeleton: the query reads eta times the k-wide Q block, the key the K block,
// the value the V-wide S block; the output writes S and the read-out reads it. Then its certificate: one
// selection among `competitors` keys with one-sided gap `gap`, read-out
// margin 2 w - 1 for the worst target weight w.
struct CopyHead {
  int64_t S = 0, V = 0, K = 0, Q = 0, k = 0;
  double eta = 0;
};
// Its certificate (SoftmaxScale.h): unit codes of width k in a residual of
// width D, the scale stored as Q's diagonal.
HeadCertificate certifyCopyHead(const ModelSpec &m, double gap,
                                int64_t competitors, double leakage, int64_t k,
                                int64_t D);
void wireCopyHead(Network &net, const CopyHead &h);
// Records the code and the head; the read-out margin is what the head's
// rounding chain delivers (1 - 2 outputError).
void recordCopyHead(Network &net, const CodeCertificate &code,
                    HeadCertificate head, std::string argument);

// A dense Transformer whose layout depends on the width k of its position
// code: size() plans the code as build() will make it, minimumBytes() takes
// the narrowest width any code of that many codewords can have (the size
// grows with k).
class CodedDenseTransformer : public Construction {
public:
  ConstructionSize size(const Spec &spec,
                        const ModelSpec &model) const override;
  double minimumBytes(const Spec &spec, const ModelSpec &model) const override;
  // What the construction asks of its position code; by default a codeword
  // per token of the longest input, one-sided (a head that selects one key
  // needs only the one-sided gap: a negative inner product only lowers a
  // competitor's score).
  virtual CodeRequest codeRequest(const Spec &spec,
                                  const ModelSpec &model) const;
  // Its matrices when the code has `codeWidth` dimensions.
  virtual DenseTransformerShape shape(const Spec &spec,
                                      int64_t codeWidth) const = 0;
};

// A Transformer construction of a fixed depth: it takes the transformer
// models with `layers >= Layers` (a deeper model gets identity layers after
// its own, Construction::construct). Where a task has constructions of
// several depths, the deepest one a model's `layers` allows is chosen
// (selectConstruction).
template <int Layers, typename Base = Construction>
class TransformerOfDepth : public Base {
public:
  Architecture arch() const override { return Architecture::Transformer; }
  int depth() const override { return Layers; }
  std::string requirement() const override {
    return "transformer with layers >= " + std::to_string(Layers);
  }
  bool accepts(const ModelSpec &m) const override { return m.layers >= Layers; }
};

// The matrices of an Elman RNN: H units, the non-zeros of the recurrent and
// input matrices, and per read-out head layer its units and non-zeros; the
// read-out is dense (classCount, last width). Doubles, as ConstructionSize.
struct ElmanShape {
  double units = 0;
  double recurrentNonZeros = 0;
  double inputNonZeros = 0;
  struct HeadLayerShape {
    double units = 0, nonZeros = 0;
  };
  std::vector<HeadLayerShape> head;
};
ConstructionSize elmanSize(const Spec &spec, const ElmanShape &shape);

// An Elman RNN construction: its size is its shape's (the same shape its
// build() allocates), and it takes any rnn model unless it is one of several
// for its task (then `construction = variant()` selects it).
class ElmanConstruction : public Construction {
public:
  Architecture arch() const override { return Architecture::RNN; }
  std::string requirement() const override { return "rnn"; }
  bool accepts(const ModelSpec &) const override { return true; }
  ConstructionSize size(const Spec &spec, const ModelSpec &) const override {
    return elmanSize(spec, shape(spec));
  }
  virtual ElmanShape shape(const Spec &spec) const = 0;
};

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
