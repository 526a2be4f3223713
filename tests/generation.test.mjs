// generation.test.mjs - generate's options of issue 14: the recorded texts (no n and n: 1 alike,
// tests/fixtures/generate_texts.json); n samples in one call, sample k being exactly generate with seed + k; stop
// strings (the text ends where the first stop string to be completed begins, across any number
// of characters, streamed or not, and the model's state has read it); the repetition penalty's
// formula, exactly; bad options. The penalty's distribution is in sampling.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LstmError, Model, Vocabulary } from '../dist/lstm.js';
import { builds } from './helpers.mjs';

const all = await builds();
const FIXTURE = JSON.parse(readFileSync(new URL('./fixtures/generate_texts.json', import.meta.url), 'utf8'));

const letters = (n, from = 97) => new Vocabulary(Array.from({ length: n }, (_, i) => from + i));

/** Where a text ends under the documented rule: the first stop string to be completed, at the
 * earliest end, cuts where it begins (of two ending together, the longer); -1: none. */
function stopCut(text, stops) {
  for (let end = 1; end <= text.length; end++) {
    const done = stops.filter((s) => text.slice(0, end).endsWith(s));
    if (done.length) return end - Math.max(...done.map((s) => s.length));
  }
  return -1;
}

for (const build of all) {
  // The texts were first recorded before issue 14 (cfd323d) and this passed against them; the
  // packed-panel products then moved the logits' last bits, and the file was recorded again
  // (tools/make_generate_fixture.mjs says how)
  test(`${build.name}: generate, with no n, with n: 1 and streamed, writes the recorded texts`, async () => {
    const key = build.name === 'scalar' ? 'scalar' : 'simd';
    let checked = 0;
    for (const { model: options } of FIXTURE.cases) {
      const vocab = letters(options.vocabSize, 48);
      const model = await Model.create({ ...options, wasm: build.wasm });
      try {
        for (const sampling of FIXTURE.samplings) {
          const want = FIXTURE.texts[`${key} ${JSON.stringify(options)} ${JSON.stringify(sampling)}`];
          assert.equal(want.length, 150);
          const opts = { vocab, prompt: '0123', length: 150, ...sampling };
          assert.equal(model.generate(opts), want, `${JSON.stringify(options)} ${JSON.stringify(sampling)}`);
          assert.deepEqual(model.generate({ ...opts, n: 1 }), [want]);
          assert.equal([...model.generateChars({ ...opts, chunk: 7 })].join(''), want);
          checked += 3;
        }
      } finally {
        model.dispose();
      }
    }
    console.log(`  ${build.name}: ${checked} generations equal the ${FIXTURE.cases.length * FIXTURE.samplings.length} recorded texts`);
  });

  test(`${build.name}: sample k of n is exactly generate with seed + k (odd n, widths not multiples of 8, a quantised model)`, async () => {
    const vocab = letters(23);
    const cases = [
      [{ hiddenSize: 31, layers: 2 }, { temperature: 1 }],
      [{ hiddenSize: 26, layers: 2, cell: 'gru', projSize: 0 }, { temperature: 0.9, topK: 6, repetitionPenalty: 1.4 }],
      [{ hiddenSize: 40, layers: 2, projSize: 13 }, { topP: 0.9, repetitionPenalty: 0.8 }],
      [{ hiddenSize: 36, layers: 2, quantize: true }, { temperature: 1.2 }],
    ];
    for (const [{ quantize, ...options }, sampling] of cases) {
      let model = await Model.create({ vocabSize: 23, seed: 4, initScale: 1, ...options, wasm: build.wasm });
      if (quantize) {
        const q = await Model.load(model.save({ quantize: 'int8' }), { wasm: build.wasm });
        model.dispose();
        model = q;
      }
      try {
        const opts = { vocab, prompt: 'hello', length: 120, seed: 4294967293, ...sampling };
        const texts = model.generate({ ...opts, n: 7 });
        const afterBatch = model.inferenceState();
        assert.equal(texts.length, 7);
        for (let k = 0; k < 7; k++) {
          // seeds wrap at 2^32: sample 3 is seed 0
          assert.equal(texts[k], model.generate({ ...opts, seed: (opts.seed + k) % 2 ** 32 }), `${JSON.stringify(options)}: sample ${k}`);
          if (k === 0) assert.deepEqual(model.inferenceState(), afterBatch, 'the inference state after the batch is sample 0\'s');
        }
        assert.equal(new Set(texts).size, 7, 'seven different samples');
      } finally {
        model.dispose();
      }
    }
  });

  test(`${build.name}: stop strings end each text at the first one completed, across characters; the state has read it`, async () => {
    const vocab = letters(6); // a..f: short stop strings come up often
    const model = await Model.create({ vocabSize: 6, hiddenSize: 20, layers: 2, seed: 2, initScale: 1, wasm: build.wasm });
    try {
      const base = { vocab, prompt: 'abc', length: 400, temperature: 1 };
      let cuts = 0;
      for (let seed = 1; seed <= 12; seed++) {
        const full = model.generate({ ...base, seed });
        for (const stop of [['ab'], ['fff', 'cad'], ['bcd', 'cd'], ['e'], ['abcdefabcdef'], ['dcba', 'ace', 'bb']]) {
          const cut = stopCut(full, stop);
          const want = cut < 0 ? full : full.slice(0, cut);
          const got = model.generate({ ...base, seed, stop });
          assert.equal(got, want, `seed ${seed}, stop ${JSON.stringify(stop)}`);
          // streamed: the same characters, none of them taken back
          assert.equal([...model.generateChars({ ...base, seed, stop })].join(''), want);
          if (cut >= 0) {
            cuts++;
            // the model has read the stop string: the state is that of the text up to its end
            const stopState = (model.generate({ ...base, seed, stop }), model.inferenceState());
            const matched = stop.filter((s) => full.slice(cut).startsWith(s)).sort((a, b) => b.length - a.length)[0];
            model.generate({ ...base, seed, length: cut + matched.length });
            assert.deepEqual(stopState, model.inferenceState(), `seed ${seed}, stop ${JSON.stringify(stop)}: the state after the stop`);
            // and, by another road, the state of step() after reading the prompt, the text and the stop string
            const next = model.step(0);
            model.resetInference();
            for (const ch of base.prompt + want + matched) model.step(vocab.index.get(ch.codePointAt(0)));
            assert.deepEqual(model.step(0), next, `seed ${seed}, stop ${JSON.stringify(stop)}: step() after the text`);
          }
        }
      }
      assert.ok(cuts > 40, `only ${cuts} of 72 texts met a stop string`);
      // n samples, each cut at its own stop; the state is sample 0's as it stopped
      const texts = model.generate({ ...base, seed: 30, n: 5, stop: ['dd', 'fa'] });
      for (let k = 0; k < 5; k++) assert.equal(texts[k], model.generate({ ...base, seed: 30 + k, stop: ['dd', 'fa'] }), `sample ${k}`);
      model.generate({ ...base, seed: 30, n: 5, stop: ['dd', 'fa'] });
      const batchState = model.inferenceState();
      model.generate({ ...base, seed: 30, stop: ['dd', 'fa'] });
      assert.deepEqual(model.inferenceState(), batchState);
      console.log(`  ${build.name}: 72 texts x stop sets, ${cuts} cut, each the unstopped text's prefix; n = 5 cut each at its own`);
    } finally {
      model.dispose();
    }
  });
}

test('the stop rule: overlapping, nested and tied stop strings', () => {
  assert.equal(stopCut('xxabcd', ['abcd', 'bc']), 3, 'bc completes first');
  assert.equal(stopCut('xxabcd', ['abc', 'bc']), 2, 'completed together: the longer');
  assert.equal(stopCut('aaab', ['aab']), 1);
  assert.equal(stopCut('abc', ['x']), -1);
});

test('repetition penalty: z / p for a read token with z > 0, z * p for z < 0, on the prompt and the text (temperature 0)', async () => {
  // out.weight 0: the logits are out.bias whatever the state; temperature 0 picks the largest
  // penalised one, so each penalty either side of where the formula swaps two tokens must fall
  // on its side
  const vocab = letters(4);
  const model = await Model.create({ vocabSize: 4, hiddenSize: 3, seed: 1 });
  try {
    const t = Object.fromEntries(model.tensors().map((x) => [x.name, x]));
    const setLogits = (logits) => {
      const p = model.parameters();
      p.fill(0, t['out.weight'].offset, t['out.weight'].offset + t['out.weight'].size);
      p.set(logits, t['out.bias'].offset);
      model.setParameters(p);
    };
    const first = (prompt, repetitionPenalty) => model.generate({ vocab, prompt, length: 1, temperature: 0, repetitionPenalty });
    setLogits([2.0, 1.5, -3, -3]);
    assert.equal(first('a', 1.33), 'a'); // 2 / 1.33 = 1.504 > 1.5
    assert.equal(first('a', 1.34), 'b'); // 2 / 1.34 = 1.493 < 1.5
    assert.equal(first('c', 50), 'a'); // only tokens read are penalised
    setLogits([-1.0, -1.2, -3, -3]);
    assert.equal(first('a', 1.19), 'a'); // -1 * 1.19 = -1.19 > -1.2
    assert.equal(first('a', 1.21), 'b'); // -1 * 1.21 = -1.21 < -1.2 (dividing would raise it)
    assert.equal(first('ab', 1.21), 'a'); // both read: -1.21 > -1.452
    // the generated text counts too, each token once however often: a (2 > 1.5), then b
    // (2 / 1.34 < 1.5), then a for good (1.49 > 1.5 / 1.34)
    setLogits([2.0, 1.5, -3, -3]);
    assert.equal(model.generate({ vocab, prompt: 'c', length: 6, temperature: 0, repetitionPenalty: 1.34 }), 'abaaaa');
  } finally {
    model.dispose();
  }
});

test('bad options: LstmError naming the value; interleaved and disposed generations', async () => {
  const vocab = letters(8);
  const model = await Model.create({ vocabSize: 8, hiddenSize: 6, seed: 1 });
  const dense = await Model.create({ inputSize: 2, outputSize: 3, hiddenSize: 4 });
  try {
    model.setVocabulary(vocab);
    const refused = [
      [{ n: 0 }, /n must be an integer in \[1, 1024\], got 0/],
      [{ n: 1025 }, /got 1025/],
      [{ n: 2.5 }, /got 2.5/],
      [{ stop: '' }, /stop strings must be non-empty strings, got ""/],
      [{ stop: ['a', 3] }, /got 3/],
      [{ stop: 7 }, /stop must be a string or an array of strings/],
      [{ stop: '\uD800x' }, /lone UTF-16 surrogate/],
      [{ repetitionPenalty: 0 }, /repetitionPenalty must be a number in \(0, 100\], got 0/],
      [{ repetitionPenalty: -1 }, /got -1/],
      [{ repetitionPenalty: 101 }, /got 101/],
      [{ repetitionPenalty: '2' }, /got 2/],
      [{ continue: 'yes' }, /continue must be true or false/],
      [{ continue: true, n: 2 }, /with n > 1 give a seed/],
      [{ stops: ['a'] }, /unknown option "stops"/],
    ];
    for (const [options, message] of refused) {
      assert.throws(() => model.generate({ prompt: 'ab', ...options }), (e) => e instanceof LstmError && e.code === 'INVALID_ARGUMENT' && message.test(e.message), JSON.stringify(options));
    }
    assert.throws(() => model.generateChars({ n: 2 }), /generateChars streams one sample: n is for generate/);
    assert.throws(() => dense.generate({ vocab, n: 2 }), /token model/);
    // continuing needs something read: a fresh model has no step to continue from
    const fresh = await Model.create({ vocabSize: 8, hiddenSize: 6, seed: 1 });
    assert.throws(() => fresh.generate({ vocab, continue: true, seed: 1 }), (e) => e.code === 'STATE' && /no previous step/.test(e.message));
    fresh.dispose();
    // a second generation ends the first, which then says so
    const first = model.generateChars({ length: 40, chunk: 4 });
    first.next();
    const second = model.generate({ length: 10 });
    assert.equal(second.length, 10);
    assert.throws(() => { for (const ch of first) void ch; }, (e) => e.code === 'STATE' && /another generation started/.test(e.message));
    // a generation whose model is disposed stops with DISPOSED, not a dangling pointer
    const third = model.generateChars({ length: 40, chunk: 4 });
    third.next();
    model.dispose();
    assert.throws(() => { for (const ch of third) void ch; }, (e) => e.code === 'DISPOSED');
  } finally {
    model.dispose();
    dense.dispose();
  }
});

test('the command line: sample --stop, --repetition-penalty and --samples write what generate writes', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), 'lstm-sample-'));
  const vocab = Vocabulary.fromText('abcdefgh \n');
  const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 16, layers: 2, seed: 3, initScale: 1 });
  try {
    model.setVocabulary(vocab);
    writeFileSync(path.join(dir, 'm.lstm'), model.save());
    const cli = (...args) => spawnSync(process.execPath, [new URL('../bin/lstm-wasm.mjs', import.meta.url).pathname, 'sample', 'm.lstm', ...args], { cwd: dir, encoding: 'utf8' });
    const options = { prompt: 'ab', length: 200, temperature: 0.9, repetitionPenalty: 1.2, stop: ['hh', 'ga'], seed: 11 };
    const one = cli('--prompt', 'ab', '--length', '200', '--temperature', '0.9', '--repetition-penalty', '1.2', '--stop', 'hh', '--stop', 'ga', '--seed', '11');
    assert.equal(one.status, 0, one.stderr);
    assert.equal(one.stdout, `ab${model.generate(options)}`);
    const three = cli('--prompt', 'ab', '--length', '200', '--temperature', '0.9', '--repetition-penalty', '1.2', '--stop', 'hh', '--stop', 'ga', '--seed', '11', '--samples', '3');
    assert.equal(three.status, 0, three.stderr);
    const texts = model.generate({ ...options, n: 3 });
    assert.equal(three.stdout, texts.map((t, k) => `${k ? '\n' : ''}--- sample ${k + 1} of 3 (seed ${11 + k}) ---\nab${t}\n`).join(''));
    for (const [args, message] of [
      [['--samples', '0'], /--samples must be an integer in \[1, 1024\], got "0"/],
      [['--repetition-penalty', '0'], /--repetition-penalty must be a number in \(0, 100\], got "0"/],
      [['--stop', ''], /--stop needs a non-empty text/],
    ]) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}`);
      assert.match(r.stderr, message);
    }
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
