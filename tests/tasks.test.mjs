// tasks.test.mjs - the tasks beyond next-character prediction: sequence regression (mse head,
// every step or last step), sequence classification (softmax at the last step), masking by
// per-sequence lengths, and the Keras-like fit / evaluate / predict with sliding windows,
// learning-rate schedules and early stopping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model, LstmError, slidingWindows } from '../dist/lstm.js';
import { builds, fitRepeatTask, rng } from './helpers.mjs';

const all = await builds();
const wasm = all[0].wasm; // the learning tests run on the fastest build

/** A noisy sum of two sines (periods 40 and 13 steps), noise sd 0.1. */
function noisySines(n, seed) {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return Array.from({ length: n }, (_, t) => Math.sin(2 * Math.PI * t / 40) +
    0.6 * Math.sin(2 * Math.PI * t / 13 + 1) + 0.1 * gauss());
}

test('time series: a 2-layer model beats the last-value forecast on held-out data by 2x', async () => {
  const data = slidingWindows(noisySines(3000, 7), { window: 32, horizon: 1, split: [0.7, 0.15, 0.15] });
  assert.equal(data.inputSize, 1);
  const model = await Model.create({ inputSize: 1, outputSize: 1, hiddenSize: 32, layers: 2, head: 'mse', returnSequences: false, seed: 3, wasm });
  try {
    const t0 = performance.now();
    const fit = model.fit(data.train.x, data.train.y, {
      epochs: 15, batchSize: 32, learningRate: 5e-3, schedule: { type: 'cosine' },
      validationData: [data.validation.x, data.validation.y], earlyStopping: { patience: 4 },
    });
    const seconds = (performance.now() - t0) / 1000;
    const { loss } = model.evaluate(data.test.x, data.test.y);
    // the naive forecast: tomorrow = today (the last input of each window)
    let naive = 0;
    data.test.x.forEach((x, i) => { naive += (x[x.length - 1] - data.test.y[i][0]) ** 2; });
    naive /= data.test.x.length;
    console.log(`  ${fit.epochs} epochs in ${seconds.toFixed(1)} s; test mse ${loss.toFixed(4)}, last-value forecast ${naive.toFixed(4)} (ratio ${(loss / naive).toFixed(3)}; measured 0.18)`);
    assert.equal(fit.history.loss.length, fit.epochs);
    assert.ok(fit.history.valLoss.every(Number.isFinite));
    // the noise alone (sd 0.1 on a series of sd ~0.83) costs the naive forecast ~0.03 and
    // the model ~0.015; a model that only copies the last value would sit at ratio ~1
    assert.ok(loss < 0.5 * naive, `test mse ${loss} is not below half the naive ${naive}`);
    // predict agrees with evaluate
    const p = model.predict(data.test.x);
    let mse = 0;
    p.forEach((v, i) => { assert.equal(v.length, 1); mse += (v[0] - data.test.y[i][0]) ** 2; });
    assert.ok(Math.abs(mse / p.length - loss) < 1e-6 * loss, `predict mse ${mse / p.length} vs evaluate ${loss}`);
    // denormalize undoes the training-part standardisation
    const raw = data.denormalize(data.test.y[0]);
    assert.ok(Math.abs((raw[0] - data.mean[0]) / data.std[0] - data.test.y[0][0]) < 1e-5);
  } finally {
    model.dispose();
  }
});

/** 50-token sequences: a symbol in [0, K) first, then 49 distractors in [K, K + D); the
 * class is the first symbol, so it must be carried across all 49 later steps. */
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

test('classification: the first of 50 tokens, recalled at the last step, well above chance', async () => {
  const [x, y] = firstSymbolTask(2000, 4, 4, 50, 11);
  const [xv, yv] = firstSymbolTask(500, 4, 4, 50, 12);
  // forget bias 5 (f ~ 0.99 at first) lets the gradient reach step 0; with PyTorch's 0 (or 1)
  // neither this library nor PyTorch itself learns the task in 40 epochs with this recipe
  // how soon it learns is a matter of luck: over model seeds 1-6, 3-21 epochs with the dot-product
  // kernels; 3-21, and one seed (5) still at 0.49 after 60, with the packed ones (summed in
  // another order). Seed 2: 3-4 epochs with both.
  const model = await Model.create({ vocabSize: 8, outputSize: 4, hiddenSize: 32, layers: 1, returnSequences: false, forgetBias: 5, seed: 2, wasm });
  try {
    const before = model.evaluate(xv, yv);
    const t0 = performance.now();
    // stop once validation accuracy passes 0.95
    const fit = model.fit(x, y, { epochs: 40, batchSize: 32, learningRate: 1e-2, validationData: [xv, yv], onEpochEnd: (e, logs) => logs.valAccuracy < 0.95 });
    const after = model.evaluate(xv, yv);
    console.log(`  accuracy ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)} after ${fit.epochs} epochs (${((performance.now() - t0) / 1000).toFixed(1)} s), loss ${before.loss.toFixed(3)} -> ${after.loss.toFixed(3)}`);
    assert.ok(before.accuracy < 0.4, `untrained accuracy ${before.accuracy} (chance 0.25)`);
    // chance is 0.25: steps 1..49 carry no information about the class
    assert.ok(after.accuracy >= 0.9, `validation accuracy ${after.accuracy}`);
    assert.equal(fit.history.valAccuracy.at(-1), after.accuracy);
    const probs = model.predict(xv.slice(0, 3));
    for (const p of probs) {
      assert.equal(p.length, 4);
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    }
  } finally {
    model.dispose();
  }
});

test('classification: is the first of 50 tokens repeated at the end, well above chance', async () => {
  // the loss has no gradient toward remembering the first token until the model also
  // compares it with the last: learning starts late and goes up in steps (one symbol each);
  // measured: chance until epoch 57, then plateaus at 0.77 and 0.92 (epoch 72)
  const { before, after } = await fitRepeatTask({ epochs: 90, wasm });
  assert.ok(before.accuracy < 0.6, `untrained accuracy ${before.accuracy} (chance 0.5)`);
  assert.ok(after.accuracy >= 0.85, `validation accuracy ${after.accuracy}`);
});

for (const { name, wasm: build } of all) {
  test(`${name}: masking: a padded batch predicts, scores and trains as its sequences alone`, async () => {
    const r = rng(3);
    const lengths = [7, 3, 5, 1];
    const T = 7;
    const X = 2;
    const V = 3;
    const x = lengths.map((len) => Array.from({ length: len }, () => [r() * 2 - 1, r() * 2 - 1]));
    for (const returnSequences of [false, true]) {
      const y = lengths.map((len) => (returnSequences
        ? Array.from({ length: len }, () => [r(), r(), r()]) : [r(), r(), r()]));
      const model = await Model.create({ inputSize: X, outputSize: V, hiddenSize: 6, layers: 2, head: 'mse', returnSequences, seed: 9, wasm: build });
      try {
        const together = model.predict(x, { batchSize: 4 });
        let worst = 0;
        x.forEach((seq, i) => {
          const alone = model.predict([seq])[0];
          assert.equal(together[i].length, (returnSequences ? lengths[i] : 1) * V);
          for (let j = 0; j < alone.length; j++) worst = Math.max(worst, Math.abs(alone[j] - together[i][j]));
        });
        // the same arithmetic on the same rows; only the batch width differs
        assert.ok(worst < 1e-6, `padded vs alone predictions differ by ${worst}`);
        // evaluate over the padded batch = the step-weighted mean of each sequence alone
        const whole = model.evaluate(x, y, { batchSize: 4 });
        let sum = 0;
        let steps = 0;
        x.forEach((seq, i) => {
          const w = returnSequences ? lengths[i] : 1;
          sum += model.evaluate([seq], [y[i]]).loss * w;
          steps += w;
        });
        assert.ok(Math.abs(whole.loss - sum / steps) < 1e-6, `masked loss ${whole.loss} vs ${sum / steps}`);
        // padded steps take no part in the gradients: garbage there changes nothing
        const batch = { batch: 4, steps: T, inputs: new Float32Array(4 * T * X), lengths, targetValues: new Float32Array((returnSequences ? 4 * T : 4) * V) };
        x.forEach((seq, b) => seq.forEach((step, t) => batch.inputs.set(step, (b * T + t) * X)));
        y.forEach((target, b) => (returnSequences ? target.forEach((v, t) => batch.targetValues.set(v, (b * T + t) * V)) : batch.targetValues.set(target, b * V)));
        const g1 = model.computeGradients(batch);
        for (let b = 0; b < 4; b++) {
          for (let t = lengths[b]; t < T; t++) {
            batch.inputs.fill(1e3, (b * T + t) * X, (b * T + t + 1) * X);
            if (returnSequences) batch.targetValues.fill(-1e3, (b * T + t) * V, (b * T + t + 1) * V);
          }
        }
        const g2 = model.computeGradients(batch);
        assert.equal(g2.loss, g1.loss);
        assert.deepEqual(g2.gradients, g1.gradients);
        for (let b = 0; b < 4; b++) {
          for (let t = lengths[b]; t < T; t++) {
            for (let f = 0; f < X; f++) assert.equal(g2.inputGradients[(b * T + t) * X + f], 0);
          }
        }
      } finally {
        model.dispose();
      }
    }
  });

  test(`${name}: gradients of the task heads match finite differences`, async () => {
    // directional derivatives: float32 losses give ~1e-3 relative agreement; a wrong head
    // gradient (e.g. missing the 2 of d(y-t)^2 or the 1/V of the mean) is off by >= 30%
    const r = rng(21);
    const cases = [
      { head: 'mse', returnSequences: true }, { head: 'mse', returnSequences: false },
      { head: 'softmax', returnSequences: false }, { head: 'softmax', returnSequences: true },
    ];
    for (const c of cases) {
      const B = 3; const T = 5; const X = 3; const V = 4;
      const model = await Model.create({ inputSize: X, outputSize: V, hiddenSize: 5, layers: 2, seed: 4, initScale: 0.5, wasm: build, ...c });
      try {
        const rows = c.returnSequences ? B * T : B;
        const batch = { batch: B, steps: T, inputs: Float32Array.from({ length: B * T * X }, () => r() * 2 - 1), lengths: [5, 2, 4] };
        if (c.head === 'mse') batch.targetValues = Float32Array.from({ length: rows * V }, () => r() * 2 - 1);
        else batch.targets = Int32Array.from({ length: rows }, () => Math.floor(r() * V));
        const { gradients } = model.computeGradients(batch);
        const p0 = model.parameters();
        let worst = 0;
        for (let rep = 0; rep < 4; rep++) {
          const d = Float32Array.from(p0, () => (r() < 0.5 ? -1 : 1));
          const eps = 1e-3;
          let dot = 0;
          for (let i = 0; i < d.length; i++) dot += d[i] * gradients[i];
          model.setParameters(Float32Array.from(p0, (v, i) => v + eps * d[i]));
          const lp = model.computeLoss(batch);
          model.setParameters(Float32Array.from(p0, (v, i) => v - eps * d[i]));
          const lm = model.computeLoss(batch);
          model.setParameters(p0);
          const num = (lp - lm) / (2 * eps);
          worst = Math.max(worst, Math.abs(num - dot) / Math.max(Math.abs(num), Math.abs(dot), 1e-6));
        }
        console.log(`  ${name} ${c.head} returnSequences=${c.returnSequences}: max rel err ${worst.toExponential(2)}`);
        assert.ok(worst < 1e-2, `${c.head}/${c.returnSequences}: directional derivative error ${worst}`);
      } finally {
        model.dispose();
      }
    }
  });
}

test('fit: validationSplit, step and function schedules, early stopping restores the best epoch', async () => {
  const r = rng(5);
  // a tiny data set that a large model overfits: validation loss rises after a few epochs
  const x = Array.from({ length: 40 }, () => Array.from({ length: 6 }, () => r() * 2 - 1));
  const y = x.map(() => r() * 2 - 1); // targets unrelated to inputs: nothing to generalise
  const model = await Model.create({ inputSize: 1, outputSize: 1, hiddenSize: 24, layers: 1, head: 'mse', returnSequences: false, seed: 2, wasm });
  try {
    const seen = [];
    const fit = model.fit(x, y, {
      epochs: 60, batchSize: 8, validationSplit: 0.25, learningRate: 1e-2,
      schedule: { type: 'step', every: 2, factor: 0.5 },
      earlyStopping: { patience: 3 },
      onEpochEnd: (epoch, logs) => { seen.push(epoch); assert.ok(Number.isFinite(logs.valLoss)); },
    });
    console.log(`  stopped after ${fit.epochs} epochs (best ${fit.bestEpoch}); val ${fit.history.valLoss.map((v) => v.toFixed(3)).join(' ')}`);
    assert.equal(fit.stoppedEarly, true);
    assert.equal(fit.epochs, fit.bestEpoch + 4); // patience 3: three more epochs without improvement
    assert.deepEqual(seen, Array.from({ length: fit.epochs }, (_, i) => i));
    const expected = [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025, 0.00125].slice(0, fit.epochs);
    assert.deepEqual(fit.history.learningRate.map((v) => +v.toPrecision(6)), expected);
    // the restored parameters give the best epoch's validation loss (the last 10 of 40 samples)
    const val = model.evaluate(x.slice(30), y.slice(30));
    assert.ok(Math.abs(val.loss - fit.history.valLoss[fit.bestEpoch]) < 1e-6, `restored ${val.loss} vs best ${fit.history.valLoss[fit.bestEpoch]}`);
    // a function schedule and onEpochEnd returning false
    const lrs = [];
    const fit2 = model.fit(x, y, { epochs: 10, batchSize: 40, schedule: (epoch, base) => base / (epoch + 1), onEpochEnd: (e, logs) => { lrs.push(logs.learningRate); return e < 2; } });
    assert.equal(fit2.epochs, 3);
    assert.ok(Math.abs(lrs[1] * 2 - lrs[0]) < 1e-12 && Math.abs(lrs[2] * 3 - lrs[0]) < 1e-12, `lrs ${lrs}`);
    // a cosine schedule falls from the base to the minimum over its epochs
    const fit3 = model.fit(x, y, { epochs: 5, learningRate: 1e-2, schedule: { type: 'cosine', minLearningRate: 1e-3 } });
    const lr = fit3.history.learningRate;
    assert.ok(Math.abs(lr[0] - 1e-2) < 1e-9 && lr.every((v, i) => i === 0 || v < lr[i - 1]) && lr[4] > 1e-3, `cosine ${lr}`);
  } finally {
    model.dispose();
  }
});

test('slidingWindows: in-order split, statistics of the training part only, multivariate', () => {
  const series = Array.from({ length: 100 }, (_, t) => [t, 2 * t + 1]);
  const d = slidingWindows(series, { window: 4, horizon: 2, split: [0.6, 0.2, 0.2] });
  assert.equal(d.inputSize, 2);
  // training part: steps 0..59, mean (29.5, 60), sd of 0..59 = sqrt((60^2-1)/12)
  assert.ok(Math.abs(d.mean[0] - 29.5) < 1e-12 && Math.abs(d.mean[1] - 60) < 1e-12);
  assert.ok(Math.abs(d.std[0] - Math.sqrt((60 * 60 - 1) / 12)) < 1e-9);
  // windows end at step 3..97; a window's target (end + 2) decides its part
  assert.equal(d.train.x.length, 60 - 5);
  assert.equal(d.validation.x.length, 20);
  assert.equal(d.test.x.length, 100 - 80);
  const first = d.denormalize(d.validation.x[0]);
  assert.deepEqual(Array.from(first).map(Math.round), [55, 111, 56, 113, 57, 115, 58, 117]);
  assert.deepEqual(Array.from(d.denormalize(d.validation.y[0])).map(Math.round), [60, 121]);
  const raw = slidingWindows([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { window: 2, split: [0.8, 0.2, 0], normalize: false });
  assert.deepEqual(raw.train.x.map((v) => Array.from(v)), [[1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7]]);
  assert.deepEqual(raw.validation.y.map((v) => v[0]), [9, 10]);
  assert.equal(raw.test.x.length, 0);
});

test('save/load keeps the head (format version 2); plain models still save version 1', async () => {
  const model = await Model.create({ inputSize: 2, outputSize: 3, hiddenSize: 4, head: 'mse', returnSequences: false, wasm });
  const plain = await Model.create({ vocabSize: 5, hiddenSize: 4, wasm });
  try {
    const bytes = model.save();
    assert.equal(new DataView(bytes.buffer).getUint32(8, true), 2);
    assert.equal(new DataView(plain.save().buffer).getUint32(8, true), 1);
    const back = await Model.load(bytes, { wasm });
    try {
      assert.equal(back.config.head, 'mse');
      assert.equal(back.config.returnSequences, false);
      const x = [[[0.5, -1], [1, 0]]];
      assert.deepEqual(back.predict(x), model.predict(x));
    } finally {
      back.dispose();
    }
  } finally {
    model.dispose();
    plain.dispose();
  }
});

test('inputSize 1 and outputSize 1: steps as numbers or as one-value arrays are the same data', async () => {
  const model = await Model.create({ inputSize: 1, outputSize: 1, hiddenSize: 4, head: 'mse', seed: 9, wasm });
  try {
    const flat = [[0.5, -0.25, 1], [2, 0.75]];
    const nested = flat.map((s) => s.map((v) => [v]));
    assert.deepEqual(model.predict(nested), model.predict(flat));
    assert.deepEqual(model.evaluate(nested, nested), model.evaluate(flat, flat));
    assert.throws(() => model.predict([[[0.5], ['x']]]), (e) => e instanceof LstmError && /x\[0\] step 1 holds x, not a finite number/.test(e.message));
    assert.throws(() => model.predict([[[0.5], [1, 2]]]), (e) => e instanceof LstmError && /x\[0\]\[1\] must have inputSize = 1 values/.test(e.message));
  } finally {
    model.dispose();
  }
});

test('bad task input is named in the error', async () => {
  const throwsLstm = (fn, re) => assert.throws(fn, (e) => e instanceof LstmError && re.test(e.message) ? true : assert.fail(`${e.message} does not match ${re}`));
  await assert.rejects(Model.create({ inputSize: 1, outputSize: 1, head: 'huber', wasm }), /head must be 'softmax' or 'mse', got huber/);
  await assert.rejects(Model.create({ inputSize: 1, outputSize: 1, returnSequences: 'no', wasm }), /returnSequences must be true or false, got no/);
  const reg = await Model.create({ inputSize: 1, outputSize: 1, hiddenSize: 4, head: 'mse', returnSequences: false, wasm });
  const cls = await Model.create({ vocabSize: 3, outputSize: 2, hiddenSize: 4, returnSequences: false, wasm });
  try {
    throwsLstm(() => reg.trainBatch({ batch: 2, steps: 2, inputs: [0, 1, 2, 3], targetValues: [0, 1], lengths: [2, 3] }), /lengths\[1\] = 3 is outside \[1, 2\]/);
    throwsLstm(() => reg.trainBatch({ batch: 2, steps: 2, inputs: [0, 1, 2, 3], targets: [0, 1] }), /an mse model takes targetValues/);
    throwsLstm(() => reg.trainBatch({ batch: 2, steps: 2, inputs: [0, 1, 2, 3], targetValues: [0, 1, 2, 3] }), /targetValues must have batch\*outputSize = 2 values, got 4/);
    throwsLstm(() => reg.trainBatch({ batch: 2, steps: 2, inputs: [0, 1, 2, 3], targetValues: [0, NaN] }), /target_values\[1\] is not finite/);
    throwsLstm(() => cls.trainBatch({ batch: 1, steps: 2, tokens: [0, 1], targetValues: [0] }), /a softmax model takes targets/);
    throwsLstm(() => cls.fit([[0, 1], [2]], [0, 2]), /y\[1\] = 2 is not a class id in \[0, 2\)/);
    throwsLstm(() => cls.fit([[0, 1], [3]], [0, 1]), /x\[1\]\[0\] = 3 is outside \[0, 3\)/);
    throwsLstm(() => cls.fit([[0, 1], []], [0, 1]), /x\[1\] must be a non-empty sequence/);
    throwsLstm(() => cls.fit([[0, 1]], [0, 1]), /y must have one entry per sample \(1\), got 2/);
    throwsLstm(() => reg.fit([[1], [2]], [1, 2], { schedule: { type: 'linear' } }), /schedule.type must be 'step' or 'cosine', got linear/);
    throwsLstm(() => reg.fit([[1], [2]], [1, 2], { earlyStopping: { patience: -1 } }), /earlyStopping.patience must be an integer/);
    throwsLstm(() => reg.fit([[1], [2]], [1, 2], { validationSplit: 0.4 }), /validationSplit 0.4 of 2 samples leaves no validation/);
    throwsLstm(() => reg.fit([[1], [2]], [1, 2], { epochs: 1, batchsize: 3 }), /unknown option "batchsize"/);
    throwsLstm(() => reg.fit([[1], [Infinity]], [1, 2]), /x\[1\] step 0 holds Infinity/);
    throwsLstm(() => slidingWindows([1, 2, 3], { window: 2, split: [0.5, 0.6, 0] }), /split must be three fractions/);
    throwsLstm(() => slidingWindows([1, 2, 3, 4], { window: 3 }), /training part has 2 steps; window 3 \+ horizon 1 needs at least 4/);
    throwsLstm(() => cls.trainSteps({ length: 0 }), /TextDataset or TokenStream/);
    // still usable after every refusal
    assert.ok(Number.isFinite(reg.fit([[1], [2]], [1, 2]).history.loss[0]));
  } finally {
    reg.dispose();
    cls.dispose();
  }
});
