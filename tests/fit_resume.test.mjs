// fit_resume.test.mjs - fit repeats and resumes: the same seed gives bit-identical histories,
// and a model saved after epoch k and fitted again from initialEpoch k continues with exactly
// the losses, weights and early-stopping count of the uninterrupted run (the shuffle order
// and the learning-rate schedule of an epoch depend only on seed and epoch; the dropout
// generator, step count and optimizer moments travel in the file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model } from '../dist/lstm.js';
import { builds, repeatTask } from './helpers.mjs';

const [x, y] = repeatTask(96, 31, 3, 3, 12);
const [xv, yv] = repeatTask(32, 32, 3, 3, 12);
const create = (wasm) => Model.create({ vocabSize: 6, outputSize: 2, hiddenSize: 10, returnSequences: false, dropout: 0.2, recurrentDropout: 0.1, seed: 4, wasm });
const options = {
  epochs: 6, batchSize: 16, learningRate: 5e-3, seed: 77, validationData: [xv, yv],
  schedule: { type: 'cosine', minLearningRate: 1e-3 }, earlyStopping: { patience: 50 },
};

for (const { name, wasm } of await builds()) {
  test(`${name}: the same seed gives bit-identical fit histories`, async () => {
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const model = await create(wasm);
      try {
        runs.push({ result: model.fit(x, y, options), params: model.parameters() });
      } finally {
        model.dispose();
      }
    }
    assert.deepEqual(runs[1].result, runs[0].result);
    assert.deepEqual(runs[1].params, runs[0].params);
    // a different shuffle seed is a different run (the test could not pass by ignoring it)
    const other = await create(wasm);
    try {
      const result = other.fit(x, y, { ...options, seed: 78 });
      assert.notDeepEqual(result.history.loss, runs[0].result.history.loss);
    } finally {
      other.dispose();
    }
  });

  test(`${name}: fit saved after epoch 3 and resumed with initialEpoch 3 continues exactly`, async () => {
    const whole = await create(wasm);
    const first = await create(wasm);
    let resumed;
    try {
      const all = whole.fit(x, y, options);
      // the first part stops after epoch index 2, like a process that was interrupted there
      const part = first.fit(x, y, { ...options, onEpochEnd: (epoch) => epoch < 2 });
      assert.equal(part.epochs, 3);
      resumed = await Model.load(first.save(), { wasm });
      const rest = resumed.fit(x, y, { ...options, initialEpoch: 3, earlyStopping: { patience: 50, state: part.earlyStopping } });
      for (const key of ['loss', 'valLoss', 'valAccuracy', 'learningRate', 'skipped']) {
        assert.deepEqual([...part.history[key], ...rest.history[key]], all.history[key], `history.${key}`);
      }
      assert.equal(rest.epochs, 6);
      assert.deepEqual(rest.earlyStopping, all.earlyStopping);
      assert.equal(rest.bestEpoch, all.bestEpoch);
      assert.deepEqual(resumed.parameters(), whole.parameters());
      console.log(`  loss ${all.history.loss.map((l) => l.toFixed(4)).join(' ')}, identical after the resume at epoch 3`);
    } finally {
      whole.dispose();
      first.dispose();
      resumed?.dispose();
    }
  });
}

test('fit: initialEpoch with a schedule needs the base learning rate; bad state is named', async () => {
  const model = await Model.create({ vocabSize: 6, outputSize: 2, hiddenSize: 4, returnSequences: false });
  try {
    assert.throws(() => model.fit(x, y, { epochs: 3, initialEpoch: 1, schedule: { type: 'cosine' } }), /give learningRate/);
    assert.throws(() => model.fit(x, y, { epochs: 3, initialEpoch: 4 }), /initialEpoch must be an integer in \[0, 3\]/);
    assert.throws(() => model.fit(x, y, { earlyStopping: { state: { bestLoss: 1, bestEpoch: 0, waited: 1 } } }), /unknown option "waited"/);
    const r = model.fit(x, y, { epochs: 2, initialEpoch: 2 });
    assert.equal(r.epochs, 2, 'nothing left to do');
    assert.deepEqual(r.history.loss, []);
  } finally {
    model.dispose();
  }
});
