// Structural invariants of a Network, checked after every construction.
// A violation is a bug in the construction, not a user error.
//
//  1. counts: tokenCount, classCount, maxSequenceLength, width are >= 1.
//  2. blocks: non-empty names, unique, in order, covering [0, width) exactly.
//  3. transformer shapes: token (tokenCount, D), position (maxSequenceLength,
//  D);
//     per head query/key (dk, D) with equal dk >= 1, value (dv, D), output (D,
//     dv); MLP in (H, D), inBias (H), out (D, H), outBias (D); at least one
//     layer.
//  4. RNN shapes: recurrent (H, H), input (H, tokenCount), bias and initial
//  (H); head layer k: weight (w_k, w_{k-1}) with w_k >= 1 and w_{-1} = H,
//  bias (w_k).
//  5. read-out: weight (classCount, readoutWidth()), bias (classCount);
//     readoutWidth() is the width, or the last head layer's w_k.
//  6. every weight is finite; sparse matrices are compressed.
//  7. certificate: each head certificate has gap > 0, leakage in (0, 1/2),
//     and certified == (no failures); a code certificate, if any (selection
//     heads over a position code carry one), has measured coherence in
//     [0, 1].
#pragma once

#include "ir/Network.h"

#include <string>
#include <vector>

namespace handwire {

// Every violated invariant, as one line each; empty if the network is sound.
std::vector<std::string> verifyNetwork(const Network &net);

} // namespace handwire
