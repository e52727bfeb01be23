#include "eval/EvalSettings.h"

#include "support/Diagnostics.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace handwire {

EvalOptions evalOptionsFor(const EvalSpec &spec, const EvalOverrides &o) {
  EvalOptions eo;
  eo.samples = o.samples > 0 ? o.samples : spec.samples;
  eo.seed = o.seed.value_or(spec.seed);
  eo.inputs = o.inputs.value_or(spec.inputs);
  return eo;
}

std::optional<InputDistribution>
inputDistributionByName(const std::string &name) {
  for (InputDistribution d :
       {InputDistribution::Uniform, InputDistribution::Adversarial,
        InputDistribution::Mixed})
    if (name == inputDistributionName(d))
      return d;
  return std::nullopt;
}

const char *const kDecisionFileHeader =
    "# handwire eval decisions: MODEL DECISION EXPECTED TOKEN... (decision "
    "-1: a tie)\n";

void writeDecisionLines(std::ostream &out, const std::string &model,
                        const std::vector<DecisionRecord> &records) {
  for (const DecisionRecord &r : records) {
    out << model << ' ' << r.decision << ' ' << r.expected;
    for (int32_t t : r.tokens)
      out << ' ' << t;
    out << '\n';
  }
}

std::string decisionFeaturesComment(
    const std::string &sidecar,
    const std::vector<std::pair<std::string, int64_t>> &dims) {
  std::string line = "# features: F";
  for (const auto &[model, F] : dims)
    line += " " + model + "=" + std::to_string(F);
  return line +
         "; binary, per input line in order: uint32 count, then count x "
         "(uint32 position, F float32), little-endian, positions not listed "
         "are zero; sidecar: " +
         sidecar + "\n";
}

namespace {
// Little-endian whatever the host (the layout is the file's, not the CPU's).
void putU32(std::string &buf, uint32_t v) {
  for (int b = 0; b < 4; ++b)
    buf.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}
} // namespace

void writeDecisionFeatures(std::ostream &out,
                           const std::vector<DecisionRecord> &records,
                           int64_t F) {
  std::string buf;
  for (const DecisionRecord &r : records) {
    const int64_t M = static_cast<int64_t>(r.tokens.size());
    HW_ASSERT(r.features.empty() ||
                  static_cast<int64_t>(r.features.size()) == M * F,
              "a decision record's features are not length x F");
    // Most rows are zero (nearest neighbour: only the points carry vectors),
    // so only the others are written.
    std::vector<uint32_t> rows;
    for (int64_t i = 0; !r.features.empty() && i < M; ++i) {
      const float *row = r.features.data() + i * F;
      if (std::any_of(row, row + F, [](float x) { return x != 0.0f; }))
        rows.push_back(static_cast<uint32_t>(i));
    }
    buf.clear();
    putU32(buf, static_cast<uint32_t>(rows.size()));
    for (uint32_t i : rows) {
      putU32(buf, i);
      for (int64_t k = 0; k < F; ++k) {
        uint32_t bits;
        std::memcpy(&bits, &r.features[static_cast<size_t>(i * F + k)], 4);
        putU32(buf, bits);
      }
    }
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  }
}

namespace {

// The '# features:' line: F of each model, and the sidecar's path (relative
// to the decisions file's directory).
struct FeatureLine {
  std::map<std::string, int64_t> dims;
  std::string sidecar;
};

FeatureLine parseFeatureLine(const std::string &where, const std::string &line,
                             const std::string &decisionsPath) {
  const std::string head = "# features: F", tail = "; sidecar: ";
  const size_t semi = line.find(';'), side = line.rfind(tail);
  if (line.rfind(head, 0) != 0 || semi == std::string::npos ||
      side == std::string::npos)
    throw UserError(where + ": malformed '# features:' line");
  FeatureLine f;
  std::istringstream pairs(line.substr(head.size(), semi - head.size()));
  for (std::string kv; pairs >> kv;) {
    const size_t eq = kv.rfind('=');
    int64_t F = -1;
    if (eq != std::string::npos && eq + 1 < kv.size() &&
        kv.find_first_not_of("0123456789", eq + 1) == std::string::npos)
      F = std::stoll(kv.substr(eq + 1));
    if (F < 0 || F > (int64_t{1} << 20))
      throw UserError(where + ": malformed 'MODEL=F' in '# features:'");
    f.dims[kv.substr(0, eq)] = F;
  }
  const std::filesystem::path dir =
      std::filesystem::path(decisionsPath).parent_path();
  f.sidecar = (dir / line.substr(side + tail.size())).string();
  return f;
}

uint32_t getU32(std::istream &in, const std::string &where) {
  unsigned char b[4];
  if (!in.read(reinterpret_cast<char *>(b), 4))
    throw UserError(where + ": truncated");
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 |
         uint32_t(b[3]) << 24;
}

// Reads the sidecar's records in order into the records of the wanted model
// (`wanted[k]`: the index among `all` input lines of records[k]).
void readSidecarInto(const FeatureLine &f,
                     const std::vector<std::string> &lineModels,
                     const std::string &model,
                     std::vector<DecisionRecord> &records) {
  std::ifstream in(f.sidecar, std::ios::binary);
  if (!in)
    throw UserError("cannot read the features sidecar '" + f.sidecar + "'");
  size_t next = 0; // the next of `records` to fill
  for (size_t line = 0; line < lineModels.size(); ++line) {
    const std::string where = f.sidecar + ": record " + std::to_string(line);
    const auto dim = f.dims.find(lineModels[line]);
    if (dim == f.dims.end())
      throw UserError(where + ": model '" + lineModels[line] +
                      "' has no F in the '# features:' line");
    const int64_t F = dim->second;
    const uint32_t count = getU32(in, where);
    const bool mine = lineModels[line] == model;
    DecisionRecord *r = mine ? &records.at(next++) : nullptr;
    const int64_t M = r ? static_cast<int64_t>(r->tokens.size()) : 0;
    if (r && F > 0)
      r->features.assign(static_cast<size_t>(M * F), 0.0f);
    for (uint32_t k = 0; k < count; ++k) {
      const uint32_t pos = getU32(in, where);
      if (r && pos >= static_cast<uint64_t>(M))
        throw UserError(where + ": position " + std::to_string(pos) + " of " +
                        std::to_string(M));
      for (int64_t c = 0; c < F; ++c) {
        const uint32_t bits = getU32(in, where);
        if (r)
          std::memcpy(&r->features[static_cast<size_t>(pos * F + c)], &bits, 4);
      }
    }
  }
}

} // namespace

std::vector<DecisionRecord> readDecisionRecords(const std::string &path,
                                                const std::string &model) {
  std::ifstream in(path);
  if (!in)
    throw UserError("cannot read '" + path + "'");
  std::vector<DecisionRecord> records;
  std::vector<std::string> lineModels; // the model of every input line
  std::optional<FeatureLine> features;
  std::string line;
  for (int64_t lineNo = 1; std::getline(in, line); ++lineNo) {
    const std::string where = path + ":" + std::to_string(lineNo);
    if (line.rfind("# features:", 0) == 0)
      features = parseFeatureLine(where, line, path);
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream fields(line);
    std::string name;
    DecisionRecord r;
    if (!(fields >> name >> r.decision >> r.expected))
      throw UserError(where + ": expected MODEL DECISION EXPECTED TOKEN...");
    lineModels.push_back(name);
    if (name != model)
      continue;
    for (int64_t t; fields >> t;) {
      if (t < 0 || t > INT32_MAX)
        throw UserError(where + ": token " + std::to_string(t) +
                        " out of range");
      r.tokens.push_back(static_cast<int32_t>(t));
    }
    if (!fields.eof())
      throw UserError(where + ": a token is not an integer");
    r.index = static_cast<int64_t>(lineModels.size()) - 1;
    records.push_back(std::move(r));
  }
  if (records.empty())
    throw UserError(path + ": no inputs for model '" + model + "'");
  if (features)
    readSidecarInto(*features, lineModels, model, records);
  return records;
}

} // namespace handwire
