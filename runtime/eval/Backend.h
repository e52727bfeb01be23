// A backend runs a Network's forward pass on one input and returns its logits.
// The reference evaluator and the JIT both implement it; the eval harness
// compares them with each other and with the task semantics.
#pragma once

#include <cstdint>
#include <string>

namespace handwire {

class Backend {
public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Writes classCount logits for the token sequence tokens[0 .. length)
  // and, for a model with continuous inputs (Embedding::featureDim() = F >
  // 0), its vectors features[0 .. length F) (row i is position i's; null:
  // all zero). Must be safe to call concurrently from several threads.
  virtual void logits(const int32_t *tokens, int64_t length,
                      const float *features, double *out) const = 0;
  // A token-only input.
  void logits(const int32_t *tokens, int64_t length, double *out) const {
    logits(tokens, length, nullptr, out);
  }
};

} // namespace handwire
