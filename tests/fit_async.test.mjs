// fit_async.test.mjs - Model.fitAsync: the same batches as fit (bit-identical history and
// weights for the same options, validation, schedule and early stopping included), a task
// boundary between batches (timers keep running: the largest gap is printed), onBatchEnd per
// batch (a returned promise is awaited: a pause), and an AbortSignal that ends it after the
// batch under way with the model consistent (resolves with stopped: true).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LstmError, Model } from '../dist/lstm.js';
import { repeatTask } from './helpers.mjs';

const [x, y] = repeatTask(200, 41, 3, 3, 12);
const [xv, yv] = repeatTask(40, 42, 3, 3, 12);
const create = () => Model.create({ vocabSize: 6, outputSize: 2, hiddenSize: 16, returnSequences: false, dropout: 0.1, seed: 9 });
const options = {
  epochs: 5, batchSize: 16, learningRate: 5e-3, seed: 3, validationData: [xv, yv],
  schedule: { type: 'cosine', minLearningRate: 1e-3 }, earlyStopping: { patience: 50 },
};
const BATCHES = Math.ceil(200 / 16);

test('fitAsync takes the same batches as fit: identical history, weights and early-stopping state', async () => {
  const a = await create();
  const b = await create();
  try {
    const syncBatches = [];
    const sync = a.fit(x, y, { ...options, onBatchEnd: (batch, logs) => syncBatches.push([logs.epoch, batch, logs.loss]) });
    const asyncBatches = [];
    const result = await b.fitAsync(x, y, { ...options, onBatchEnd: (batch, logs) => { asyncBatches.push([logs.epoch, batch, logs.loss]); } });
    assert.deepEqual(result, sync);
    assert.equal(result.stopped, false);
    assert.deepEqual(b.parameters(), a.parameters());
    assert.deepEqual(asyncBatches, syncBatches);
    assert.equal(asyncBatches.length, 5 * BATCHES, 'onBatchEnd once per training batch');
    assert.deepEqual(asyncBatches.slice(0, BATCHES).map(([, batch]) => batch), [...Array(BATCHES).keys()]);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('fitAsync gives the event loop a turn between batches: a 5 ms timer keeps ticking', async () => {
  const [bx, by] = repeatTask(2000, 43, 3, 3, 40);
  const model = await Model.create({ vocabSize: 6, outputSize: 2, hiddenSize: 64, returnSequences: false, seed: 2 });
  try {
    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 5);
    const t0 = performance.now();
    let batches = 0;
    let batchMs = 0;
    let before = performance.now();
    await model.fitAsync(bx, by, { epochs: 2, batchSize: 32, onBatchEnd: () => { const now = performance.now(); batchMs = Math.max(batchMs, now - before); before = now; batches++; } });
    clearInterval(timer);
    const ms = performance.now() - t0;
    console.log(`  ${batches} batches in ${ms.toFixed(0)} ms (longest ${batchMs.toFixed(1)} ms); the 5 ms timer ticked ${ticks} times, largest gap ${maxGap.toFixed(1)} ms`);
    // a boundary at least every 10 ms after a batch ends: the gap is at most one batch plus
    // 10 ms plus the timer's own lateness; 100 ms is far above that and far below the run
    assert.ok(ms > 300, `the run is long enough to measure (${ms.toFixed(0)} ms)`);
    assert.ok(maxGap < Math.max(100, batchMs + 50), `largest timer gap ${maxGap.toFixed(1)} ms`);
    assert.ok(ticks >= ms / 40, `${ticks} ticks in ${ms.toFixed(0)} ms`);
  } finally {
    model.dispose();
  }
});

test('onBatchEnd may return a promise: the next batch waits for it (a pause)', async () => {
  const model = await create();
  try {
    const starts = [];
    let resumedAt = 0;
    await model.fitAsync(x, y, {
      epochs: 1, batchSize: 16,
      onBatchEnd: (batch) => {
        starts.push(performance.now());
        if (batch !== 2) return undefined;
        return new Promise((resolve) => setTimeout(() => { resumedAt = performance.now(); resolve(); }, 60));
      },
    });
    assert.equal(starts.length, BATCHES);
    assert.ok(resumedAt > 0 && starts[3] >= resumedAt, 'batch 3 ended after the pause was over');
  } finally {
    model.dispose();
  }
});

test('an AbortSignal ends fitAsync after the batch under way; the model is consistent and can go on', async () => {
  const model = await create();
  const reference = await create();
  try {
    // aborted in onBatchEnd of epoch 1, batch 4: that batch is the last one taken
    const controller = new AbortController();
    const seen = [];
    const r = await model.fitAsync(x, y, {
      ...options,
      signal: controller.signal,
      onBatchEnd: (batch, logs) => {
        seen.push([logs.epoch, batch]);
        if (logs.epoch === 1 && batch === 4) controller.abort();
      },
    });
    assert.equal(r.stopped, true);
    assert.equal(r.epochs, 1, 'one epoch completed');
    assert.equal(r.history.loss.length, 1, 'the epoch under way is not in the history');
    assert.equal(r.history.valLoss.length, 1);
    assert.deepEqual(seen.at(-1), [1, 4]);
    assert.equal(model.stepCount, BATCHES + 5, 'every batch taken, and no more');
    // the weights are those of the same batches taken by fit: an epoch of fit, then 5 batches
    // of the second epoch's order (fitAsync aborted the same way on the reference)
    const again = new AbortController();
    await reference.fitAsync(x, y, { ...options, signal: again.signal, onBatchEnd: (batch, logs) => { if (logs.epoch === 1 && batch === 4) again.abort(); } });
    assert.deepEqual(model.parameters(), reference.parameters());
    assert.ok(model.parameters().every(Number.isFinite));
    // and it trains on: a later fit works on the same model
    const more = await model.fitAsync(x, y, { epochs: 1, batchSize: 16 });
    assert.equal(more.stopped, false);
    assert.ok(Number.isFinite(more.history.loss[0]));

    // aborted from a timer while it runs: it resolves soon after, stopped
    const timed = new AbortController();
    const t0 = performance.now();
    setTimeout(() => timed.abort(), 30);
    const long = await model.fitAsync(x, y, { epochs: 1000, batchSize: 16, signal: timed.signal });
    const ms = performance.now() - t0;
    assert.equal(long.stopped, true);
    assert.ok(long.epochs < 1000);
    console.log(`  aborted by a timer at 30 ms: resolved at ${ms.toFixed(0)} ms, after ${long.epochs} epochs`);
    assert.ok(ms < 500, `resolved ${ms.toFixed(0)} ms after it started`);

    // an already aborted signal: nothing is taken
    const steps = model.stepCount;
    const none = await model.fitAsync(x, y, { epochs: 3, signal: AbortSignal.abort() });
    assert.deepEqual([none.stopped, none.epochs, none.history.loss.length, model.stepCount], [true, 0, 0, steps]);
  } finally {
    model.dispose();
    reference.dispose();
  }
});

test('fitAsync refuses bad options as fit does, by rejecting with an LstmError', async () => {
  const model = await create();
  try {
    await assert.rejects(model.fitAsync(x, y, { epochs: -1 }), (e) => e instanceof LstmError && e.code === 'INVALID_ARGUMENT' && /epochs must be an integer/.test(e.message));
    await assert.rejects(model.fitAsync(x, y, { signal: {} }), (e) => e instanceof LstmError && /signal must be an AbortSignal/.test(e.message));
    await assert.rejects(model.fitAsync(x, y, { batchsize: 3 }), /unknown option "batchsize"/);
    await assert.rejects(model.fitAsync([[0, 9]], [1]), (e) => e instanceof LstmError && /outside/.test(e.message));
  } finally {
    model.dispose();
  }
});
