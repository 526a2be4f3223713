// reference.test.mjs - the C core against an independent float64 reference written from the
// equations in include/lstm.h (tests/reference/lstm_reference.mjs), in both wasm builds:
// predictBatch outputs and evaluateBatch losses over random configurations that cover every cell
// and option, and computeGradients against central finite differences of the reference loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model } from '../dist/lstm.js';
import { builds, compare, rng } from './helpers.mjs';
import { fromModel, referenceLoss, referenceOutputs } from './reference/lstm_reference.mjs';

const all = await builds();

// Each case: model options (initScale 0.3..0.5 so gates are not all near 0.5 and the recurrent
// and cell terms matter), batch B x T, and whether the sequences have uneven lengths.
// Hidden sizes mix odd ones (the SIMD kernels' tails) with multiples of 4.
const CASES = [
  ['lstm tokens softmax seq', { vocabSize: 6, hiddenSize: 5 }, 3, 5, false],
  ['lstm dense mse last 2 layers', { inputSize: 3, outputSize: 2, hiddenSize: 8, layers: 2, head: 'mse', returnSequences: false }, 4, 6, true],
  ['lstm tokens softmax last 3 layers', { vocabSize: 5, outputSize: 3, hiddenSize: 7, layers: 3, returnSequences: false }, 3, 6, true],
  ['lstm dense softmax seq H16', { inputSize: 4, outputSize: 5, hiddenSize: 16, layers: 2 }, 3, 5, true],
  ['peephole dense softmax seq', { inputSize: 3, outputSize: 4, hiddenSize: 9, peephole: true }, 4, 6, true],
  ['peephole tokens mse last 2 layers', { vocabSize: 5, outputSize: 3, hiddenSize: 4, layers: 2, peephole: true, head: 'mse', returnSequences: false }, 3, 5, false],
  ['cifg tokens softmax seq 2 layers', { vocabSize: 7, hiddenSize: 13, layers: 2, cifg: true }, 3, 6, true],
  ['cifg dense mse seq', { inputSize: 2, outputSize: 3, hiddenSize: 5, cifg: true, head: 'mse' }, 3, 5, false],
  ['peephole+cifg dense softmax last 2 layers', { inputSize: 3, outputSize: 4, hiddenSize: 7, layers: 2, peephole: true, cifg: true, returnSequences: false }, 4, 6, true],
  ['relu lstm tokens softmax seq', { vocabSize: 6, hiddenSize: 6, activation: 'relu' }, 3, 5, true],
  ['relu lstm+peephole dense mse seq 2 layers', { inputSize: 3, outputSize: 2, hiddenSize: 9, layers: 2, activation: 'relu', peephole: true, head: 'mse' }, 3, 5, true],
  ['layer norm tokens softmax seq', { vocabSize: 6, hiddenSize: 5, layerNorm: true }, 3, 5, false],
  ['layer norm dense mse last 2 layers', { inputSize: 3, outputSize: 2, hiddenSize: 12, layers: 2, layerNorm: true, head: 'mse', returnSequences: false }, 4, 6, true],
  ['gru tokens softmax last', { vocabSize: 6, outputSize: 4, hiddenSize: 7, cell: 'gru', returnSequences: false }, 4, 6, true],
  ['gru dense softmax seq 3 layers', { inputSize: 3, outputSize: 4, hiddenSize: 8, layers: 3, cell: 'gru' }, 3, 5, false],
  ['relu gru tokens softmax seq 2 layers', { vocabSize: 5, hiddenSize: 5, layers: 2, cell: 'gru', activation: 'relu' }, 3, 6, true],
  ['relu gru dense mse last', { inputSize: 2, outputSize: 3, hiddenSize: 9, cell: 'gru', activation: 'relu', head: 'mse', returnSequences: false }, 4, 5, true],
  ['proj dense mse seq 2 layers', { inputSize: 3, outputSize: 2, hiddenSize: 7, projSize: 3, layers: 2, head: 'mse' }, 3, 6, true],
  ['proj+peephole tokens softmax last', { vocabSize: 6, outputSize: 3, hiddenSize: 9, projSize: 4, peephole: true, returnSequences: false }, 4, 5, true],
  ['proj+cifg dense softmax seq', { inputSize: 2, outputSize: 4, hiddenSize: 6, projSize: 5, cifg: true }, 3, 5, false],
  ['bidi lstm tokens softmax seq 2 layers', { vocabSize: 6, hiddenSize: 5, layers: 2, bidirectional: true }, 3, 6, true],
  ['bidi lstm dense mse last', { inputSize: 3, outputSize: 2, hiddenSize: 7, bidirectional: true, head: 'mse', returnSequences: false }, 4, 6, true],
  ['bidi gru tokens softmax last 2 layers', { vocabSize: 5, outputSize: 3, hiddenSize: 9, layers: 2, cell: 'gru', bidirectional: true, returnSequences: false }, 4, 5, true],
  ['bidi gru dense mse seq 3 layers', { inputSize: 2, outputSize: 2, hiddenSize: 4, layers: 3, cell: 'gru', bidirectional: true, head: 'mse' }, 3, 5, true],
  ['bidi layer norm dense softmax seq 2 layers', { inputSize: 3, outputSize: 4, hiddenSize: 5, layers: 2, layerNorm: true, bidirectional: true }, 3, 5, true],
  ['bidi proj+peephole dense mse last 2 layers', { inputSize: 3, outputSize: 2, hiddenSize: 7, projSize: 3, layers: 2, peephole: true, bidirectional: true, head: 'mse', returnSequences: false }, 3, 6, true],
  ['bidi relu cifg tokens mse seq', { vocabSize: 5, outputSize: 2, hiddenSize: 13, cifg: true, activation: 'relu', bidirectional: true, head: 'mse' }, 3, 5, true],
  ['hard-sigmoid lstm tokens softmax seq 2 layers', { vocabSize: 6, hiddenSize: 7, layers: 2, recurrentActivation: 'hardSigmoid' }, 3, 5, true],
  ['hard-sigmoid peephole+cifg proj dense mse last', { inputSize: 3, outputSize: 2, hiddenSize: 9, projSize: 4, peephole: true, cifg: true, recurrentActivation: 'hardSigmoid', head: 'mse', returnSequences: false }, 4, 5, true],
  ['hard-sigmoid gru dense softmax seq', { inputSize: 3, outputSize: 4, hiddenSize: 6, cell: 'gru', recurrentActivation: 'hardSigmoid' }, 3, 5, false],
  ['reset-before gru tokens softmax seq 2 layers', { vocabSize: 6, hiddenSize: 9, layers: 2, cell: 'gru', resetAfter: false }, 3, 6, true],
  ['bidi reset-before hard relu gru dense mse last', { inputSize: 2, outputSize: 3, hiddenSize: 5, cell: 'gru', resetAfter: false, recurrentActivation: 'hardSigmoid', activation: 'relu', bidirectional: true, head: 'mse', returnSequences: false }, 4, 5, true],
];

/** A random batch for case k (seeded: the same in every run and build). Uneven lengths keep
 * one full-length sequence and a length-1 one. */
function makeBatch(k, config, B, T, masked) {
  const r = rng(1000 + k);
  const n = B * T;
  const batch = { batch: B, steps: T };
  if (config.dense) batch.inputs = Float32Array.from({ length: n * config.inputSize }, () => 2 * r() - 1);
  else batch.tokens = Int32Array.from({ length: n }, () => Math.floor(r() * config.vocabSize));
  if (masked) batch.lengths = Int32Array.from({ length: B }, (_, b) => (b === 0 ? T : b === 1 ? 1 : 2 + Math.floor(r() * (T - 2))));
  const rows = config.returnSequences ? n : B;
  if (config.head === 'mse') batch.targetValues = Float32Array.from({ length: rows * config.outputSize }, () => 2 * r() - 1);
  else batch.targets = Int32Array.from({ length: rows }, () => Math.floor(r() * config.outputSize));
  return batch;
}

/** Case k's model in a build, with two changes to the random init (through setParameters):
 * layer-norm gains and biases start at exactly 1 and 0, which would hide a wrong or missing
 * gain or bias, so they get random values; and a relu unit whose candidate is negative at every
 * step is dead (no output, no gradient), so the candidate rows' bias_ih moves up by 0.5 to
 * keep most units alive. */
async function makeModel(k, options, wasm) {
  const model = await Model.create({ ...options, seed: 7 + k, initScale: 0.3 + 0.2 * ((k * 7) % 5) / 4, wasm });
  const { layerNorm, activation, cifg, hiddenSize: H } = model.config;
  if (layerNorm || activation === 'relu') {
    const r = rng(500 + k);
    const p = model.parameters();
    for (const t of model.tensors()) {
      if (t.name.startsWith('layer_norm')) {
        const half = t.size / 2; // row 0 gains, row 1 biases
        for (let i = 0; i < t.size; i++) p[t.offset + i] = (i < half ? 1 : 0) + 0.6 * r() - 0.3;
      }
      if (activation === 'relu' && t.name.startsWith('bias_ih')) {
        const g = cifg ? H : 2 * H; // rows of g (LSTM i, f, g, o; CIFG i, g, o) or n (GRU r, z, n)
        for (let j = 0; j < H; j++) p[t.offset + g + j] += 0.5;
      }
    }
    model.setParameters(p);
  }
  return model;
}

// ---- tolerances (measured maxima over all cases, both builds, are printed at the end) ----
// The core computes in float32, with exp/sigmoid/tanh from a polynomial of relative error
// < 4e-7 (src/fastmath.h); the reference is float64.
// Each breakage named below was made in a copy of the core and made this file fail.
// Outputs (probabilities and mse values of order 0.01..1): measured at most 2.3e-7 apart (a
// layer-norm case; the others <= 8e-8). The tolerance is PyTorch parity's (helpers.mjs); the
// f and o rows swapped, b_hn dropped or moved out of the reset product, the o peephole on
// c_{t-1}, layer-norm eps 1e-3 or no cell-norm bias, the reverse direction read from the padded
// end: each moves some output by 9e-5 .. 3e-1.
const OUT_ATOL = 1e-6;
const OUT_RTOL = 1e-5;
// Loss (evaluateBatch and computeGradients): a float64 sum of float32 terms of order 1;
// measured at most 4.2e-8 apart.
const LOSS_TOL = 5e-7;
// Gradients: central differences of the float64 reference with h = 1e-5 are good to ~1e-10
// (truncation h^2 f''' / 6, rounding 1e-16 / h), so the difference is the core's float32
// backward pass: measured at most 3.6e-7 absolute (layer norm, where 1/std amplifies rounding;
// the others <= 8e-8) on gradients of order 1e-6 .. 0.8. A term of the LSTM, GRU or peephole
// backward scaled by 0.97, or a term dropped (peephole, layer-norm variance), moves sampled
// entries by 3e-5 .. 5e-1.
const GRAD_ATOL = 1e-6;
const GRAD_RTOL = 1e-4;
const FD_STEP = 1e-5;
const SAMPLES_PER_TENSOR = 10;

/** Central differences of the reference loss at SAMPLES_PER_TENSOR random entries of each
 * tensor (all entries of smaller ones), and at every input value of a dense batch. */
function finiteDifferences(ref, batch, k) {
  const r = rng(2000 + k);
  const grads = []; // { tensor, index, value }
  for (const [name, values] of ref.tensors) {
    const picks = new Set();
    const want = Math.min(values.length, SAMPLES_PER_TENSOR);
    while (picks.size < want) picks.add(Math.floor(r() * values.length));
    for (const i of picks) {
      const v = values[i];
      values[i] = v + FD_STEP;
      const up = referenceLoss(ref, batch);
      values[i] = v - FD_STEP;
      const down = referenceLoss(ref, batch);
      values[i] = v;
      grads.push({ tensor: name, index: i, value: (up - down) / (2 * FD_STEP) });
    }
  }
  let inputs = null;
  if (ref.config.dense) {
    const x = Float64Array.from(batch.inputs);
    const b64 = { ...batch, inputs: x };
    inputs = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      x[i] = v + FD_STEP;
      const up = referenceLoss(ref, b64);
      x[i] = v - FD_STEP;
      const down = referenceLoss(ref, b64);
      x[i] = v;
      inputs[i] = (up - down) / (2 * FD_STEP);
    }
  }
  return { grads, inputs };
}

/** Assert a comparison passed, naming the first entry outside the tolerance; returns
 * { maxAbs, worst } (worst: the largest difference as a fraction of its tolerance). */
function check(what, actual, expected, atol, rtol, label = (i) => i) {
  const c = compare(actual, expected, atol, rtol);
  const i = c.firstBad;
  if (i >= 0) assert.fail(`${what} ${label(i)}: core ${actual[i]} vs reference ${expected[i]} (max abs diff ${c.maxAbs.toExponential(2)}, tolerance ${atol} + ${rtol} * |reference|)`);
  return c;
}

const fdCache = new Map(); // case -> finite differences (the same parameters in both builds)
const worst = Object.fromEntries(all.map((b) => [b.name, { out: 0, loss: 0, grad: 0, dx: 0, frac: 0 }]));
const fmt = (c) => `${c.maxAbs.toExponential(1)} (${(100 * c.worst).toFixed(0)}% of tol)`;

for (const build of all) {
  CASES.forEach(([name, options, B, T, masked], k) => {
    test(`${build.name}: ${name} (H ${options.hiddenSize}) matches the float64 reference`, async () => {
      const model = await makeModel(k, options, build.wasm);
      try {
        // computeGradients applies dropout as in training: these models have none
        assert.equal(model.config.dropout + model.config.recurrentDropout, 0);
        const ref = fromModel(model); // also checks the tensor layout against the header's
        const batch = makeBatch(k, model.config, B, T, masked);
        const { targets, targetValues, ...inputs } = batch;
        // forward: outputs from a zero state, padded steps zero
        const out = check('output', model.predictBatch(inputs), referenceOutputs(ref, batch), OUT_ATOL, OUT_RTOL);
        const refLoss = referenceLoss(ref, batch);
        const { loss } = model.evaluateBatch(batch);
        const lossDiff = Math.abs(loss - refLoss);
        assert.ok(lossDiff <= LOSS_TOL, `loss: core ${loss} vs reference ${refLoss} (diff ${lossDiff.toExponential(2)}, tolerance ${LOSS_TOL})`);
        // backward: every tensor's sampled gradients (and dense input gradients) against
        // finite differences; computeGradients runs from the carried state, so zero it first
        if (!fdCache.has(k)) fdCache.set(k, finiteDifferences(ref, batch, k));
        const fd = fdCache.get(k);
        model.resetState();
        const got = model.computeGradients(batch);
        const gradLossDiff = Math.abs(got.loss - refLoss);
        assert.ok(gradLossDiff <= LOSS_TOL, `computeGradients loss: core ${got.loss} vs reference ${refLoss} (diff ${gradLossDiff.toExponential(2)}, tolerance ${LOSS_TOL})`);
        const offsets = new Map(model.tensors().map((t) => [t.name, t.offset]));
        const actual = fd.grads.map((g) => got.gradients[offsets.get(g.tensor) + g.index]);
        const grad = check('gradient', actual, fd.grads.map((g) => g.value), GRAD_ATOL, GRAD_RTOL,
          (i) => `${fd.grads[i].tensor}[${fd.grads[i].index}]`);
        const w = worst[build.name];
        let extra = '';
        if (fd.inputs) {
          const dx = check('input gradient', got.inputGradients, fd.inputs, GRAD_ATOL, GRAD_RTOL);
          extra = `, input grads ${fmt(dx)}`;
          w.dx = Math.max(w.dx, dx.maxAbs);
          w.frac = Math.max(w.frac, dx.worst);
        }
        w.out = Math.max(w.out, out.maxAbs);
        w.loss = Math.max(w.loss, lossDiff, gradLossDiff);
        w.grad = Math.max(w.grad, grad.maxAbs);
        w.frac = Math.max(w.frac, out.worst, grad.worst, Math.max(lossDiff, gradLossDiff) / LOSS_TOL);
        console.log(`  ${build.name} ${name}: outputs ${fmt(out)}, loss ${Math.max(lossDiff, gradLossDiff).toExponential(1)}, grads ${fmt(grad)} (${fd.grads.length} entries)${extra}`);
      } finally {
        model.dispose();
      }
    });
  });
}

test('max differences from the reference, per build', () => {
  for (const [name, w] of Object.entries(worst)) {
    console.log(`  ${name}: outputs ${w.out.toExponential(2)}, loss ${w.loss.toExponential(2)}, gradients ${w.grad.toExponential(2)}, input gradients ${w.dx.toExponential(2)}; largest ${(100 * w.frac).toFixed(0)}% of a tolerance`);
  }
});
