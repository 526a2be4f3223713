// extend_vocabulary.test.mjs - Model.extendVocabulary: a model given symbols it has never seen.
// What it must keep: the old ids, and on text of the old symbols every h, c and gate value
// bit for bit (the new input columns are never read), the old symbols' logits up to the
// rounding of the head's dot products, hence the old distribution once renormalised over the
// old symbols; what it must add: a fresh model's values in the new columns and rows, in the
// PyTorch layout (the tensors of a model made with the extended size, and tools/lstm_layout.py's
// view of it); and that a Session continues from the extended model on a text with the new
// symbols.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Corpus, Model, Session, Vocabulary } from '../dist/lstm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Old symbols, and a vocabulary that repeats some of them and adds others (one outside the
// BMP: a surrogate pair in UTF-16) in an order of its own.
const OLD_TEXT = 'the cat sat on the mat. a dog ran to the red door; it was late.\n';
const NEW_VOCAB = new Vocabulary([...'zé a—Ωt🙂'].map((c) => c.codePointAt(0)));
const ADDED = ['z', 'é', '—', 'Ω', '🙂'];
// A text of the old symbols only, long enough for every unit's state to move.
const PROBE = 'a dog sat on the red mat. the cat ran late; it was the door.\nthe mat was red. ';

// One of each cell and option that touches the tensors the extension grows or copies.
const CONFIGS = [
  { hiddenSize: 12, layers: 2 },
  { hiddenSize: 10, layers: 2, cell: 'gru' },
  { hiddenSize: 12, layers: 1, projSize: 5 },
  { hiddenSize: 9, layers: 2, peephole: true, cifg: true, forgetBias: 1 },
  { hiddenSize: 8, layers: 2, layerNorm: true, dropout: 0.1 },
  { hiddenSize: 8, layers: 2, bidirectional: true },
];

/** A model of OLD_TEXT's vocabulary whose weights are not the initial ones (a few training
 * steps), so that a value copied from the wrong place cannot pass for the right one. */
async function trainedModel(options) {
  const vocab = Vocabulary.fromText(OLD_TEXT);
  const model = await Model.create({ vocabSize: vocab.size, seed: 5, ...options });
  model.setVocabulary(vocab);
  const ids = vocab.encode(OLD_TEXT.repeat(4));
  for (let s = 0; s < 3; s++) {
    const T = 16;
    const tokens = Array.from({ length: 2 }, (_, b) => Array.from(ids.subarray(b * 40 + s, b * 40 + s + T)));
    const targets = Array.from({ length: 2 }, (_, b) => Array.from(ids.subarray(b * 40 + s + 1, b * 40 + s + T + 1)));
    model.trainBatch({ batch: 2, steps: T, tokens: tokens.flat(), targets: targets.flat() });
  }
  return model;
}

const byName = (model) => Object.fromEntries(model.tensors().map((t) => [t.name, t]));
const sameBits = (a, b) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

test('the old ids keep their meaning; the new symbols follow in the order of the vocabulary given', async () => {
  const model = await trainedModel(CONFIGS[0]);
  const extended = await model.extendVocabulary(NEW_VOCAB);
  try {
    const old = Array.from(model.vocabulary.codePoints);
    assert.deepEqual(Array.from(extended.vocabulary.codePoints), [...old, ...ADDED.map((c) => c.codePointAt(0))]);
    assert.equal(extended.config.vocabSize, old.length + ADDED.length);
    assert.equal(extended.config.outputSize, old.length + ADDED.length);
    assert.equal(model.config.vocabSize, old.length, 'the model extended is unchanged');
    assert.deepEqual(Array.from(extended.vocabulary.encode(PROBE)), Array.from(model.vocabulary.encode(PROBE)));
  } finally {
    model.dispose();
    extended.dispose();
  }
});

for (const options of CONFIGS) {
  test(`on old symbols the extended model computes what the model did: ${JSON.stringify(options)}`, async () => {
    const model = await trainedModel(options);
    const extended = await model.extendVocabulary(NEW_VOCAB);
    try {
      const V = model.config.vocabSize;
      const V2 = extended.config.vocabSize;
      // every unit's h, c and gates at every step: bit for bit
      const a = model.trace(PROBE);
      const b = extended.trace(PROBE);
      assert.equal(a.layers.length, b.layers.length);
      a.layers.forEach((unit, u) => {
        const where = `layer ${unit.layer} ${unit.direction}`;
        assert.ok(sameBits(unit.h, b.layers[u].h), `${where}: h`);
        if (unit.c) assert.ok(sameBits(unit.c, b.layers[u].c), `${where}: c`);
        for (const g of Object.keys(unit.gates)) assert.ok(sameBits(unit.gates[g], b.layers[u].gates[g]), `${where}: gate ${g}`);
      });
      // The distribution over the old symbols, renormalised: the same up to float rounding.
      // 2e-6: a few float32 ulps of probabilities <= 1 (the head's dot products may round
      // differently, see below); a value copied from the wrong row or column moves them by
      // far more (the weights are of order 0.3).
      let maxProb = 0;
      for (let t = 0; t < a.steps; t++) {
        let mass = 0;
        for (let k = 0; k < V; k++) mass += b.probabilities[t * V2 + k];
        assert.ok(mass < 1, 'the new symbols have some probability');
        for (let k = 0; k < V; k++) maxProb = Math.max(maxProb, Math.abs(b.probabilities[t * V2 + k] / mass - a.probabilities[t * V + k]));
      }
      assert.ok(maxProb < 2e-6, `renormalised probabilities differ by ${maxProb}`);
      let maxLogit = 0;
      if (!options.bidirectional) {
        // The old symbols' logits, step by step. The SIMD head sums a row's products in an order
        // that depends on where the row falls in a block of 4 rows, and the blocks move when
        // rows are added: equal up to rounding, 1e-5 (the logits are of order 1, products of 8 to
        // 12 terms).
        model.resetInference();
        extended.resetInference();
        for (const id of model.vocabulary.encode(PROBE)) {
          const la = model.step(id);
          const lb = extended.step(id);
          for (let k = 0; k < V; k++) maxLogit = Math.max(maxLogit, Math.abs(la[k] - lb[k]));
        }
        assert.ok(maxLogit < 1e-5, `the old symbols' logits differ by ${maxLogit}`);
      }
      console.log(`  ${a.steps} steps: h, c and gates identical; renormalised probabilities within ${maxProb.toExponential(1)}${options.bidirectional ? '' : `, logits within ${maxLogit.toExponential(1)}`}`);
    } finally {
      model.dispose();
      extended.dispose();
    }
  });
}

test('the new columns and rows are a fresh model\'s (the same options and seed); every other value is the model\'s', async () => {
  for (const options of [CONFIGS[0], CONFIGS[5]]) {
    const model = await trainedModel(options);
    const extended = await model.extendVocabulary(NEW_VOCAB);
    const V2 = extended.config.vocabSize;
    const fresh = await Model.create({ vocabSize: V2, seed: 5, ...options });
    try {
      const V = model.config.vocabSize;
      const [p, q, f] = [model.parameters(), extended.parameters(), fresh.parameters()];
      const [tp, tq] = [byName(model), byName(extended)];
      let grown = 0;
      for (const [name, t] of Object.entries(tq)) {
        const o = tp[name];
        for (let r = 0; r < t.rows; r++) {
          for (let c = 0; c < t.cols; c++) {
            const isNew = r >= o.rows || c >= o.cols;
            const want = isNew ? f[t.offset + r * t.cols + c] : p[o.offset + r * o.cols + c];
            assert.equal(q[t.offset + r * t.cols + c], want, `${name}[${r}, ${c}] (${isNew ? 'new: the fresh model\'s' : 'the model\'s'})`);
            if (isNew) grown++;
          }
        }
        // only the tensors with the vocabulary as a dimension grow
        const growing = /^weight_ih_l0(_reverse)?$/.test(name) ? [o.rows, V2] : /^out\.(weight|bias)$/.test(name) ? [V2, o.cols] : [o.rows, o.cols];
        assert.deepEqual([t.rows, t.cols], growing, name);
        if (name.startsWith('weight_ih_l0')) assert.equal(o.cols, V);
      }
      const G = 4 * options.hiddenSize;
      const O = (options.bidirectional ? 2 : 1) * options.hiddenSize;
      assert.equal(grown, ADDED.length * ((options.bidirectional ? 2 : 1) * G + O + 1), 'new values: weight_ih_l0 columns, out.weight rows, out.bias entries');
    } finally {
      model.dispose();
      extended.dispose();
      fresh.dispose();
    }
  }
});

test('the layout is the PyTorch layout of the extended size: a new model\'s tensors, and tools/lstm_layout.py\'s', async () => {
  const rows = [];
  for (const options of CONFIGS) {
    const model = await trainedModel(options);
    const extended = await model.extendVocabulary(NEW_VOCAB);
    const V2 = extended.config.vocabSize;
    const fresh = await Model.create({ vocabSize: V2, seed: 5, ...options });
    try {
      const strip = (m) => m.tensors().map(({ name, offset, rows: r, cols }) => ({ name, offset, rows: r, cols }));
      assert.deepEqual(strip(extended), strip(fresh), JSON.stringify(options));
      rows.push({ options, tensors: strip(extended), total: extended.parameterCount, V2 });
    } finally {
      model.dispose();
      extended.dispose();
      fresh.dispose();
    }
  }
  // the Python tools (torch_convert.py) read the file through tools/lstm_layout.py
  const configs = rows.map(({ options: o, V2 }) => ({
    input_vocab: V2, input_size: 0, hidden_size: o.hiddenSize, num_layers: o.layers, output_size: V2, cell: o.cell === 'gru' ? 1 : 0,
    peephole: o.peephole ? 1 : 0, cifg: o.cifg ? 1 : 0, proj_size: o.projSize ?? 0, layer_norm: o.layerNorm ? 1 : 0, bidirectional: o.bidirectional ? 1 : 0,
  }));
  const r = spawnSync('python3', [path.join(ROOT, 'tools/lstm_layout.py')], { input: JSON.stringify(configs), encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  JSON.parse(r.stdout).forEach((python, i) => {
    assert.deepEqual(python.tensors, rows[i].tensors, JSON.stringify(rows[i].options));
    assert.equal(python.total, rows[i].total);
  });
});

test('kept: the metadata, the optimizer settings and the step guard; the training state starts afresh; the file round-trips', async () => {
  const model = await trainedModel(CONFIGS[0]);
  assert.ok(model.stepCount > 0);
  model.metadata = { note: 'kept', nested: { list: [1, 2, 3] } };
  model.setOptimizer({ type: 'rmsprop', learningRate: 0.002, weightDecay: 0.01, clipNorm: 2 });
  model.setStepGuard({ maxSkips: 7, skipIfLossAbove: 4 });
  const extended = await model.extendVocabulary(NEW_VOCAB);
  try {
    assert.deepEqual(extended.metadata, model.metadata);
    assert.deepEqual(extended.optimizer, model.optimizer);
    assert.deepEqual(extended.stepGuard, model.stepGuard);
    assert.equal(extended.stepCount, 0, 'no optimizer steps taken by the new model');
    const again = await Model.load(extended.save());
    try {
      assert.deepEqual(Array.from(again.vocabulary.codePoints), Array.from(extended.vocabulary.codePoints), 'the vocabulary\'s order is saved');
      assert.ok(sameBits(again.parameters(), extended.parameters()));
    } finally {
      again.dispose();
    }
  } finally {
    model.dispose();
    extended.dispose();
  }
});

test('a vocabulary with nothing new gives a copy', async () => {
  const model = await trainedModel(CONFIGS[1]);
  const copy = await model.extendVocabulary(Vocabulary.fromText('cat'));
  try {
    assert.notEqual(copy, model);
    assert.deepEqual(Array.from(copy.vocabulary.codePoints), Array.from(model.vocabulary.codePoints));
    assert.ok(sameBits(copy.parameters(), model.parameters()));
  } finally {
    model.dispose();
    copy.dispose();
  }
});

test('a Session continues from an extended model on a text with the new symbols', async () => {
  // a session on English text, saved as the demo saves it (settings, progress, curves)
  const english = new Corpus(OLD_TEXT.repeat(120), { name: 'english.txt' });
  const first = await Session.create(english, { hiddenSize: 16, layers: 1, seqLength: 16, batchSize: 4 });
  first.train({ steps: 30 });
  const saved = first.save();
  const before = { settings: first.settings, progress: first.progress, history: first.history };
  first.dispose();
  // French-ish text: symbols the model has never seen
  const other = new Corpus('le café était là — près du marché. '.repeat(120), { name: 'autre.txt' });
  const model = await Model.load(saved);
  const unknown = other.unknownChars(model.vocabulary);
  assert.deepEqual(unknown, ['f', 'p', 'u', 'à', 'è', 'é', '—']);
  const plain = await Session.open(await Model.load(saved));
  assert.throws(() => plain.attach(other), (e) => e.code === 'TOKEN_RANGE', 'without the extension the text is refused');
  plain.dispose();
  const extended = await model.extendVocabulary(other.vocab);
  model.dispose();
  const session = await Session.open(extended);
  try {
    assert.deepEqual(session.settings, before.settings, 'the settings travel in the metadata');
    assert.deepEqual(session.progress, before.progress);
    assert.deepEqual(session.history, before.history);
    session.attach(other);
    const r = session.train({ steps: 40 });
    assert.equal(r.steps, 40);
    assert.ok(Number.isFinite(r.loss));
    const tail = r.losses.slice(-10).reduce((a, b) => a + b, 0) / 10;
    const head = r.losses.slice(0, 10).reduce((a, b) => a + b, 0) / 10;
    assert.ok(tail < head, `the loss falls on the new text (${head.toFixed(3)} -> ${tail.toFixed(3)})`);
    assert.equal(session.corpus.name, 'autre.txt');
    assert.equal(session.corpus.vocabSize, other.vocab.size);
    // a text with a symbol still unknown is refused, naming it
    assert.throws(() => session.attach(new Corpus('ß'.repeat(5000))), (e) => e.code === 'TOKEN_RANGE' && /"ß"/.test(e.message));
    // the file opens again as a session on the new text
    const reopened = await Session.open(session.save());
    try {
      reopened.attach(other);
      assert.deepEqual(reopened.progress, session.progress);
    } finally {
      reopened.dispose();
    }
  } finally {
    session.dispose();
  }
});

test('refused with an LstmError naming why, the model unchanged', async () => {
  const model = await trainedModel(CONFIGS[0]);
  try {
    const params = model.parameters();
    await assert.rejects(model.extendVocabulary('xyz'), (e) => e.name === 'LstmError' && e.code === 'INVALID_ARGUMENT' && /needs a Vocabulary/.test(e.message));
    await assert.rejects(model.extendVocabulary(null), (e) => e.code === 'INVALID_ARGUMENT');
    const quantized = await Model.load(model.save({ quantize: 'int8' }));
    await assert.rejects(quantized.extendVocabulary(NEW_VOCAB), (e) => e.code === 'STATE' && /quantised/.test(e.message));
    quantized.dispose();
    assert.ok(sameBits(model.parameters(), params));
  } finally {
    model.dispose();
  }
  const dense = await Model.create({ inputSize: 3, outputSize: 3, hiddenSize: 4 });
  await assert.rejects(dense.extendVocabulary(NEW_VOCAB), (e) => e.code === 'STATE' && /dense inputs/.test(e.message));
  dense.dispose();
  const classifier = await Model.create({ vocabSize: 8, outputSize: 3, hiddenSize: 4, returnSequences: false });
  classifier.setVocabulary(new Vocabulary([...'abcdefgh'].map((c) => c.codePointAt(0))));
  await assert.rejects(classifier.extendVocabulary(NEW_VOCAB), (e) => e.code === 'STATE' && /not its 8 input symbols/.test(e.message));
  classifier.dispose();
  const bare = await Model.create({ vocabSize: 5, hiddenSize: 4 });
  await assert.rejects(bare.extendVocabulary(NEW_VOCAB), (e) => e.code === 'STATE' && /no vocabulary/.test(e.message));
  bare.dispose();
  await assert.rejects(bare.extendVocabulary(NEW_VOCAB), (e) => e.code === 'DISPOSED');
});
