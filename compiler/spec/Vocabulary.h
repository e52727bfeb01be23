// The token vocabulary and the output classes of a task: the encoding every
// architecture shares (paper-constructions.md §3, §9). Each task's definition
// (tasks/*Task.cpp) documents and computes its own; e.g. index lookup:
//   tokens  0 .. V-1          data symbols, in alphabet order
//   tokens  V .. V+N-1        IDX_1 .. IDX_N (the query "which position?")
//   classes 0 .. V-1          the symbol at the queried position
// The fields below name the tokens with a role; a task leaves the others at
// their defaults.
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
  int64_t endToken = -1;       // bounded Dyck: <eos>; pair tasks: <out>
  int64_t firstLabelToken = 0; // nearest neighbour: token id of label 0
  int64_t beginToken = -1;     // nearest neighbour: <bos>

  // Human-readable name of a token or a class, e.g. "b" or "IDX_17"
  // ("<invalid 42>" out of range).
  std::string tokenName(const TaskSpec &task, int64_t token) const;
  std::string className(const TaskSpec &task, int64_t cls) const;
};

// The task definition's vocabulary (tasks/TaskDefinition.h).
Vocabulary vocabularyOf(const TaskSpec &task);

} // namespace handwire
