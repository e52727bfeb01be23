// The one attention fact every construction uses (paper-constructions.md §6.0,
// codes-and-bounds.md §4.1), written once.
//
// If a query scores its target key at s* and each of `competitors` other keys
// at most s* - gap (per unit of scale), then with scale eta the target's
// softmax weight is at least
//     w(eta) = 1 / (1 + competitors * exp(-eta * gap)),
// so w >= 1 - delta as soon as
//     eta >= [ln(competitors) + ln((1 - delta) / delta)] / gap.
// The head's output is then within delta * (range of the values) of the
// target's value, coordinate by coordinate.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <cstdint>
#include <string>

namespace handwire {

double requiredSoftmaxScale(double gap, int64_t competitors, double leakage);
double worstTargetWeight(double scale, double gap, int64_t competitors);

// Leakage a one-hot read-out can afford: if the target class gets >= 1 - delta
// and every other class <= delta, its logit leads by >= 1 - 2 delta = margin.
double leakageForReadoutMargin(double margin);

// What a construction knows of a selection head before wiring it: its
// requirement and the shape its rounding depends on (SoftmaxChain.h).
struct SelectionHead {
  std::string head; // "layers.0.heads.0"
  double gap = 0;   // per unit of scale
  int64_t competitors = 0;
  double leakage = 0;
  double logitBound = 1; // B
  int layer = 0;         // 0-based: a later layer's inputs carry more rounding
  // R (SoftmaxChain.h step 2); -1: 4 + 3 layer, a bound for any head whose
  // inputs went through `layer` earlier attention layers.
  int inputRoundings = -1;
  int64_t dotLength = 0; // dk
  int64_t residualWidth = 0;
  int64_t sequenceLength = 0; // M: an earlier layer averaged over M keys
  bool scaleIsWeight = true;  // Q stores the scale itself (times powers of 2)
  double scoreErrorUnits = 0; // the construction's own fp32 bound, if any
};

// The head's certificate in the model's precision: the user's scale, or the
// smallest one at which the rounding chain holds (a format number when the
// scale is a weight). A head no scale can certify gets an infinite scale;
// checkHeadCertificates then refuses the model with the chain.
HeadCertificate certifySelectionHead(const SelectionHead &s,
                                     const ModelSpec &model);
// Whether some scale certifies the head in precision p.
bool selectionCertifiable(const SelectionHead &s, Precision p);

// How far two correct fp32 forward passes may differ on an attention average
// of values in [0, 1] over `keys` keys: recursive summation in any order is
// within (keys - 1) u of the exact sum (Higham, Thm 4.4; u = 2^-24), so two
// orders are within twice that; exp and normalization add a few ulps.
double attentionAverageTolerance(int64_t keys);

// Evaluates every head's chain in precision p; appends a failure to `cert`
// for each head where it does not hold, and sets cert.certified accordingly.
void checkHeadCertificates(Certificate &cert, Precision p);

} // namespace handwire
