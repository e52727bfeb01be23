#include "ir/Network.h"

namespace handwire {

const ResidualBlock *Network::block(const std::string &name) const {
  for (const auto &b : blocks)
    if (b.name == name)
      return &b;
  return nullptr;
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
  }
  return n;
}

} // namespace handwire
