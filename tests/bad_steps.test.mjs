// bad_steps.test.mjs - the bad-step policy: a step whose loss or gradient is not finite, whose
// update would overflow, or whose loss spikes above the guard is skipped and changes nothing
// that a step changes (parameters, optimizer moments, step count, carried state, the loss
// mean); the stream and the dropout generator move past its batch; the K-th skip in a row
// throws NON_FINITE with the model as it was before the first. Every branch, in both builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model, TokenStream, LstmError } from '../dist/lstm.js';
import { builds, rng } from './helpers.mjs';
import { parseModelFile } from './model_file.mjs';

const all = await builds();

/** What a training step may change, from the saved file (training state included). */
function stepState(model) {
  const f = parseModelFile(model.save());
  return { params: f.params, moments: f.moments, carry: f.carry, carriedBatch: f.carriedBatch, step: f.step, lossMean: f.lossMean ?? 0, lossCount: f.lossCount ?? 0, optimizer: f.optimizer };
}

/** Bit-for-bit equality of two step states (NaN-safe: compares the bytes). */
function assertSameState(after, before, what) {
  const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  for (const k of ['params', 'moments', 'carry']) assert.ok(bytes(after[k]).equals(bytes(before[k])), `${what}: ${k} changed`);
  for (const k of ['carriedBatch', 'step', 'lossMean', 'lossCount']) assert.equal(after[k], before[k], `${what}: ${k} changed`);
}

/** A dense mse model whose weights are all zero but the head: h is exactly 0 at the first
 * step (i = f = o = 1/2, g = tanh 0 = 0, so c = 0 and h = 0), the output is out.bias = 1 and
 * the loss against target 0 is 1 whatever out.weight is. d loss / d h = 2 out.weight, so the
 * g-row gradients are 2 * 1e38 * 1/2 * 1/2 = 5e37 times the input: with input 1e3 they
 * overflow (a non-finite gradient with a finite loss); with input 1 they are finite, and an
 * SGD step of rate 10 (or Adam's g^2) overflows. */
async function headHeavyModel(wasm, optimizer = { clipNorm: 0 }) {
  const model = await Model.create({ inputSize: 1, outputSize: 1, hiddenSize: 4, head: 'mse', seed: 2, wasm });
  model.setOptimizer(optimizer);
  model.trainBatch({ batch: 1, steps: 1, inputs: [0.5], targetValues: [0.1] }); // non-zero moments
  const params = new Float32Array(model.parameterCount);
  for (const t of model.tensors()) {
    if (t.name === 'out.weight') params.fill(1e38, t.offset, t.offset + t.size);
    if (t.name === 'out.bias') params[t.offset] = 1;
  }
  model.setParameters(params);
  model.resetState(); // the zero initial state the construction needs (a skipped step keeps it)
  return model;
}
const headBatch = (x) => ({ batch: 1, steps: 1, inputs: [x], targetValues: [0] });

for (const { name, wasm } of all) {
  test(`${name}: a non-finite loss is skipped, even when only the float loss overflows`, async () => {
    // the case: targets of 1e30 give a loss of ~1e60, finite in double, Infinity as reported
    const model = await Model.create({ inputSize: 2, outputSize: 1, hiddenSize: 8, head: 'mse', seed: 1, wasm });
    try {
      assert.equal(model.parameterCount, 393);
      model.trainBatch({ batch: 2, steps: 3, inputs: [1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1], targetValues: [0, 1, 0, 1, 0, 1] });
      const before = stepState(model);
      const loss = model.trainBatch({ batch: 2, steps: 3, inputs: [1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1], targetValues: Array(6).fill(1e30) });
      assert.equal(loss, Infinity);
      const stats = model.trainingStats;
      assert.equal(stats.lastSkipReason, 'loss');
      assert.equal(stats.skipped, 1);
      assertSameState(stepState(model), before, 'non-finite loss');
    } finally {
      model.dispose();
    }
  });

  test(`${name}: a non-finite gradient with a finite loss is skipped`, async () => {
    const model = await headHeavyModel(wasm);
    try {
      const before = stepState(model);
      const { gradients, loss: l } = model.computeGradients(headBatch(1e3));
      assert.equal(l, 1, 'the construction gives loss 1');
      assert.ok(gradients.some((g) => !Number.isFinite(g)), 'the construction gives an infinite gradient');
      const loss = model.trainBatch(headBatch(1e3));
      assert.equal(loss, 1);
      assert.equal(model.trainingStats.lastSkipReason, 'gradient');
      assertSameState(stepState(model), before, 'non-finite gradient');
    } finally {
      model.dispose();
    }
  });

  test(`${name}: an update that would overflow is refused before it writes anything`, async () => {
    for (const optimizer of [{ type: 'sgd', learningRate: 10, clipNorm: 0 }, { type: 'adam', learningRate: 1e-3, clipNorm: 0 }]) {
      const model = await headHeavyModel(wasm, optimizer);
      try {
        const before = stepState(model);
        const { gradients } = model.computeGradients(headBatch(1));
        const top = gradients.reduce((a, g) => Math.max(a, Math.abs(g)), 0);
        assert.ok(Number.isFinite(top) && top > 1e37, `gradients finite and huge (${top})`);
        model.trainBatch(headBatch(1));
        // sgd: p - 10 * 5e37 overflows; adam: v = (1 - beta2) g^2 = 2.5e72 overflows
        assert.equal(model.trainingStats.lastSkipReason, 'update', `${optimizer.type}: ${JSON.stringify(model.trainingStats)}`);
        const after = stepState(model);
        assertSameState(after, before, `${optimizer.type} overflow`);
        assert.ok(after.params.every(Number.isFinite) && after.moments.every(Number.isFinite));
        assert.ok(after.moments.some((v) => v !== 0), 'the moments checked are not all zero');
      } finally {
        model.dispose();
      }
    }
  });

  test(`${name}: applyGradients follows the same policy`, async () => {
    const model = await Model.create({ vocabSize: 5, hiddenSize: 3, seed: 4, wasm });
    try {
      const good = new Float32Array(model.parameterCount).fill(0.01);
      assert.deepEqual(model.applyGradients(good), { skipped: false, reason: 'none' });
      const before = stepState(model);
      const bad = good.slice();
      bad[7] = NaN;
      assert.deepEqual(model.applyGradients(bad), { skipped: true, reason: 'gradient' });
      assertSameState(stepState(model), before, 'applyGradients with NaN');
      assert.throws(() => model.applyGradients(new Float32Array(3)), /Float32Array of \d+ values/);
    } finally {
      model.dispose();
    }
  });

  test(`${name}: an exploding loss is skipped by the guard (skipIfLossAbove), not trained on`, async () => {
    const r = rng(9);
    const stream = new TokenStream(Int32Array.from({ length: 20000 }, (_, i) => (i % 5 === 0 ? Math.floor(r() * 12) : (i * 7) % 12)));
    const model = await Model.create({ vocabSize: 12, hiddenSize: 16, layers: 1, seed: 1, dropout: 0.1, wasm });
    try {
      const opts = { seqLength: 16, batchSize: 8, clipNorm: 0, skipIfLossAbove: 3 };
      const warm = model.trainSteps(stream, { ...opts, steps: 20, optimizer: { type: 'sgd', learningRate: 0.5 } });
      assert.equal(warm.skipped, 0);
      // SGD at rate 1000 without clipping: the first step is taken (its loss is still normal)
      // and blows the weights up, so the next losses are many times the running mean
      const first = model.trainSteps(stream, { ...opts, steps: 1, learningRate: 1000 });
      assert.equal(first.skipped, 0);
      const before = stepState(model);
      const pos = model.streamPosition;
      const f0 = parseModelFile(model.save());
      const spiked = model.trainSteps(stream, { ...opts, steps: 2 });
      console.log(`  losses ${Array.from(warm.losses.slice(-2), (l) => l.toFixed(2))} | ${first.losses[0].toFixed(2)} | ${Array.from(spiked.losses, (l) => l.toFixed(1))} (mean ${model.trainingStats.lossMean.toFixed(2)})`);
      assert.equal(spiked.skipped, 2);
      assert.ok(Number.isNaN(spiked.loss), 'no applied step: no mean loss');
      assert.equal(model.trainingStats.lastSkipReason, 'lossSpike');
      assertSameState(stepState(model), before, 'loss spike');
      // the stream and the dropout generator moved past the skipped batches
      assert.equal(model.streamPosition, pos + 2 * 16);
      assert.notEqual(parseModelFile(model.save()).dropoutRng, f0.dropoutRng);
    } finally {
      model.dispose();
      stream.dispose();
    }
  });

  test(`${name}: the K-th skip in a row throws NON_FINITE and puts everything back`, async () => {
    const stream = new TokenStream(Int32Array.from({ length: 3000 }, (_, i) => (i * 5) % 6));
    const model = await Model.create({ vocabSize: 6, hiddenSize: 8, seed: 3, dropout: 0.2, wasm });
    try {
      model.trainSteps(stream, { steps: 3, seqLength: 10, batchSize: 4 });
      // absurd output biases: a target's log-probability of -6e38 overflows to -inf
      const huge = model.parameters();
      const bias = model.tensors().find((t) => t.name === 'out.bias');
      for (let v = 0; v < bias.size; v++) huge[bias.offset + v] = v % 2 ? 3e38 : -3e38;
      model.setParameters(huge);
      const before = parseModelFile(model.save());
      const beforeState = stepState(model);
      // two skips, and the call goes on
      const two = model.trainSteps(stream, { steps: 2, seqLength: 10, batchSize: 4, maxSkips: 3 });
      assert.equal(two.skipped, 2);
      assert.equal(model.trainingStats.skipStreak, 2);
      // the third in a row (in another call) throws; so would the rest of the 10
      assert.throws(() => model.trainSteps(stream, { steps: 10, seqLength: 10, batchSize: 4 }), (e) => {
        assert.ok(e instanceof LstmError);
        assert.equal(e.code, 'NON_FINITE');
        assert.match(e.message, /3 training steps in a row were skipped.*loss was not finite.*as it was before the first/);
        return true;
      });
      const after = parseModelFile(model.save());
      for (const k of ['streamPosition', 'dropoutRng', 'step', 'carriedBatch']) assert.equal(after[k], before[k], `${k} not put back`);
      assertSameState(stepState(model), beforeState, 'after three skips');
      assert.equal(after.skipped, (before.skipped ?? 0n) + 3n, 'the skips are still counted');
      assert.equal(model.trainingStats.skipStreak, 0);
    } finally {
      model.dispose();
      stream.dispose();
    }
  });
}

test('fit: skipped batches are logged per epoch; K in a row throw, naming epoch and batch', async () => {
  const x = Array.from({ length: 12 }, (_, i) => [[i / 12], [1 - i / 12]]);
  const y = Array.from({ length: 12 }, (_, i) => (i === 5 ? 1e30 : i / 12));
  const model = await Model.create({ inputSize: 1, outputSize: 1, hiddenSize: 6, head: 'mse', returnSequences: false, seed: 1 });
  try {
    const seen = [];
    const fit = model.fit(x, y, { epochs: 3, batchSize: 4, shuffle: false, onEpochEnd: (e, logs) => seen.push(logs.skipped) });
    assert.deepEqual(fit.history.skipped, [1, 1, 1], 'the batch holding sample 5 is skipped each epoch');
    assert.deepEqual(seen, [1, 1, 1]);
    assert.ok(fit.history.loss.every(Number.isFinite), `the epoch loss is the applied batches' mean: ${fit.history.loss}`);
    const bad = Array(12).fill(1e30);
    assert.throws(() => model.fit(x, bad, { epochs: 2, batchSize: 4, shuffle: false, maxSkips: 4 }), (e) => {
      assert.equal(e.code, 'NON_FINITE');
      assert.match(e.message, /^fit: epoch 1, batch 0: 4 training steps in a row were skipped/);
      return true;
    });
  } finally {
    model.dispose();
  }
});

test('the guard options are checked', async () => {
  const model = await Model.create({ vocabSize: 4, hiddenSize: 3 });
  try {
    assert.deepEqual(model.stepGuard, { maxSkips: 5, skipIfLossAbove: 0 });
    assert.throws(() => model.setStepGuard({ maxSkips: 0 }), /maxSkips must be an integer in \[1, 1000\]/);
    assert.throws(() => model.setStepGuard({ skipIfLossAbove: 0.5 }), /skipIfLossAbove must be a number in \(1, 1000000\]/);
    assert.throws(() => model.setStepGuard({ bogus: 1 }), /unknown option "bogus"/);
    model.setStepGuard({ skipIfLossAbove: 3 });
    assert.deepEqual(model.stepGuard, { maxSkips: 5, skipIfLossAbove: 3 });
    model.setStepGuard({ skipIfLossAbove: 0 });
    assert.equal(model.stepGuard.skipIfLossAbove, 0);
  } finally {
    model.dispose();
  }
});
