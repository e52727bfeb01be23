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
  // Writes classCount logits for the token sequence tokens[0 .. length).
  // Must be safe to call concurrently from several threads.
  virtual void logits(const int32_t *tokens, int64_t length,
                      double *out) const = 0;
};

} // namespace handwire
