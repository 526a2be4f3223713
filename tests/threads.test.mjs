// threads.test.mjs - the threads build: matrix products, cells, transposes and optimizer
// updates cut over 2 threads at boundaries that keep each element's arithmetic, so training,
// prediction and generation are bit-identical to one thread, on shapes that are not multiples
// of the tiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model, TokenStream, Vocabulary, _internals, buildInfo } from '../dist/lstm.js';
import { rng } from './helpers.mjs';

const one = await _internals({ simd: true, threads: 1 });
const two = await _internals({ simd: true, threads: 2 });

test('Node.js gets the threads build by default, and says why', async () => {
  const info = await buildInfo();
  assert.equal(info.threads, 2);
  assert.equal(info.kernels, 'wasmsimd-threads');
  assert.match(info.threadsReason, /worker_threads/);
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
});

/** The same work on both instances; returns what each produced. */
async function onBoth(options, work) {
  const out = [];
  for (const wasm of [one, two]) {
    const model = await Model.create({ ...options, wasm });
    try {
      out.push(await work(model, wasm));
    } finally {
      model.dispose();
    }
  }
  return out;
}

test('char model: training (dropout, odd sizes) and generation are bit-identical on 1 and 2 threads', async () => {
  const r = rng(4);
  const ids = Int32Array.from({ length: 30000 }, (_, i) => (i % 9 === 0 ? Math.floor(r() * 23) : (i * 5) % 23));
  const vocab = new Vocabulary(Array.from({ length: 23 }, (_, i) => 97 + i));
  // batch 37: the recurrent product is cut by rows; batch 13: too few rows, cut by columns;
  // hidden 301: one generation step's products are large enough to be cut (by columns);
  // hidden 130 x batch 40: the cells are cut too (by rows); the optimizer and the transposes
  // are cut in all of them
  for (const [hiddenSize, batchSize] of [[77, 37], [77, 13], [301, 5], [130, 40]]) {
    const [a, b] = await onBoth({ vocabSize: 23, hiddenSize, layers: 2, dropout: 0.1, seed: 3 }, (model) => {
      const stream = new TokenStream(ids);
      try {
        const stats = model.trainSteps(stream, { steps: 4, seqLength: 21, batchSize });
        return { losses: stats.losses, params: model.parameters(), text: model.generate({ vocab, prompt: 'abc', length: 200, seed: 9, temperature: 0.8 }) };
      } finally {
        stream.dispose();
      }
    });
    assert.deepEqual(b.losses, a.losses, `hidden ${hiddenSize}, batch ${batchSize}`);
    assert.deepEqual(b.params, a.params, `hidden ${hiddenSize}, batch ${batchSize}`);
    assert.equal(b.text, a.text, `hidden ${hiddenSize}, batch ${batchSize}`);
  }
});

test('task models (bidirectional GRU, projection, layer norm): fit, predict and gradients bit-identical', async () => {
  const r = rng(8);
  const x = Array.from({ length: 96 }, () => Array.from({ length: 11 }, () => [r() - 0.5, r() - 0.5, r() - 0.5]));
  const y = x.map((s) => [s[0][0] + s[10][1], s[5][2]]);
  for (const options of [
    { cell: 'gru', bidirectional: true, hiddenSize: 45 },
    { projSize: 13, hiddenSize: 41, peephole: true },
    { layerNorm: true, hiddenSize: 39, layers: 2 },
  ]) {
    const [a, b] = await onBoth({ inputSize: 3, outputSize: 2, head: 'mse', returnSequences: false, seed: 6, ...options }, (model) => {
      const fit = model.fit(x, y, { epochs: 2, batchSize: 48 });
      const batch = { batch: 3, steps: 11, inputs: x.slice(0, 3).flat(2), targetValues: y.slice(0, 3).flat() };
      model.resetState();
      return { loss: fit.history.loss, predictions: model.predict(x.slice(0, 5)), gradients: model.computeGradients(batch) };
    });
    assert.deepEqual(b, a, JSON.stringify(options));
  }
});

test('threads are counted and checked', async () => {
  await assert.rejects(_internals({ simd: false, threads: 2 }), /threads need the SIMD build/);
  await assert.rejects(_internals({ simd: true, threads: 0 }), /threads must be an integer in \[1, 64\]/);
});

test('a quantised model generates and predicts bit-identically on 1 and 2 threads', async () => {
  const vocab = new Vocabulary(Array.from({ length: 30 }, (_, i) => 97 + i));
  const source = await Model.create({ vocabSize: 30, hiddenSize: 300, layers: 2, seed: 8, wasm: one });
  const bytes = source.save({ quantize: 'int8' });
  source.dispose();
  const out = [];
  for (const wasm of [one, two]) {
    const q = await Model.load(bytes, { wasm });
    try {
      out.push({ text: q.generate({ vocab, prompt: 'abc', length: 150, seed: 2 }), probs: q.predictBatch({ batch: 2, steps: 40, tokens: Array.from({ length: 80 }, (_, i) => (i * 11) % 30) }) });
    } finally {
      q.dispose();
    }
  }
  assert.equal(out[1].text, out[0].text);
  assert.deepEqual(out[1].probs, out[0].probs);
});

test('trace: every unit\'s h, c, gates and the probabilities bit-identical on 1 and 2 threads (float and quantised)', async () => {
  const r = rng(12);
  // hidden 301: the recurrent products of single steps are cut (by columns), and the chunks'
  // input and head products (128 rows) by rows; 300 steps cross two chunk boundaries
  const tokens = Array.from({ length: 300 }, () => Math.floor(r() * 23));
  for (const options of [{ hiddenSize: 301, layers: 2 }, { hiddenSize: 150, layers: 2, bidirectional: true, cell: 'gru' }, { hiddenSize: 300, layers: 2, quantize: true }]) {
    const { quantize, ...create } = options;
    const out = [];
    for (const wasm of [one, two]) {
      let model = await Model.create({ vocabSize: 23, seed: 5, ...create, wasm });
      if (quantize) {
        const q = await Model.load(model.save({ quantize: 'int8' }), { wasm });
        model.dispose();
        model = q;
      }
      try {
        out.push(model.trace(tokens));
      } finally {
        model.dispose();
      }
    }
    assert.deepEqual(out[1], out[0], JSON.stringify(options));
  }
});

test('several samples in one call (n: 8, stop strings, repetition penalty) bit-identical on 1 and 2 threads, float and quantised', async () => {
  const vocab = new Vocabulary(Array.from({ length: 23 }, (_, i) => 97 + i));
  // hidden 301: the 8-row products are cut by columns (too few rows to cut by rows)
  for (const quantize of [false, true]) {
    const source = await Model.create({ vocabSize: 23, hiddenSize: 301, layers: 2, seed: 8, wasm: one });
    const bytes = source.save(quantize ? { quantize: 'int8' } : {});
    source.dispose();
    const out = [];
    for (const wasm of [one, two]) {
      const model = await Model.load(bytes, { wasm });
      try {
        const texts = model.generate({ vocab, prompt: 'abc', length: 120, seed: 2, n: 8, stop: ['kk', 'xyz'], repetitionPenalty: 1.3, temperature: 1.1 });
        out.push({ texts, state: model.inferenceState() });
      } finally {
        model.dispose();
      }
    }
    assert.deepEqual(out[1], out[0], quantize ? 'quantised' : 'float');
  }
});
