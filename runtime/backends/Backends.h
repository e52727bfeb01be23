// Which forward passes run a network: the choice `eval --backend` and
// `--precision` make, and the one `sweep` makes (auto), written once.
//
//   auto       the JIT, except for f64, which only the reference evaluator has
//   jit        the LLVM JIT: f32, or f16 / bf16 natively (jit-f16, jit-bf16)
//   reference  the Eigen evaluator: f32, f64, or f16 / bf16 emulated exactly
//   both       the JIT, then the reference evaluator (compared by evaluate())
#pragma once

#include "Pipeline.h"

#include "eval/Backend.h"
#include "ir/Network.h"
#include "ir/StorageFormat.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace handwire {

class JitBackend;

enum class BackendChoice { Auto, Jit, Reference, Both };
const char *backendChoiceName(BackendChoice c); // "auto", "jit", ...
std::optional<BackendChoice> backendChoiceByName(const std::string &name);

// How long the JIT took, for reports (eval's text and JSON, sweep's jit_ms).
struct JitCompileTimes {
  double wallMs = 0; // the whole JitBackend constructor, tables included
  // total: until the model can run (the four stages and the tables wait)
  double totalMs = 0, planMs = 0, emitMs = 0, optimizeMs = 0, codegenMs = 0;
  double tableBytes = 0;  // the plan's key tables: data filled beside LLVM
  int64_t walshHeads = 0; // Walsh heads planned beside LLVM
  double tablesFillMs = 0, tablesWaitMs = 0;
};

// The backends to run, in order (the JIT first), or why there are none.
struct ForwardBackends {
  std::vector<std::unique_ptr<Backend>> owned;
  // The 16-bit format of the forward pass, if the precision is f16 / bf16.
  std::optional<StorageFormat> format;
  const JitBackend *jit = nullptr; // one of `owned`, if the JIT runs
  std::optional<JitCompileTimes> jitTimes;
  std::vector<StageTiming> stages; // the pipeline's stages 5-8 (the JIT's)
  std::string error; // non-empty: the JIT refused the network (nothing runs)

  bool ok() const { return error.empty(); }
  std::vector<const Backend *> list() const;
};

// The backends `choice` runs `net` with, in `precision` (default: the
// network's). Compiles the JIT if it is chosen: a network it refuses (e.g. a
// plan too large; UserError) or memory running out gives `error`.
ForwardBackends chooseBackends(const Network &net, BackendChoice choice,
                               std::optional<Precision> precision = {});

} // namespace handwire
