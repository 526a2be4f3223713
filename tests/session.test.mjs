// session.test.mjs - the training session written once (src/js/session.js): the command line and
// a Session driven as TrainingWorker's thread drives it (chunks cut by the clock, samples and
// generations in between, saves mid-run) write byte-identical files for the same text,
// settings, seed and steps; files go both ways (demo to `train --resume`, command line to
// Session with its curves); the earlier demo and command-line metadata formats are converted;
// text is cleaned one way (BOM, CRLF); the estimate is the core's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Corpus, Model, Session, TextDataset } from '../dist/lstm.js';
import { rng, sampleText } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/lstm-wasm.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'lstm-session-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const at = (...p) => path.join(dir, ...p);

// 40k characters of tinyshakespeare: every step of 8 x 32 characters, 100 steps cross six
// learning-rate periods (16 steps), ~15 validations and six curve points (16 steps each).
const TEXT = await sampleText(40_000); // or the Brown corpus's, without ../shared
writeFileSync(at('corpus.txt'), TEXT);
const ARCH = { hiddenSize: 48, layers: 2 };              // dropout 0.2 and seed 1: the recipe's
const TRAINING = { seqLength: 32, batchSize: 8 };
const FLAGS = ['--hidden', '48', '--layers', '2', '--seq', '32', '--batch', '8'];
const STEPS = 100;

function cli(args) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `lstm-wasm ${args.join(' ')}: ${r.stderr}`);
  return r;
}

const sameBytes = (a, b, what) => assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${what}: ${a.length} vs ${b.length} bytes, not identical`);

/** Train as TrainingWorker's thread (training-thread.js) does: Session.train({ seconds })
 * chunks (here 1-15 ms, so that they hold 1 to dozens of steps), a live sample now and then,
 * the visitor's generations (which reseed the sampler) and downloads in between, until
 * `steps` steps in all. */
function trainLikeTheDemo(session, steps, seed) {
  const random = rng(seed);
  let chunks = 0;
  while (session.progress.steps < steps) {
    session.train({ seconds: 0.001 + 0.014 * random(), steps: steps - session.progress.steps });
    chunks++;
    if (random() < 0.3) session.sample();
    if (random() < 0.1) [...session.model.generateChars({ prompt: 'First', length: 40, seed: 9, temperature: 0.8 })];
    if (random() < 0.05) session.save();
  }
  return chunks;
}

test('the command line and a Session driven like the demo write the same file', async () => {
  cli(['train', 'corpus.txt', ...FLAGS, '--steps', String(STEPS), '--checkpoint-every', '7', '--out', 'cli.lstm', '--quiet']);
  const cliBytes = readFileSync(at('cli.lstm'));
  const session = await Session.create(new Corpus(TEXT, { name: 'corpus.txt' }), { ...ARCH, ...TRAINING });
  const chunks = trainLikeTheDemo(session, STEPS, 3);
  const bytes = session.save();
  console.log(`  ${chunks} chunks of 1-15 ms for ${STEPS} steps; ${bytes.length} bytes each`);
  sameBytes(bytes, cliBytes, 'demo-driven Session vs lstm-wasm train --steps');
  // and the same as one call: how steps were grouped changes nothing
  const straight = await Session.create(new Corpus(TEXT, { name: 'corpus.txt' }), { ...ARCH, ...TRAINING });
  straight.train({ steps: STEPS });
  sameBytes(straight.save(), cliBytes, 'Session.train({ steps }) in one call');
  // what the file holds: the recipe, progress, the curves at fixed places, no clock
  const meta = session.metadata();
  assert.equal(meta.format, 'lstm-wasm-session');
  assert.deepEqual(meta.progress, { chars: STEPS * 256, steps: STEPS, skipped: 0 });
  assert.deepEqual(meta.corpus, { name: 'corpus.txt', chars: 40_000, fingerprint: new Corpus(TEXT).fingerprint, vocabSize: new Corpus(TEXT).vocab.size });
  assert.deepEqual(Object.keys(meta.settings), ['seqLength', 'batchSize', 'optimizer', 'learningRate', 'schedule', 'epochs',
    'decayTo', 'clipNorm', 'skipIfLossAbove', 'validationFraction', 'validationChars']);
  assert.deepEqual(meta.history.train.map(([c]) => c), [1, 2, 3, 4, 5, 6].map((k) => k * 16 * 256), 'a point per 16 steps (4k characters)');
  assert.equal(meta.history.val[0][0], 0, 'the curve starts at the untrained model');
  assert.doesNotMatch(JSON.stringify(meta), /seconds|savedAt|perSecond/);
  assert.equal(session.model.config.dropout, Math.fround(0.2));
  session.dispose();
  straight.dispose();
});

test('a variant cell gives the same file too (GRU with recurrent dropout, RMSprop, constant rate)', async () => {
  const variant = { cell: 'gru', recurrentDropout: 0.1, optimizer: 'rmsprop', schedule: 'constant' };
  cli(['train', 'corpus.txt', ...FLAGS, '--cell', 'gru', '--recurrent-dropout', '0.1', '--optimizer', 'rmsprop', '--schedule', 'constant',
    '--steps', '40', '--out', 'gru.lstm', '--quiet']);
  const session = await Session.create(new Corpus(TEXT, { name: 'corpus.txt' }), { ...ARCH, ...TRAINING, ...variant });
  trainLikeTheDemo(session, 40, 4);
  sameBytes(session.save(), readFileSync(at('gru.lstm')), 'GRU');
  assert.equal(session.model.optimizer.learningRate, Math.fround(0.002), 'the recipe\'s RMSprop rate');
  session.dispose();
});

test('a demo file continues with lstm-wasm train --resume; a command-line file opens in Session with its curves', async () => {
  // demo -> command line: 45 steps in the page, then --resume to 100 = 100 in one command
  const demo = await Session.create(new Corpus(TEXT, { name: 'corpus.txt' }), { ...ARCH, ...TRAINING });
  trainLikeTheDemo(demo, 45, 5);
  writeFileSync(at('demo.lstm'), demo.save());
  demo.dispose();
  const resumed = cli(['train', 'corpus.txt', '--resume', '--steps', String(STEPS), '--out', 'demo.lstm', '--progress', 'lines']);
  assert.match(resumed.stdout, /trained 55 steps \(100 in all\)/);
  sameBytes(readFileSync(at('demo.lstm')), readFileSync(at('cli.lstm')), 'demo 45 steps + --resume to 100');

  // command line -> Session: 60 steps with the command line, its history, continued to 100
  cli(['train', 'corpus.txt', ...FLAGS, '--steps', '60', '--out', 'sixty.lstm', '--quiet']);
  const saved = JSON.parse(JSON.stringify((await Model.load(readFileSync(at('sixty.lstm')))).metadata));
  const session = await Session.open(readFileSync(at('sixty.lstm')));
  assert.equal(session.fileFormat, 'session');
  assert.deepEqual(session.history, { train: saved.history.train, val: saved.history.val });
  assert.ok(session.history.val.length >= 5 && session.history.train.length === 3, JSON.stringify(session.history));
  assert.deepEqual(session.progress, { chars: 60 * 256, steps: 60, skipped: 0 });
  assert.deepEqual(session.settings, saved.settings);
  assert.equal(session.corpus.name, 'corpus.txt');
  session.attach(new Corpus(TEXT, { name: 'corpus.txt' }));
  trainLikeTheDemo(session, STEPS, 6);
  sameBytes(session.save(), readFileSync(at('cli.lstm')), 'command line 60 steps + Session to 100');
  session.dispose();
});

/** A model trained 20 steps with the library's calls, saved with `metadata`: an earlier
 * version's file (the formats as the demo's first worker and bin/lstm-wasm.mjs wrote them). */
async function oldFile(metadata) {
  const vocab = new Corpus(TEXT).vocab;
  const data = new TextDataset(TEXT, vocab, { validationFraction: 0.1 });
  const model = await Model.create({ vocabSize: vocab.size, ...ARCH, dropout: 0.2, seed: 1 });
  model.setVocabulary(vocab);
  model.setOptimizer({ type: 'adam', learningRate: 0.003, clipNorm: 5 });
  model.trainSteps(data, { steps: 20, ...TRAINING });
  model.metadata = metadata;
  const bytes = model.save();
  model.dispose();
  data.dispose();
  return bytes;
}

test('files of the earlier demo and command line open, convert and continue', async () => {
  const demoV1 = {
    app: 'lstm-wasm-demo', version: 1,
    settings: { layers: 2, hiddenSize: 48, dropout: 0.2, seed: 1, ...TRAINING, optimizer: 'adam', learningRate: 0.003, schedule: 'cosine', epochs: 7, clipNorm: 5 },
    corpus: { source: 'user', name: 'pasted text', chars: 40_000, fingerprint: new Corpus(TEXT).fingerprint },
    progress: { chars: 5120, steps: 20, seconds: 12.5, skipped: 0 },
    history: { train: [[2560, 3.1], [5120, 2.9], ['bad']], val: [[0, 4.1], [5120, 3.0]] },
    valChars: 8192, savedAt: '2025-01-01T00:00:00.000Z',
  };
  const fromDemo = await Session.open(await oldFile(demoV1));
  assert.equal(fromDemo.fileFormat, 'demo-v1');
  assert.equal(fromDemo.settings.epochs, 7);
  assert.equal(fromDemo.settings.validationChars, 8192);
  assert.deepEqual(fromDemo.progress, { chars: 5120, steps: 20, skipped: 0 }, 'the seconds are dropped: no clock in the file');
  assert.deepEqual(fromDemo.history, { train: [[2560, 3.1], [5120, 2.9]], val: [[0, 4.1], [5120, 3.0]] }, 'malformed points are dropped');
  assert.deepEqual(fromDemo.corpus, { name: 'pasted text', chars: 40_000, fingerprint: new Corpus(TEXT).fingerprint, vocabSize: new Corpus(TEXT).vocab.size });
  fromDemo.attach(new Corpus(TEXT));
  const r = fromDemo.train({ steps: 12 });
  assert.equal(r.steps, 12);
  assert.equal(fromDemo.progress.steps, 32);
  const meta = fromDemo.metadata();
  assert.equal(meta.format, 'lstm-wasm-session');
  for (const old of ['app', 'savedAt', 'valChars']) assert.ok(!(old in meta), `${old} is not carried over`);
  // reopened, it is a session file like any other
  const again = await Session.open(fromDemo.save());
  assert.equal(again.fileFormat, 'session');
  assert.deepEqual(again.history.train.slice(0, 2), [[2560, 3.1], [5120, 2.9]]);
  again.dispose();
  fromDemo.dispose();

  const cliV1 = {
    converter: 'tools/torch_convert.py', // another tool's field: kept
    createdBy: 'lstm-wasm 0.1.0',
    corpus: { file: 'shakespeare.txt', chars: 40_000, sha256: '0123456789abcdef' },
    training: { ...TRAINING, learningRate: 0.002, clipNorm: 5, validationFraction: 0.1, targetSteps: 300, stepsPerEpoch: 150 },
    progress: { steps: 20, seconds: 4.2, tokens: 5120 },
    history: [{ step: 10, loss: 3.3, valLoss: 3.4 }, { step: 20, loss: 3.0, valLoss: null }],
  };
  const fromCli = await Session.open(await oldFile(cliV1));
  assert.equal(fromCli.fileFormat, 'cli-v1');
  assert.deepEqual([fromCli.settings.schedule, fromCli.settings.learningRate, fromCli.settings.epochs, fromCli.settings.validationChars], ['constant', 0.002, 2, 20000],
    'the first command line: a constant rate, a target of 2 epochs, 20,000 validation characters');
  assert.deepEqual(fromCli.history, { train: [[2560, 3.3], [5120, 3.0]], val: [[2560, 3.4]] });
  assert.deepEqual(fromCli.corpus, { name: 'shakespeare.txt', chars: 40_000, fingerprint: null, vocabSize: new Corpus(TEXT).vocab.size });
  assert.equal(fromCli.metadata().converter, 'tools/torch_convert.py');
  fromCli.dispose();

  // and through the command line: info reads it, --resume continues it (at the file's rate)
  writeFileSync(at('old-cli.lstm'), await oldFile(cliV1));
  assert.match(cli(['info', 'old-cli.lstm']).stdout, /settings +--seq 32 --batch 8 --optimizer adam --lr 0\.002 --schedule constant --epochs 2/);
  cli(['train', 'corpus.txt', '--resume', '--steps', '26', '--out', 'old-cli.lstm', '--quiet']);
  const continued = await Model.load(readFileSync(at('old-cli.lstm')));
  assert.equal(continued.metadata.progress.steps, 26);
  assert.equal(continued.optimizer.learningRate, Math.fround(0.002));
  continued.dispose();
});

test('text is cleaned one way: a byte-order mark and CRLF or CR line ends give the same vocabulary and file', () => {
  const lf = new Corpus(TEXT);
  for (const variant of [`\uFEFF${TEXT.replaceAll('\n', '\r\n')}`, TEXT.replaceAll('\n', '\r')]) {
    const c = new Corpus(variant);
    assert.equal(c.text, TEXT);
    assert.deepEqual(c.vocab.toJSON(), lf.vocab.toJSON());
    assert.equal(c.fingerprint, lf.fingerprint);
    assert.equal(c.chars, lf.chars);
  }
  assert.throws(() => new Corpus('abc\uD800def'), { code: 'BAD_TEXT', message: /lone UTF-16 surrogate\) at offset 3/ });
  assert.throws(() => new Corpus('\uFEFF \r\n'), { code: 'BAD_TEXT', message: /empty/ });
  assert.equal(new Corpus('a\uD83D\uDE00b').chars, 3, 'a surrogate pair is one character');
  // the command line reads files the same way: a Windows copy of the text gives the same model
  mkdirSync(at('windows'));
  writeFileSync(at('windows', 'corpus.txt'), `\uFEFF${TEXT.replaceAll('\n', '\r\n')}`);
  cli(['train', 'windows/corpus.txt', ...FLAGS, '--steps', String(STEPS), '--out', 'windows.lstm', '--quiet']);
  sameBytes(readFileSync(at('windows.lstm')), readFileSync(at('cli.lstm')), 'BOM + CRLF file vs LF file');
});

test('the estimate is the core\'s, with the text and the cost of a step', async () => {
  const corpus = new Corpus(TEXT);
  const settings = { ...ARCH, ...TRAINING };
  const e = await Session.estimate(settings, { vocabSize: corpus.vocab.size, chars: corpus.chars });
  const core = await Model.estimate({ vocabSize: corpus.vocab.size, ...ARCH, dropout: 0.2 }, { ...TRAINING, optimizer: 'adam' });
  for (const k of ['parameters', 'parameterBytes', 'optimizerBytes', 'activationBytes', 'inferenceBytes']) assert.equal(e[k], core[k], k);
  // the text's ids (4 bytes each) and the validation slice's copy (all 4,000 validation characters)
  assert.equal(e.textBytes, 4 * (40_000 + 4_000));
  assert.equal(e.totalBytes, core.totalBytes + e.textBytes);
  // 6 flops per multiplied weight per character: all but the looked-up input weights, one column per character
  const H = ARCH.hiddenSize;
  const V = corpus.vocab.size;
  assert.equal(e.stepFlops, 6 * (core.parameters - 4 * H * (V - 1)) * 8 * 32);
  const session = await Session.create(corpus, settings);
  assert.equal(session.model.parameterCount, e.parameters);
  assert.deepEqual(await session.estimate(), e);
  assert.ok((await session.estimate({ batchSize: 16 })).activationBytes > e.activationBytes);
  session.dispose();
  await assert.rejects(Session.create(new Corpus('too short'), settings), { code: 'TOO_SMALL', message: /needs at least 264/ });
});
