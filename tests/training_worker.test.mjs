// training_worker.test.mjs - TrainingWorker in Node.js (worker_threads): a Session and a fit
// run on the worker's thread with progress events; pause, resume and cancel are answered
// within 250 ms (measured and printed); the file and the model can be taken at any time, and a
// file taken mid-run is the file of a Session trained as many steps on this thread; generation
// streams; errors arrive as LstmError with their codes; dispose ends the thread and lets
// Node.js exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Corpus, LstmError, LstmOutOfMemoryError, Model, Session, TrainingWorker } from '../dist/lstm.js';
import { errorData, errorFromData } from '../dist/errors.js';
import { repeatTask, rng, sampleText } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// session.test.mjs's text and model: 40k characters of tinyshakespeare, 2 x 48, batch 8 x 32.
// A step takes a few ms and a validation of the 4,000 validation characters about 20 ms, so a
// unit of ~100 ms is what a command waits for.
const TEXT = await sampleText(40_000); // or the Brown corpus's, without ../shared
const CORPUS = { text: TEXT, name: 'corpus.txt' };
const SETTINGS = { hiddenSize: 48, layers: 2, seqLength: 32, batchSize: 8 };
const LATENCY_MS = 250;

const sameBytes = (a, b, what) => assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${what}: ${a.length} vs ${b.length} bytes, not identical`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const timed = async (promise) => { const t0 = performance.now(); const result = await promise; return [performance.now() - t0, result]; };
const fmt = (list) => list.map((ms) => ms.toFixed(0)).join(' ');

/** A Session trained `steps` steps on this thread, saved. */
async function fileAfter(steps) {
  const session = await Session.create(new Corpus(TEXT, { name: 'corpus.txt' }), SETTINGS);
  try {
    session.train({ steps });
    return session.save();
  } finally {
    session.dispose();
  }
}

/** fn(worker) on a new TrainingWorker holding a new session of TEXT; the worker is disposed after. */
async function withSession(fn) {
  const worker = await TrainingWorker.create();
  try {
    await worker.createSession(CORPUS, SETTINGS);
    return await fn(worker);
  } finally {
    worker.dispose();
  }
}

/** Events of a worker by type, as they arrive. */
function record(worker) {
  const seen = { progress: [], sample: [], state: [] };
  for (const type of Object.keys(seen)) worker.addEventListener(type, (e) => seen[type].push(e.detail));
  return seen;
}

test('a Session trains on the worker thread: progress and sample events, and the file of the same steps on this thread', async () => {
  const worker = await TrainingWorker.create();
  try {
    assert.equal(worker.buildInfo.threads, 2, 'the thread\'s module uses every core (Node.js)');
    const seen = record(worker);
    const info = await worker.createSession(CORPUS, SETTINGS);
    assert.equal(info.task, 'session');
    assert.deepEqual(info.text, new Corpus(TEXT, { name: 'corpus.txt' }).describe());
    assert.equal(info.config.hiddenSize, 48);
    const result = await worker.train({ steps: 150, sampleEvery: 0.1 });
    assert.equal(result.reason, 'steps');
    assert.equal(result.steps, 150);
    assert.deepEqual(result.progress, { chars: 150 * 256, steps: 150, skipped: 0 });
    assert.deepEqual(seen.state.map((s) => s.state), ['running', 'idle']);
    const p = seen.progress;
    assert.ok(p.length >= 2, `${p.length} progress events`);
    assert.deepEqual(p.map((e) => e.steps), [...p.map((e) => e.steps)].sort((a, b) => a - b), 'steps only grow');
    assert.equal(p.at(-1).steps, 150);
    for (const e of p) {
      assert.equal(e.task, 'session');
      assert.ok(Number.isFinite(e.loss) && e.loss > 0 && e.loss < 5, `loss ${e.loss}`);
      assert.ok(e.charsPerSecond > 0 && e.learningRate > 0 && e.memoryBytes > 0);
      assert.ok(e.valLoss > 0, 'the first validation comes at step 0');
      assert.ok(e.eta === null || e.eta >= 0);
    }
    assert.ok(p.slice(0, -1).every((e) => e.eta > 0), 'an ETA while steps remain');
    // the curve points of the events are the session's curves
    const history = (await worker.info()).history;
    assert.deepEqual(p.flatMap((e) => e.train), history.train);
    assert.deepEqual(p.flatMap((e) => e.val), history.val);
    assert.ok(seen.sample.length >= 1 && seen.sample[0].text.length === 320, `${seen.sample.length} live samples`);
    console.log(`  150 steps in ${p.length} progress events, ${seen.sample.length} samples, ${Math.round(p.at(-1).charsPerSecond)} chars/s; loss ${p[0].loss.toFixed(3)} -> ${p.at(-1).loss.toFixed(3)}`);
    sameBytes(await worker.save(), await fileAfter(150), 'TrainingWorker vs Session.train({ steps: 150 }) on this thread');
  } finally {
    worker.dispose();
  }
});

test(`pause, resume and cancel are answered within ${LATENCY_MS} ms; no step is taken while paused`, () => withSession(async (worker) => {
  const run = worker.train();
  const random = rng(5);
  const latency = { pause: [], resume: [], cancel: [] };
  for (let i = 0; i < 8; i++) {
    await sleep(30 + 220 * random()); // land anywhere in a unit
    const [pause, paused] = await timed(worker.pause());
    assert.deepEqual(paused, { state: 'paused' });
    latency.pause.push(pause);
    const at = (await worker.info()).progress.steps;
    await sleep(150);
    assert.equal((await worker.info()).progress.steps, at, 'no step while paused');
    const [resume, resumed] = await timed(worker.resume());
    assert.deepEqual(resumed, { state: 'running' });
    latency.resume.push(resume);
  }
  await sleep(120);
  const [cancel] = await timed(worker.cancel());
  latency.cancel.push(cancel);
  const result = await run;
  assert.equal(result.reason, 'cancelled');
  assert.equal(worker.state, 'idle');
  console.log(`  session: pause ${fmt(latency.pause)} ms; resume ${fmt(latency.resume)} ms; cancel ${fmt(latency.cancel)} ms (${result.steps} steps)`);
  for (const [what, list] of Object.entries(latency)) assert.ok(Math.max(...list) < LATENCY_MS, `${what}: ${fmt(list)} ms`);
}));

test('the file and the model can be taken at any time: mid-run, they are those of the steps taken', () => withSession(async (worker) => {
  const run = worker.train({ steps: 400 });
  const taken = [];
  for (let i = 0; i < 3; i++) {
    await sleep(120);
    const [ms, bytes] = await timed(worker.save());
    const model = await worker.model();
    const steps = (await Model.load(bytes)).metadata.progress.steps;
    taken.push({ ms, bytes, steps });
    assert.ok(model instanceof Model && model.vocabulary.size === new Corpus(TEXT).vocab.size, 'a Model on this thread');
    assert.ok(model.metadata.progress.steps >= steps);
    model.dispose();
  }
  await run;
  console.log(`  files at steps ${taken.map((t) => t.steps).join(', ')}, each in ${fmt(taken.map((t) => t.ms))} ms`);
  assert.ok(taken[0].steps > 0 && taken[0].steps < taken[2].steps && taken[2].steps < 400, 'taken while training');
  for (const t of taken) {
    assert.ok(t.ms < LATENCY_MS, `save answered in ${t.ms.toFixed(0)} ms`);
    sameBytes(t.bytes, await fileAfter(t.steps), `the file taken at step ${t.steps}`);
  }
}));

test('generation streams from the worker\'s model: pieces, the text this thread generates, stopped by break', () => withSession(async (worker) => {
  await worker.train({ steps: 30 });
  const pieces = [];
  for await (const piece of worker.generate({ prompt: 'First', length: 30_000, seed: 7, temperature: 0.8 })) pieces.push(piece);
  const model = await worker.model();
  assert.equal(pieces.join(''), model.generate({ prompt: 'First', length: 30_000, seed: 7, temperature: 0.8 }));
  model.dispose();
  assert.ok(pieces.length > 1, `${pieces.length} pieces`);
  // leaving the loop early stops it; the worker answers the next request at once
  let got = 0;
  for await (const piece of worker.generate({ length: 1e6, seed: 1 })) { got += piece.length; break; }
  const [ms] = await timed(worker.info());
  assert.ok(got > 0 && ms < LATENCY_MS, `stopped: the next request answered in ${ms.toFixed(0)} ms`);
  console.log(`  30,000 characters in ${pieces.length} pieces; a stopped generation freed the thread in ${ms.toFixed(0)} ms`);
}));

test(`a fit runs on the worker: the history of Model.fit, progress events, pause/resume/cancel within ${LATENCY_MS} ms`, async () => {
  const [x, y] = repeatTask(600, 51, 3, 3, 24);
  const [xv, yv] = repeatTask(100, 52, 3, 3, 24);
  const modelOptions = { vocabSize: 6, outputSize: 2, hiddenSize: 32, returnSequences: false, seed: 3 };
  const options = { epochs: 4, batchSize: 16, learningRate: 5e-3, validationData: [xv, yv], schedule: { type: 'cosine' } };
  const here = await Model.create(modelOptions);
  const expected = here.fit(x, y, options);
  const worker = await TrainingWorker.create();
  try {
    const seen = record(worker);
    assert.equal((await worker.createModel(modelOptions)).task, 'fit');
    const result = await worker.fit(x, y, options);
    assert.deepEqual(result, expected);
    const trained = await worker.model();
    assert.deepEqual(trained.parameters(), here.parameters());
    trained.dispose();
    assert.ok(seen.progress.length >= 1 && seen.progress.every((e) => e.task === 'fit'));
    assert.deepEqual(seen.progress.flatMap((e) => e.ended.map((l) => l.valLoss)), expected.history.valLoss, 'every epoch\'s logs arrive');

    // a long fit: paused, resumed, cancelled
    const long = worker.fit(x, y, { epochs: 1000, batchSize: 16 });
    const latency = { pause: [], resume: [], cancel: [] };
    for (let i = 0; i < 4; i++) {
      await sleep(60 + 150 * Math.random());
      latency.pause.push((await timed(worker.pause()))[0]);
      latency.resume.push((await timed(worker.resume()))[0]);
    }
    latency.cancel.push((await timed(worker.cancel()))[0]);
    const stopped = await long;
    assert.equal(stopped.stopped, true);
    assert.ok(stopped.epochs < 1000);
    console.log(`  fit: pause ${fmt(latency.pause)} ms; resume ${fmt(latency.resume)} ms; cancel ${fmt(latency.cancel)} ms (after ${stopped.epochs} epochs)`);
    for (const [what, list] of Object.entries(latency)) assert.ok(Math.max(...list) < LATENCY_MS, `${what}: ${fmt(list)} ms`);
    // functions stay on this thread
    await assert.rejects(worker.fit(x, y, { onEpochEnd: () => {} }), /onEpochEnd is a function, which cannot be sent/);
  } finally {
    worker.dispose();
    here.dispose();
  }
});

test('errors arrive as LstmError with their name, code, message and status', async () => {
  const worker = await TrainingWorker.create();
  const lstm = (code, message) => (e) => {
    assert.ok(e instanceof LstmError, `${e?.name}: ${e?.message}`);
    assert.equal(e.name, code === 'OUT_OF_MEMORY' ? 'LstmOutOfMemoryError' : 'LstmError');
    assert.equal(e.code, code);
    assert.equal(typeof e.status, 'number');
    assert.match(e.message, message);
    return true;
  };
  try {
    await assert.rejects(worker.train(), lstm('STATE', /there is no session/));
    await assert.rejects(worker.createSession('too short', SETTINGS), lstm('TOO_SMALL', /the text is too small/));
    await assert.rejects(worker.openSession(new TextEncoder().encode('not a model at all')), lstm('BAD_MAGIC', /Model\.load/));
    await assert.rejects(worker.createSession(CORPUS, { hiddenSize: 0 }), lstm('INVALID_ARGUMENT', /hidden_size|hiddenSize/));
    await worker.createSession(CORPUS, SETTINGS);
    await assert.rejects(worker.attach(`${TEXT}Ж`), lstm('TOKEN_RANGE', /1 character the model has never seen \("Ж"\)/));
    const generation = worker.generate({ prompt: 'Жук' });
    await assert.rejects(generation.next(), lstm('TOKEN_RANGE', /not in the vocabulary/));
    // a run that fails: the run rejects with the library's error; the model stays, as it was
    await worker.createModel({ inputSize: 1, outputSize: 1, hiddenSize: 6, head: 'mse', returnSequences: false, seed: 1 });
    const x = Array.from({ length: 12 }, (_, i) => [[i / 12], [1 - i / 12]]);
    await assert.rejects(worker.fit([[[1], () => 1]], [0]), lstm('INVALID_ARGUMENT', /^TrainingWorker\.fit: the arguments cannot be sent to another thread/));
    const before = await worker.save();
    await assert.rejects(worker.fit(x, Array(12).fill(1e30), { epochs: 2, batchSize: 4, shuffle: false, maxSkips: 4 }),
      lstm('NON_FINITE', /^fit: epoch 1, batch 0: 4 training steps in a row were skipped/));
    assert.equal(worker.state, 'idle');
    assert.equal((await worker.info()).stepCount, 0);
    const after = await Model.load(await worker.save());
    assert.deepEqual(after.parameters(), (await Model.load(before)).parameters(), 'the model is as it was');
    // an allocation failure keeps its class; an error that is not the library's is code WORKER
    const oom = errorFromData(errorData(new LstmOutOfMemoryError('cannot allocate 12 bytes')));
    assert.ok(oom instanceof LstmOutOfMemoryError && oom.code === 'OUT_OF_MEMORY' && oom.message === 'cannot allocate 12 bytes');
    lstm('WORKER', /^RangeError: too deep$/)(errorFromData(errorData(new RangeError('too deep'))));
  } finally {
    worker.dispose();
  }
  await assert.rejects(worker.info(), lstm('DISPOSED', /disposed/));
  worker.dispose();
});

test('dispose ends the thread: pending requests reject, and Node.js exits', () => {
  const textFile = path.join(mkdtempSync(path.join(tmpdir(), 'lstm-worker-')), 'corpus.txt');
  writeFileSync(textFile, TEXT);
  const script = `
    import { TrainingWorker } from ${JSON.stringify(new URL('../dist/lstm.js', import.meta.url).href)};
    import { readFileSync } from 'node:fs';
    const text = readFileSync(${JSON.stringify(textFile)}, 'utf8');
    const worker = await TrainingWorker.create();
    await worker.createSession(text, { hiddenSize: 48, seqLength: 32, batchSize: 8 });
    const run = worker.train().catch((e) => e);
    await new Promise((r) => setTimeout(r, 300));
    worker.dispose();
    const e = await run;
    console.log(e.code, worker.disposed);
    // a second worker never disposed: once nothing is asked of it, it does not hold the process
    const idle = await TrainingWorker.create();
    await idle.info();
    globalThis.t0 = performance.now();
    process.on('exit', () => console.log('exit'));
  `;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  const seconds = (performance.now() - t0) / 1000;
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'DISPOSED true\nexit\n');
  console.log(`  the process exited by itself, ${seconds.toFixed(1)} s after it started`);
});
