#!/usr/bin/env node
// ONNX Runtime's side of bench/compare: loads MODEL.onnx in onnxruntime-node
// (one thread: intraOp = interOp = 1), replays the inputs of a decisions file
// (tests/onnx/replay.js reads it), and times session.run alone: one warm-up
// pass over the inputs (its decisions are the ones reported; printed as a
// JSON line at once), then up to R timed passes while the time spent stays
// within S seconds; a last JSON line has everything (CompareJit.cpp's
// protocol).
//
// Usage: node compare_ort.js MODEL.onnx DECISIONS MODEL_NAME [--reps R] [--budget S]
'use strict';
const path = require('path');
const { decide, readDecisions, FeatureReader, loadOrt } = require(path.join(__dirname, '..', 'tests', 'onnx', 'replay.js'));

async function main() {
  const args = process.argv.slice(2);
  const option = (name, value) => {
    const at = args.indexOf(name);
    if (at < 0) return value;
    const v = Number(args[at + 1]);
    args.splice(at, 2);
    return v;
  };
  const reps = Math.max(0, option('--reps', 3));
  const budget = option('--budget', Infinity);
  const [modelPath, decisionsPath, name] = args;
  if (!name) {
    console.error('usage: node compare_ort.js MODEL.onnx DECISIONS MODEL_NAME [--reps R] [--budget S]');
    process.exit(2);
  }
  const ort = loadOrt();
  const decisionsFile = readDecisions(decisionsPath, name);
  const cases = decisionsFile.cases;
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  // Tensors are built before timing: only the forward pass is measured. A
  // model with continuous inputs reads them from the decisions' sidecar.
  let reader = null, F = 0;
  if (session.inputNames.includes('features')) {
    const d = decisionsFile.features;
    if (!d || !(d.dims.get(name) > 0))
      throw new Error(`${modelPath} takes features, but ${decisionsPath} gives none for '${name}'`);
    F = d.dims.get(name);
    reader = new FeatureReader(d.sidecar, d.dims, decisionsFile.models);
  }
  const feeds = cases.map((c) => {
    const length = c.tokens.length;
    const feed = { tokens: new ort.Tensor('int64', BigInt64Array.from(c.tokens), [length]) };
    if (reader) feed.features = new ort.Tensor('float32', reader.read(c.record, length, F), [length, F]);
    return feed;
  });

  const decisions = [];
  let ruleMismatches = 0;
  async function pass(record) {
    const start = process.hrtime.bigint();
    for (const feed of feeds) {
      const out = await session.run(feed);
      if (record) {
        const got = Number(out.decision.data[0]);
        // The graph's decision output must follow handwire's rule.
        if (decide(Array.from(out.logits.data, Number)) !== got) ++ruleMismatches;
        decisions.push(got);
      }
    }
    return Number(process.hrtime.bigint() - start) / 1e9;
  }
  const warmup = await pass(true);
  console.log(JSON.stringify({ decisions, warmup_seconds: warmup })); // what a timeout still leaves
  // Another pass only if it fits in the budget, judged by the last one.
  const repSeconds = [];
  let spent = warmup, last = warmup;
  for (let r = 0; r < reps && spent + last <= budget; ++r) {
    last = await pass(false);
    spent += last;
    repSeconds.push(last);
  }
  const sorted = [...repSeconds].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : warmup;
  console.log(JSON.stringify({
    runtime: 'onnxruntime',
    version: ort.env.versions ? ort.env.versions.common : '',
    model: name,
    inputs: cases.length,
    decisions,
    rule_mismatches: ruleMismatches,
    warmup_seconds: warmup,
    rep_seconds: repSeconds,
    seconds_per_input: median / cases.length,
    load_ms: loadMs,
  }));
}

main().catch((e) => {
  console.error(`compare_ort.js: ${e.stack || e}`);
  process.exit(1);
});
