#!/usr/bin/env node
// TensorFlow.js (wasm backend) reference figures for the lstm-wasm benchmarks.
//
//   node bench/tfjs_bench.mjs [--workloads W1,W2,G1,G2] [--seconds S] [--repeats R]
//                             [--gen-chars N] [--data PATH] [--seed N] [--manual-clip]
//
// Training (W1, W2): 2-layer tf.layers.lstm (returnSequences) + dense softmax head on the
// 3D output, categoricalCrossentropy on one-hot targets at every step, Adam, trained with
// model.trainOnBatch on char-rnn style batches (B stripes of the text, each step the next
// T chars of every stripe; targets one char later).  tfjs optimizers have no clipnorm, so
// the default path does not clip ("clip": false).  --manual-clip instead runs a hand-written
// step (tf.variableGrads, global-norm clip to 5, optimizer.applyGradients) so the figure
// includes clipping; it then reports "clip": true and "step": "variableGrads".
//
// Generation (G1, G2): the same layer shapes with batchInputShape [1,1,65] and
// stateful: true; one char per model.predictOnBatch call, sampled from the softmax
// (temperature 1, seeded RNG) and fed back.  Weights are untrained.
//
// Everything but the final JSON goes to stderr; the JSON object is the last stdout line.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');

// ---------------------------------------------------------------- CLI
function parseArgs(argv) {
  const o = {
    workloads: ['W1', 'W2', 'G1', 'G2'],
    seconds: 6,
    repeats: 3,
    genChars: 2000,
    data: path.resolve(REPO, '../shared/data/tinyshakespeare.txt'),
    seed: 1234,
    manualClip: false,
  };
  const need = (i, name) => {
    if (i + 1 >= argv.length) die(`missing value for ${name}`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v = null;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    const val = () => (v !== null ? v : need(i++, a));
    switch (a) {
      case '--workloads': o.workloads = val().split(',').map(s => s.trim().toUpperCase()).filter(Boolean); break;
      case '--seconds': o.seconds = Number(val()); break;
      case '--repeats': o.repeats = parseInt(val(), 10); break;
      case '--gen-chars': o.genChars = parseInt(val(), 10); break;
      case '--data': o.data = path.resolve(val()); break;
      case '--seed': o.seed = parseInt(val(), 10); break;
      case '--manual-clip': o.manualClip = true; break;
      case '-h': case '--help':
        process.stderr.write('usage: node bench/tfjs_bench.mjs [--workloads W1,W2,G1,G2] [--seconds S] ' +
          '[--repeats R] [--gen-chars N] [--data PATH] [--seed N] [--manual-clip]\n');
        process.exit(0);
      default: die(`unknown argument ${a}`);
    }
  }
  for (const w of o.workloads) if (!WORKLOADS[w]) die(`unknown workload ${w} (known: ${Object.keys(WORKLOADS).join(',')})`);
  if (!(o.seconds > 0)) die('--seconds must be > 0');
  if (!(o.repeats >= 1)) die('--repeats must be >= 1');
  if (!(o.genChars >= 1)) die('--gen-chars must be >= 1');
  return o;
}

function die(msg) { process.stderr.write(`tfjs_bench: ${msg}\n`); process.exit(2); }
const log = (...a) => process.stderr.write(a.join(' ') + '\n');

const WORKLOADS = {
  W1: { kind: 'train', layers: 2, hidden: 128, seq: 50, batch: 50 },
  W2: { kind: 'train', layers: 2, hidden: 512, seq: 64, batch: 32 },
  G1: { kind: 'gen', layers: 2, hidden: 128 },
  G2: { kind: 'gen', layers: 2, hidden: 512 },
};
const LR = 2e-3, BETA1 = 0.9, BETA2 = 0.999, EPSILON = 1e-8, CLIP_NORM = 5, TEMPERATURE = 1;

const opts = parseArgs(process.argv.slice(2));

// tfjs may console.log banners; keep stdout for the JSON line only.
const stdoutWrite = process.stdout.write.bind(process.stdout);
console.log = (...a) => console.error(...a);
console.info = (...a) => console.error(...a);

// Record which .wasm binary the backend actually reads (the Node build loads it with
// fs.readFileSync through emscripten's readBinary).
const wasmFilesRead = [];
{
  const orig = fs.readFileSync;
  fs.readFileSync = function (p, ...rest) {
    const s = String(p instanceof URL ? p.pathname : p);
    if (s.endsWith('.wasm')) wasmFilesRead.push(path.basename(s));
    return orig.call(this, p, ...rest);
  };
}

const tf = await import('@tensorflow/tfjs');
const tfwasm = await import('@tensorflow/tfjs-backend-wasm');

// In Node the backend finds its binaries next to its own dist/ file (emscripten uses
// __dirname), so setWasmPaths is not strictly needed; we set it anyway to the package's
// dist directory as a plain file path (with trailing slash) so it cannot pick up anything else.
const require = createRequire(import.meta.url);
const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
tfwasm.setWasmPaths(wasmDist);
tfwasm.setThreadsCount(1);
if (!(await tf.setBackend('wasm'))) die('tf.setBackend("wasm") failed');
await tf.ready();
if (tf.getBackend() !== 'wasm') die(`backend is ${tf.getBackend()}, not wasm`);

const env = tf.env();
const flag = (name) => { try { return env.getBool(name); } catch { return null; } };
const SIMD = flag('WASM_HAS_SIMD_SUPPORT');
const MT = flag('WASM_HAS_MULTITHREAD_SUPPORT');
const THREADS = tfwasm.getThreadsCount();
log(`tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}, wasm ${tfwasm.version_wasm}, simd=${SIMD}, ` +
  `multithread=${MT}, threads=${THREADS}, binary=${wasmFilesRead.join(',') || '?'}`);

// ---------------------------------------------------------------- data
const text = fs.readFileSync(opts.data, 'utf8');
const vocab = [...new Set(text)].sort();     // sorted distinct characters (code point order)
const V = vocab.length;
const charIndex = new Map(vocab.map((c, i) => [c, i]));
const ids = new Uint8Array([...text].length);
{ let k = 0; for (const c of text) ids[k++] = charIndex.get(c); }
log(`data ${opts.data}: ${ids.length} chars, V=${V}`);

// char-rnn batches: B stripes of length S; each step takes the next T chars of every stripe
// as input and the chars one later as targets.  A stripe wraps to its start at the end.
class Stripes {
  constructor(B, T) {
    this.B = B; this.T = T;
    this.S = Math.floor((ids.length - 1) / B);
    if (this.S < T + 1) die('text too short for this batch shape');
    this.pos = 0;
    this.x = new Float32Array(B * T * V);
    this.y = new Float32Array(B * T * V);
  }
  next() {
    const { B, T, S, x, y } = this;
    if (this.pos + T + 1 > S) this.pos = 0;
    x.fill(0); y.fill(0);
    for (let b = 0; b < B; b++) {
      const base = b * S + this.pos;
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * V;
        x[o + ids[base + t]] = 1;
        y[o + ids[base + t + 1]] = 1;
      }
    }
    this.pos += T;
    return [tf.tensor3d(x, [B, T, V]), tf.tensor3d(y, [B, T, V])];
  }
}

// ---------------------------------------------------------------- models
// recurrentActivation 'sigmoid' (tfjs defaults to hardSigmoid) to match the standard LSTM
// (PyTorch / Keras 2 / lstm-wasm).  Training models keep the tfjs default initialisers
// (orthogonal recurrent kernel, which tfjs computes slowly in JS: ~20 s per 512-unit layer,
// not timed).  Generation models are untrained, so they use glorotUniform for the
// recurrent kernel to skip that wait; it does not change the cost of a step.
function buildModel({ layers, hidden }, batchInputShape, stateful, fastInit = false) {
  const m = tf.sequential();
  for (let l = 0; l < layers; l++) {
    const cfg = { units: hidden, returnSequences: true, recurrentActivation: 'sigmoid', stateful };
    if (fastInit) cfg.recurrentInitializer = 'glorotUniform';
    if (l === 0) cfg.batchInputShape = batchInputShape;
    m.add(tf.layers.lstm(cfg));
  }
  m.add(tf.layers.dense({ units: V, activation: 'softmax' }));
  return m;
}

const median = (a) => {
  const s = [...a].sort((p, q) => p - q), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const now = () => performance.now();

// ---------------------------------------------------------------- training
async function benchTrain(name, w) {
  const { batch: B, seq: T } = w;
  let t0 = now();
  const model = buildModel(w, [null, T, V], false);
  const optimizer = tf.train.adam(LR, BETA1, BETA2, EPSILON);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const nParams = model.countParams();
  log(`${name}: ${w.layers}x${w.hidden} LSTM, B=${B} T=${T}, ${nParams} params, ` +
    (opts.manualClip ? 'variableGrads step with clip 5' : 'trainOnBatch, no clipping') +
    `, built in ${round((now() - t0) / 1000, 2)} s`);

  const stripes = new Stripes(B, T);
  const vars = opts.manualClip ? model.trainableWeights.map(lw => lw.read()) : null;

  async function step() {
    const [x, y] = stripes.next();
    let loss;
    if (!opts.manualClip) {
      const r = await model.trainOnBatch(x, y);
      loss = Array.isArray(r) ? r[0] : r;
    } else {
      const lossT = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const p = model.apply(x, { training: true });
          return tf.mean(tf.metrics.categoricalCrossentropy(y, p));
        }, vars);
        const names = Object.keys(grads);
        const norm = tf.sqrt(tf.addN(names.map(n => tf.sum(tf.square(grads[n])))));
        const scale = tf.minimum(1, tf.div(CLIP_NORM, tf.add(norm, 1e-6)));
        const clipped = {};
        for (const n of names) clipped[n] = tf.mul(grads[n], scale);
        optimizer.applyGradients(clipped);
        return value;
      });
      loss = (await lossT.data())[0];
      lossT.dispose();
    }
    x.dispose(); y.dispose();
    return loss;
  }

  const losses = [];
  t0 = now();
  for (let i = 0; i < 2; i++) losses.push(await step());
  log(`${name}: warm-up 2 steps ${round((now() - t0) / 1000, 2)} s, loss ${losses.map(l => round(l, 4)).join(' ')}`);
  const tensorsBefore = tf.memory().numTensors;   // after warm-up: Adam moments exist by now

  const runs = [], runSteps = [];
  for (let r = 0; r < opts.repeats; r++) {
    let steps = 0;
    t0 = now();
    let el = 0;
    do {
      losses.push(await step());
      steps++;
      el = (now() - t0) / 1000;
    } while (el < opts.seconds);
    const cps = steps * B * T / el;
    runs.push(round(cps, 1)); runSteps.push(steps);
    log(`${name}: repeat ${r + 1}/${opts.repeats}: ${steps} steps in ${round(el, 2)} s = ${round(cps, 1)} chars/s, ` +
      `${round(el / steps * 1000, 1)} ms/step, loss ${round(losses[losses.length - 1], 4)}`);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0) log(`${name}: note: ${leaked} tensors more than after warm-up (leak?)`);
  const res = {
    chars_per_s: round(median(runs), 1),
    runs,
    run_steps: runSteps,
    ms_per_step: round(B * T / median(runs) * 1000, 2),
    steps_total: losses.length,
    loss_first: round(losses[0], 4),
    loss_last: round(losses[losses.length - 1], 4),
    loss_last10_mean: round(losses.slice(-10).reduce((a, b) => a + b, 0) / Math.min(10, losses.length), 4),
    batch: B, seq: T, hidden: w.hidden, layers: w.layers, params: nParams,
    clip: opts.manualClip,
    step: opts.manualClip ? 'variableGrads+clip+applyGradients' : 'trainOnBatch',
  };
  model.dispose();
  optimizer.dispose();
  return res;
}

// ---------------------------------------------------------------- generation
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sample(p, rng) {
  // temperature 1: sample straight from the softmax output; general T: p^(1/T) renormalised
  let u = rng();
  if (TEMPERATURE !== 1) {
    const q = new Float64Array(p.length); let s = 0;
    for (let i = 0; i < p.length; i++) s += (q[i] = Math.pow(p[i], 1 / TEMPERATURE));
    u *= s; for (let i = 0; i < q.length; i++) { u -= q[i]; if (u < 0) return i; }
    return q.length - 1;
  }
  let s = 0; for (let i = 0; i < p.length; i++) s += p[i];
  u *= s;
  for (let i = 0; i < p.length; i++) { u -= p[i]; if (u < 0) return i; }
  return p.length - 1;
}

async function benchGen(name, w) {
  const model = buildModel(w, [1, 1, V], true, true);
  const N = opts.genChars;
  const nParams = model.countParams();
  log(`${name}: ${w.layers}x${w.hidden} LSTM, batch 1, stateful, ${N} chars per repeat, ${nParams} params`);
  const xb = new Float32Array(V);
  const rng = mulberry32(opts.seed);
  const start = charIndex.get('\n') ?? 0;

  function generate(n) {
    model.resetStates();
    let c = start;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      xb.fill(0); xb[c] = 1;
      const x = tf.tensor3d(xb, [1, 1, V]);
      const y = model.predictOnBatch(x);
      const p = y.dataSync();
      x.dispose(); y.dispose();
      c = sample(p, rng);
      out[i] = c;
    }
    return out;
  }

  // sanity: the state must carry (same input twice gives different outputs)
  {
    model.resetStates();
    xb.fill(0); xb[start] = 1;
    const x = tf.tensor3d(xb, [1, 1, V]);
    const a = model.predictOnBatch(x), b = model.predictOnBatch(x);
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    tf.dispose([x, a, b]);
    if (!(diff > 0)) log(`${name}: WARNING: state does not seem to carry between calls (diff ${diff})`);
  }

  let t0 = now();
  generate(N);   // warm-up: one untimed repeat (JIT, GC, kernel setup)
  log(`${name}: warm-up ${N} chars ${round(now() - t0, 1)} ms`);
  const tensorsBefore = tf.memory().numTensors;

  const runs = [];
  let sampleText = '';
  for (let r = 0; r < opts.repeats; r++) {
    t0 = now();
    const out = generate(N);
    const el = (now() - t0) / 1000;
    const cps = N / el;
    runs.push(round(cps, 1));
    if (r === 0) sampleText = Array.from(out.subarray(0, 60), i => vocab[i]).join('');
    log(`${name}: repeat ${r + 1}/${opts.repeats}: ${N} chars in ${round(el, 3)} s = ${round(cps, 1)} chars/s`);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0) log(`${name}: note: ${leaked} tensors more than after warm-up (leak?)`);
  log(`${name}: sample (untrained): ${JSON.stringify(sampleText)}`);
  model.dispose();
  return {
    chars_per_s: round(median(runs), 1),
    runs,
    chars: N,
    ms_per_char: round(1000 / median(runs), 3),
    hidden: w.hidden, layers: w.layers, params: nParams,
    call: 'predictOnBatch',
    init: 'untrained (glorotUniform recurrent kernel)',
    temperature: TEMPERATURE,
  };
}

// ---------------------------------------------------------------- main
const results = {};
for (const name of opts.workloads) {
  const w = WORKLOADS[name];
  results[name] = w.kind === 'train' ? await benchTrain(name, w) : await benchGen(name, w);
}

const out = {
  system: 'tfjs-wasm',
  version: tf.version.tfjs,
  simd: SIMD,
  threads: THREADS,
  clip: opts.manualClip,
  wasm_binary: wasmFilesRead[wasmFilesRead.length - 1] ?? null,
  node: process.version,
  settings: { seconds: opts.seconds, repeats: opts.repeats, gen_chars: opts.genChars, seed: opts.seed, vocab: V },
  results,
};
stdoutWrite(JSON.stringify(out) + '\n');
