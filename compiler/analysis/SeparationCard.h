// The separation card of a compiled model (paper-constructions.md §7.4):
// its sizes in the units the lower bounds are stated in (bits at the model's
// precision), the lower bound that applies to its architecture on its task
// (from the task's definition, tasks/TaskDefinition.h), evaluated, and a
// verdict.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <optional>
#include <string>

namespace handwire {

struct SeparationCard {
  std::string task, architecture, construction, result;
  int64_t maxLength = 0, alphabetSize = 0;
  int precisionBits = 32;
  int64_t layers = 0, heads = 0, width = 0, codeDim = 0, parameters = 0;
  // Of `layers`, those that are identities (no head, no MLP, no parameter:
  // a construction padded to the depth asked for). The bound is the one for
  // the layers that compute: a model whose other layers are identities
  // computes what a model of that depth does, so that depth's bound binds it.
  int64_t identityLayers = 0;
  // RNN: hidden units x precision. One-layer Transformer (one layer that
  // computes): the cut of the communication protocol, heads x (value width +
  // 1) x precision.
  std::string sizeMeasure; // "state bits" | "cut bits" | "width"
  int64_t sizeBits = 0;
  // RNN state two ways. Stored: sizeBits, units x storage bits. Information:
  // sum over units of log2(values the unit takes), 1 bit for a 0/1 unit, from
  // the construction's invariant (analysis/StateValues.h); absent where no
  // invariant is claimed (Transformers, a state the claim does not match).
  std::optional<double> informationBits;
  std::string informationDetail;   // "7168 units x 1 bit (0/1: ptr, ...)"
  std::string informationArgument; // where the value sets are proved
  // The applicable lower bound, in bits (absent: none applies).
  std::string bound; // formula, e.g. "state bits >= N log2|alphabet|"
  std::optional<double> boundBits;
  std::string boundKind = "none"; // "state-size" | "cut" | "none"
  std::string boundKindMeaning;   // what the kind counts, in words
  std::string boundArgument;      // the communication / counting argument
  std::string boundPrecision;     // the precision model it assumes
  std::string boundNote;          // why it applies (or why none does)
  bool respectsBound = true;
  std::string verdict;
};

SeparationCard separationCard(const TaskSpec &task, const Network &net);

// The lower bound that rules out (or constrains) an architecture on a task,
// in one sentence with its value, e.g. for a one-layer Transformer on bounded
// Dyck; empty if none applies. (The task definition's LowerBound::refusal.)
std::string lowerBoundFor(const TaskSpec &task, Architecture arch, int layers);

} // namespace handwire
