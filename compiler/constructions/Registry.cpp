#include "constructions/Construction.h"

#include "codes/NearOrthogonalCode.h"
#include "constructions/SoftmaxScale.h"

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

Network Construction::construct(
    const Spec &spec, const ModelSpec &model,
    const std::function<void(const std::string &)> &progress) const {
  Network net = build(spec, model, progress);
  if (net.isTransformer()) {
    TransformerBody &t = std::get<TransformerBody>(net.body);
    if (model.layers > static_cast<int>(t.layers.size()))
      t.layers.resize(static_cast<size_t>(model.layers)); // identities
  }
  return net;
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

Network denseTransformerSkeleton(const Spec &spec, const ModelSpec &model,
                                 const DenseTransformerShape &shape) {
  const int64_t D = shape.width;
  Network net = networkSkeleton(spec, model, Architecture::Transformer, D);
  TransformerBody body;
  body.embed.token = zeroMatrix(net.tokenCount, D);
  body.embed.position = zeroMatrix(net.maxSequenceLength, D);
  for (const DenseLayerShape &l : shape.layers) {
    TransformerLayer layer;
    for (const DenseHeadShape &h : l.heads) {
      AttentionHead head;
      head.query = zeroMatrix(h.keyWidth, D);
      head.key = zeroMatrix(h.keyWidth, D);
      head.value = zeroMatrix(h.valueWidth, D);
      head.output = zeroMatrix(D, h.valueWidth);
      layer.heads.push_back(std::move(head));
    }
    if (l.mlpUnits) {
      MLP mlp;
      mlp.in = zeroMatrix(*l.mlpUnits, D);
      mlp.inBias = Vector::Zero(*l.mlpUnits);
      mlp.out = zeroMatrix(D, *l.mlpUnits);
      mlp.outBias = Vector::Zero(D);
      layer.mlp = std::move(mlp);
    }
    body.layers.push_back(std::move(layer));
  }
  net.body = std::move(body);
  net.readout.weight = zeroMatrix(net.classCount, D);
  net.readout.bias = Vector::Zero(net.classCount);
  return net;
}

// The matrices of denseTransformerSkeleton, counted in the same order.
ConstructionSize denseTransformerSize(const Spec &spec,
                                      const DenseTransformerShape &shape) {
  const Vocabulary voc = vocabularyOf(spec.task);
  const double D = static_cast<double>(shape.width);
  WeightSize w;
  w.addDense(static_cast<double>(voc.tokenCount), D);
  w.addDense(static_cast<double>(voc.maxSequenceLength), D);
  for (const DenseLayerShape &l : shape.layers) {
    for (const DenseHeadShape &h : l.heads) {
      const double dk = static_cast<double>(h.keyWidth),
                   dv = static_cast<double>(h.valueWidth);
      w.addDense(dk, D); // query
      w.addDense(dk, D); // key
      w.addDense(dv, D); // value
      w.addDense(D, dv); // output
    }
    if (l.mlpUnits) {
      const double units = static_cast<double>(*l.mlpUnits);
      w.addDense(units, D);
      w.addVector(units);
      w.addDense(D, units);
      w.addVector(D);
    }
  }
  w.addDense(static_cast<double>(voc.classCount), D);
  w.addVector(static_cast<double>(voc.classCount));
  return {D, w.parameters, w.bytes};
}

CodeRequest CodedDenseTransformer::codeRequest(const Spec &spec,
                                               const ModelSpec &model) const {
  return positionCodeRequest(model, vocabularyOf(spec.task).maxSequenceLength,
                             Sidedness::OneSided);
}

ConstructionSize CodedDenseTransformer::size(const Spec &spec,
                                             const ModelSpec &model) const {
  const int64_t k = plannedCodeWidth(codeRequest(spec, model));
  return denseTransformerSize(spec, shape(spec, k));
}

double CodedDenseTransformer::minimumBytes(const Spec &spec,
                                           const ModelSpec &model) const {
  const int64_t k = minimumCodeWidth(codeRequest(spec, model).count);
  return denseTransformerSize(spec, shape(spec, k)).bytes;
}

// The matrices of an ElmanBody with its head and read-out, counted in the
// order of weightSize.
ConstructionSize elmanSize(const Spec &spec, const ElmanShape &shape) {
  const double H = shape.units;
  WeightSize w;
  w.addCompressed(H, shape.recurrentNonZeros);
  w.addCompressed(H, shape.inputNonZeros);
  w.addVector(H); // bias
  w.addVector(H); // initial
  double readoutWidth = H;
  for (const ElmanShape::HeadLayerShape &layer : shape.head) {
    w.addCompressed(layer.units, layer.nonZeros);
    w.addVector(layer.units);
    readoutWidth = layer.units;
  }
  const double classes =
      static_cast<double>(vocabularyOf(spec.task).classCount);
  w.addDense(classes, readoutWidth);
  w.addVector(classes);
  return {H, w.parameters, w.bytes};
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

void wireCopyHead(Network &net, const CopyHead &h) {
  AttentionHead &head = std::get<TransformerBody>(net.body).layers[0].heads[0];
  head.query.dense()
      .block(0, h.Q, h.k, h.k)
      .diagonal()
      .setConstant(static_cast<float>(h.eta));
  head.key.dense().block(0, h.K, h.k, h.k).diagonal().setOnes();
  head.value.dense().block(0, h.S, h.V, h.V).diagonal().setOnes();
  head.output.dense().block(h.S, 0, h.V, h.V).diagonal().setOnes();
  net.readout.weight.block(0, h.S, h.V, h.V).diagonal().setOnes();
}

HeadCertificate certifyCopyHead(const ModelSpec &m, double gap,
                                int64_t competitors, double leakage, int64_t k,
                                int64_t D) {
  SelectionHead s;
  s.head = "layers.0.heads.0";
  s.gap = gap;
  s.competitors = competitors;
  s.leakage = leakage;
  s.dotLength = k;
  s.residualWidth = D;
  return certifySelectionHead(s, m);
}

void recordCopyHead(Network &net, const CodeCertificate &code,
                    HeadCertificate head, std::string argument) {
  Certificate &cert = net.certificate;
  cert.code = code;
  cert.readoutMargin = 1 - 2 * head.outputError;
  cert.heads.push_back(std::move(head));
  // Logits are attention averages of 0/1 values over up to M keys; a narrow
  // algebraic code spreads the leaked mass over many keys, so the summation
  // order shows (SoftmaxScale.h).
  cert.logitTolerance = attentionAverageTolerance(net.maxSequenceLength);
  cert.argument = std::move(argument);
  checkHeadCertificates(cert, net.precision);
}

} // namespace handwire
