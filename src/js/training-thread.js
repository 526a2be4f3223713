// training-thread.js - the thread behind a TrainingWorker (training_worker.js): a Web Worker in
// browsers, a worker_threads Worker in Node. It holds one Session (or one Model, for fit) and
// works in units: ~100 ms of training (Session.train({ seconds }), or fit's batches), ~40 ms of
// generation. Between two units it answers the caller's requests, so pause, resume, cancel,
// save and the rest wait at most for the unit under way.
//
// Protocol: a request { id, type, ...args } gets one reply, { id, result } or { id, error }
// (errors.js's errorData); a generation sends { id, chunk } pieces before it; events
// { event: 'progress' | 'sample' | 'state', detail } come unrequested.

import { buildInfo, init } from './loader.js';
import { STATUS } from './abi.js';
import { Corpus } from './corpus.js';
import { LstmError, errorData, statusError } from './errors.js';
import { nextTask } from './event_loop.js';
import { fitBatches } from './fit.js';
import { Model } from './model.js';
import { Session } from './session.js';

const UNIT_SECONDS = 0.1;          // training between two looks at the messages
const GENERATION_SLICE_MS = 40;    // generation between two looks, sent as one piece
const FIRST_SAMPLE_SECONDS = 1;    // the first live sample of a run comes soon

let post = () => {};
let session = null;    // the Session trained, or
let model = null;      // the Model a fit trains
let run = null;        // the training run: { id, kind, paused, resolve, reject, ... }
let gen = null;        // the generation under way: { id, iterator, produced, t0, resolve }
let lastCorpus = null; // the last text made into a Corpus, kept: the same text comes again

const stateError = (message) => statusError(STATUS.STATE, message);
const now = () => performance.now();

/** A Corpus for { text, name }: the same text and name give the one already made. */
function corpusOf(text, name) {
  if (lastCorpus?.text !== text || lastCorpus.name !== name) {
    lastCorpus = { text, name, corpus: new Corpus(text, name === undefined ? {} : { name }) };
  }
  return lastCorpus.corpus;
}

function needSession(what) {
  if (!session) throw stateError(`TrainingWorker.${what}: there is no session (createSession or openSession first)`);
  return session;
}

const busy = () => stateError('a training run is under way (running or paused): cancel() it first');

// What the worker holds is replaced or dropped only between runs.
function replace(nextSession, nextModel) {
  if (run) throw busy();
  endGeneration(true);
  session?.dispose();
  model?.dispose();
  session = nextSession;
  model = nextModel;
}

/** Hold what make() makes (a Session or a Model) instead of what the worker holds: made
 * before the old one is freed, so that if it does not fit, nothing is lost. */
async function hold(make) {
  if (run) throw busy();
  const next = await make();
  try {
    if (next instanceof Session) replace(next, null);
    else replace(null, next);
  } catch (e) {
    next.dispose(); // a run started meanwhile
    throw e;
  }
  return session ? sessionInfo() : modelInfo();
}

function sessionInfo() {
  const s = session;
  return {
    task: 'session', config: s.model.config, parameterCount: s.model.parameterCount, settings: s.settings,
    progress: s.progress, history: s.history, corpus: s.corpus, text: s.text?.describe() ?? null,
    trainChars: s.trainChars, epoch: s.epoch, plannedSteps: s.plannedSteps, learningRate: s.learningRate,
    fileFormat: s.fileFormat, seconds: s.seconds, vocabulary: [...s.model.vocabulary.codePoints],
  };
}

function modelInfo() {
  return { task: 'fit', config: model.config, parameterCount: model.parameterCount, stepCount: model.stepCount };
}

function setState(state) {
  post({ event: 'state', detail: { state } });
}

// ---- training runs: a Session's steps, or a fit's batches, one unit at a time ----

function startRun(kind, id, fields) {
  if (run) throw busy();
  return new Promise((resolve, reject) => {
    run = { kind, id, paused: false, resolve, reject, trained: 0, t0: now(), ...fields };
    setState('running');
    pump();
  });
}

function endRun(result, error) {
  const r = run;
  run = null;
  setState('idle');
  if (error) r.reject(error);
  else r.resolve(result);
}

async function sessionUnit() {
  const s = session;
  const r = s.train({ seconds: Math.min(UNIT_SECONDS, run.seconds - run.trained), steps: run.steps - run.done });
  run.done += r.steps;
  run.trained += r.seconds;
  const batchChars = s.settings.batchSize * s.settings.seqLength;
  const rate = s.charsPerSecond / batchChars; // steps per second
  const left = Math.min(run.steps - run.done, (run.seconds - run.trained) * rate,
    run.steps === Infinity && run.seconds === Infinity ? s.plannedSteps - s.progress.steps : Infinity);
  post({
    event: 'progress',
    detail: {
      task: 'session', state: 'running', ...s.progress, epoch: s.epoch, trainChars: s.trainChars, seconds: s.seconds,
      loss: r.loss, valLoss: s.history.val.at(-1)?.[1] ?? null, charsPerSecond: s.charsPerSecond, learningRate: s.learningRate,
      eta: left > 0 && left < Infinity && rate > 0 ? left / rate : null,
      train: r.train, val: r.val, ...(r.halved ? { history: s.history } : {}), memoryBytes: (await buildInfo()).memoryBytes,
    },
  });
  if (run.sampleEvery > 0 && now() - run.sampledAt >= run.sampleEvery * 1000) {
    run.sampledAt = now();
    post({ event: 'sample', detail: { text: s.sample(), steps: s.progress.steps, chars: s.progress.chars } });
  }
  if (run.done >= run.steps) endRun({ reason: 'steps', ...runTotals() });
  else if (run.trained >= run.seconds) endRun({ reason: 'seconds', ...runTotals() });
}

const runTotals = () => ({ steps: run.done, seconds: run.trained, progress: session.progress });

function fitUnit() {
  const until = now() + UNIT_SECONDS * 1000;
  const t = now();
  let r;
  do {
    r = run.batches.next();
    if (r.done) break;
    const b = r.value;
    if (b.phase === 'train') {
      run.samples += b.size;
      run.done++;
      // the epoch's mean so far, weighted by rows as fit's: [loss sum, rows]
      if (b.batch === 0) run.epochLoss = [0, 0];
      if (!b.skipped) run.epochLoss = [run.epochLoss[0] + b.loss * b.size, run.epochLoss[1] + b.size];
    }
    run.at = b;
  } while (now() < until);
  run.trained += (now() - t) / 1000;
  const { epoch, batch, batches } = run.at ?? { epoch: run.initialEpoch, batch: -1, batches: 0 };
  const left = (run.epochs - epoch - 1) * batches + (batches - batch - 1);
  const batchSeconds = run.done ? run.trained / run.done : 0;
  post({
    event: 'progress',
    detail: {
      task: 'fit', state: 'running', epoch, epochs: run.epochs, batch, batches, loss: run.epochLoss[1] ? run.epochLoss[0] / run.epochLoss[1] : NaN,
      valLoss: run.ended.at(-1)?.valLoss ?? null, samplesPerSecond: run.trained ? run.samples / run.trained : 0, seconds: run.trained,
      eta: r.done ? 0 : left * batchSeconds, ended: run.ended.splice(0),
    },
  });
  if (r.done) endRun(r.value);
}

// ---- generation ----

function generationSlice() {
  const g = gen;
  const until = now() + GENERATION_SLICE_MS;
  let text = '';
  let done = false;
  try {
    while (now() < until) {
      const r = g.iterator.next();
      if (r.done) { done = true; break; }
      text += r.value;
      g.produced++;
    }
  } catch (e) {
    gen = null;
    g.reject(e);
    return;
  }
  if (text) post({ id: g.id, chunk: text });
  if (done) endGeneration(false);
}

function endGeneration(cancelled) {
  if (!gen) return;
  const g = gen;
  gen = null;
  g.resolve({ chars: g.produced, seconds: (now() - g.t0) / 1000, cancelled });
}

// ---- the scheduler: one unit per task, so that the messages queued meanwhile run between ----

let pumping = false;

// Start the units, in a task of their own: the request that started them is answered first.
function pump() {
  if (pumping) return;
  pumping = true;
  nextTask().then(work);
}

async function work() {
  try {
    while (gen || (run && !run.paused)) {
      // a generation goes first: the weights do not change under it, so a seed always gives
      // the same text
      if (gen) {
        generationSlice();
      } else {
        try {
          if (run.kind === 'session') await sessionUnit();
          else fitUnit();
        } catch (e) {
          // the library checks before it updates: a failed step leaves the model as it was
          endRun(null, e);
        }
      }
      await nextTask();
    }
  } finally {
    pumping = false;
  }
}

// ---- requests ----

const handlers = {
  async init({ options }) {
    await init(options);
    return buildInfo();
  },

  describeText({ text, name }) {
    const corpus = corpusOf(text, name);
    return { ...corpus.describe(), epochs: Session.defaults({ chars: corpus.chars }).epochs };
  },

  createSession({ text, name, settings }) { return hold(() => Session.create(corpusOf(text, name), settings)); },
  openSession({ bytes }) { return hold(() => Session.open(bytes)); },

  attach({ text, name }) {
    needSession('attach').attach(corpusOf(text, name));
    return sessionInfo();
  },

  configure({ settings }) {
    needSession('configure').configure(settings);
    return sessionInfo();
  },

  info() {
    return session ? sessionInfo() : model ? modelInfo() : null;
  },

  estimate({ settings, text }) {
    return text ? Session.estimate(settings ?? {}, text) : needSession('estimate').estimate(settings);
  },

  createModel({ options }) { return hold(() => Model.create(options)); },
  loadModel({ bytes }) { return hold(() => Model.load(bytes)); },

  discard() {
    replace(null, null);
    return null;
  },

  train({ id, steps = Infinity, seconds = Infinity, sampleEvery = 4 }) {
    const s = needSession('train');
    if (!s.text) throw stateError('TrainingWorker.train: the session has no text to train on: attach one first');
    const firstSample = Math.min(FIRST_SAMPLE_SECONDS, sampleEvery);
    return startRun('session', id, { steps, seconds, done: 0, sampleEvery, sampledAt: now() - (sampleEvery - firstSample) * 1000 });
  },

  fit({ id, x, y, options = {} }) {
    if (!model) throw stateError('TrainingWorker.fit: there is no model (createModel or loadModel first)');
    const ended = [];
    const control = { cancelled: false };
    // the generator checks its options at its first step: a bad one rejects this request
    const batches = fitBatches(model, x, y, { ...options, onEpochEnd: (epoch, logs) => { ended.push({ epoch, ...logs }); } },
      { stop: () => control.cancelled });
    return startRun('fit', id, {
      batches, control, ended, done: 0, samples: 0, epochLoss: [0, 0], at: null,
      epochs: options.epochs ?? 1, initialEpoch: options.initialEpoch ?? 0,
    });
  },

  pause() {
    if (!run || run.paused) return { state: run ? 'paused' : 'idle' };
    run.paused = true;
    setState('paused');
    return { state: 'paused' };
  },

  resume() {
    if (!run || !run.paused) return { state: run ? 'running' : 'idle' };
    run.paused = false;
    setState('running');
    pump();
    return { state: 'running' };
  },

  cancel() {
    if (!run) return { state: 'idle' };
    if (run.kind === 'session') {
      endRun({ reason: 'cancelled', ...runTotals() });
    } else {
      // the fit stops before its next batch: one more step of the generator returns its result
      run.control.cancelled = true;
      let r;
      try {
        do r = run.batches.next(); while (!r.done);
      } catch (e) {
        endRun(null, e);
        return { state: 'idle' };
      }
      endRun(r.value);
    }
    return { state: 'idle' };
  },

  save() {
    if (session) return session.save();
    if (model) return model.save();
    throw stateError('TrainingWorker.save: there is no session or model');
  },

  generate({ id, options }) {
    const m = session?.model ?? model;
    if (!m) throw stateError('TrainingWorker.generate: there is no model');
    const iterator = m.generateChars({ chunk: 32, ...options }); // checks the options now
    endGeneration(true);
    return new Promise((resolve, reject) => {
      gen = { id, iterator, produced: 0, t0: now(), resolve, reject };
      pump();
    });
  },

  cancelGenerate({ target }) {
    if (gen?.id === target) endGeneration(true);
    return null;
  },
};

async function receive({ id, type, ...args }) {
  try {
    const handler = handlers[type];
    if (!handler) throw new LstmError(`TrainingWorker: unknown request ${type}`);
    const result = await handler({ id, ...args });
    // a model file goes across without a copy
    post({ id, result }, result instanceof Uint8Array ? [result.buffer] : []);
  } catch (e) {
    post({ id, error: errorData(e) });
  }
}

if (typeof process !== 'undefined' && process.versions?.node) {
  // no top-level await: bundlers emit workers as classic scripts
  import(/* @vite-ignore */ 'node:worker_threads').then(({ parentPort }) => {
    post = (message, transfer) => parentPort.postMessage(message, transfer);
    parentPort.on('message', receive);
  });
} else {
  post = (message, transfer) => self.postMessage(message, transfer ?? []);
  self.onmessage = (e) => receive(e.data);
}
