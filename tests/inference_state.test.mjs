// inference_state.test.mjs - Model.inferenceState / restoreInferenceState: a point of step-by-step
// inference kept as bytes and gone back to (the same floats after it, any number of times, in
// another model of the same shape too); generation branched from a restored point (the same seed
// writes the same text; without a seed the sampler's random state continues); damaged bytes and
// another model's shape refused with an LstmError naming why, the model usable and unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LstmError, Model, Vocabulary } from '../dist/lstm.js';
import { builds, rng } from './helpers.mjs';

const all = await builds();

for (const build of all) {
  test(`${build.name}: steps after a restored state are the same floats, every time, in any model of that shape`, async () => {
    for (const options of [
      { vocabSize: 13, hiddenSize: 21, layers: 2 },
      { vocabSize: 13, hiddenSize: 16, layers: 3, projSize: 5, peephole: true },
      { vocabSize: 13, hiddenSize: 12, layers: 2, cell: 'gru' },
      { inputSize: 3, outputSize: 2, head: 'mse', hiddenSize: 9, layers: 2, layerNorm: true },
    ]) {
      const model = await Model.create({ ...options, seed: 3, wasm: build.wasm });
      const twin = await Model.create({ ...options, seed: 3, wasm: build.wasm });
      const r = rng(7);
      const input = () => (options.vocabSize ? Math.floor(r() * 13) : [r() - 0.5, r() - 0.5, r() - 0.5]);
      try {
        for (let i = 0; i < 9; i++) model.step(input());
        const saved = model.inferenceState();
        const after = Array.from({ length: 6 }, input);
        const first = after.map((x) => model.step(x));
        for (let round = 0; round < 2; round++) {
          model.resetInference();
          model.step(input()); // somewhere else first
          model.restoreInferenceState(saved);
          assert.deepEqual(after.map((x) => model.step(x)), first, `${JSON.stringify(options)}, round ${round}`);
        }
        // another model of the same shape continues from it as the first did (same weights here)
        twin.restoreInferenceState(saved);
        assert.deepEqual(after.map((x) => twin.step(x)), first, `twin, ${JSON.stringify(options)}`);
        // and a model saved then loaded keeps reading states of its shape
        const loaded = await Model.load(model.save(), { wasm: build.wasm });
        loaded.restoreInferenceState(saved);
        assert.deepEqual(after.map((x) => loaded.step(x)), first);
        loaded.dispose();
      } finally {
        model.dispose();
        twin.dispose();
      }
    }
  });
}

test('a quantised model keeps and restores its state too', async () => {
  const source = await Model.create({ vocabSize: 11, hiddenSize: 20, layers: 2, seed: 4 });
  const q = await Model.load(source.save({ quantize: 'int8' }));
  source.dispose();
  try {
    for (const t of [1, 5, 7]) q.step(t);
    const saved = q.inferenceState();
    const first = [2, 9, 3].map((t) => q.step(t));
    q.resetInference();
    q.restoreInferenceState(saved);
    assert.deepEqual([2, 9, 3].map((t) => q.step(t)), first);
  } finally {
    q.dispose();
  }
});

test('the bytes: versioned, checksummed, the same after a load, independent of the heap', async () => {
  const model = await Model.create({ vocabSize: 7, hiddenSize: 5, layers: 2, seed: 1 });
  try {
    model.step(2);
    const s = model.inferenceState();
    assert.ok(s instanceof Uint8Array);
    assert.equal(new TextDecoder().decode(s.subarray(0, 8)), 'LSTMINFS');
    assert.equal(new DataView(s.buffer).getUint32(8, true), 1, 'version 1');
    assert.equal(new DataView(s.buffer).getUint32(12, true), s.length);
    model.restoreInferenceState(s);
    assert.deepEqual(model.inferenceState(), s);
    model.restoreInferenceState(s.buffer); // an ArrayBuffer too
    // the state of a fresh reset differs from the stepped one, and is restored as well
    model.resetInference();
    const zero = model.inferenceState();
    assert.notDeepEqual(zero, s);
    model.restoreInferenceState(s);
    model.restoreInferenceState(zero);
    assert.deepEqual(model.inferenceState(), zero);
  } finally {
    model.dispose();
  }
});

test('damaged bytes, another shape, a model file: LstmError naming why; the state kept, the model usable', async () => {
  const model = await Model.create({ vocabSize: 9, hiddenSize: 6, layers: 2, seed: 2 });
  const other = await Model.create({ vocabSize: 9, hiddenSize: 8, layers: 2, seed: 2 });
  const gru = await Model.create({ vocabSize: 9, hiddenSize: 6, layers: 2, seed: 2, cell: 'gru' });
  const bi = await Model.create({ inputSize: 2, outputSize: 2, hiddenSize: 4, bidirectional: true });
  try {
    model.step(1);
    model.step(4);
    const s = model.inferenceState();
    const next = model.step(5);
    model.restoreInferenceState(s);
    const codes = {};
    const expectRefused = (bytes, code, message) => {
      assert.throws(() => model.restoreInferenceState(bytes), (e) => e instanceof LstmError && e.code === code && (!message || message.test(e.message)),
        `${code} ${message ?? ''}`);
      codes[code] = (codes[code] ?? 0) + 1;
    };
    for (let n = 0; n < s.length; n += 7) expectRefused(s.slice(0, n), 'TRUNCATED');
    for (let i = 0; i < s.length; i++) {
      const bad = s.slice();
      bad[i] ^= 0x10;
      assert.throws(() => model.restoreInferenceState(bad), (e) => e instanceof LstmError && ['BAD_MAGIC', 'UNSUPPORTED_VERSION', 'TRUNCATED', 'CORRUPT', 'CHECKSUM'].includes(e.code), `byte ${i}`);
    }
    expectRefused(s.slice(0, 20), 'TRUNCATED', /holds \d+ bytes, only 20 were given/);
    const flipped = s.slice();
    flipped[40] ^= 1;
    expectRefused(flipped, 'CHECKSUM', /checksum does not match/);
    expectRefused(Uint8Array.of(...s, 0), 'CORRUPT', /size field says/);
    expectRefused(model.save(), 'BAD_MAGIC', /a model file, not an inference state/);
    expectRefused(new Uint8Array(64), 'BAD_MAGIC', /bad magic/);
    assert.throws(() => other.restoreInferenceState(s), (e) => e.code === 'INVALID_ARGUMENT' &&
      /for another model \(2 layers x 6 lstm \(projection 0\), tokens 9 -> 9\); this one is 2 layers x 8 lstm/.test(e.message));
    assert.throws(() => gru.restoreInferenceState(s), (e) => e.code === 'INVALID_ARGUMENT' && /6 gru/.test(e.message));
    assert.throws(() => model.restoreInferenceState('bytes'), (e) => e instanceof LstmError && /needs the Uint8Array/.test(e.message));
    assert.throws(() => bi.inferenceState(), (e) => e.code === 'STATE' && /bidirectional/.test(e.message));
    // none of it moved the state: the next step is what it was
    assert.deepEqual(model.step(5), next);
    console.log(`  ${s.length} bytes; refused: ${JSON.stringify(codes)} and every flipped byte`);
  } finally {
    for (const m of [model, other, gru, bi]) m.dispose();
  }
});
test('generation from a restored state: the same seed writes the same text; without one the stream continues', async () => {
  const vocab = new Vocabulary(Array.from('abcdefghij klmno'.split('').map((c) => c.codePointAt(0))));
  const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 24, layers: 2, seed: 9, initScale: 0.8 });
  try {
    model.setVocabulary(vocab);
    const start = model.generate({ prompt: 'abc', length: 30, seed: 4, temperature: 1 });
    const point = model.inferenceState();
    // one call of 60 characters is the same text as 30 + 30 with the second continuing
    const whole = model.generate({ prompt: 'abc', length: 60, seed: 4, temperature: 1 });
    assert.equal(whole.slice(0, 30), start);
    model.restoreInferenceState(point);
    const rest = model.generate({ continue: true, length: 30, temperature: 1 });
    assert.equal(start + rest, whole, 'continuing without a seed keeps the sampler\'s stream');
    // branches: the same seed twice writes the same text, another seed another
    const branch = (seed) => {
      model.restoreInferenceState(point);
      return model.generate({ continue: true, length: 40, seed, temperature: 1 });
    };
    const [a, b, c] = [branch(7), branch(7), branch(8)];
    assert.equal(a, b);
    assert.notEqual(a, c);
    // and several branches of one point in one call: sample k is the branch with seed 7 + k
    model.restoreInferenceState(point);
    const three = model.generate({ continue: true, length: 40, seed: 7, n: 3, temperature: 1 });
    assert.deepEqual(three, [a, c, branch(9)]);
    console.log(`  "${start}" | "${rest}" ; branches "${a}", "${c}"`);
  } finally {
    model.dispose();
  }
});
