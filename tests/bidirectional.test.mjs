// bidirectional.test.mjs - the bidirectional wrapper: PyTorch parity on padded batches
// (fixtures from tools/make_torch_bidirectional_fixtures.py: nn.LSTM/nn.GRU(bidirectional=True)
// on packed sequences), what the reverse direction adds, the memory classification task, and
// the calls that need a one-directional model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Model, LstmError, TextDataset, Vocabulary } from '../dist/lstm.js';
import { assertMatchesTorch, builds, fitRepeatTask, rng, softmaxRows } from './helpers.mjs';

const all = await builds();
const FIXTURES = ['torch_bilstm_dense_mse_masked.json', 'torch_bigru_tokens_last_masked.json', 'torch_bilstm_proj_dense_last.json'];
const load = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

// tolerance: helpers.mjs (TORCH_ATOL/RTOL); reading the reverse direction from the padded
// end instead of each sequence's own last step, or the wrong half of out.weight, moves values
// by 1e-2 or more.

for (const build of all) {
  for (const name of FIXTURES) {
    test(`${build.name}: ${name} matches PyTorch`, async () => {
      const f = load(name);
      const dense = f.mode === 'dense';
      const mse = f.head === 'mse';
      const model = await Model.create({
        ...(dense ? { inputSize: f.input_size } : { vocabSize: f.input_size }), outputSize: f.output_size,
        hiddenSize: f.hidden_size, layers: f.num_layers, cell: f.cell, head: f.head,
        returnSequences: !f.last_step_only, projSize: f.proj_size, bidirectional: true, wasm: build.wasm,
      });
      try {
        assert.equal(model.config.bidirectional, true);
        assert.equal(model.parameterCount, f.params.length);
        model.setParameters(Float32Array.from(f.params));
        const batch = { batch: f.batch, steps: f.steps, lengths: f.lengths, ...(dense ? { inputs: f.inputs } : { tokens: f.tokens }),
          ...(mse ? { targetValues: f.target_values } : { targets: f.targets }) };
        const { loss, gradients, inputGradients } = model.computeGradients(batch);
        assert.ok(Math.abs(loss - f.loss) < 1e-5, `loss ${loss} vs torch ${f.loss}`);
        const g = assertMatchesTorch(gradients, f.grads, 'gradient');
        const extra = dense ? `, input grads ${assertMatchesTorch(inputGradients, f.input_grads, 'input gradient').toExponential(1)}` : '';
        // outputs (mse: values; softmax: probabilities from torch's logits), zero at padding
        const { targets, targetValues, ...inputs } = batch;
        const out = model.predictBatch(inputs);
        const o = assertMatchesTorch(out, mse ? f.outputs : softmaxRows(f.outputs, f.output_size), 'output');
        console.log(`  ${build.name} ${name}: |loss diff| ${Math.abs(loss - f.loss).toExponential(1)}, grads max abs diff ${g.toExponential(1)}, outputs ${o.toExponential(1)}${extra}`);
      } finally {
        model.dispose();
      }
    });
  }
}

/** Every-step regression whose target at t is the input 3 steps later (0 past the end):
 * only a model that reads the sequence backwards as well can know it. Lengths 15..20. */
function futureTask(n, seed) {
  const r = rng(seed);
  const x = [];
  const y = [];
  for (let i = 0; i < n; i++) {
    const len = 20 - Math.floor(r() * 6);
    const s = Array.from({ length: len }, () => 2 * r() - 1);
    x.push(s.map((v) => [v]));
    y.push(s.map((_, t) => [t + 3 < len ? s[t + 3] : 0]));
  }
  return [x, y];
}

test('a target from the future: the bidirectional model learns it, the forward-only one cannot', async () => {
  const [x, y] = futureTask(1000, 1);
  const [xv, yv] = futureTask(300, 2);
  const result = {};
  for (const bidirectional of [false, true]) {
    const model = await Model.create({ inputSize: 1, outputSize: 1, hiddenSize: 16, head: 'mse', bidirectional, seed: 3, wasm: all[0].wasm });
    try {
      const t0 = performance.now();
      model.fit(x, y, { epochs: 15, batchSize: 32, learningRate: 1e-2 });
      result[bidirectional] = { ...model.evaluate(xv, yv), seconds: (performance.now() - t0) / 1000 };
    } finally {
      model.dispose();
    }
  }
  const uni = result.false;
  const bi = result.true;
  console.log(`  validation mse: forward-only ${uni.loss.toFixed(4)} (${uni.seconds.toFixed(1)} s), bidirectional ${bi.loss.toFixed(5)} (${bi.seconds.toFixed(1)} s); measured 0.280 and 0.00013`);
  // the future inputs are U(-1, 1), variance 1/3 on ~85% of the rows: a forward-only model
  // can do no better than ~0.28; the reverse direction has read them
  assert.ok(uni.loss > 0.2, `forward-only mse ${uni.loss}: it cannot see the future`);
  assert.ok(bi.loss < 0.02, `bidirectional mse ${bi.loss}`);
});

test('classification, bidirectional: is the first of 50 tokens repeated at the end, well above chance', async () => {
  // measured: 0.934 after 28 epochs, through plateaus at 0.75 and 0.92 (one more symbol each)
  const { before, after } = await fitRepeatTask({ epochs: 60, bidirectional: true, wasm: all[0].wasm });
  assert.ok(before.accuracy < 0.6, `untrained accuracy ${before.accuracy} (chance 0.5)`);
  assert.ok(after.accuracy >= 0.85, `validation accuracy ${after.accuracy}`);
});

test('bidirectional: whole sequences only; the option, files and bad values', async () => {
  const wasm = all[0].wasm;
  const throwsLstm = (fn, re) => assert.throws(fn, (e) => e instanceof LstmError && re.test(e.message) ? true : assert.fail(`${e.message} does not match ${re}`));
  await assert.rejects(Model.create({ vocabSize: 4, bidirectional: 'yes', wasm }), (e) => e instanceof LstmError && /bidirectional must be true or false, got yes/.test(e.message));
  const model = await Model.create({ vocabSize: 6, hiddenSize: 8, layers: 2, bidirectional: true, seed: 2, wasm });
  try {
    const names = model.tensors().map((t) => t.name);
    assert.deepEqual(names.slice(0, 8), ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0',
      'weight_ih_l0_reverse', 'weight_hh_l0_reverse', 'bias_ih_l0_reverse', 'bias_hh_l0_reverse']);
    const shapes = Object.fromEntries(model.tensors().map((t) => [t.name, [t.rows, t.cols]]));
    assert.deepEqual(shapes.weight_ih_l1_reverse, [32, 16]); // layer 1 reads both directions
    assert.deepEqual(shapes['out.weight'], [6, 16]);
    // a tagging model (every step, tokens): trains and predicts on whole sequences
    const x = [[0, 1, 2, 3], [4, 5, 0]];
    const y = [[1, 2, 3, 4], [5, 0, 1]];
    model.fit(x, y, { epochs: 2, batchSize: 2 });
    const before = model.predict(x);
    // step-by-step calls and text streams refuse, naming why; the model is unchanged
    throwsLstm(() => model.step(1), /bidirectional model needs the whole sequence/);
    throwsLstm(() => model.resetInference(), /bidirectional/);
    const text = new TextDataset('abcdef'.repeat(50), Vocabulary.fromText('abcdef'));
    throwsLstm(() => model.trainSteps(text, { steps: 1, batchSize: 2, seqLength: 8 }), /bidirectional model reads whole sequences/);
    assert.equal(model.vocabulary, null, 'a refused trainSteps sets no vocabulary');
    assert.deepEqual(model.predict(x), before);
    // a file keeps the option (format version 2; 3 with the training state of a trained
    // model, for its bad-step record) and the predictions
    const version = (b) => new DataView(b.buffer, b.byteOffset).getUint32(8, true);
    assert.equal(version(model.save({ trainingState: false })), 2);
    const bytes = model.save();
    assert.equal(version(bytes), 3);
    const back = await Model.load(bytes, { wasm });
    try {
      assert.equal(back.config.bidirectional, true);
      assert.deepEqual(back.predict(x), before);
    } finally {
      back.dispose();
    }
  } finally {
    model.dispose();
  }
});
