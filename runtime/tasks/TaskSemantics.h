// Ground truth of each task, computed from the token sequence alone and
// independently of any network (paper-constructions.md §3).
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

// Whether brackets[0 .. n) is in Dyck-(k, m): well nested, depth <= m.
bool isBoundedDyck(const TaskSpec &task, const int32_t *brackets, int64_t n);

// The correct class of a well-formed input.
int64_t groundTruth(const TaskSpec &task, const std::vector<int32_t> &tokens);

} // namespace handwire
