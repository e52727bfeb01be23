// The bound calculator behind `handwire bound`: given the state of a
// recurrent model someone actually trains (an LSTM, a GRU, stacked Elman
// layers, Mamba or another SSM, linear attention or RetNet), the largest N at
// which each task's RNN lower bound still allows it. The bounds are the
// tasks' own (TaskDefinition::lowerBound, state-size kind), inverted:
// m p >= bits(N) with S = m p the model's state bits.
//
// Every recurrent model is h_t = f(h_{t-1}, w_t) with m numbers of p bits in
// h (paper-constructions.md §2.2), so the bounds hold for all of them; what
// differs is m, which must count every number carried from one token to the
// next (docs/cli.md lists what each family carries).
#pragma once

#include "spec/TaskSpec.h"
#include "tasks/TaskDefinition.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace handwire {

struct StateDescription {
  std::string family; // "lstm", "gru", "elman", "mamba", "ssm",
                      // "linear_attention", "retnet"
  // Every key of the family with its value (given or default), in the
  // family's order; bits last.
  std::vector<std::pair<std::string, int64_t>> parameters;
  double units = 0; // m: numbers carried between tokens
  int64_t bits = 16;
  std::string unitsFormula; // "2 x hidden x layers = 2 x 512 x 2"
  std::string carries;      // what the units are: "h and c per layer"
  double stateBits() const { return units * static_cast<double>(bits); }
  std::string text() const; // "lstm hidden=512 layers=2 bits=16"
};

// Parses "FAMILY KEY=VALUE ...". Throws UserError for an unknown family, an
// unknown, repeated or missing key, or a value that is not a positive integer
// in range (naming the key, the family and its keys), or a state of more than
// 2^53 bits.
StateDescription parseStateDescription(const std::string &text);

// The families and their keys, for --help: "lstm hidden [layers=1] [bits=16]
// (2 x hidden x layers: h and c per layer); ...".
std::string stateFamiliesHelp();

// What a task's RNN lower bound allows at S state bits.
struct LengthLimit {
  LowerBound bound; // at the spec's N: formula, kind, argument, precision
  // The bound allows every N: it is constant in N (bounded Dyck) or stops
  // growing (at its cap) below S.
  bool anyLength = false;
  // Otherwise the largest N it allows (0: not even N = 1).
  int64_t maxLength = 0;
  std::vector<std::string> arithmetic; // the inversion, line by line
};

// Inverts the task's RNN bound at S = stateBits (the other parameters of
// `task` fixed, N varied). Checks the inversion against the bound itself at
// N_max and N_max + 1.
LengthLimit largestLength(const TaskSpec &task, double stateBits);

} // namespace handwire
