#include "ir/Network.h"

#include <cmath>

namespace handwire {

int HeadCertificate::requiredBits() const {
  return int(std::ceil(std::log2(12.0 * logitBound / gap))) + 1;
}

const ResidualBlock *Network::block(const std::string &name) const {
  for (const auto &b : blocks)
    if (b.name == name)
      return &b;
  return nullptr;
}

int64_t Network::readoutWidth() const {
  if (isTransformer() || elman().head.empty())
    return width;
  return elman().head.back().weight.rows();
}

int64_t parameterCount(const Network &net) {
  int64_t n = net.readout.weight.size() + net.readout.bias.size();
  if (net.isTransformer()) {
    const TransformerBody &t = net.transformer();
    n += t.embed.token.size() + t.embed.position.size();
    for (const auto &layer : t.layers) {
      for (const auto &h : layer.heads)
        n += h.query.size() + h.key.size() + h.value.size() + h.output.size();
      if (layer.mlp)
        n += layer.mlp->in.size() + layer.mlp->inBias.size() +
             layer.mlp->out.size() + layer.mlp->outBias.size();
    }
  } else {
    const ElmanBody &e = net.elman();
    n += e.recurrent.nonZeros() + e.input.nonZeros() + e.bias.size() +
         e.initial.size();
    for (const HeadLayer &layer : e.head)
      n += layer.weight.nonZeros() + layer.bias.size();
  }
  return n;
}

namespace {
// One walk for both constnesses: Net is Network or const Network.
template <typename Net, typename Visit>
void walkWeights(Net &net, const Visit &visit) {
  auto dense = [&](const std::string &name, auto &m) {
    visit(name, m.data(), int64_t(m.size()));
  };
  auto sparse = [&](const std::string &name, auto &m) {
    visit(name, m.valuePtr(), int64_t(m.nonZeros()));
  };
  if (net.isTransformer()) {
    auto &t = std::get<TransformerBody>(net.body);
    dense("embed.token", t.embed.token);
    dense("embed.position", t.embed.position);
    for (size_t l = 0; l < t.layers.size(); ++l) {
      const std::string L = "layers." + std::to_string(l);
      for (size_t h = 0; h < t.layers[l].heads.size(); ++h) {
        auto &hd = t.layers[l].heads[h];
        const std::string H = L + ".heads." + std::to_string(h);
        dense(H + ".query", hd.query);
        dense(H + ".key", hd.key);
        dense(H + ".value", hd.value);
        dense(H + ".output", hd.output);
      }
      if (auto &mlp = t.layers[l].mlp) {
        dense(L + ".mlp.in", mlp->in);
        dense(L + ".mlp.in_bias", mlp->inBias);
        dense(L + ".mlp.out", mlp->out);
        dense(L + ".mlp.out_bias", mlp->outBias);
      }
    }
  } else {
    auto &e = std::get<ElmanBody>(net.body);
    sparse("rnn.recurrent", e.recurrent);
    sparse("rnn.input", e.input);
    dense("rnn.bias", e.bias);
    dense("rnn.initial", e.initial);
    for (size_t k = 0; k < e.head.size(); ++k) {
      const std::string K = "rnn.head." + std::to_string(k);
      sparse(K + ".weight", e.head[k].weight);
      dense(K + ".bias", e.head[k].bias);
    }
  }
  dense("readout.weight", net.readout.weight);
  dense("readout.bias", net.readout.bias);
}
} // namespace

void forEachWeightArray(const Network &net, const ConstWeightVisitor &visit) {
  walkWeights(net, visit);
}

void forEachWeightArray(Network &net, const WeightVisitor &visit) {
  walkWeights(net, visit);
}

} // namespace handwire
