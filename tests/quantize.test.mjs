// quantize.test.mjs - quantised (int8) files: about 4 times smaller, the same predictions
// within the rounding of int8 weights, generation on the int8 rows, inference only, and
// re-saved byte for byte; in both builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model, TokenStream, Vocabulary, LstmError } from '../dist/lstm.js';
import { builds, rng } from './helpers.mjs';

const throwsState = (fn, pattern) => assert.throws(fn, (e) => {
  assert.ok(e instanceof LstmError, `expected LstmError, got ${e}`);
  assert.equal(e.code, 'STATE');
  assert.match(e.message, pattern);
  return true;
});

for (const { name, wasm } of await builds()) {
  test(`${name}: a char model saved as int8 is ~4x smaller, predicts within int8 rounding, generates, cannot train`, async () => {
    const r = rng(5);
    const ids = Int32Array.from({ length: 20000 }, (_, i) => (i % 6 === 0 ? Math.floor(r() * 40) : (i * 7) % 40));
    const stream = new TokenStream(ids);
    const vocab = new Vocabulary(Array.from({ length: 40 }, (_, i) => 48 + i));
    const model = await Model.create({ vocabSize: 40, hiddenSize: 96, layers: 2, seed: 2, wasm });
    let q;
    try {
      model.trainSteps(stream, { steps: 30, seqLength: 32, batchSize: 16 });
      const f32 = model.save({ trainingState: false });
      const bytes = model.save({ quantize: 'int8' });
      const ratio = f32.length / bytes.length;
      assert.equal(new DataView(bytes.buffer).getUint32(8, true), 4, 'format version 4');
      q = await Model.load(bytes, { wasm });
      assert.equal(q.quantized, true);
      assert.equal(model.quantized, false);
      // predictions: every step of 4 sequences, from zero states
      const batch = { batch: 4, steps: 25, tokens: Array.from(ids.slice(100, 200)) };
      const a = model.predictBatch(batch);
      const b = q.predictBatch(batch);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      const la = model.evaluate(stream, { batchSize: 8, seqLength: 64 });
      const lb = q.evaluate(stream, { batchSize: 8, seqLength: 64 });
      console.log(`  ${name}: ${f32.length} -> ${bytes.length} bytes (${ratio.toFixed(2)}x), probabilities within ${worst.toExponential(2)}, loss ${la.toFixed(4)} -> ${lb.toFixed(4)}`);
      assert.ok(ratio > 3.5, `only ${ratio.toFixed(2)}x smaller`);
      // int8 rows keep 2-3 digits of each weight: measured 1e-3 here; a wrong scale or row is 1e-1
      assert.ok(worst > 0 && worst < 1e-2, `probabilities differ by ${worst}`);
      assert.ok(Math.abs(lb / la - 1) < 0.01, `loss ${lb} vs ${la}`);
      const text = q.generate(vocab, { prompt: '012', length: 80, seed: 4 });
      assert.equal([...text].length, 80);
      // inference only
      throwsState(() => q.trainSteps(stream, { steps: 1, seqLength: 8, batchSize: 2 }), /quantised \(int8\) model is for inference/);
      throwsState(() => q.trainBatch({ batch: 1, steps: 2, tokens: [0, 1], targets: [1, 2] }), /for inference/);
      throwsState(() => q.setOptimizer({ learningRate: 1e-3 }), /for inference/);
      throwsState(() => q.parameters(), /int8/);
      throwsState(() => q.setParameters(new Float32Array(q.parameterCount)), /for inference/);
      throwsState(() => q.save({ quantize: 'none' }), /saves as int8 only/);
      assert.throws(() => model.save({ quantize: 'int8', trainingState: true }), /has no training state/);
      assert.throws(() => model.save({ quantize: 'int4' }), /quantize must be 'int8' or 'none'/);
      // a quantised model saves as the same bytes, and tensors() still describes the layout
      assert.deepEqual(q.save(), bytes);
      assert.deepEqual(q.tensors(), model.tensors());
    } finally {
      model.dispose();
      q?.dispose();
      stream.dispose();
    }
  });
}

test('a quantised dense, bidirectional, projected model predicts within int8 rounding', async () => {
  const r = rng(9);
  const x = Array.from({ length: 8 }, () => Array.from({ length: 13 }, () => [r() - 0.5, r() - 0.5, r() - 0.5]));
  for (const options of [{ cell: 'gru', bidirectional: true }, { projSize: 9, peephole: true, layers: 2 }, { layerNorm: true }]) {
    const model = await Model.create({ inputSize: 3, outputSize: 2, hiddenSize: 33, head: 'mse', seed: 3, initScale: 0.4, ...options });
    const q = await Model.load(model.save({ quantize: 'int8' }));
    try {
      const a = model.predict(x).flatMap((v) => [...v]);
      const b = q.predict(x).flatMap((v) => [...v]);
      let worst = 0;
      let size = 0;
      for (let i = 0; i < a.length; i++) { worst = Math.max(worst, Math.abs(a[i] - b[i])); size = Math.max(size, Math.abs(a[i])); }
      console.log(`  ${JSON.stringify(options)}: outputs within ${worst.toExponential(2)} (largest ${size.toFixed(2)})`);
      assert.ok(worst < 0.02 * Math.max(size, 0.1), `${JSON.stringify(options)}: ${worst}`);
    } finally {
      model.dispose();
      q.dispose();
    }
  }
});
