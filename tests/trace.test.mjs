// trace.test.mjs - Model.trace: every layer's h, c and gates against PyTorch, step by step
// (fixtures from tools/make_torch_trace_fixtures.py: LSTM, projected LSTM, GRU, bidirectional
// LSTM, over a chunk boundary of the trace), in both wasm builds; the probabilities against
// predict's; the inference and training states left alone; inputs and options checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LstmError, Model, TokenStream, Vocabulary, limits } from '../dist/lstm.js';
import { builds, compare, rng } from './helpers.mjs';

const all = await builds();
const load = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

// float32 arithmetic against PyTorch in float64 over 150 steps: the measured worst difference
// is printed per case (at most 2.4e-7); a wrong gate, a step out of place or a state not
// carried over the chunk boundary moves values by 1e-2 or more.
const ATOL = 1e-5;
const RTOL = 1e-5;

function near(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values vs torch ${expected.length}`);
  const c = compare(actual, expected, ATOL, RTOL);
  assert.equal(c.firstBad, -1, `${what}[${c.firstBad}]: ${actual[c.firstBad]} vs torch ${expected[c.firstBad]}`);
  return c.maxAbs;
}

const FIXTURES = ['torch_trace_lstm.json', 'torch_trace_lstm_proj.json', 'torch_trace_gru.json', 'torch_trace_bilstm.json'];

for (const build of all) {
  for (const name of FIXTURES) {
    test(`${build.name}: ${name}: every unit's h, c and gates per step match PyTorch`, async () => {
      const f = load(name);
      const dense = f.mode === 'dense';
      const model = await Model.create({
        ...(dense ? { inputSize: f.input_size } : { vocabSize: f.input_size }), outputSize: f.output_size,
        hiddenSize: f.hidden_size, layers: f.num_layers, cell: f.cell, projSize: f.proj_size,
        bidirectional: f.bidirectional, head: f.head, wasm: build.wasm,
      });
      try {
        model.setParameters(Float32Array.from(f.params));
        const input = dense ? f.inputs : f.tokens;
        const t = model.trace(input);
        assert.equal(t.steps, f.steps);
        assert.deepEqual(t.tokens, dense ? null : Int32Array.from(f.tokens));
        assert.equal(t.layers.length, f.units.length);
        let worst = 0;
        t.layers.forEach((unit, k) => {
          const want = f.units[k];
          const what = `layer ${unit.layer} ${unit.direction}`;
          assert.equal(unit.layer, want.layer);
          assert.equal(unit.direction, want.direction);
          assert.equal(unit.hSize, f.proj_size || f.hidden_size);
          assert.equal(unit.hiddenSize, f.hidden_size);
          worst = Math.max(worst, near(unit.h, want.h, `${what} h`));
          if (want.c === null) assert.equal(unit.c, null, `${what}: a GRU has no c`);
          else worst = Math.max(worst, near(unit.c, want.c, `${what} c`));
          assert.deepEqual(Object.keys(unit.gates), Object.keys(want.gates));
          for (const [g, values] of Object.entries(want.gates)) worst = Math.max(worst, near(unit.gates[g], values, `${what} gate ${g}`));
        });
        const out = near(t.probabilities, f.outputs, f.head === 'softmax' ? 'probabilities' : 'outputs');
        console.log(`  ${build.name} ${name}: ${t.layers.length} units x ${f.steps} steps, max |diff| h/c/gates ${worst.toExponential(1)}, ${f.head === 'softmax' ? 'probabilities' : 'outputs'} ${out.toExponential(1)}`);
      } finally {
        model.dispose();
      }
    });
  }

  test(`${build.name}: probabilities are predict's, bit for bit, for every cell (and a quantised model)`, async () => {
    const r = rng(5);
    const tokens = Array.from({ length: 300 }, () => Math.floor(r() * 23));
    for (const options of [
      { hiddenSize: 37, layers: 2 },
      { hiddenSize: 20, layers: 3, projSize: 7, peephole: true },
      { hiddenSize: 18, layers: 2, cell: 'gru' },
      { hiddenSize: 16, layers: 1, layerNorm: true },
      { hiddenSize: 12, layers: 2, bidirectional: true, cell: 'gru' },
      { hiddenSize: 24, layers: 2, quantize: true },
    ]) {
      const { quantize, ...create } = options;
      let model = await Model.create({ vocabSize: 23, seed: 4, ...create, wasm: build.wasm });
      if (quantize) {
        const q = await Model.load(model.save({ quantize: 'int8' }), { wasm: build.wasm });
        model.dispose();
        model = q;
      }
      try {
        const t = model.trace(tokens);
        const p = model.predictBatch({ batch: 1, steps: tokens.length, tokens });
        assert.deepEqual(t.probabilities, p, JSON.stringify(options));
        for (let s = 0; s < tokens.length; s++) {
          const row = t.probabilities.subarray(s * 23, (s + 1) * 23);
          assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, `step ${s} sums to 1`);
        }
      } finally {
        model.dispose();
      }
    }
  });

  test(`${build.name}: trace leaves the inference, sampler and training states as they were`, async () => {
    const vocab = new Vocabulary(Array.from({ length: 12 }, (_, i) => 97 + i));
    const ids = Int32Array.from({ length: 4000 }, (_, i) => (i * 5 + (i >> 3)) % 12);
    const make = async () => {
      const m = await Model.create({ vocabSize: 12, hiddenSize: 24, layers: 2, dropout: 0.1, seed: 2, wasm: build.wasm });
      m.setVocabulary(vocab);
      return m;
    };
    const [a, b] = [await make(), await make()];
    try {
      const out = [];
      for (const [m, withTrace] of [[a, false], [b, true]]) {
        const stream = new TokenStream(ids);
        try {
          const before = m.trainSteps(stream, { steps: 3, seqLength: 16, batchSize: 8 }).losses;
          m.resetInference();
          m.step(3);
          m.step(7);
          if (withTrace) {
            const t = m.trace('abcdefghijkl'.repeat(30), { layers: [1] });
            assert.equal(t.layers.length, 1);
          }
          const logits = m.step(1);
          const after = m.trainSteps(stream, { steps: 3, seqLength: 16, batchSize: 8 }).losses;
          out.push({ before, logits, after, text: m.generate({ prompt: 'ab', length: 40, temperature: 1, seed: 5 }) });
        } finally {
          stream.dispose();
        }
      }
      assert.deepEqual(out[1], out[0]);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
}

test('shapes: layers picked and ordered, gate names per cell, GRU without c, probabilities off', async () => {
  const vocab = Vocabulary.fromText('hello world');
  const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 6, layers: 3, projSize: 4, cifg: true, seed: 1 });
  const gru = await Model.create({ inputSize: 3, outputSize: 2, head: 'mse', hiddenSize: 5, layers: 2, cell: 'gru', bidirectional: true, seed: 1 });
  try {
    model.setVocabulary(vocab);
    const t = model.trace('hello', { layers: [2, 0, 2], probabilities: false });
    assert.deepEqual(t.layers.map((l) => l.layer), [0, 2]);
    assert.equal(t.probabilities, null);
    assert.deepEqual(Array.from(t.tokens), Array.from(vocab.encode('hello')));
    for (const l of t.layers) {
      assert.deepEqual(Object.keys(l.gates), ['i', 'g', 'o']);
      assert.equal(l.h.length, 5 * 4);
      assert.equal(l.c.length, 5 * 6);
      assert.equal(l.gates.g.length, 5 * 6);
    }
    // the same values whichever layers are recorded
    const whole = model.trace('hello');
    assert.deepEqual(whole.layers[2].h, t.layers[1].h);
    assert.equal(whole.probabilities.length, 5 * vocab.size);
    assert.deepEqual(model.trace(Array.from(vocab.encode('hello'))).layers[1].c, whole.layers[1].c);

    const steps = [[0.5, -1, 2], [0, 0, 1], [1, 1, -1], [0.25, 0.5, 0.75]];
    const g = gru.trace(steps);
    assert.equal(g.tokens, null);
    assert.deepEqual(g.layers.map((l) => `${l.layer} ${l.direction}`), ['0 forward', '0 reverse', '1 forward', '1 reverse']);
    for (const l of g.layers) {
      assert.equal(l.c, null);
      assert.deepEqual(Object.keys(l.gates), ['r', 'z', 'n']);
    }
    // a flat array of steps * inputSize is the same input; the mse head's values are predict's
    assert.deepEqual(gru.trace(steps.flat()), g);
    assert.deepEqual(g.probabilities, gru.predictBatch({ batch: 1, steps: 4, inputs: steps.flat() }));
    // the reverse unit's last step has read only the last input: the same as a trace of it alone
    const last = gru.trace([steps[3]]);
    assert.deepEqual(g.layers[1].h.subarray(3 * 5), last.layers[1].h);
    assert.notDeepEqual(g.layers[0].h.subarray(3 * 5), last.layers[0].h);
  } finally {
    model.dispose();
    gru.dispose();
  }
});

test('bad input: LstmError naming what was wrong, and the model stays usable', async () => {
  const vocab = Vocabulary.fromText('abc');
  const model = await Model.create({ vocabSize: 3, hiddenSize: 4, layers: 2, seed: 1 });
  const bare = await Model.create({ vocabSize: 3, hiddenSize: 4, seed: 1 });
  const dense = await Model.create({ inputSize: 2, outputSize: 2, hiddenSize: 4, seed: 1 });
  try {
    model.setVocabulary(vocab);
    const cases = [
      [() => model.trace('abxc'), 'TOKEN_RANGE', /character "x" \(U\+0078\) at offset 2 is not in the vocabulary/],
      [() => model.trace([0, 1, 3]), 'TOKEN_RANGE', /token 2 is 3, outside the model's vocabulary \[0, 3\)/],
      [() => model.trace([0, 1.5]), 'INVALID_ARGUMENT', /token 1 must be an integer id, got 1.5/],
      [() => model.trace(''), 'INVALID_ARGUMENT', /at least one step/],
      [() => model.trace(new Int32Array(limits.maxSteps + 1)), 'INVALID_ARGUMENT', /at most 65536 steps, got 65537/],
      [() => model.trace('abc', { layers: [2] }), 'INVALID_ARGUMENT', /layers\[\] must be an integer in \[0, 1\], got 2/],
      [() => model.trace('abc', { layers: 1 }), 'INVALID_ARGUMENT', /layers must be an array/],
      [() => model.trace('abc', { probabilities: 'yes' }), 'INVALID_ARGUMENT', /probabilities must be true or false/],
      [() => model.trace('abc', { layer: [0] }), 'INVALID_ARGUMENT', /unknown option "layer"/],
      [() => model.trace(42), 'INVALID_ARGUMENT', /text \(a string\) or token ids/],
      [() => bare.trace('abc'), 'STATE', /no vocabulary to read text with/],
      [() => dense.trace('ab'), 'INVALID_ARGUMENT', /text needs a token model/],
      [() => dense.trace([[1, 2], [3]]), 'INVALID_ARGUMENT', /step 1 must have 2 input values, got 1/],
      [() => dense.trace([1, 2, 3]), 'INVALID_ARGUMENT', /3 numbers is not a whole number of steps of 2/],
      [() => dense.trace([[1, NaN]]), 'INVALID_ARGUMENT', /input 1 of step 0 is not a finite number/],
    ];
    for (const [call, code, message] of cases) {
      assert.throws(call, (e) => e instanceof LstmError && e.code === code && message.test(e.message), String(call));
    }
    assert.equal(model.trace('cab').steps, 3);
    assert.equal(dense.trace([[1, 2]]).steps, 1);
    model.dispose();
    assert.throws(() => model.trace('abc'), (e) => e.code === 'DISPOSED');
  } finally {
    model.dispose();
    bare.dispose();
    dense.dispose();
  }
});
