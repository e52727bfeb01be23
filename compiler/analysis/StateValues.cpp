#include "analysis/StateValues.h"

#include <cmath>
#include <map>
#include <sstream>

namespace handwire {
namespace {

const char *const kBinary = "0 or 1: integer pre-activations in {-1, 0, 1}";

// One construction's claim: its blocks in state order, the value count of
// each (a function of the task where it grows with N).
struct Claim {
  const char *construction;
  std::vector<std::pair<const char *, const char *>> blocks; // name, why
  const char *argument;
  // Blocks with more than two values: name -> values for the task.
  std::map<std::string, int64_t (*)(const TaskSpec &)> counters = {};
};

int64_t violationsCounted(const TaskSpec &task) { return task.maxLength + 1; }

const std::vector<Claim> &claims() {
  static const std::vector<Claim> table = {
      {"associative_recall/rnn-key-table",
       {{"slot", kBinary}, {"answer", kBinary}},
       "AssociativeRecallRNN.cpp, Claim: every unit is exactly 0 or 1 at "
       "every step (each slot is written at most once)"},
      {"bounded_dyck/rnn-dfa-pairs",
       {{"pairs", kBinary}, {"start", kBinary}},
       "BoundedDyckRNN.cpp, Claim: at most one unit is 1 and all others are "
       "0 at every step"},
      {"bounded_dyck/rnn-hewitt-stack",
       {{"push", kBinary},
        {"pop", kBinary},
        {"detect", kBinary},
        {"latch", kBinary},
        {"accept", kBinary}},
       "BoundedDyckHewittRNN.cpp, Claim (a): every unit is exactly 0 or 1 "
       "(the latches copy the first illegal step's detectors and stop)"},
      {"disjointness/rnn-delay-line",
       {{"delay", kBinary},
        {"clock", kBinary},
        {"phase", kBinary},
        {"violation", kBinary},
        {"count",
         "the number of i <= n with x_i = y_i = 1: an integer 0 .. n"}},
       "PairPredicateRNN.cpp, Proof: all units hold non-negative integers; "
       "d, c, p and e are indicators and L counts violations",
       {{"count", violationsCounted}}},
      {"index_lookup/rnn-pointer-memory",
       {{"ptr", kBinary}, {"gate", kBinary}, {"slot", kBinary}},
       "IndexLookupRNN.cpp, Claim: every unit is exactly 0 or 1 at every "
       "step"},
      {"nearest_neighbour/rnn-memory",
       {{"clock", kBinary},
        {"cur", kBinary},
        {"lab", kBinary},
        {"write_x", kBinary},
        {"mem_x", kBinary},
        {"write_y", kBinary},
        {"mem_y", kBinary}},
       "NearestNeighbourRNN.cpp, notation and Proof: every state unit is "
       "0/1 (clock one-hot, buffers and memories of bits and one-hot "
       "labels)"},
      {"string_equality/rnn-delay-line",
       {{"delay", kBinary},
        {"clock", kBinary},
        {"phase", kBinary},
        {"violation", kBinary},
        {"count", "the number of i <= n with x_i != y_i: an integer 0 .. n"}},
       "PairPredicateRNN.cpp, Proof: all units hold non-negative integers; "
       "d, c, p and e are indicators and L counts violations",
       {{"count", violationsCounted}}},
  };
  return table;
}

} // namespace

double StateValues::informationBits() const {
  double bits = 0;
  for (const BlockValues &b : blocks)
    bits +=
        static_cast<double>(b.width) * std::log2(static_cast<double>(b.values));
  return bits;
}

std::string StateValues::describe() const {
  // Group the blocks by value count, in order of first appearance.
  std::vector<std::pair<int64_t, std::pair<int64_t, std::string>>> groups;
  for (const BlockValues &b : blocks) {
    auto it = groups.begin();
    while (it != groups.end() && it->first != b.values)
      ++it;
    if (it == groups.end())
      it = groups.insert(groups.end(), {b.values, {0, ""}});
    it->second.first += b.width;
    it->second.second += (it->second.second.empty() ? "" : ", ") + b.block;
  }
  std::ostringstream os;
  os.precision(4);
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto &[values, rest] = groups[i];
    os << (i ? " + " : "") << rest.first
       << (rest.first == 1 ? " unit x " : " units x ");
    if (values == 2)
      os << "1 bit (0/1: " << rest.second << ")";
    else
      os << "log2 " << values << " = " << std::log2(static_cast<double>(values))
         << " bits (0 .. " << values - 1 << ": " << rest.second << ")";
  }
  return os.str();
}

std::optional<StateValues> stateValues(const TaskSpec &task,
                                       const Network &net) {
  if (net.isTransformer())
    return std::nullopt;
  for (const Claim &c : claims()) {
    if (net.provenance.construction != c.construction)
      continue;
    if (net.blocks.size() != c.blocks.size())
      return std::nullopt;
    StateValues sv;
    sv.argument = c.argument;
    int64_t next = 0;
    for (size_t i = 0; i < c.blocks.size(); ++i) {
      const ResidualBlock &b = net.blocks[i];
      if (b.name != c.blocks[i].first || b.offset != next || b.width < 0)
        return std::nullopt;
      next += b.width;
      BlockValues v{b.name, b.offset, b.width, 2, c.blocks[i].second};
      if (auto it = c.counters.find(b.name); it != c.counters.end())
        v.values = it->second(task);
      sv.blocks.push_back(v);
    }
    if (next != net.width)
      return std::nullopt;
    return sv;
  }
  return std::nullopt;
}

} // namespace handwire
