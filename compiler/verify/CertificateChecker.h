// `handwire verify`: checks a compiled model's certificate from the numbers in
// its model file, for a reader who does not trust the construction code that
// made it. It shares nothing with the compiler's analysis (constructions/,
// analysis/, ir/SoftmaxChain): the format rounding, the selection heads' logit
// gaps and the rounding chain are recomputed here, from the stored weights,
// in double precision with the rounding of every step bounded.
//
// What it recomputes (docs/certificates.md lists it with what it takes on
// trust):
// - every stored weight is finite in the model's format;
// - per selection head: the stored scale (Q's largest entry, for heads whose
//   scale is a weight) against the certificate's minimum and its stored scale;
//   for a layer-0 head whose queries and keys each come from one embedding
//   table, the logit gap measured over every query and key the tables can
//   make, the largest |q||k| sum, and the rounding chain from those numbers;
//   for index lookup, that each index token's best key is its position;
// - a later layer's head: the chain from the certificate's declared gap and
//   error model (its inputs depend on earlier layers: not re-derived);
// - Elman RNNs: the integer-grid argument (weights dyadic with e fraction
//   bits, pre-activations at most B, B 2^e below 2^p) from the stored
//   weights, and a 0/1 initial state.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <string>
#include <vector>

namespace handwire {

struct CertificateCheck {
  std::string subject; // "layers.0.heads.0: stored scale", "weights", ...
  bool ok = false;
  std::string detail;    // the numbers
  bool rederived = true; // false: the certificate's declared numbers, checked
                         // for consistency only
};

struct CertificateReport {
  std::vector<CertificateCheck> checks;
  bool ok() const;
};

CertificateReport checkCertificate(const TaskSpec &task, const Network &net);

} // namespace handwire
