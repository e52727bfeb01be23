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

#include <cstdint>
#include <string>

namespace handwire {

double requiredSoftmaxScale(double gap, int64_t competitors, double leakage);
double worstTargetWeight(double scale, double gap, int64_t competitors);

// Leakage a one-hot read-out can afford: if the target class gets >= 1 - delta
// and every other class <= delta, its logit leads by >= 1 - 2 delta = margin.
double leakageForReadoutMargin(double margin);

// Certificate of a head that must select one key. `scale` is what the
// network uses (derived, or a user's override).
HeadCertificate certifySelectionHead(const std::string &head, double gap,
                                     int64_t competitors, double leakage,
                                     double scale);

// How far two correct fp32 forward passes may differ on an attention average
// of values in [0, 1] over `keys` keys: recursive summation in any order is
// within (keys - 1) u of the exact sum (Higham, Thm 4.4; u = 2^-24), so two
// orders are within twice that; exp and normalization add a few ulps.
double attentionAverageTolerance(int64_t keys);

// Appends a failure to `cert` for each head whose scale is below its
// requirement, and sets cert.certified accordingly.
void checkHeadCertificates(Certificate &cert);

} // namespace handwire
