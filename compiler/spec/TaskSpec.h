// The validated meaning of a .task file: the front end's output and the input
// of every later stage. Every field keeps the location of the text it came
// from, so that construction and certification errors can point at it.
#pragma once

#include "support/SourceLoc.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace handwire {

// Field name -> where its value was written (absent for defaults).
using FieldLocs = std::map<std::string, SourceLoc>;

// The key of a task's definition (tasks/TaskDefinition.h), which knows
// everything else about it.
enum class TaskKind {
  IndexLookup,
  BoundedDyck,
  StringEquality,
  Disjointness,
  NearestNeighbour,
  AssociativeRecall
};
enum class Architecture { Transformer, RNN };
// Position-code families (codes-and-bounds.md §1); Auto picks the narrowest
// one whose certificate meets the construction's requirement.
enum class CodeFamily {
  Auto,
  Rademacher,
  RandomLinear,
  Binary,
  DualBch,
  Gold,
  ExtendedBch,
  Kerdock
};
// Storage precision of weights and activations. F16 and BF16 accumulate in
// fp32 (as 16-bit matrix units do).
enum class Precision { F32, F64, F16, BF16 };
enum class InputDistribution { Uniform, Adversarial, Mixed };

// The definition's name, "index_lookup", and back.
const char *taskKindName(TaskKind k);
std::optional<TaskKind> taskKindByName(const std::string &name);
const char *architectureName(Architecture a); // "transformer", "rnn"
const char *codeFamilyName(CodeFamily c);     // "rademacher"
std::optional<CodeFamily> codeFamilyByName(const std::string &name);
const std::vector<CodeFamily> &allCodeFamilies(); // Auto first
const char *precisionName(Precision p);           // "f32", "bf16", ...
int precisionBits(Precision p);                   // 32, 64, 16
int significandBits(Precision p); // with the implicit bit: 24, 53, 11, 8
std::optional<Precision> precisionByName(const std::string &name);
const char *inputDistributionName(InputDistribution d); // "uniform", ...

struct TaskSpec {
  TaskKind kind = TaskKind::IndexLookup;
  SourceLoc loc;                     // of the task kind identifier
  std::vector<std::string> alphabet; // distinct data symbols, in order
  int64_t maxLength = 0;             // N: the longest data part of an input
  // bounded_dyck: Dyck-(k, m), k bracket types, nesting depth at most m.
  int64_t brackets = 2; // k
  int64_t depth = 2;    // m
  // nearest_neighbour: points of {+1,-1}^d / sqrt(d) (points = cube, one
  // token each) or any unit vectors of R^d (points = sphere, continuous
  // inputs), L labels, and the promised margin Delta: <x_q, x_i*> >= <x_q,
  // x_j> + Delta for j != i*.
  std::string points = "cube"; // "cube" | "sphere"
  int64_t dimension = 0;       // d
  int64_t labels = 0;          // L
  double margin = 0;           // Delta, as written (0 < Delta <= 2)
  // associative_recall: K distinct keys (the values are the alphabet).
  int64_t keys = 0;
  FieldLocs locs;

  SourceLoc fieldLoc(const std::string &field) const; // falls back to loc
  // nearest_neighbour: inner products of cube points are 1 - 2h/d for a
  // Hamming distance h, so the margin promise is h_j >= h_i* + m with
  // m = ceil(Delta d / 2): Delta rounded up to a multiple of 2/d.
  int64_t hammingMargin() const;
  // The margin the inputs keep: 2 m / d on the cube, Delta on the sphere.
  double effectiveMargin() const;
  bool onSphere() const { return points == "sphere"; }
};

struct ModelSpec {
  std::string name; // unique in the file; defaults to the architecture name
  Architecture arch = Architecture::Transformer;
  SourceLoc loc; // of the architecture identifier
  // Transformer only:
  int layers = 1;
  CodeFamily code = CodeFamily::Auto;
  uint64_t seed = 0;      // code seed
  double coherence = 0.5; // bound mu on the position code (one- or two-sided)
  double margin = 0.5;    // read-out margin the softmax leakage must leave
  std::optional<double> scale; // expert override of the derived softmax scale
  // RNN only: which construction, where a (task, architecture) has several
  // ("" = the default one; bounded_dyck: "pair_units" or "hewitt").
  std::string construction;
  // All architectures:
  Precision precision = Precision::F32;
  FieldLocs locs;

  SourceLoc fieldLoc(const std::string &field) const; // falls back to loc
};

struct EvalSpec {
  int64_t samples = 10000;
  uint64_t seed = 1;
  InputDistribution inputs = InputDistribution::Mixed;
  SourceLoc loc; // of the eval block (invalid if the block is absent)
  FieldLocs locs;

  SourceLoc fieldLoc(const std::string &field) const;
};

struct Spec {
  std::string file;
  TaskSpec task;
  std::vector<ModelSpec> models; // at least one
  EvalSpec eval;
};

} // namespace handwire
