// The token vocabulary and the output classes of a task: the encoding every
// architecture shares (paper-constructions.md §3, §9). Index lookup:
//   tokens  0 .. V-1          data symbols, in alphabet order
//   tokens  V .. V+N-1        IDX_1 .. IDX_N (the query "which position?")
//   classes 0 .. V-1          the symbol at the queried position
// An input is s_1 .. s_n IDX_p with 1 <= p <= n <= N, read at its last token.
// Bounded Dyck-(k, m):
//   tokens  2c, 2c+1          open and close bracket of type c < k
//   token   2k                <eos>, the read-out token
//   classes 0 reject, 1 accept
// An input is b_1 .. b_n <eos> with 0 <= n <= N.
// String equality and disjointness over {0,1}^n, n = N fixed:
//   tokens  0, 1, 2 = <out>
//   classes equality: 0 different, 1 equal; disjointness: 0 intersect, 1
//   disjoint
// An input is x_1 .. x_n y_1 .. y_n <out> (length 2N + 1).
// Nearest neighbour over the cube {+1,-1}^d / sqrt(d) with L labels:
//   tokens  0 .. 2^d-1        points: point p has coordinate j equal to
//                             +1/sqrt(d) if bit j of p is 0, else -1/sqrt(d)
//                             (named x followed by bits 0 .. d-1 of p)
//   tokens  2^d .. 2^d+L-1    labels y0 .. y{L-1}
//   token   2^d+L             <bos>
//   classes 0 .. L-1          the label of the nearest example
// An input is <bos> x_1 y_1 .. x_n y_n x_q with 1 <= n <= N (length 2n + 2),
// read at x_q. Valid inputs keep the task's margin: the nearest example x_i*
// (largest <x_q, x_i>) leads every other by Hamming distance >= m, i.e. inner
// product >= Delta (TaskSpec::hammingMargin).
#pragma once

#include "spec/TaskSpec.h"

#include <cstdint>
#include <string>

namespace handwire {

struct Vocabulary {
  int64_t tokenCount = 0; // embedding rows
  int64_t classCount = 0; // read-out rows
  int64_t maxSequenceLength =
      0; // longest input in tokens, including query/readout tokens
  int64_t symbolCount = 0;     // V
  int64_t firstIndexToken = 0; // index lookup: token id of IDX_1
  int64_t endToken = -1;       // bounded Dyck: <eos>
  int64_t firstLabelToken = 0; // nearest neighbour: token id of label 0
  int64_t beginToken = -1;     // nearest neighbour: <bos>

  // Human-readable name of a token or a class, e.g. "b" or "IDX_17".
  std::string tokenName(const TaskSpec &task, int64_t token) const;
  std::string className(const TaskSpec &task, int64_t cls) const;
};

Vocabulary vocabularyOf(const TaskSpec &task);

} // namespace handwire
