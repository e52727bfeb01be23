#!/usr/bin/env node
// Loads a handwire .onnx file in ONNX Runtime (onnxruntime-node) and replays
// inputs written by `handwire eval --write-decisions FILE`, comparing the
// model's decisions with handwire's.
//
// Usage: node replay.js MODEL.onnx DECISIONS MODEL_NAME [--batch B]
//   DECISIONS lines: MODEL DECISION EXPECTED TOKEN...   ('#' lines: comments)
//   A model with continuous inputs (ONNX input `features`) reads them from the
//   binary sidecar named by the file's '# features:' line (docs/export.md).
//   --batch B: MODEL.onnx was exported with `--onnx-batch`; the inputs are
//   grouped by length and run up to B of one length per call.
// Prints one summary line; exit 0 if every decision matches, 1 otherwise,
// 2 on a usage or loading error.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg, code) {
  console.error(`replay.js: ${msg}`);
  process.exit(code);
}

// Decision rule of handwire (docs/export.md): argmax, -1 on a tied maximum.
function decide(logits) {
  let best = 0, tie = false;
  for (let c = 1; c < logits.length; ++c) {
    if (logits[c] > logits[best]) { best = c; tie = false; }
    else if (logits[c] === logits[best]) tie = true;
  }
  return tie ? -1 : best;
}

// A decisions file: the inputs of model `name` as [{line, record, decision,
// tokens}] (tokens as BigInts; record: the 0-based index of the line among
// all input lines, which is its place in the features sidecar), the model of
// every input line, and the '# features:' line's content if there is one:
// {dims: Map model -> F, sidecar: path}. Throws on a malformed line or when
// model `name` has no inputs.
function readDecisions(decisionsPath, name) {
  const cases = [], models = [];
  let features = null;
  const lines = fs.readFileSync(decisionsPath, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.startsWith('# features: ')) features = parseFeatureLine(decisionsPath, i + 1, line);
    if (!line || line.startsWith('#')) return;
    const f = line.trim().split(/\s+/);
    models.push(f[0]);
    if (f[0] !== name) return;
    if (f.length < 4) throw new Error(`${decisionsPath}:${i + 1}: expected MODEL DECISION EXPECTED TOKEN...`);
    cases.push({ line: i + 1, record: models.length - 1, decision: Number(f[1]), tokens: f.slice(3).map(BigInt) });
  });
  if (cases.length === 0) throw new Error(`${decisionsPath}: no inputs for model '${name}'`);
  return { cases, models, features };
}

function readCases(decisionsPath, name) {
  return readDecisions(decisionsPath, name).cases;
}

// "# features: F MODEL=F ...; LAYOUT; sidecar: NAME" (docs/export.md); NAME
// is relative to the decisions file's directory.
function parseFeatureLine(decisionsPath, lineNo, line) {
  const m = /^# features: F((?: [^ =;]+=\d+)*);.*; sidecar: (.+)$/.exec(line);
  if (!m) throw new Error(`${decisionsPath}:${lineNo}: malformed '# features:' line`);
  const dims = new Map();
  for (const kv of m[1].trim().split(' ').filter(Boolean)) {
    const eq = kv.lastIndexOf('=');
    dims.set(kv.slice(0, eq), Number(kv.slice(eq + 1)));
  }
  return { dims, sidecar: path.join(path.dirname(decisionsPath), m[2]) };
}

// Reads the sidecar front to back in 1 MiB chunks (an input at N = 4096 with
// d = 64 carries ~1 MB of features; the whole file can be gigabytes), record
// by record; per record: uint32 count, then count x (uint32 position,
// F float32), little-endian.
class FeatureReader {
  constructor(file, dims, models) {
    this.file = file;
    this.dims = dims;
    this.models = models;
    this.fd = fs.openSync(file, 'r');
    this.buf = Buffer.alloc(1 << 20);
    this.start = 0; // unread bytes are buf[start, end)
    this.end = 0;
    this.offset = 0; // file offset of buf[end]
    this.record = 0; // the next record in the file
  }

  dimOf(record) {
    const F = this.dims.get(this.models[record]);
    if (F === undefined) throw new Error(`${this.file}: no F for model '${this.models[record]}' in the '# features:' line`);
    return F;
  }

  // Makes n bytes readable at buf[start]; throws if the file ends first.
  need(n) {
    if (this.end - this.start >= n) return;
    if (n > this.buf.length) {
      const bigger = Buffer.alloc(n);
      this.buf.copy(bigger, 0, this.start, this.end);
      this.buf = bigger;
    } else {
      this.buf.copy(this.buf, 0, this.start, this.end);
    }
    this.end -= this.start;
    this.start = 0;
    while (this.end < n) {
      const got = fs.readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.offset);
      if (got === 0) throw new Error(`${this.file}: truncated at record ${this.record}`);
      this.end += got;
      this.offset += got;
    }
  }

  u32() {
    this.need(4);
    const v = this.buf.readUInt32LE(this.start);
    this.start += 4;
    return v;
  }

  skip(n) {
    const inBuf = Math.min(n, this.end - this.start);
    this.start += inBuf;
    this.offset += n - inBuf;
  }

  // Record `record`'s features as a dense length x F Float32Array (zero rows
  // where the sidecar lists none). Records are read in increasing order.
  read(record, length, F) {
    if (record < this.record) throw new Error(`${this.file}: record ${record} read twice`);
    for (; this.record < record; ++this.record) this.skip(this.u32() * 4 * (1 + this.dimOf(this.record)));
    if (this.dimOf(record) !== F) throw new Error(`${this.file}: record ${record} has F = ${this.dimOf(record)}, the model takes ${F}`);
    const out = new Float32Array(length * F);
    const count = this.u32();
    if (count > length) throw new Error(`${this.file}: record ${record} lists ${count} rows for ${length} positions`);
    for (let r = 0; r < count; ++r) {
      const pos = this.u32();
      if (pos >= length) throw new Error(`${this.file}: record ${record}: position ${pos} of ${length}`);
      this.need(4 * F);
      for (let k = 0; k < F; ++k) out[pos * F + k] = this.buf.readFloatLE(this.start + 4 * k);
      this.start += 4 * F;
    }
    ++this.record;
    return out;
  }
}

// onnxruntime-node, resolved from this directory's node_modules (so that
// bench/compare's ONNX Runtime side finds the same install).
function loadOrt() {
  return require('onnxruntime-node');
}

// Compares the graph's decisions for a run of `rows` inputs (logits
// [rows, classes] row-major) with handwire's; counts into `tally`.
function compareRows(out, group, decisionsPath, tally) {
  const classes = out.logits.data.length / group.length;
  group.forEach((c, r) => {
    const logits = Array.from(out.logits.data.slice(r * classes, (r + 1) * classes), Number);
    const got = Number(out.decision.data[r]);
    // The graph's own decision output must follow the documented rule.
    if (decide(logits) !== got) ++tally.ruleMismatches;
    if (got !== c.decision) {
      if (tally.mismatches < 5)
        console.log(`  mismatch at ${decisionsPath}:${c.line}: handwire ${c.decision}, onnxruntime ${got}, ` +
                    `logits [${logits.join(', ')}]`);
      ++tally.mismatches;
    }
  });
}

// Runs `group` (inputs of one length, each with its features or null) in one
// call: tokens [rows, length] (batched) or [length] (one input).
async function runGroup(ort, session, group, F, batched) {
  const length = group[0].tokens.length;
  const tokens = new BigInt64Array(group.length * length);
  group.forEach((c, r) => tokens.set(c.tokens, r * length));
  const feeds = { tokens: new ort.Tensor('int64', tokens, batched ? [group.length, length] : [length]) };
  if (F > 0) {
    const f = new Float32Array(group.length * length * F);
    group.forEach((c, r) => f.set(c.features, r * length * F));
    feeds.features = new ort.Tensor('float32', f, batched ? [group.length, length, F] : [length, F]);
  }
  return session.run(feeds);
}

function parseArgs(argv) {
  const positional = [];
  let batch = 0;
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--batch') {
      batch = Number(argv[++i]);
      if (!Number.isInteger(batch) || batch < 1) fail(`--batch needs a positive integer, got '${argv[i]}'`, 2);
    } else positional.push(argv[i]);
  }
  if (positional.length !== 3) fail('usage: node replay.js MODEL.onnx DECISIONS MODEL_NAME [--batch B]', 2);
  return { modelPath: positional[0], decisionsPath: positional[1], name: positional[2], batch };
}

async function main() {
  const { modelPath, decisionsPath, name, batch } = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = loadOrt();
  } catch (e) {
    fail(`cannot load onnxruntime-node (${e.message})`, 2);
  }
  let decisions;
  try {
    decisions = readDecisions(decisionsPath, name);
  } catch (e) {
    fail(e.message, 2);
  }
  const cases = decisions.cases;

  let session;
  try {
    session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (e) {
    fail(`ONNX Runtime cannot load ${modelPath}: ${e.message}`, 2);
  }
  // A model with continuous inputs declares `features` [length, F]; its
  // vectors come from the sidecar the decisions file names.
  let features = null, F = 0;
  if (session.inputNames.includes('features')) {
    const d = decisions.features;
    if (!d || !(d.dims.get(name) > 0))
      fail(`${modelPath} takes features, but ${decisionsPath} gives none for '${name}' (no '# features:' line)`, 2);
    F = d.dims.get(name);
    try {
      features = new FeatureReader(d.sidecar, d.dims, decisions.models);
    } catch (e) {
      fail(`cannot read the features sidecar: ${e.message}`, 2);
    }
  }
  const start = Date.now();
  const tally = { mismatches: 0, ruleMismatches: 0, calls: 0 };
  const run = async (group) => {
    let out;
    try {
      out = await runGroup(ort, session, group, F, batch > 0);
    } catch (e) {
      fail(`ONNX Runtime cannot run ${modelPath} on ${group.length} input(s) of length ${group[0].tokens.length}: ${e.message}`, 2);
    }
    ++tally.calls;
    compareRows(out, group, decisionsPath, tally);
    for (const c of group) c.features = null; // a sidecar can be gigabytes
  };
  // Inputs wait in a group per length until B of them are there (features
  // are read in file order as the inputs come); the rest run at the end.
  const pending = new Map();
  for (const c of cases) {
    if (features) {
      try {
        c.features = features.read(c.record, c.tokens.length, F);
      } catch (e) {
        fail(e.message, 2);
      }
    }
    if (!batch) {
      await run([c]);
      continue;
    }
    const length = c.tokens.length;
    if (!pending.has(length)) pending.set(length, []);
    const group = pending.get(length);
    group.push(c);
    if (group.length === batch) {
      await run(group);
      pending.set(length, []);
    }
  }
  for (const length of [...pending.keys()].sort((a, b) => a - b))
    if (pending.get(length).length) await run(pending.get(length));
  const ms = Date.now() - start;
  const { mismatches, ruleMismatches } = tally;
  const calls = batch ? `, ${tally.calls} calls of up to ${batch} (one length per call)` : '';
  console.log(`${name}: ${cases.length} inputs, ${cases.length - mismatches} same decisions, ` +
              `${mismatches} different (onnxruntime-node ${ort.env.versions ? ort.env.versions.common : ''}, ${ms} ms${calls})`);
  if (ruleMismatches) console.log(`  ${ruleMismatches} decision outputs disagree with argmax(logits)`);
  process.exit(mismatches || ruleMismatches ? 1 : 0);
}

module.exports = { decide, readCases, readDecisions, FeatureReader, loadOrt };
if (require.main === module) main().catch((e) => fail(e.stack || String(e), 2));
