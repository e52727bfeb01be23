// Ground truth of each task, computed from the token sequence alone and
// independently of any network (paper-constructions.md §3). Each task's
// definition (tasks/*Task.cpp) holds its semantics; these are the entry points.
#pragma once

#include "spec/TaskSpec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace handwire {

// Whether `tokens` is a well-formed input of the task (e.g. index lookup:
// n >= 1 data symbols then one IDX_p with p <= n, n <= N). Returns an empty
// string if so, else what is wrong.
std::string checkInput(const TaskSpec &task,
                       const std::vector<int32_t> &tokens);

// The correct class of a well-formed input.
int64_t groundTruth(const TaskSpec &task, const std::vector<int32_t> &tokens);

// The same for an input with continuous inputs (Example::features; empty for
// a token-only task).
std::string checkInput(const TaskSpec &task, const std::vector<int32_t> &tokens,
                       const std::vector<float> &features);
int64_t groundTruth(const TaskSpec &task, const std::vector<int32_t> &tokens,
                    const std::vector<float> &features);

// --- helpers of single tasks (defined in their definitions' files) ---

// Whether brackets[0 .. n) is in Dyck-(k, m): well nested, depth <= m.
bool isBoundedDyck(const TaskSpec &task, const int32_t *brackets, int64_t n);

// Nearest neighbour: the example nearest to the query of a structurally
// well-formed input <bos> x_1 y_1 .. x_n y_n x_q, by the largest inner product
// <x_q, x_i> (the smallest Hamming distance), and its lead over the runner-up.
// A tie for the nearest is outside the task's promise (the margin forbids
// it); the semantics then name the earliest of the tied examples, and lead is
// 0.
struct NearestExample {
  int64_t index = 0;   // i*, 1-based
  int64_t label = 0;   // y_i*
  int64_t hamming = 0; // Hamming distance from x_q to x_i*
  // Hamming distance of the runner-up minus that of x_i* (d + 1 if n = 1:
  // no competitor).
  int64_t lead = 0;
};
NearestExample nearestExample(const TaskSpec &task,
                              const std::vector<int32_t> &tokens);

// The same with points = sphere, from the points' vectors (features: d
// floats per position), in double: the largest <x_q, x_i> and its lead over
// the runner-up (+inf if n = 1). Ties: the earliest, lead 0.
struct NearestOnSphere {
  int64_t index = 0; // i*, 1-based
  int64_t label = 0; // y_i*
  double inner = 0;  // <x_q, x_i*>
  double lead = 0;
};
NearestOnSphere nearestOnSphere(const TaskSpec &task,
                                const std::vector<int32_t> &tokens,
                                const std::vector<float> &features);

// Points on the sphere are unit vectors up to this in their norm (a float
// vector is within d 2^-24 of unit length); constructions assume norms <=
// 1 + kSphereNormTolerance.
constexpr double kSphereNormTolerance = 0x1p-16;

} // namespace handwire
