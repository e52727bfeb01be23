#include "spec/TaskSpec.h"

#include "tasks/TaskDefinition.h"

#include <algorithm>
#include <cmath>

namespace handwire {

const char *taskKindName(TaskKind k) { return taskDefinition(k).name(); }

std::optional<TaskKind> taskKindByName(const std::string &name) {
  if (const TaskDefinition *d = taskDefinitionByName(name))
    return d->kind();
  return std::nullopt;
}

const char *architectureName(Architecture a) {
  switch (a) {
  case Architecture::Transformer:
    return "transformer";
  case Architecture::RNN:
    return "rnn";
  }
  return "?";
}

const char *codeFamilyName(CodeFamily c) {
  switch (c) {
  case CodeFamily::Auto:
    return "auto";
  case CodeFamily::Rademacher:
    return "rademacher";
  case CodeFamily::RandomLinear:
    return "random_linear";
  case CodeFamily::Binary:
    return "binary";
  case CodeFamily::DualBch:
    return "dual_bch";
  case CodeFamily::Gold:
    return "gold";
  case CodeFamily::ExtendedBch:
    return "ext_bch";
  case CodeFamily::Kerdock:
    return "kerdock";
  }
  return "?";
}

const std::vector<CodeFamily> &allCodeFamilies() {
  static const std::vector<CodeFamily> all = {
      CodeFamily::Auto,        CodeFamily::Rademacher, CodeFamily::RandomLinear,
      CodeFamily::Binary,      CodeFamily::DualBch,    CodeFamily::Gold,
      CodeFamily::ExtendedBch, CodeFamily::Kerdock};
  return all;
}

std::optional<CodeFamily> codeFamilyByName(const std::string &name) {
  for (CodeFamily c : allCodeFamilies())
    if (name == codeFamilyName(c))
      return c;
  return std::nullopt;
}

const char *precisionName(Precision p) {
  switch (p) {
  case Precision::F32:
    return "f32";
  case Precision::F64:
    return "f64";
  case Precision::F16:
    return "f16";
  case Precision::BF16:
    return "bf16";
  }
  return "?";
}

int precisionBits(Precision p) {
  switch (p) {
  case Precision::F32:
    return 32;
  case Precision::F64:
    return 64;
  case Precision::F16:
  case Precision::BF16:
    return 16;
  }
  return 32;
}

int significandBits(Precision p) {
  switch (p) {
  case Precision::F32:
    return 24;
  case Precision::F64:
    return 53;
  case Precision::F16:
    return 11;
  case Precision::BF16:
    return 8;
  }
  return 24;
}

std::optional<Precision> precisionByName(const std::string &name) {
  for (Precision p :
       {Precision::F32, Precision::F64, Precision::F16, Precision::BF16})
    if (name == precisionName(p))
      return p;
  return std::nullopt;
}

const char *inputDistributionName(InputDistribution d) {
  switch (d) {
  case InputDistribution::Uniform:
    return "uniform";
  case InputDistribution::Adversarial:
    return "adversarial";
  case InputDistribution::Mixed:
    return "mixed";
  }
  return "?";
}

namespace {
SourceLoc lookup(const FieldLocs &locs, const std::string &f,
                 const SourceLoc &fallback) {
  auto it = locs.find(f);
  return it != locs.end() ? it->second : fallback;
}
} // namespace

SourceLoc TaskSpec::fieldLoc(const std::string &f) const {
  return lookup(locs, f, loc);
}
int64_t TaskSpec::hammingMargin() const {
  // The tolerance keeps a margin written as an exact multiple of 2/d (0.25 at
  // d = 8) from rounding up past it.
  const double h = margin * static_cast<double>(dimension) / 2;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(h - 1e-9)));
}
double TaskSpec::effectiveMargin() const {
  if (onSphere())
    return margin;
  return 2.0 * static_cast<double>(hammingMargin()) /
         static_cast<double>(dimension);
}

SourceLoc ModelSpec::fieldLoc(const std::string &f) const {
  return lookup(locs, f, loc);
}
SourceLoc EvalSpec::fieldLoc(const std::string &f) const {
  return lookup(locs, f, loc);
}

} // namespace handwire
