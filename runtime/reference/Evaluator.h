// The reference evaluator: a plain Eigen transcription of the forward pass
// defined in ir/Network.h, in float or double. It knows nothing about how a
// network was constructed, which is what makes it the oracle for the JIT.
// The only shortcut it takes is semantic: the read-out looks at the last
// position, so the last layer updates only that row.
#pragma once

#include "eval/Backend.h"
#include "ir/Network.h"
#include "ir/StorageFormat.h"

#include <Eigen/Dense>

#include <functional>

namespace handwire {

template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, 1>
referenceLogits(const Network &net, const int32_t *tokens, int64_t length,
                const float *features = nullptr);

// The Elman recurrence alone, in double: visit(t, h) after token t (0-based)
// with h = h_{t+1}, the state after it. For tests of a construction's
// invariants on its states (tests/unit/StateValuesTest.cpp).
void referenceElmanStates(
    const Network &net, const int32_t *tokens, int64_t length,
    const std::function<void(int64_t, const Eigen::VectorXd &)> &visit);

// Backend adapter; Scalar is float or double.
template <typename Scalar> class ReferenceBackend : public Backend {
public:
  explicit ReferenceBackend(const Network &net) : net_(net) {}
  std::string name() const override;
  using Backend::logits;
  void logits(const int32_t *tokens, int64_t length, const float *features,
              double *out) const override;

private:
  const Network &net_;
};

extern template class ReferenceBackend<float>;
extern template class ReferenceBackend<double>;

// A 16-bit forward pass, emulated exactly: weights and every stored
// activation (embeddings, projections, attention logits and weights, head
// outputs, residual stream, MLP units, RNN and RNN read-out-head
// pre-activations, logits) are rounded to the format, to nearest even; sums
// accumulate in fp32, as in tensor-core and AVX-512 BF16 dot products.
// (StorageFormat and its rounding: ir/StorageFormat.h, shared with the JIT's
// 16-bit plans.)

class LowPrecisionBackend : public Backend {
public:
  LowPrecisionBackend(const Network &net, StorageFormat format);
  std::string name() const override;
  using Backend::logits;
  void logits(const int32_t *tokens, int64_t length, const float *features,
              double *out) const override;

private:
  Network net_; // a copy with rounded weights
  StorageFormat format_;
};

} // namespace handwire
