// How many distinct values each hidden unit of an RNN construction takes, by
// the invariant its proof establishes: what "information bits" of state mean
// on the separation card. The stored state is units x storage bits (a 0/1
// unit in fp32 takes 32); the information in it is at most the sum over units
// of log2(number of values the unit can take), 1 bit for a 0/1 unit.
//
// The claims are listed here by construction id and state block name (the
// network's residual blocks), each restating the "Claim" of its
// construction's proof; tests/unit/StateValuesTest.cpp runs the reference
// evaluator over generated inputs of every RNN construction and checks that
// every unit stays in its claimed set, and that every block of every RNN
// construction is claimed. A network whose blocks do not match (another
// construction, a hand-edited model file) gets no claim.
#pragma once

#include "ir/Network.h"
#include "spec/TaskSpec.h"

#include <optional>
#include <string>
#include <vector>

namespace handwire {

// The units of one state block take the integers 0 .. values - 1.
struct BlockValues {
  std::string block; // the residual block's name
  int64_t offset = 0, width = 0;
  int64_t values = 2;
  std::string why; // one line: why no other value occurs
};

struct StateValues {
  std::vector<BlockValues> blocks; // in state order, covering every unit
  std::string argument;            // where the invariant is proved
  // sum over units of log2(values): bits of information the state can hold,
  // counted unit by unit (joint constraints such as a one-hot pointer, which
  // would lower it further, are not used).
  double informationBits() const;
  // "5120 units x 1 bit (0/1: ptr, gate, slot)", one group per
  // value count.
  std::string describe() const;
};

// The claim for `net` on `task`, if it is an Elman network built by an RNN
// construction that lists one and its blocks are that construction's
// (names, in order, covering all net.width units). nullopt otherwise.
std::optional<StateValues> stateValues(const TaskSpec &task,
                                       const Network &net);

} // namespace handwire
