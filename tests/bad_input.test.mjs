// bad_input.test.mjs - every kind of bad input gives an LstmError that names the problem,
// and the module (and any model already trained) keeps working afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model, Vocabulary, TextDataset, TokenStream, LstmError, init, buildInfo } from '../dist/lstm.js';

const throwsLstm = (fn, pattern, code) => assert.throws(fn, (e) => {
  assert.ok(e instanceof LstmError, `expected LstmError, got ${e}`);
  assert.match(e.message, pattern);
  if (code) assert.equal(e.code, code);
  return true;
});
const rejectsLstm = (p, pattern, code) => assert.rejects(p, (e) => {
  assert.ok(e instanceof LstmError, `expected LstmError, got ${e}`);
  assert.match(e.message, pattern);
  if (code) assert.equal(e.code, code);
  return true;
});

test('invalid config values are rejected with their name and value', async () => {
  const bad = [
    [{ vocabSize: 10, hiddenSize: 0 }, /hiddenSize.*got 0/],
    [{ vocabSize: 10, hiddenSize: 5000 }, /hiddenSize.*got 5000/],
    [{ vocabSize: 10, hiddenSize: 1.5 }, /hiddenSize.*1\.5/],
    [{ vocabSize: 10, layers: 0 }, /layers.*got 0/],
    [{ vocabSize: 10, layers: 17 }, /layers/],
    [{ vocabSize: 0 }, /vocabSize/],
    [{ vocabSize: -3 }, /vocabSize/],
    [{ vocabSize: '10' }, /vocabSize/],
    [{}, /vocabSize.*required/],
    [{ vocabSize: 10, dropout: 1 }, /dropout/],
    [{ vocabSize: 10, dropout: NaN }, /dropout/],
    [{ vocabSize: 10, seed: -1 }, /seed/],
    [{ vocabSize: 10, hiddenSize: 8, colour: 'red' }, /unknown option "colour"/],
    // passes the JS checks, refused by C: 4096 x (2^20 + 4096) parameters
    [{ vocabSize: 1 << 20, hiddenSize: 4096 }, /parameters, more than the limit/],
  ];
  for (const [options, pattern] of bad) await rejectsLstm(Model.create(options), pattern);
});

test('training input errors: sizes, tokens, optimizer values, short data', async () => {
  const model = await Model.create({ vocabSize: 5, hiddenSize: 8, seed: 1 });
  try {
    const batch = { batch: 2, steps: 3, tokens: [0, 1, 2, 3, 4, 0], targets: [1, 2, 3, 4, 0, 1] };
    const good = model.trainBatch(batch);
    throwsLstm(() => model.trainBatch({ ...batch, tokens: [0, 1, 2] }), /tokens must have batch\*steps = 6 entries, got 3/);
    throwsLstm(() => model.trainBatch({ ...batch, tokens: [0, 1, 2, 3, 4, 5] }), /tokens\[\d+\] = 5 is outside \[0, 5\)/, 'TOKEN_RANGE');
    throwsLstm(() => model.trainBatch({ ...batch, targets: [1, 2, 3, 4, 0, -1] }), /targets\[\d+\] = -1/, 'TOKEN_RANGE');
    throwsLstm(() => model.trainBatch({ ...batch, batch: 0 }), /batch must be an integer in \[1, 65536\], got 0/);
    throwsLstm(() => model.setOptimizer({ learningRate: -1 }), /learningRate/);
    throwsLstm(() => model.setOptimizer({ type: 'adagrad' }), /optimizer type must be one of sgd, rmsprop, adam, got adagrad/);
    throwsLstm(() => model.setParameters(new Float32Array(3)), /Float32Array of \d+ values, got 3/);
    const nan = model.parameters(); nan[0] = NaN;
    throwsLstm(() => model.setParameters(nan), /value 0 is not finite/);
    const short = new TokenStream([0, 1, 2, 3]);
    throwsLstm(() => model.trainSteps(short, { steps: 1, seqLength: 8, batchSize: 2 }), /has 4 tokens; batch 2 x sequence 8 needs at least 18/);
    short.dispose();
    throwsLstm(() => model.trainSteps('text'), /needs a TextDataset or TokenStream/);
    // the model still trains, from where it was
    assert.ok(Number.isFinite(model.trainBatch(batch)));
    assert.ok(good > 0);
    assert.equal(model.stepCount, 2);
  } finally {
    model.dispose();
  }
});

test('text errors: empty text, characters outside the vocabulary, bad prompts', async () => {
  throwsLstm(() => Vocabulary.fromText(''), /empty/);
  throwsLstm(() => new TextDataset('a', Vocabulary.fromText('a')), /at least 2/);
  const vocab = Vocabulary.fromText('hello world');
  throwsLstm(() => vocab.encode('hello, world'), /character "," \(U\+002C\) at offset 5 is not in the vocabulary/, 'TOKEN_RANGE');
  assert.deepEqual(Array.from(vocab.encode('he,', { unknown: 'skip' })), Array.from(vocab.encode('he')));
  throwsLstm(() => vocab.decode([99]), /token 99 is outside/);
  // code points, not UTF-16 units: an emoji and a CJK character are one token each
  const wide = Vocabulary.fromText('中文😀');
  assert.equal(wide.size, 3);
  assert.equal(wide.decode(wide.encode('😀中')), '😀中');
  const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 8 });
  try {
    throwsLstm(() => model.generate({ length: 5 }), /needs a vocabulary/);
    throwsLstm(() => model.generate(vocab, { prompt: 'xyz', length: 5 }), /"x".*not in the vocabulary/);
    throwsLstm(() => model.generate(vocab, { length: 5, temperature: -1 }), /temperature/);
    throwsLstm(() => model.generate(vocab, { length: 5, topP: 2 }), /topP/);
    throwsLstm(() => model.step(vocab.size), /token must be an integer/);
    assert.equal([...model.generate(vocab, { prompt: 'he', length: 5, seed: 1 })].length, 5);
  } finally {
    model.dispose();
  }
});

test('corrupt, truncated and foreign model files are rejected; the module keeps working', async () => {
  const model = await Model.create({ vocabSize: 6, hiddenSize: 4, layers: 2, seed: 2 });
  const bytes = model.save();
  const cases = [
    [bytes.slice(0, 100), /truncated|bytes but only/, 'TRUNCATED'],
    [bytes.slice(0, 5), /not an lstm-wasm model/, 'TRUNCATED'],
    [new TextEncoder().encode('{"this":"is json, not a model"}'), /not an lstm-wasm model/, 'BAD_MAGIC'],
    [new Uint8Array(0), /lstm-wasm model|empty/, undefined],
  ];
  const flipped = bytes.slice(); flipped[200] ^= 0x40;
  cases.push([flipped, /checksum/, 'CHECKSUM']);
  const newer = bytes.slice(); newer[8] = 99;
  cases.push([newer, /format version 99 is not supported/, 'UNSUPPORTED_VERSION']);
  for (const [data, pattern, code] of cases) await rejectsLstm(Model.load(data), pattern, code);
  await rejectsLstm(Model.load('not bytes'), /Uint8Array or ArrayBuffer/);
  // the original is intact and a good copy still loads
  const again = await Model.load(bytes);
  assert.deepEqual(again.parameters(), model.parameters());
  again.dispose();
  model.dispose();
});

test('use after dispose throws; dispose twice is safe', async () => {
  const model = await Model.create({ vocabSize: 4, hiddenSize: 4 });
  model.dispose();
  model.dispose();
  assert.equal(model.disposed, true);
  throwsLstm(() => model.parameters(), /disposed/, 'DISPOSED');
  throwsLstm(() => model.save(), /disposed/, 'DISPOSED');
  throwsLstm(() => model.trainBatch({ batch: 1, steps: 1, tokens: [0], targets: [0] }), /disposed/, 'DISPOSED');
  // others are unaffected
  const other = await Model.create({ vocabSize: 4, hiddenSize: 4 });
  assert.equal(other.parameters().length, other.parameterCount);
  other.dispose();
});

test('out of memory is an LstmOutOfMemoryError and the trained model survives', async () => {
  const model = await Model.create({ vocabSize: 8, hiddenSize: 16, seed: 4 });
  const batch = { batch: 2, steps: 4, tokens: [0, 1, 2, 3, 4, 5, 6, 7], targets: [1, 2, 3, 4, 5, 6, 7, 0] };
  try {
    model.trainBatch(batch);
    const before = model.parameters();
    // 65536 x 64 steps of activations need ~5 GB: more than a wasm32 heap can hold
    const n = 65536 * 64;
    const huge = { batch: 65536, steps: 64, tokens: new Int32Array(n), targets: new Int32Array(n) };
    assert.throws(() => model.trainBatch(huge), (e) => {
      assert.equal(e.name, 'LstmOutOfMemoryError');
      assert.equal(e.code, 'OUT_OF_MEMORY');
      assert.match(e.message, /batch 65536 x 64 needs \d+ MB of activations/);
      return true;
    });
    assert.deepEqual(model.parameters(), before);
    assert.ok(Number.isFinite(model.trainBatch(batch)));
  } finally {
    model.dispose();
  }
});

test('init: options that come after the module is loaded are refused, not ignored', async () => {
  const model = await Model.create({ vocabSize: 3, hiddenSize: 4 }); // loads the default build
  try {
    const { simd } = await buildInfo();
    assert.equal(await init(), await init({}));
    assert.equal(await init({ simd }), await init()); // what is loaded already: fine
    await rejectsLstm(init({ simd: !simd }), /init: the module is already loaded \(the (SIMD|scalar) build\), so simd cannot apply; pass them to the first init\(\)/, 'STATE');
    await rejectsLstm(init({ wasmUrl: './elsewhere.wasm' }), /so wasmUrl cannot apply/, 'STATE');
    await rejectsLstm(init({ simd, wasmBinary: new Uint8Array(8) }), /so simd, wasmBinary cannot apply/, 'STATE');
    await rejectsLstm(init({ threads: 64 }), /so threads cannot apply/, 'STATE');
    await rejectsLstm(init({ thread: 2 }), /init: unknown option "thread"/);
    await rejectsLstm(init(null), /init must be an object/);
    assert.ok(Number.isFinite(model.trainBatch({ batch: 1, steps: 2, tokens: [0, 1], targets: [1, 2] })));
  } finally {
    model.dispose();
  }
});

test('every call that takes an options object names an unknown option, and save takes no other', async () => {
  const text = 'abcabcabcabcabcabcabcabcabcabc';
  const vocab = Vocabulary.fromText(text);
  const data = new TextDataset(text, vocab, { validationFraction: 0.2 });
  const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 4 });
  const seq = await Model.create({ vocabSize: 3, outputSize: 2, hiddenSize: 4, returnSequences: false });
  const bogus = { bogus: 1 };
  try {
    const calls = {
      init: () => init(bogus),
      'Model.create': () => Model.create({ vocabSize: 3, ...bogus }),
      'Model.load': () => Model.load(model.save(), bogus),
      encode: () => vocab.encode('abc', bogus),
      TextDataset: () => new TextDataset(text, vocab, bogus),
      setOptimizer: () => model.setOptimizer(bogus),
      setStepGuard: () => model.setStepGuard(bogus),
      trainSteps: () => model.trainSteps(data, { steps: 1, seqLength: 2, batchSize: 2, ...bogus }),
      'evaluate (stream)': () => model.evaluate(data, bogus),
      'evaluate (samples)': () => seq.evaluate([[0, 1]], [1], bogus),
      fit: () => seq.fit([[0, 1]], [1], bogus),
      predict: () => seq.predict([[0, 1]], bogus),
      trainBatch: () => model.trainBatch({ batch: 1, steps: 1, tokens: [0], targets: [1], ...bogus }),
      generate: () => model.generate(vocab, bogus),
      save: () => model.save({ quantize: 'int8', ...bogus }),
    };
    for (const [name, call] of Object.entries(calls)) {
      const check = (e) => {
        assert.ok(e instanceof LstmError, `${name}: expected LstmError, got ${e}`);
        assert.match(e.message, /unknown option "(bogus|quantize)"/, name);
        return true;
      };
      let result;
      try {
        result = call();
      } catch (e) {
        check(e);
        continue;
      }
      await assert.rejects(Promise.resolve(result), check, `${name} accepted an unknown option`);
    }
    throwsLstm(() => vocab.encode('abc', { unknown: 'drop' }), /unknown must be 'error' or 'skip'/);
    throwsLstm(() => model.save({ trainingState: 'yes' }), /trainingState must be true or false/);
    assert.ok(model.save({ trainingState: false }).length < model.save().length, 'the module still works');
  } finally {
    model.dispose();
    seq.dispose();
    data.dispose();
  }
});
