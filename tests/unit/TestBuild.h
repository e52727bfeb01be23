// Builds one model of a spec through the pipeline (stages 3-4), failing the
// test with the diagnostics when it is refused.
#pragma once

#include "Pipeline.h"
#include "support/Diagnostics.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace handwire::testing {

inline Network build(const Spec &spec, int model, CompileOptions opt = {}) {
  DiagnosticEngine diags;
  std::optional<Network> net =
      buildNetwork(spec, spec.models[static_cast<size_t>(model)], opt, diags);
  std::string all;
  for (const auto &d : diags.diagnostics())
    all += diags.render(d);
  EXPECT_TRUE(net.has_value()) << all;
  return net ? std::move(*net) : Network{};
}

} // namespace handwire::testing
