// The inequality chain behind a selection head, evaluated with the numbers a
// model stores and the arithmetic its forward pass runs (docs/certificates.md
// and docs/codes.md write it out). A construction's proof says "the target key
// gets weight
// >= 1 - delta"; this is the part of the proof that holds after rounding.
//
// Arithmetic model (the one PrecisionCertificate, `eval --precision` and the
// JIT's 16-bit passes share): weights and activations are stored in the
// model's format, unit roundoff us (2^-24 f32, 2^-11 f16, 2^-8 bf16; an f64
// model stores f32 weights, so 2^-24 too); sums accumulate with unit roundoff
// ua (2^-24; 2^-53 for f64); gamma_n = n ua / (1 - n ua).
//
// For a head whose target key beats each of its C competitors by gap g per
// unit of scale, and whose |q_l| |k_l| sum to at most B per unit of scale:
//  1. stored scale  s~ = fl(s) when the scale is a weight itself (the derived
//                   scale is rounded up to a format number, so s~ = s), else
//                   s (1 - us).
//  2. input error   every entry of q and k is within eps = (1 + us)^R
//                   (1 + gamma_S) - 1 of its exact value, relative to the sum
//                   of its terms' magnitudes (R roundings, sums of S terms).
//  3. score error   |score~ - score| <= E = [(1 + eps)^2 (1 + gamma_dk)
//                   (1 + us) - 1] s~ B (a construction may prove a smaller
//                   bound for fp32 storage and declare it).
//  4. computed gap  the target leads every competitor by G = s~ g - 2 E > 0,
//                   so it is the maximum and its exponent is exactly 0.
//  5. exponents     fl(x_j - x_t) <= -(1 - ua) G; exp (JIT: within 2 ulp;
//                   clamped at -87.34) and its storage give every competitor
//                   e_j <= c = max(e^-(1-ua) G, e^-87.34) (1 + 4 ua) (1 + us)
//                   + (half the format's smallest subnormal).
//  6. weights       the sum Z~ of 1 and C such terms is at most
//                   min((1 + C c)(1 + gamma_{C+1}), 1 + 2 (1 + gamma_{C+1})^2
//                   C c) (each addition errs by at most its smaller operand),
//                   so the target's weight 1 / Z~ >= w, and after the division
//                   and the stored average, w' = w (1 - ua)(1 - us).
//  7. leak          a non-target class collects at most C c (1 + gamma_{C+1})
//                   (1 + ua)(1 + us) =: l of the output.
//  8. holds         when w' >= 1 - delta and l <= delta: the head's output is
//                   within delta of the target's (0/1) value, as the proof
//                   needs; a copy head's read-out margin is then w' - l.
#pragma once

#include "ir/Network.h"

#include <string>
#include <vector>

namespace handwire {

struct Arithmetic {
  double store = 0;         // us
  double sum = 0;           // ua
  double halfSubnormal = 0; // half the format's smallest positive number
};
Arithmetic arithmeticOf(Precision p);
// A hypothetical format with `bits` significand bits (fp32 accumulation,
// fp32's exponent range): how many bits a head needs.
Arithmetic arithmeticWithSignificand(int bits);

struct SelectionChain {
  double storedScale = 0;   // 1
  double inputError = 0;    // 2: eps
  double scoreError = 0;    // 3: E
  double computedGap = 0;   // 4: G
  double competitorExp = 0; // 5: c
  double targetWeight = 0;  // 6: w'
  double leak = 0;          // 7: l
  double outputError = 1;   // max(1 - w', l): the delta the chain delivers
  bool holds = false;       // 8
  // The chain in words, one step per line, with its numbers.
  std::vector<std::string> steps;
};

SelectionChain selectionChain(const HeadCertificate &h, double scale,
                              const Arithmetic &a);

// The smallest scale at which the chain holds in precision p (a format
// number when h.scaleIsWeight, so that storing it loses nothing); infinity
// when no scale does (the gap is within the rounding).
double soundSoftmaxScale(const HeadCertificate &h, Precision p);

// Significand bits (fp32 accumulation) at which the chain holds at h.scale;
// 54 when none up to 53 does.
int requiredSignificandBits(const HeadCertificate &h);

// Sets h's chain results (storedScale, scoreError, worstTargetWeight,
// outputError) for precision p at h.scale, and returns the chain.
SelectionChain fillSelectionChain(HeadCertificate &h, Precision p);

} // namespace handwire
