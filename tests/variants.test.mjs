// variants.test.mjs - cell variants and heads against PyTorch (fixtures from
// tools/make_torch_fixtures.py, float64 from float32 weights): nn.GRU, and a dropout-free
// stacked nn.LSTM with a linear (mean squared error) head; plus GRU training and files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Model, LstmError } from '../dist/lstm.js';
import { assertMatchesTorch, builds, rng } from './helpers.mjs';

const FIXTURES = ['torch_gru_tokens.json', 'torch_gru_dense_mse_last.json', 'torch_lstm_dense_mse.json', 'torch_lstm_proj.json'];
const load = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const all = await builds();

// tolerance: helpers.mjs (TORCH_ATOL/RTOL); a wrong gate order, reset-gate placement or head
// scaling moves values by 1e-2.

for (const build of all) {
  for (const name of FIXTURES) {
    test(`${build.name}: ${name} matches PyTorch`, async () => {
      const f = load(name);
      const dense = f.mode === 'dense';
      const mse = f.head === 'mse';
      const model = await Model.create({
        ...(dense ? { inputSize: f.input_size, outputSize: f.output_size } : { vocabSize: f.input_size, outputSize: f.output_size }),
        hiddenSize: f.hidden_size, layers: f.num_layers, cell: f.cell ?? 'lstm',
        head: f.head ?? 'softmax', returnSequences: !f.last_step_only, projSize: f.proj_size ?? 0, wasm: build.wasm,
      });
      try {
        assert.equal(model.parameterCount, f.params.length);
        model.setParameters(Float32Array.from(f.params));
        const batch = { batch: f.batch, steps: f.steps, ...(dense ? { inputs: f.inputs } : { tokens: f.tokens }),
          ...(mse ? { targetValues: f.target_values } : { targets: f.targets }) };
        const { loss, gradients, inputGradients } = model.computeGradients(batch);
        assert.ok(Math.abs(loss - f.loss) < 1e-5, `loss ${loss} vs torch ${f.loss}`);
        const g = assertMatchesTorch(gradients, f.grads, 'gradient');
        const extra = dense ? `, input grads ${assertMatchesTorch(inputGradients, f.input_grads, 'input gradient').toExponential(1)}` : '';
        // head outputs at every step through the one-step inference path
        const V = f.output_size; const X = f.input_size;
        const logits = new Float32Array(f.batch * f.steps * V);
        for (let b = 0; b < f.batch; b++) {
          model.resetInference();
          for (let t = 0; t < f.steps; t++) {
            const i = b * f.steps + t;
            logits.set(dense ? model.step(f.inputs.slice(i * X, (i + 1) * X)) : model.step(f.tokens[i]), i * V);
          }
        }
        const lg = assertMatchesTorch(logits, f.logits, 'output');
        console.log(`  ${build.name} ${name}: |loss diff| ${Math.abs(loss - f.loss).toExponential(1)}, grads max abs diff ${g.toExponential(1)}, outputs ${lg.toExponential(1)}${extra}`);
      } finally {
        model.dispose();
      }
    });
  }
}

test('gru: learns a periodic sequence, saves as version 2 and loads with its cell', async () => {
  const pattern = [0, 1, 2, 0, 1, 3];
  const tokens = Array.from({ length: 8 * 13 }, (_, i) => pattern[i % 6]);
  const model = await Model.create({ vocabSize: 4, hiddenSize: 16, layers: 2, cell: 'gru', seed: 3, wasm: all[0].wasm });
  try {
    assert.equal(model.config.cell, 'gru');
    assert.deepEqual(model.tensors().slice(0, 4).map((t) => [t.name, t.rows, t.cols]),
      [['weight_ih_l0', 48, 4], ['weight_hh_l0', 48, 16], ['bias_ih_l0', 48, 1], ['bias_hh_l0', 48, 1]]);
    const batch = { batch: 8, steps: 12, tokens: [], targets: [] };
    for (let b = 0; b < 8; b++) {
      for (let t = 0; t < 12; t++) {
        batch.tokens.push(tokens[b * 13 + t]);
        batch.targets.push(tokens[b * 13 + t + 1]);
      }
    }
    model.setOptimizer({ learningRate: 1e-2 });
    const first = model.computeLoss(batch);
    let loss = first;
    for (let i = 0; i < 150; i++) { model.resetState(); loss = model.trainBatch(batch); }
    // after "0 1" the next symbol alternates between 2 and 3: memoryless best is (ln 2)/3 = 0.23
    console.log(`  gru loss ${first.toFixed(3)} -> ${loss.toFixed(4)}`);
    assert.ok(loss < 0.1, `gru did not learn the pattern: loss ${loss} (measured 0.04)`);
    // version 2 (a GRU); 3 with the training state of a trained model (its bad-step record)
    assert.equal(new DataView(model.save({ trainingState: false }).buffer).getUint32(8, true), 2);
    const bytes = model.save();
    assert.equal(new DataView(bytes.buffer).getUint32(8, true), 3);
    const back = await Model.load(bytes, { wasm: all[0].wasm });
    try {
      assert.equal(back.config.cell, 'gru');
      model.resetState();
      back.resetState();
      assert.equal(back.computeLoss(batch), model.computeLoss(batch));
    } finally {
      back.dispose();
    }
  } finally {
    model.dispose();
  }
  await assert.rejects(Model.create({ vocabSize: 4, cell: 'rnn', wasm: all[0].wasm }), (e) => e instanceof LstmError && /cell must be 'lstm' or 'gru', got rnn/.test(e.message));
});

test('gru: a time-series fit through the high-level API', async () => {
  const r = rng(9);
  const x = Array.from({ length: 200 }, () => Array.from({ length: 10 }, () => r() * 2 - 1));
  const y = x.map((s) => s[0] * 0.5 + s[9]); // needs the first and the last step
  const model = await Model.create({ inputSize: 1, outputSize: 1, hiddenSize: 16, cell: 'gru', head: 'mse', returnSequences: false, seed: 1, wasm: all[0].wasm });
  try {
    const fit = model.fit(x, y, { epochs: 40, batchSize: 20, learningRate: 1e-2, validationSplit: 0.2 });
    const variance = y.slice(160).reduce((a, v) => a + v * v, 0) / 40;
    console.log(`  gru fit: val mse ${fit.history.valLoss.at(-1).toFixed(4)} (target variance ${variance.toFixed(3)})`);
    assert.ok(fit.history.valLoss.at(-1) < 0.1 * variance, `val mse ${fit.history.valLoss.at(-1)}`);
  } finally {
    model.dispose();
  }
});

test('recurrent dropout and orthogonal init: options, effect, files, bad values', async () => {
  const wasm = all[0].wasm;
  const model = await Model.create({ inputSize: 2, outputSize: 1, hiddenSize: 8, layers: 2, head: 'mse', recurrentDropout: 0.5, orthogonalInit: true, seed: 7, wasm });
  try {
    assert.equal(model.config.recurrentDropout, 0.5);
    assert.equal(model.config.orthogonalInit, true);
    const r = rng(2);
    const batch = { batch: 3, steps: 6, inputs: Float32Array.from({ length: 36 }, () => r() * 2 - 1), targetValues: Float32Array.from({ length: 18 }, () => r()) };
    // training sees the masks (the same ones on every call until a step), evaluation does not
    const a = model.computeGradients(batch);
    const b = model.computeGradients(batch);
    assert.equal(a.loss, b.loss);
    assert.notEqual(a.loss, model.evaluateBatch(batch).loss);
    // weight_hh_l0 gate blocks are orthogonal: rows of unit length, pairwise orthogonal
    const t = model.tensors().find((x) => x.name === 'weight_hh_l0');
    const p = model.parameters().subarray(t.offset, t.offset + t.size);
    let worst = 0;
    for (let q = 0; q < 4; q++) {
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 8; j++) {
          let dot = 0;
          for (let k = 0; k < 8; k++) dot += p[(q * 8 + i) * 8 + k] * p[(q * 8 + j) * 8 + k];
          worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
        }
      }
    }
    assert.ok(worst < 1e-5, `W W^T - I: ${worst}`);
    const back = await Model.load(model.save(), { wasm });
    try {
      assert.equal(back.config.recurrentDropout, 0.5);
      assert.equal(back.config.orthogonalInit, true);
      assert.equal(back.computeGradients(batch).loss, a.loss); // same masks: the RNG state is saved
    } finally {
      back.dispose();
    }
  } finally {
    model.dispose();
  }
  await assert.rejects(Model.create({ vocabSize: 4, recurrentDropout: 1, wasm }), /recurrentDropout must be a number in \[0, 1\), got 1/);
  await assert.rejects(Model.create({ vocabSize: 4, orthogonalInit: 1, wasm }), /orthogonalInit must be true or false, got 1/);
});

const VARIANTS = [
  { peephole: true }, { cifg: true }, { peephole: true, cifg: true }, { activation: 'relu' },
  { cell: 'gru', activation: 'relu' }, { projSize: 3 }, { projSize: 2, peephole: true },
  { layerNorm: true },
];

for (const build of all) {
  test(`${build.name}: peephole, cifg and relu: gradients match finite differences, inference matches training`, async () => {
    // directional derivatives of the loss (float32: ~1e-3 agreement; relu kinks inside the
    // difference interval cost up to a few percent, hence 4e-2 for relu; wrong maths >= 10%)
    const r = rng(31);
    for (const v of VARIANTS) {
      const B = 3; const T = 5; const X = 3; const V = 2;
      const model = await Model.create({ inputSize: X, outputSize: V, hiddenSize: 5, layers: 2, head: 'mse', seed: 8, initScale: 0.5, wasm: build.wasm, ...v });
      try {
        const batch = { batch: B, steps: T, inputs: Float32Array.from({ length: B * T * X }, () => r() * 2 - 1), targetValues: Float32Array.from({ length: B * T * V }, () => r() * 2 - 1), lengths: [5, 3, 4] };
        const { gradients } = model.computeGradients(batch);
        const p0 = model.parameters();
        let worst = 0;
        for (let rep = 0; rep < 4; rep++) {
          const d = Float32Array.from(p0, () => (r() < 0.5 ? -1 : 1));
          const eps = 1e-3;
          let dot = 0;
          for (let i = 0; i < d.length; i++) dot += d[i] * gradients[i];
          model.setParameters(Float32Array.from(p0, (x, i) => x + eps * d[i]));
          const lp = model.computeLoss(batch);
          model.setParameters(Float32Array.from(p0, (x, i) => x - eps * d[i]));
          const lm = model.computeLoss(batch);
          model.setParameters(p0);
          const num = (lp - lm) / (2 * eps);
          worst = Math.max(worst, Math.abs(num - dot) / Math.max(Math.abs(num), Math.abs(dot), 1e-6));
        }
        const tol = v.activation === 'relu' ? 4e-2 : 1e-2;
        // one-step inference against the batched forward
        const y = model.predictBatch({ batch: 1, steps: T, inputs: batch.inputs.subarray(0, T * X) });
        model.resetInference();
        let dev = 0;
        for (let t = 0; t < T; t++) {
          const out = model.step(batch.inputs.subarray(t * X, (t + 1) * X));
          for (let k = 0; k < V; k++) dev = Math.max(dev, Math.abs(out[k] - y[t * V + k]));
        }
        console.log(`  ${build.name} ${JSON.stringify(v)}: gradient max rel err ${worst.toExponential(2)}, step vs batch ${dev.toExponential(1)}`);
        assert.ok(worst < tol, `${JSON.stringify(v)}: directional derivative error ${worst}`);
        assert.ok(dev < 1e-6, `${JSON.stringify(v)}: step and batch outputs differ by ${dev}`);
      } finally {
        model.dispose();
      }
    }
  });
}

test('peephole, cifg, relu: parameter layout, learning, files and bad values', async () => {
  const wasm = all[0].wasm;
  const shapes = async (options) => {
    const m = await Model.create({ inputSize: 3, outputSize: 1, hiddenSize: 4, layers: 1, head: 'mse', wasm, ...options });
    try { return m.tensors().map((t) => `${t.name} ${t.rows}x${t.cols}`); } finally { m.dispose(); }
  };
  assert.deepEqual(await shapes({ peephole: true }), ['weight_ih_l0 16x3', 'weight_hh_l0 16x4', 'bias_ih_l0 16x1', 'bias_hh_l0 16x1', 'peephole_l0 3x4', 'out.weight 1x4', 'out.bias 1x1']);
  assert.deepEqual(await shapes({ cifg: true }), ['weight_ih_l0 12x3', 'weight_hh_l0 12x4', 'bias_ih_l0 12x1', 'bias_hh_l0 12x1', 'out.weight 1x4', 'out.bias 1x1']);
  assert.deepEqual(await shapes({ peephole: true, cifg: true }), ['weight_ih_l0 12x3', 'weight_hh_l0 12x4', 'bias_ih_l0 12x1', 'bias_hh_l0 12x1', 'peephole_l0 2x4', 'out.weight 1x4', 'out.bias 1x1']);
  assert.deepEqual(await shapes({ projSize: 2, layers: 2 }), ['weight_ih_l0 16x3', 'weight_hh_l0 16x2', 'bias_ih_l0 16x1', 'bias_hh_l0 16x1', 'weight_hr_l0 2x4',
    'weight_ih_l1 16x2', 'weight_hh_l1 16x2', 'bias_ih_l1 16x1', 'bias_hh_l1 16x1', 'weight_hr_l1 2x4', 'out.weight 1x2', 'out.bias 1x1']);
  // each variant learns a task that needs the first and the last step
  const r = rng(9);
  const x = Array.from({ length: 200 }, () => Array.from({ length: 10 }, () => r() * 2 - 1));
  const y = x.map((s) => s[0] * 0.5 + s[9]);
  const variance = y.slice(160).reduce((a, v) => a + v * v, 0) / 40;
  for (const v of VARIANTS) {
    // hidden 16 projected to 8 here (the gradient check above projects 5 to 3 or 2)
    const model = await Model.create({ inputSize: 1, outputSize: 1, hiddenSize: 16, head: 'mse', returnSequences: false, seed: 1, wasm, ...v, ...(v.projSize ? { projSize: 8 } : {}) });
    try {
      // the projected models learn more slowly (16 -> 8: 0.042 after 40 epochs, 0.0026 after
      // 100; with peepholes 0.030 after 100, the slowest of all, still a tenth of the variance)
      const fit = model.fit(x, y, { epochs: v.projSize ? 100 : 40, batchSize: 20, learningRate: 1e-2, validationSplit: 0.2 });
      const val = fit.history.valLoss.at(-1);
      console.log(`  ${JSON.stringify(v)}: val mse ${val.toFixed(4)} (target variance ${variance.toFixed(3)})`);
      // measured 0.0007-0.0026 for the LSTM variants (projection 16 -> 8: see the log). The relu GRU (n >= 0) stalls at 0.073-0.087
      // over lr 3e-3..1e-2 and two seeds: the level of a model that uses the last step but not
      // the first (0.083), while the tanh GRU reaches 0.003; so it is only held to that level
      const bound = v.cell === 'gru' ? 0.3 : 0.1;
      assert.ok(val < bound * variance, `${JSON.stringify(v)}: val mse ${val}`);
      const back = await Model.load(model.save(), { wasm });
      try {
        for (const key of Object.keys(v)) assert.equal(back.config[key], key === 'projSize' ? 8 : v[key]);
        assert.deepEqual(back.predict(x.slice(0, 2)), model.predict(x.slice(0, 2)));
      } finally {
        back.dispose();
      }
    } finally {
      model.dispose();
    }
  }
  await assert.rejects(Model.create({ vocabSize: 4, activation: 'sigmoid', wasm }), /activation must be 'tanh' or 'relu', got sigmoid/);
  await assert.rejects(Model.create({ vocabSize: 4, peephole: 1, wasm }), /peephole must be true or false, got 1/);
  await assert.rejects(Model.create({ vocabSize: 4, cell: 'gru', cifg: true, wasm }), /the GRU has neither/);
  await assert.rejects(Model.create({ vocabSize: 4, hiddenSize: 8, projSize: 8, wasm }), /proj_size must be 0 or in \[1, hidden_size - 1\] = \[1, 7\], got 8/);
  await assert.rejects(Model.create({ vocabSize: 4, layerNorm: true, cell: 'gru', wasm }), /layer_norm is for the plain LSTM cell/);
  // layer norm: gains start at 1, biases at 0
  const ln = await Model.create({ inputSize: 3, outputSize: 1, hiddenSize: 4, layerNorm: true, head: 'mse', wasm });
  try {
    const t = ln.tensors().filter((x) => x.name.startsWith('layer_norm'));
    assert.deepEqual(t.map((x) => `${x.name} ${x.rows}x${x.cols}`), ['layer_norm_gates_l0 2x16', 'layer_norm_cell_l0 2x4']);
    const p = ln.parameters();
    assert.deepEqual(Array.from(p.subarray(t[0].offset, t[0].offset + 32)), [...Array(16).fill(1), ...Array(16).fill(0)]);
    assert.deepEqual(Array.from(p.subarray(t[1].offset, t[1].offset + 8)), [1, 1, 1, 1, 0, 0, 0, 0]);
  } finally {
    ln.dispose();
  }
});

test('layer norm: forgetBias is kept by the normalisation and speeds up a memory task', async () => {
  // where it goes: the f block of layer_norm_gates' bias (in bias_ih the gate norm's mean
  // subtraction removed it, and models with forgetBias 0 and 5 predicted identically)
  const models = await Promise.all([0, 5].map((forgetBias) => Model.create({ vocabSize: 4, hiddenSize: 6, layerNorm: true, forgetBias, seed: 2 })));
  try {
    const [plain, biased] = models;
    const lnBias = (m) => { const t = m.tensors().find((x) => x.name === 'layer_norm_gates_l0'); return m.parameters().slice(t.offset + t.cols, t.offset + 2 * t.cols); };
    assert.deepEqual(Array.from(lnBias(biased)), [...Array(6).fill(0), ...Array(6).fill(5), ...Array(12).fill(0)]);
    const batch = { batch: 1, steps: 3, tokens: [0, 1, 2] };
    assert.notDeepEqual(biased.predictBatch(batch), plain.predictBatch(batch), 'forgetBias changes what the model computes');
  } finally {
    for (const m of models) m.dispose();
  }
  // recall the first of 20 tokens at the last step: with forgetBias 3 the gradient reaches
  // step 0 from the start. Measured epochs to 95% validation accuracy over six seeds (13: not
  // within 12): forgetBias 0: 6, 3, 5, 4, 13, 2; forgetBias 3: 3, 3, 1, 3, 2, 2.
  const epochsTo95 = {};
  for (const forgetBias of [0, 3]) {
    epochsTo95[forgetBias] = [];
    for (const seed of [5, 6, 7, 8, 9, 10]) {
      const [x, y] = firstSymbolTask(1000, 4, 4, 20, 11 + seed);
      const [xv, yv] = firstSymbolTask(300, 4, 4, 20, 12 + seed * 7);
      const model = await Model.create({ vocabSize: 8, outputSize: 4, hiddenSize: 16, returnSequences: false, forgetBias, layerNorm: true, seed });
      try {
        let hit = 13;
        model.fit(x, y, { epochs: 12, batchSize: 32, learningRate: 3e-3, validationData: [xv, yv], onEpochEnd: (e, logs) => { if (logs.valAccuracy >= 0.95) { hit = e + 1; return false; } return true; } });
        epochsTo95[forgetBias].push(hit);
      } finally {
        model.dispose();
      }
    }
  }
  console.log(`  epochs to 95% accuracy: forgetBias 0: ${epochsTo95[0]}; forgetBias 3: ${epochsTo95[3]}`);
  const sum = (a) => a.reduce((s, v) => s + v, 0);
  assert.ok(epochsTo95[3].every((e, i) => e <= 4 && e <= epochsTo95[0][i]), `with forgetBias 3 every seed learns within 4 epochs, and never later than with 0: ${epochsTo95[3]} vs ${epochsTo95[0]}`);
  assert.ok(sum(epochsTo95[3]) < 0.6 * sum(epochsTo95[0]), `forgetBias 3 (${epochsTo95[3]}) should need well under the epochs of 0 (${epochsTo95[0]})`);
});

/** Sequences of T tokens whose class is the first token (K symbols), then T-1 distractors. */
function firstSymbolTask(n, K, D, T, seed) {
  const r = rng(seed);
  const x = [];
  const y = [];
  for (let i = 0; i < n; i++) {
    const s = Array.from({ length: T }, () => K + Math.floor(r() * D));
    s[0] = Math.floor(r() * K);
    x.push(s);
    y.push(s[0]);
  }
  return [x, y];
}
