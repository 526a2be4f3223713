#!/usr/bin/env node
// make_tfjs_fixtures.mjs - the TensorFlow.js fixtures of tests/tfjs.test.mjs: small layers
// models built with the project's @tensorflow/tfjs dev dependency (cpu backend), their weights
// drawn from a fixed seed, saved through a save handler exactly as model.save() hands them over,
// written as model.json (the form TF.js's savers write) + weights, with TF.js's outputs for
// fixed inputs. Then the Keras files of tests/keras.test.mjs, by tools/keras_fixtures.py.
//
//   node tools/make_tfjs_fixtures.mjs          # (re)write tests/fixtures/tfjs_* and keras_*
//
// TF.js 4.22 refuses to build a GRU with reset_after true (Keras's default), so those fixtures
// are written by hand in the layout tensorflowjs_converter gives a Keras 2 file, and their
// outputs come from a float64 forward pass written from Keras's equations (kerasForward
// below). That reference is first checked against TF.js on every TF.js-built fixture.
// Re-running gives identical files.

import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'tests', 'fixtures');
const B = 3;  // sequences per fixture
const T = 6;  // steps per sequence

/** xorshift32 in [0, 1). */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}
const uniform = (r, scale) => Math.fround((2 * r() - 1) * scale);

// ---- a float64 forward pass of the layers used here, from Keras's equations ----

const ACT = {
  tanh: Math.tanh, relu: (x) => Math.max(0, x), linear: (x) => x,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  hard_sigmoid: (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)),  // Keras 2 and TF.js
};

// x (n) @ W (n, m) at columns [from, from + count)
function vecmat(x, W, m, from, count) {
  const out = new Float64Array(count);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < count; j++) out[j] += x[i] * W[i * m + from + j];
  return out;
}

/** One LSTM or GRU over xs (T arrays): its outputs at every step, in processing order (reversed
 * with go_backwards, as Keras returns them). stats.gates / stats.clipped count the gate
 * pre-activations and those outside hard_sigmoid's linear part. */
function rnnForward(className, cfg, [kernel, recurrent, bias], xs, stats) {
  const H = cfg.units;
  const G = (className === 'LSTM' ? 4 : 3) * H;
  const act = ACT[cfg.activation];
  const gate = (v) => {
    stats.gates++;
    if (Math.abs(v) > 2.5) stats.clipped++;
    return ACT[cfg.recurrent_activation](v);
  };
  const resetAfter = className === 'GRU' && cfg.reset_after;
  let h = new Float64Array(H);
  let c = new Float64Array(H);
  const out = [];
  const order = xs.map((_, t) => t);
  if (cfg.go_backwards) order.reverse();
  for (const t of order) {
    const mx = vecmat(xs[t], kernel, G, 0, G);
    if (bias) for (let j = 0; j < G; j++) mx[j] += bias[j];  // the input bias: row 0 of a (2, G) bias
    const next = new Float64Array(H);
    if (className === 'LSTM') {
      const z = vecmat(h, recurrent, G, 0, G);
      const c2 = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const [i, f, g, o] = [0, 1, 2, 3].map((k) => mx[k * H + j] + z[k * H + j]);
        c2[j] = gate(f) * c[j] + gate(i) * act(g);
        next[j] = gate(o) * act(c2[j]);
      }
      c = c2;
    } else {
      const inner = vecmat(h, recurrent, G, 0, resetAfter ? G : 2 * H);
      if (resetAfter && bias) for (let j = 0; j < G; j++) inner[j] += bias[G + j];
      const z = new Float64Array(H);
      const r = new Float64Array(H);
      for (let j = 0; j < H; j++) { z[j] = gate(mx[j] + inner[j]); r[j] = gate(mx[H + j] + inner[H + j]); }
      const rec = resetAfter ? inner.subarray(2 * H).map((v, j) => r[j] * v)
        : vecmat(h.map((v, j) => r[j] * v), recurrent, G, 2 * H, H);
      for (let j = 0; j < H; j++) next[j] = z[j] * h[j] + (1 - z[j]) * act(mx[2 * H + j] + rec[j]);
    }
    h = next;
    out.push(h);
  }
  return out;
}

/** The model's outputs for one sequence: layers [{ className, config, weights }] in order. */
function kerasForward(layers, sequence, stats) {
  let xs = sequence.map((s) => Float64Array.from(Array.isArray(s) ? s : [s]));
  let sequences = true;
  for (const { className, config, weights } of layers) {
    if (className === 'InputLayer' || className === 'Dropout') continue;
    if (className === 'Embedding') {
      const E = config.output_dim;
      xs = xs.map(([id]) => Float64Array.from(weights[0].subarray(id * E, (id + 1) * E)));
    } else if (className === 'LSTM' || className === 'GRU') {
      const out = rnnForward(className, config, weights, xs, stats);
      sequences = config.return_sequences;
      xs = sequences ? out : [out.at(-1)];
    } else if (className === 'Bidirectional') {
      const inner = config.layer;
      const n = weights.length / 2;
      const fwd = rnnForward(inner.class_name, inner.config, weights.slice(0, n), xs, stats);
      const bwd = rnnForward(inner.class_name, { ...inner.config, go_backwards: true }, weights.slice(n), xs, stats);
      sequences = inner.config.return_sequences;
      // Keras flips the backward outputs back to the input's order before the concat
      xs = sequences ? fwd.map((f, t) => Float64Array.from([...f, ...bwd[xs.length - 1 - t]]))
        : [Float64Array.from([...fwd.at(-1), ...bwd.at(-1)])];
    } else if (className === 'Dense' || className === 'TimeDistributed') {
      const cfg = className === 'Dense' ? config : config.layer.config;
      xs = xs.map((x) => {
        const y = vecmat(x, weights[0], cfg.units, 0, cfg.units);
        if (weights[1]) for (let j = 0; j < y.length; j++) y[j] += weights[1][j];
        return applyActivation(cfg.activation, y);
      });
    } else if (className === 'Activation') {
      xs = xs.map((x) => applyActivation(config.activation, x));
    } else {
      throw new Error(`kerasForward: no ${className}`);
    }
  }
  return xs.flatMap((x) => Array.from(x));
}

function applyActivation(name, y) {
  if (name !== 'softmax') return y.map(ACT[name]);
  const top = Math.max(...y);
  const e = y.map((v) => Math.exp(v - top));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

// ---- the fixtures ----

const L = tf.layers;
const sigmoid = { recurrentActivation: 'sigmoid' };

// Each: build() a TF.js model; tokens: the vocabulary size of token inputs (an Embedding, or
// one-hot vectors with onehot), else dense inputs of `features`; scale: the weights' range
// (larger for hard sigmoid, so its clipped parts are reached); vocab: characters for fromTfjs's
// vocab option; expect: what Model.fromTfjs must make of it (checked by the test).
const CASES = [
  {
    name: 'lstm_dense_seq', features: 3, scale: 0.7,
    about: 'one LSTM (sigmoid) on dense inputs, a linear Dense applied to every step (mse head)',
    build: () => tf.sequential({ layers: [L.lstm({ units: 5, returnSequences: true, inputShape: [null, 3], ...sigmoid }), L.dense({ units: 2 })] }),
    expect: { cell: 'lstm', layers: 1, hiddenSize: 5, inputSize: 3, outputSize: 2, head: 'mse', returnSequences: true, recurrentActivation: 'sigmoid', dropout: 0 },
  },
  {
    name: 'lstm_hard_2layer_td', features: 3, scale: 1.8,
    about: 'two LSTMs with TF.js\'s default hard sigmoid, Dropout(0.25) after each, TimeDistributed(Dense) linear',
    build: () => tf.sequential({ layers: [L.lstm({ units: 4, returnSequences: true, inputShape: [null, 3] }), L.dropout({ rate: 0.25 }),
      L.lstm({ units: 4, returnSequences: true }), L.dropout({ rate: 0.25 }), L.timeDistributed({ layer: L.dense({ units: 3 }) })] }),
    expect: { cell: 'lstm', layers: 2, hiddenSize: 4, head: 'mse', returnSequences: true, recurrentActivation: 'hardSigmoid', dropout: 0.25 },
  },
  {
    name: 'lstm_embedding_char', tokens: 9, scale: 0.7, vocab: 'abcde .\n!',
    about: 'a character model: Embedding(9, 4), LSTM (sigmoid), softmax Dense at every step',
    build: () => tf.sequential({ layers: [L.embedding({ inputDim: 9, outputDim: 4 }), L.lstm({ units: 6, returnSequences: true, ...sigmoid }), L.dense({ units: 9, activation: 'softmax' })] }),
    expect: { cell: 'lstm', layers: 1, hiddenSize: 6, vocabSize: 9, outputSize: 9, head: 'softmax', returnSequences: true },
  },
  {
    name: 'lstm_3layer_relu_last', features: 2, scale: 0.7,
    about: 'three relu LSTMs (unit_forget_bias), the last returning its last step, softmax classification',
    build: () => tf.sequential({ layers: [L.lstm({ units: 4, activation: 'relu', returnSequences: true, unitForgetBias: true, inputShape: [null, 2], ...sigmoid }),
      L.lstm({ units: 4, activation: 'relu', returnSequences: true, unitForgetBias: true, ...sigmoid }),
      L.lstm({ units: 4, activation: 'relu', unitForgetBias: true, ...sigmoid }), L.dense({ units: 3, activation: 'softmax' })] }),
    expect: { cell: 'lstm', layers: 3, activation: 'relu', head: 'softmax', returnSequences: false, forgetBias: 1 },
  },
  {
    name: 'bilstm_embedding_last', tokens: 7, scale: 0.7,
    about: 'Embedding(7, 3), two Bidirectional(LSTM) (sigmoid, concat), the last returning its final states, softmax',
    build: () => tf.sequential({ layers: [L.embedding({ inputDim: 7, outputDim: 3 }), L.bidirectional({ layer: L.lstm({ units: 4, returnSequences: true, ...sigmoid }) }),
      L.bidirectional({ layer: L.lstm({ units: 4, ...sigmoid }) }), L.dense({ units: 2, activation: 'softmax' })] }),
    expect: { cell: 'lstm', layers: 2, bidirectional: true, vocabSize: 7, head: 'softmax', returnSequences: false },
  },
  {
    name: 'bilstm_dense_td_hard', features: 2, scale: 1.8,
    about: 'Bidirectional(LSTM) with hard sigmoid on dense inputs, TimeDistributed(Dense) linear',
    build: () => tf.sequential({ layers: [L.bidirectional({ layer: L.lstm({ units: 3, returnSequences: true }), inputShape: [null, 2] }),
      L.timeDistributed({ layer: L.dense({ units: 2 }) })] }),
    expect: { cell: 'lstm', layers: 1, bidirectional: true, recurrentActivation: 'hardSigmoid', head: 'mse', returnSequences: true },
  },
  {
    name: 'gru_dense_last_hard', features: 3, scale: 1.8,
    about: 'a GRU (TF.js: reset_after false) with hard sigmoid, last step, linear Dense (regression)',
    build: () => tf.sequential({ layers: [L.gru({ units: 5, inputShape: [null, 3] }), L.dense({ units: 1 })] }),
    expect: { cell: 'gru', resetAfter: false, layers: 1, recurrentActivation: 'hardSigmoid', head: 'mse', returnSequences: false },
  },
  {
    name: 'gru_embedding_2layer', tokens: 8, scale: 0.7,
    about: 'Embedding(8, 3), two GRUs (sigmoid) with Dropout(0.1) after each, TimeDistributed(Dense) softmax',
    build: () => tf.sequential({ layers: [L.embedding({ inputDim: 8, outputDim: 3 }), L.gru({ units: 4, returnSequences: true, ...sigmoid }), L.dropout({ rate: 0.1 }),
      L.gru({ units: 4, returnSequences: true, ...sigmoid }), L.dropout({ rate: 0.1 }), L.timeDistributed({ layer: L.dense({ units: 8, activation: 'softmax' }) })] }),
    expect: { cell: 'gru', resetAfter: false, layers: 2, vocabSize: 8, head: 'softmax', returnSequences: true, dropout: 0.1 },
  },
  {
    name: 'bigru_relu_3layer', features: 2, scale: 0.7,
    about: 'three Bidirectional(GRU) with relu, the last returning its final states, linear Dense',
    build: () => tf.sequential({ layers: [L.bidirectional({ layer: L.gru({ units: 3, activation: 'relu', returnSequences: true, ...sigmoid }), inputShape: [null, 2] }),
      L.bidirectional({ layer: L.gru({ units: 3, activation: 'relu', returnSequences: true, ...sigmoid }) }),
      L.bidirectional({ layer: L.gru({ units: 3, activation: 'relu', ...sigmoid }) }), L.dense({ units: 2 })] }),
    expect: { cell: 'gru', layers: 3, bidirectional: true, activation: 'relu', head: 'mse', returnSequences: false },
  },
  {
    name: 'lstm_nobias_functional', features: 3, scale: 0.7,
    about: 'a functional model (tf.model: InputLayer, LSTM, Dense) without biases (use_bias false)',
    build: () => {
      const input = tf.input({ shape: [null, 3] });
      const h = L.lstm({ units: 4, returnSequences: true, useBias: false, ...sigmoid }).apply(input);
      return tf.model({ inputs: input, outputs: L.dense({ units: 2, useBias: false }).apply(h) });
    },
    expect: { cell: 'lstm', layers: 1, inputSize: 3, head: 'mse', returnSequences: true },
  },
  {
    name: 'lstm_onehot_vocab', tokens: 5, onehot: true, scale: 0.7, vocab: 'abcd ',
    about: 'Keras\'s text-generation example shape: one-hot inputs (no Embedding), LSTM, softmax at the last step; imported with a vocabulary, so its input is tokens',
    build: () => tf.sequential({ layers: [L.lstm({ units: 6, inputShape: [null, 5], ...sigmoid }), L.dense({ units: 5, activation: 'softmax' })] }),
    expect: { cell: 'lstm', layers: 1, vocabSize: 5, head: 'softmax', returnSequences: false },
  },
  {
    name: 'lstm_activation_layer', features: 2, scale: 0.7,
    about: 'LSTM, linear Dense, then an Activation(softmax) layer (old Keras examples)',
    build: () => tf.sequential({ layers: [L.lstm({ units: 4, returnSequences: true, inputShape: [null, 2], ...sigmoid }), L.dense({ units: 3 }), L.activation({ activation: 'softmax' })] }),
    expect: { cell: 'lstm', layers: 1, head: 'softmax', returnSequences: true },
  },
];

// ---- Keras-layout fixtures TF.js cannot build: GRU with reset_after true ----

// A Keras 2 layer config as tf.keras 2.x's h5 files hold it (the keys tensorflowjs_converter
// copies into model.json); initialisers and the like left out (the importer reads past them).
const kerasGru = (name, units, returnSequences, extra = {}) => ({
  class_name: 'GRU',
  config: {
    name, trainable: true, dtype: 'float32', return_sequences: returnSequences, return_state: false, go_backwards: false,
    stateful: false, unroll: false, time_major: false, units, activation: 'tanh', recurrent_activation: 'sigmoid',
    use_bias: true, dropout: 0, recurrent_dropout: 0, implementation: 2, reset_after: true, ...extra,
  },
});
const KERAS_CASES = [
  {
    name: 'gru_reset_after_keras', features: 3, scale: 0.7, kerasVersion: '2.15.0',
    about: 'Keras 2\'s default GRU (reset_after true, bias (2, 3H)), two layers, linear Dense at every step; written in tensorflowjs_converter\'s layout for a Keras 2 .h5 (weights layer/gru_cell/kernel)',
    layers: [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, null, 3], dtype: 'float32', sparse: false, ragged: false, name: 'gru_input' } },
      kerasGru('gru', 4, true), kerasGru('gru_1', 4, true),
      { class_name: 'Dense', config: { name: 'dense', trainable: true, dtype: 'float32', units: 2, activation: 'linear', use_bias: true } },
    ],
    weights: (H) => [['gru/gru_cell/kernel', [3, 3 * H]], ['gru/gru_cell/recurrent_kernel', [H, 3 * H]], ['gru/gru_cell/bias', [2, 3 * H]],
      ['gru_1/gru_cell_1/kernel', [H, 3 * H]], ['gru_1/gru_cell_1/recurrent_kernel', [H, 3 * H]], ['gru_1/gru_cell_1/bias', [2, 3 * H]],
      ['dense/kernel', [H, 2]], ['dense/bias', [2]]],
    units: 4,
    expect: { cell: 'gru', resetAfter: true, layers: 2, head: 'mse', returnSequences: true },
  },
  {
    name: 'bigru_reset_after_embedding_keras', tokens: 6, scale: 0.7, kerasVersion: '2.15.0',
    about: 'Embedding(6, 3), Bidirectional(GRU reset_after true) returning its final states, softmax; tensorflowjs_converter\'s layout for a Keras 2 .h5 (weights bidirectional/forward_gru/gru_cell_1/...)',
    layers: [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, null], dtype: 'float32', sparse: false, ragged: false, name: 'embedding_input' } },
      { class_name: 'Embedding', config: { name: 'embedding', trainable: true, dtype: 'float32', input_dim: 6, output_dim: 3, mask_zero: false, input_length: null } },
      { class_name: 'Bidirectional', config: { name: 'bidirectional', trainable: true, dtype: 'float32', layer: kerasGru('gru', 3, false), merge_mode: 'concat' } },
      { class_name: 'Dense', config: { name: 'dense', trainable: true, dtype: 'float32', units: 4, activation: 'softmax', use_bias: true } },
    ],
    weights: (H) => [['embedding/embeddings', [6, 3]],
      ...['forward_gru/gru_cell_1', 'backward_gru/gru_cell_2'].flatMap((p) => [[`bidirectional/${p}/kernel`, [3, 3 * H]],
        [`bidirectional/${p}/recurrent_kernel`, [H, 3 * H]], [`bidirectional/${p}/bias`, [2, 3 * H]]]),
      ['dense/kernel', [2 * H, 4]], ['dense/bias', [4]]],
    units: 3,
    expect: { cell: 'gru', resetAfter: true, layers: 1, bidirectional: true, vocabSize: 6, head: 'softmax', returnSequences: false },
  },
];

// ---- writing ----

const fmt = (x) => Number(Math.fround(x).toPrecision(9));  // float32 values, exactly

function inputsFor(c, r) {
  return Array.from({ length: B }, () => Array.from({ length: T }, () => {
    if (!c.tokens) return Array.from({ length: c.features }, () => uniform(r, 1.5));
    return Math.floor(r() * c.tokens);
  }));
}

// the TF.js input tensor for those sequences
function inputTensor(c, x) {
  if (!c.tokens) return tf.tensor3d(x);
  if (c.onehot) return tf.tensor3d(x.map((s) => s.map((id) => Array.from({ length: c.tokens }, (_, j) => (j === id ? 1 : 0)))));
  return tf.tensor2d(x);
}

function writeModel(name, artifacts) {
  const weightsFile = `tfjs_${name}.weights.bin`;
  // model.json as TF.js's file savers write it (io_utils.getModelJSONForModelArtifacts)
  const modelJson = {
    modelTopology: artifacts.modelTopology, format: artifacts.format, generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy, weightsManifest: [{ paths: [`./${weightsFile}`], weights: artifacts.weightSpecs }],
  };
  writeFileSync(path.join(OUT, `tfjs_${name}.json`), `${JSON.stringify(modelJson)}\n`);
  writeFileSync(path.join(OUT, weightsFile), new Uint8Array(artifacts.weightData));
}

const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function tfjsCase(c, seed) {
  const r = rng(seed);
  const model = c.build();
  model.setWeights(model.weights.map((w) => tf.tensor(Array.from({ length: w.shape.reduce((a, b) => a * b, 1) }, () => uniform(r, c.scale)), w.shape)));
  const x = inputsFor(c, r);
  const y = model.predict(inputTensor(c, x));
  const outputs = Array.from(await y.data());
  const outputShape = y.shape;
  let artifacts;
  await model.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  writeModel(c.name, artifacts);
  // the reference, from the saved topology and the layers' own weights
  const saved = artifacts.modelTopology.config.layers;
  const layers = saved.map((l) => ({ className: l.class_name, config: l.config, weights: model.getLayer(l.config.name ?? l.name).getWeights().map((w) => w.dataSync()) }));
  const stats = { gates: 0, clipped: 0 };
  const perStep = outputs.length / B;
  const reference = x.flatMap((s) => kerasForward(layers, c.onehot ? s.map((id) => Array.from({ length: c.tokens }, (_, j) => (j === id ? 1 : 0))) : s, stats));
  const refDiff = maxDiff(reference, outputs);
  if (!(refDiff < 1e-5)) throw new Error(`${c.name}: the float64 Keras reference differs from TF.js by ${refDiff}`);
  return { x, outputs, outputShape, perStep, refDiff, stats };
}

function kerasCase(c, seed) {
  const r = rng(seed);
  const specs = c.weights(c.units);
  const values = specs.map(([, shape]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => uniform(r, c.scale)));
  const topology = { keras_version: c.kerasVersion, backend: 'tensorflow', model_config: { class_name: 'Sequential', config: { name: 'sequential', layers: c.layers } } };
  const weightData = new Uint8Array(values.reduce((n, v) => n + v.byteLength, 0));
  let at = 0;
  for (const v of values) { weightData.set(new Uint8Array(v.buffer), at); at += v.byteLength; }
  writeModel(c.name, {
    modelTopology: topology, format: 'layers-model', generatedBy: `keras v${c.kerasVersion}`, convertedBy: 'lstm-wasm tools/make_tfjs_fixtures.mjs (Keras layout written by hand)',
    weightSpecs: specs.map(([name, shape]) => ({ name, shape, dtype: 'float32' })), weightData: weightData.buffer,
  });
  // positional weights per layer, as Keras holds them
  let k = 0;
  const layers = c.layers.map((l) => {
    const count = { InputLayer: 0, Embedding: 1, GRU: 3, Bidirectional: 6, Dense: 2 }[l.class_name];
    return { className: l.class_name, config: l.config, weights: values.slice(k, (k += count)) };
  });
  const x = inputsFor(c, r);
  const stats = { gates: 0, clipped: 0 };
  const outputs = x.flatMap((s) => kerasForward(layers, s, stats));
  const last = c.layers.at(-1).config.units;
  const sequences = c.expect.returnSequences;
  return { x, outputs, outputShape: sequences ? [B, T, last] : [B, last], perStep: outputs.length / B, refDiff: null, stats };
}

await tf.setBackend('cpu');
const index = {
  about: 'TensorFlow.js fixtures for tests/tfjs.test.mjs, written by tools/make_tfjs_fixtures.mjs: per case tfjs_NAME.json (model.json) and tfjs_NAME.weights.bin, fixed inputs (token ids, or per step a feature vector; onehot: token ids the TF.js model saw as one-hot vectors), the outputs TF.js computed for them (flat, per sequence; source keras-layout: from the float64 Keras reference, TF.js cannot build the model), and what Model.fromTfjs must make of the model',
  tfjsVersion: tf.version.tfjs,
  cases: [],
};
let seed = 1000;
for (const c of [...CASES, ...KERAS_CASES]) {
  const isTfjs = 'build' in c;
  const result = isTfjs ? await tfjsCase(c, seed++) : kerasCase(c, seed++);
  index.cases.push({
    name: c.name, about: c.about, source: isTfjs ? 'tfjs' : 'keras-layout',
    model: `tfjs_${c.name}.json`, tokens: Boolean(c.tokens), onehot: Boolean(c.onehot), vocab: c.vocab ?? null,
    inputs: result.x.map((s) => s.map((v) => (Array.isArray(v) ? v.map(fmt) : v))),
    outputShape: result.outputShape, outputs: result.outputs.map(fmt),
    referenceVsTfjs: result.refDiff, hardSigmoidClipped: c.expect.recurrentActivation === 'hardSigmoid' ? +(result.stats.clipped / result.stats.gates).toFixed(3) : undefined,
    expect: c.expect,
  });
  console.log(`${c.name}: ${result.outputs.length} outputs${result.refDiff != null ? `, float64 reference vs TF.js ${result.refDiff.toExponential(2)}` : ' (float64 reference)'}`
    + `${c.expect.recurrentActivation === 'hardSigmoid' ? `, ${(100 * result.stats.clipped / result.stats.gates).toFixed(0)}% of gate inputs in hard sigmoid's flat parts` : ''}`);
}
writeFileSync(path.join(OUT, 'tfjs_fixtures.json'), `${JSON.stringify(index, null, 1)}\n`);
console.log(`wrote ${index.cases.length} fixtures to tests/fixtures/tfjs_*`);

// The Keras files, from these fixtures' weights (needs Debian's python3-h5py)
const py = spawnSync('/usr/bin/python3', [path.join(ROOT, 'tools', 'keras_fixtures.py')], { stdio: 'inherit' });
if (py.error || py.status !== 0) {
  console.error('tools/keras_fixtures.py failed (it needs /usr/bin/python3 with h5py: apt-get install python3-h5py); the Keras fixtures were not rewritten');
  process.exitCode = 1;
}
