// Sharded runs (runtime/eval/Shard.h, runtime/sweep/SweepShards.h): --shard
// parsing, the partitions (every input / point exactly once), shard files
// that read back to the very rows written, and a merge that rebuilds the
// unsharded sweep's files byte for byte or refuses, naming the file.
#include "sweep/SweepShards.h"
#include "support/Diagnostics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

namespace handwire {
namespace {

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const UserError &e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Shard, ParsesIOfK) {
  const Shard s = parseShard("2/4");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.text(), "2/4");
  EXPECT_TRUE(parseShard("0/1").whole());
}

TEST(Shard, RefusesWithAClearMessage) {
  EXPECT_NE(errorOf([] { parseShard("5/4"); })
                .find("--shard '5/4': shard index 5 is not below the shard "
                      "count 4 (shards are numbered 0..3)"),
            std::string::npos);
  EXPECT_NE(errorOf([] { parseShard("4/4"); }).find("not below"),
            std::string::npos);
  EXPECT_NE(errorOf([] { parseShard("x/4"); }).find("non-negative integers"),
            std::string::npos);
  EXPECT_NE(errorOf([] { parseShard("0/0"); }).find("K (the number of shards)"),
            std::string::npos);
  for (const char *bad :
       {"", "3", "/4", "1/", "-1/4", "+1/4", " 1/4", "1/4 ", "1/4/5", "1.0/4",
        "0/1000001", "99999999999999999999/4"})
    EXPECT_NE(errorOf([bad] { parseShard(bad); }).find("--shard '"),
              std::string::npos)
        << bad;
}

// Eval: contiguous blocks, sizes within one of each other, covering every
// input exactly once, in shard order.
TEST(Shard, InputBlocksCoverEveryInputOnce) {
  for (int64_t total : {0, 1, 3, 7, 40, 1001})
    for (int64_t k : {1, 2, 3, 4, 7, 50}) {
      int64_t next = 0, smallest = total, largest = 0;
      for (int64_t i = 0; i < k; ++i) {
        const InputRange r = shardInputs(total, {i, k});
        EXPECT_EQ(r.begin, next) << total << " " << i << "/" << k;
        EXPECT_GE(r.size(), 0);
        smallest = std::min(smallest, r.size());
        largest = std::max(largest, r.size());
        next = r.end;
      }
      EXPECT_EQ(next, total);
      EXPECT_LE(largest - smallest, 1);
    }
  // No overflow at the largest sample count -n takes (2^40).
  EXPECT_EQ(shardInputs(int64_t(1) << 40, {999999, 1000000}).end, int64_t(1)
                                                                      << 40);
}

// Sweep: round robin over the canonical order.
TEST(Shard, PointsAreDealtRoundRobin) {
  EXPECT_EQ(shardPoints(10, {1, 4}), (std::vector<size_t>{1, 5, 9}));
  EXPECT_EQ(shardPoints(3, {3, 4}), std::vector<size_t>{});
  std::vector<int> seen(13, 0);
  for (int64_t i = 0; i < 5; ++i)
    for (size_t p : shardPoints(13, {i, 5}))
      ++seen[p];
  EXPECT_EQ(seen, std::vector<int>(13, 1));
}

SweepRow row(const std::string &model, int64_t n) {
  SweepRow r;
  r.task = "index_lookup";
  r.model = model;
  r.architecture = model == "rnn" ? "rnn" : "transformer";
  r.layers = 1;
  r.n = n;
  r.status = "ok";
  r.width = 100 + n;
  r.parameters = 7 * n;
  r.precisionBits = 32;
  r.sizeMeasure = r.plotMeasure = "state bits";
  r.sizeBits = 32 * r.width;
  r.plotBits = double(r.sizeBits);
  r.bound = "N log2 3";
  r.boundBits = double(n) * std::log2(3.0); // not a short decimal
  r.respectsBound = true;
  r.backend = "jit";
  r.threads = 2;
  r.samples = 20;
  r.adversarial = 10;
  r.minMargin = 0.1 + 0.2;
  r.buildMs = 1.0 / 3;
  r.jitMs = 40.125;
  r.evalSeconds = 0.01;
  r.inputsPerSecond = 2000.0 / 3;
  r.inputsPerSecondPerThread = 1e-300;
  return r;
}

// A sweep of 2 models x 5 lengths, as the sweep would order it.
struct Fixture {
  SweepSettings settings;
  std::string specText = "task index_lookup { max_length = 64; }\n";
  std::vector<SweepRow> rows;

  Fixture() {
    settings.input = "specs/index_lookup.task";
    settings.lengths = {16, 32, 64, 128, 256};
    settings.models = {"transformer", "rnn"};
    settings.samples = 20;
    settings.seed = 1;
    settings.inputs = "mixed";
    settings.memoryLimitBytes = int64_t(1) << 30;
    for (int64_t n : settings.lengths)
      for (const std::string &m : settings.models)
        rows.push_back(row(m, n));
    rows[3].status = "mismatch";
    rows[3].mismatches = 2;
    rows[3].minMargin = -std::numeric_limits<double>::infinity();
    rows[4].status = "refused";
    rows[4].reason = "needs 6.4 GB, over the memory limit 1G";
    rows[4].width = 0;
    rows[4].boundBits.reset();
    rows[4].respectsBound.reset();
    rows[4].minMargin.reset();
  }
  std::vector<SweepRow> rowsOf(const Shard &s) const {
    std::vector<SweepRow> out;
    for (size_t p : shardPoints(rows.size(), s))
      out.push_back(rows[p]);
    return out;
  }
  nlohmann::json shard(int64_t i, int64_t k) const {
    return sweepShardJson(settings, specText, {i, k}, rows.size(),
                          rowsOf({i, k}));
  }
  SweepShardFile file(const nlohmann::json &j, const std::string &path) const {
    return parseSweepShard(j.dump(2), path);
  }
};

std::string filesOf(const std::vector<SweepRow> &rows,
                    const nlohmann::json &document) {
  std::ostringstream os;
  writeSweepCsv(os, rows);
  writeSweepTimingsCsv(os, rows);
  os << document.dump(2) << renderSvg(sweepPlot(rows, "specs/x.task"));
  return os.str();
}

TEST(SweepShards, RowsReadBackExactly) {
  const Fixture f;
  for (const SweepRow &r : f.rows) {
    const SweepRow back =
        exactRowFrom(nlohmann::json::parse(exactRowJson(r).dump()), "row");
    EXPECT_EQ(sweepCsvRecord(back), sweepCsvRecord(r));
    EXPECT_EQ(back.boundBits, r.boundBits); // bit for bit
    EXPECT_EQ(back.buildMs, r.buildMs);
    EXPECT_EQ(back.inputsPerSecondPerThread, r.inputsPerSecondPerThread);
    EXPECT_EQ(back.minMargin.has_value(), r.minMargin.has_value());
  }
}

TEST(SweepShards, MergeRebuildsTheUnshardedFiles) {
  const Fixture f;
  const nlohmann::json settings = sweepSettingsJson(f.settings);
  const std::string whole =
      filesOf(f.rows, sweepDocument(f.settings.input, settings, f.rows));
  for (int64_t k : {1, 3, 4, 10, 13}) {
    std::vector<SweepShardFile> files;
    for (int64_t i = k - 1; i >= 0; --i) // any order
      files.push_back(f.file(f.shard(i, k), "s" + std::to_string(i)));
    const MergedSweep m = mergeSweepShards(files);
    EXPECT_EQ(m.shards, static_cast<size_t>(k));
    EXPECT_EQ(m.input, f.settings.input);
    EXPECT_EQ(filesOf(m.rows, m.document()), whole) << k << " shards";
  }
}

TEST(SweepShards, MergeRefusesShardsOfAnotherSweep) {
  Fixture f;
  const auto merge = [&](std::vector<nlohmann::json> shards) {
    std::vector<SweepShardFile> files;
    for (size_t i = 0; i < shards.size(); ++i)
      files.push_back(f.file(shards[i], "f" + std::to_string(i) + ".json"));
    return errorOf([&] { mergeSweepShards(files); });
  };
  EXPECT_EQ(merge({f.shard(0, 3), f.shard(2, 3)}),
            "missing shard 1/3 of the sweep of 'specs/index_lookup.task' "
            "(given: 2 of 3)");
  EXPECT_NE(merge({f.shard(1, 4)}).find("missing shards 0/4, 2/4, 3/4"),
            std::string::npos);
  EXPECT_EQ(merge({f.shard(0, 2), f.shard(1, 2), f.shard(1, 2)}),
            "f2.json and f1.json are the same shard, 1/2");
  EXPECT_NE(merge({f.shard(0, 2), f.shard(1, 3)})
                .find("f1.json and f0.json are not shards of one split"),
            std::string::npos);

  Fixture other;
  other.settings.samples = 21;
  EXPECT_NE(merge({f.shard(0, 2), other.shard(1, 2)})
                .find("different settings: 'samples' (21 against 20)"),
            std::string::npos);
  other = Fixture();
  other.specText += "# edited\n";
  EXPECT_NE(
      merge({f.shard(0, 2), other.shard(1, 2)}).find("the texts of their spec"),
      std::string::npos);
  other = Fixture();
  other.settings.input = "specs/other.task";
  EXPECT_NE(merge({f.shard(0, 2), other.shard(1, 2)}).find("different sweeps"),
            std::string::npos);
}

TEST(SweepShards, CorruptFilesAreNamed) {
  const Fixture f;
  const auto parse = [&](const std::string &text) {
    return errorOf([&] { parseSweepShard(text, "bad.json"); });
  };
  EXPECT_NE(parse("{\"format\": \"handwire sweep shard\"")
                .find("bad.json: not a JSON document"),
            std::string::npos);
  EXPECT_NE(parse("[1, 2]").find("bad.json: not a sweep shard file"),
            std::string::npos);
  nlohmann::json j = f.shard(1, 3);
  j["version"] = 2;
  EXPECT_NE(parse(j.dump()).find("bad.json: shard file version 2"),
            std::string::npos);
  j = f.shard(1, 3);
  j["rows"][1].erase("width");
  EXPECT_EQ(parse(j.dump()), "bad.json: row 1: no field 'width'");
  j = f.shard(1, 3);
  j["rows"][0]["samples"] = "twenty";
  EXPECT_EQ(parse(j.dump()),
            "bad.json: row 0: field 'samples' is not an integer");
  j = f.shard(1, 3);
  j["rows"].erase(2);
  EXPECT_NE(parse(j.dump()).find("holds 2 rows, expected 3"),
            std::string::npos);
  j = f.shard(1, 3);
  std::swap(j["rows"][0], j["rows"][1]);
  EXPECT_NE(parse(j.dump()).find("bad.json: row 0: corrupt: it is point 4"),
            std::string::npos);
  j = f.shard(1, 3);
  j["shard"]["index"] = 3;
  EXPECT_NE(parse(j.dump()).find("bad.json: corrupt: shard '3/3'"),
            std::string::npos);
  j = f.shard(1, 3);
  j["rows"][2]["status"] = "interrupted";
  EXPECT_NE(parse(j.dump()).find("was interrupted; run shard 1/3 again"),
            std::string::npos);
  // Intact, it parses.
  EXPECT_EQ(f.file(f.shard(1, 3), "ok.json").rows.size(), 3u);
}

} // namespace
} // namespace handwire
