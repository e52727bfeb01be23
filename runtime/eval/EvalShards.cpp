#include "eval/EvalShards.h"

#include "support/Diagnostics.h"

#include <algorithm>
#include <utility>

namespace handwire {

using nlohmann::json;

namespace {

// doc[key], or a UserError naming the file and the field.
const json &field(const EvalShardOutput &s, const json &doc,
                  const std::string &key) {
  if (!doc.is_object() || !doc.contains(key))
    throw UserError(s.path + ": not an eval shard output: no field '" + key +
                    "'");
  return doc.at(key);
}

int64_t integer(const EvalShardOutput &s, const json &doc,
                const std::string &key) {
  const json &v = field(s, doc, key);
  if (!v.is_number_integer())
    throw UserError(s.path + ": field '" + key + "' is not an integer");
  return v.get<int64_t>();
}

double number(const EvalShardOutput &s, const json &doc,
              const std::string &key) {
  const json &v = field(s, doc, key);
  if (!v.is_number())
    throw UserError(s.path + ": field '" + key + "' is not a number");
  return v.get<double>();
}

// The shards in index order, each once, all of one K and one input count.
std::vector<const EvalShardOutput *>
inShardOrder(const std::vector<EvalShardOutput> &shards) {
  if (shards.empty())
    throw UserError("merge: no eval shard outputs given");
  const EvalShardOutput &first = shards.front();
  const int64_t K = integer(first, field(first, first.doc, "shard"), "count");
  const int64_t of = integer(first, field(first, first.doc, "shard"), "of");
  std::vector<const EvalShardOutput *> byIndex(static_cast<size_t>(K), nullptr);
  for (const EvalShardOutput &s : shards) {
    const json &sh = field(s, s.doc, "shard");
    const int64_t I = integer(s, sh, "index");
    if (integer(s, sh, "count") != K || integer(s, sh, "of") != of)
      throw UserError(s.path + " and " + first.path +
                      " are not shards of one split (count or number of "
                      "inputs differ)");
    if (I < 0 || I >= K)
      throw UserError(s.path + ": shard index " + std::to_string(I) +
                      " is not below the shard count " + std::to_string(K));
    if (byIndex[static_cast<size_t>(I)])
      throw UserError(s.path + " and " + byIndex[static_cast<size_t>(I)]->path +
                      " are both shard " + std::to_string(I) + "/" +
                      std::to_string(K));
    byIndex[static_cast<size_t>(I)] = &s;
  }
  for (int64_t I = 0; I < K; ++I)
    if (!byIndex[static_cast<size_t>(I)])
      throw UserError("missing shard " + std::to_string(I) + "/" +
                      std::to_string(K) + " of the eval of '" +
                      field(first, first.doc, "input").dump() + "'");
  for (const EvalShardOutput *s : byIndex)
    for (const char *key : {"input", "task", "seed", "inputs"})
      if (field(*s, s->doc, key) != field(first, first.doc, key))
        throw UserError(s->path + " and " + first.path +
                        " are shards of different evals: their '" + key +
                        "' differ");
  return byIndex;
}

// One backend's line, joined over the shards (`samples`: the merged count).
json mergeBackends(const std::vector<const EvalShardOutput *> &shards,
                   const std::vector<const json *> &models, int64_t samples) {
  json out = json::array();
  const json &first = field(*shards[0], *models[0], "backends");
  for (size_t b = 0; b < first.size(); ++b) {
    int64_t mismatches = 0;
    double minMargin = 0, seconds = 0;
    for (size_t k = 0; k < shards.size(); ++k) {
      const json &list = field(*shards[k], *models[k], "backends");
      if (list.size() != first.size() ||
          list[b].value("name", "") != first[b].value("name", "?"))
        throw UserError(shards[k]->path +
                        ": its backends differ from shard 0's");
      mismatches += integer(*shards[k], list[b], "mismatches");
      const double m = number(*shards[k], list[b], "min_margin");
      minMargin = k == 0 ? m : std::min(minMargin, m);
      seconds += number(*shards[k], list[b], "seconds");
    }
    json line = first[b];
    line["mismatches"] = mismatches;
    line["accuracy"] =
        samples ? 1.0 - double(mismatches) / double(samples) : 0.0;
    line["min_margin"] = minMargin;
    line["seconds"] = seconds;
    line["inputs_per_second"] = seconds > 0 ? double(samples) / seconds : 0.0;
    out.push_back(line);
  }
  return out;
}

// Model `m` of every shard, joined.
json mergeModel(const std::vector<const EvalShardOutput *> &shards, size_t m,
                int maxReported) {
  std::vector<const json *> models;
  for (const EvalShardOutput *s : shards) {
    const json &list = field(*s, s->doc, "models");
    if (list.size() != field(*shards[0], shards[0]->doc, "models").size())
      throw UserError(s->path + ": its models differ from shard 0's");
    models.push_back(&list[m]);
    for (const char *key : {"name", "architecture", "width", "certificate"})
      if (field(*s, list[m], key) != field(*shards[0], *models[0], key))
        throw UserError(s->path + ": model " + std::to_string(m) + "'s '" +
                        key + "' differs from shard 0's");
    if (field(*s, list[m], "cancelled") == true)
      throw UserError(s->path + ": shard was interrupted: run it again");
  }
  json out = *models[0];
  int64_t samples = 0, adversarial = 0, disagreements = 0;
  double wall = 0, maxDiff = 0;
  json examples = json::array();
  for (size_t k = 0; k < shards.size(); ++k) {
    samples += integer(*shards[k], *models[k], "samples");
    adversarial += integer(*shards[k], *models[k], "adversarial");
    wall += number(*shards[k], *models[k], "wall_seconds");
    for (const json &x : field(*shards[k], *models[k], "mismatch_examples"))
      examples.push_back(x);
    if (models[k]->contains("disagreements")) {
      disagreements += integer(*shards[k], *models[k], "disagreements");
      maxDiff = std::max(
          maxDiff, number(*shards[k], *models[k], "max_logit_difference"));
    }
  }
  // One run keeps the first maxReported by (input index, backend); each
  // shard kept its own first ones, which include those.
  std::stable_sort(examples.begin(), examples.end(),
                   [](const json &a, const json &b) {
                     return std::make_pair(a.value("index", int64_t{0}),
                                           a.value("backend", "")) <
                            std::make_pair(b.value("index", int64_t{0}),
                                           b.value("backend", ""));
                   });
  if (examples.size() > static_cast<size_t>(maxReported))
    examples.erase(examples.begin() + maxReported, examples.end());
  out["samples"] = samples;
  out["adversarial"] = adversarial;
  out["wall_seconds"] = wall;
  out["mismatch_examples"] = examples;
  out["backends"] = mergeBackends(shards, models, samples);
  if (out.contains("disagreements")) {
    out["disagreements"] = disagreements;
    out["max_logit_difference"] = maxDiff;
  }
  return out;
}

} // namespace

bool isEvalShardOutput(const json &doc) {
  return doc.is_object() && doc.contains("shard") && doc.contains("models") &&
         doc["shard"].is_object();
}

json mergeEvalShards(const std::vector<EvalShardOutput> &shards,
                     int maxReported) {
  const std::vector<const EvalShardOutput *> ordered = inShardOrder(shards);
  const EvalShardOutput &first = *ordered.front();
  json out = first.doc;
  out.erase("shard");
  out["samples"] = integer(first, field(first, first.doc, "shard"), "of");
  json models = json::array();
  for (size_t m = 0; m < field(first, first.doc, "models").size(); ++m)
    models.push_back(mergeModel(ordered, m, maxReported));
  out["models"] = models;
  return out;
}

} // namespace handwire
