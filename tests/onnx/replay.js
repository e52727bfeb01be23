#!/usr/bin/env node
// Loads a handwire .onnx file in ONNX Runtime (onnxruntime-node) and replays
// inputs written by `handwire eval --write-decisions FILE`, comparing the
// model's decisions with handwire's.
//
// Usage: node replay.js MODEL.onnx DECISIONS MODEL_NAME
//   DECISIONS lines: MODEL DECISION EXPECTED TOKEN...   ('#' lines: comments)
// Prints one summary line; exit 0 if every decision matches, 1 otherwise,
// 2 on a usage or loading error.
'use strict';
const fs = require('fs');

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

// The inputs of model `name` in a decisions file: [{line, decision, tokens}]
// (tokens as BigInts). Throws on a malformed line or when there are none.
function readCases(decisionsPath, name) {
  const cases = [];
  const lines = fs.readFileSync(decisionsPath, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line || line.startsWith('#')) return;
    const f = line.trim().split(/\s+/);
    if (f[0] !== name) return;
    if (f.length < 4) throw new Error(`${decisionsPath}:${i + 1}: expected MODEL DECISION EXPECTED TOKEN...`);
    cases.push({ line: i + 1, decision: Number(f[1]), tokens: f.slice(3).map(BigInt) });
  });
  if (cases.length === 0) throw new Error(`${decisionsPath}: no inputs for model '${name}'`);
  return cases;
}

// onnxruntime-node, resolved from this directory's node_modules (so that
// bench/compare's ONNX Runtime side finds the same install).
function loadOrt() {
  return require('onnxruntime-node');
}

async function main() {
  const [modelPath, decisionsPath, name] = process.argv.slice(2);
  if (!name) fail('usage: node replay.js MODEL.onnx DECISIONS MODEL_NAME', 2);
  let ort;
  try {
    ort = loadOrt();
  } catch (e) {
    fail(`cannot load onnxruntime-node (${e.message})`, 2);
  }
  let cases;
  try {
    cases = readCases(decisionsPath, name);
  } catch (e) {
    fail(e.message, 2);
  }

  let session;
  try {
    session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (e) {
    fail(`ONNX Runtime cannot load ${modelPath}: ${e.message}`, 2);
  }
  const start = Date.now();
  let mismatches = 0, ruleMismatches = 0;
  for (const c of cases) {
    const tokens = new ort.Tensor('int64', BigInt64Array.from(c.tokens), [c.tokens.length]);
    const out = await session.run({ tokens });
    const got = Number(out.decision.data[0]);
    // The graph's own decision output must follow the documented rule.
    if (decide(Array.from(out.logits.data, Number)) !== got) ++ruleMismatches;
    if (got !== c.decision) {
      if (mismatches < 5)
        console.log(`  mismatch at ${decisionsPath}:${c.line}: handwire ${c.decision}, onnxruntime ${got}, ` +
                    `logits [${Array.from(out.logits.data).join(', ')}]`);
      ++mismatches;
    }
  }
  const ms = Date.now() - start;
  console.log(`${name}: ${cases.length} inputs, ${cases.length - mismatches} same decisions, ` +
              `${mismatches} different (onnxruntime-node ${ort.env.versions ? ort.env.versions.common : ''}, ${ms} ms)`);
  if (ruleMismatches) console.log(`  ${ruleMismatches} decision outputs disagree with argmax(logits)`);
  process.exit(mismatches || ruleMismatches ? 1 : 0);
}

module.exports = { decide, readCases, loadOrt };
if (require.main === module) main().catch((e) => fail(e.stack || String(e), 2));
