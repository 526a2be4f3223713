// worker.js - the demo's training worker: a shell around the library's Session, the training
// session the command line runs too (same recipe, same schedule, same file). It owns the wasm
// module, the session and the texts, so the page never blocks: training runs in chunks of
// ~120 ms (Session.train({ seconds })), and between chunks the worker returns to its event
// loop, where Pause / Stop / Generate / Save messages are handled. The chunks' length decides
// only when control returns: the model and its file depend on the steps taken alone.
//
// Protocol (page -> worker): { id, type, ...args }; every request gets exactly one
//   { kind: 'reply', id, result } or { kind: 'reply', id, error: { name, code, message } }.
// Events (worker -> page, unrequested): 'progress' (with the curve points made: train, val, and
//   history when the curves were thinned), 'state', 'sample', 'gen-chunk', 'gen-done',
//   'gen-error', 'error'.

import { init, buildInfo, simdSupported, Corpus, Session } from './lib/lstm.js';

const CHUNK_SECONDS = 0.12;       // target duration of one Session.train call (>= 1 step)
const SAMPLE_EVERY_SECONDS = 4;   // live samples while training
const GEN_SLICE_SECONDS = 0.04;   // generation streams in slices of ~40 ms
// A laptop core does ~3e10 flops/s in wasm SIMD. Pause can only answer between steps, so a
// step must stay short: beyond ~5 s the page refuses to train.
const FLOPS_PER_SECOND = 3e10;
const MAX_STEP_SECONDS = 5;
// The page's training settings (the rest of its form is the model's architecture).
const TRAINING = ['seqLength', 'batchSize', 'optimizer', 'learningRate', 'schedule', 'epochs', 'clipNorm'];

const post = (message, transfer) => self.postMessage(message, transfer ?? []);

// ---- state ----

let session = null;
/** The text chosen on the page: { corpus (a Corpus), source: 'default'|'user' }. */
let chosen = null;
let state = 'idle'; // idle (no model) | running | paused | stopped
let builtIn = null; // the built-in corpus, a Corpus, once downloaded
let lastSampleAt = 0;       // performance.now()
let gen = null;             // the generation in progress

const showChar = (ch) => (ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === ' ' ? '␠' : ch);
const pick = (object, keys) => Object.fromEntries(keys.filter((k) => object?.[k] !== undefined).map((k) => [k, object[k]]));

/** An Error whose message is meant for the page as it is. */
class UserError extends Error {
  constructor(message, code = 'USER') { super(message); this.name = 'UserError'; this.code = code; }
}

/** A library message ("the text is too small: ...") as a sentence for the page. */
const sentence = (message) => `${message[0].toUpperCase()}${message.slice(1)}${/[.!?]$/.test(message) ? '' : '.'}`;

/** The library's errors about a text or the settings, in the page's words; others as they are. */
function userError(e) {
  return ['BAD_TEXT', 'TOO_SMALL', 'INVALID_ARGUMENT'].includes(e?.code) ? new UserError(sentence(e.message), e.code) : e;
}

// ---- texts ----

/** Choose the text to train on (a Corpus); the reply describes it and says whether the model
 * can continue on it. */
function choose(corpus, source) {
  chosen = { corpus, source };
  const status = attachCorpus();
  return { ...corpusSummary(), ...status, ...(attached() ? { trainChars: session.trainChars } : {}) };
}

function corpusSummary() {
  if (!chosen) return { chars: 0, vocabSize: 0 };
  const c = chosen.corpus;
  // epochs: the recipe's decay length for this text, which the form follows until edited
  return { source: chosen.source, name: c.name, chars: c.chars, vocabSize: c.vocab.size, fingerprint: c.fingerprint, epochs: Session.defaults({ chars: c.chars }).epochs };
}

/** Give the session the chosen text, if the model can continue on it: only if the text uses
 * no character outside its vocabulary (and is long enough for the settings). */
function attachCorpus() {
  if (!chosen) return { attached: false };
  if (!session) return { attached: true };
  const unknown = chosen.corpus.unknownChars(session.model.vocabulary);
  if (unknown.length > 0) {
    const list = unknown.slice(0, 8).map((c) => `“${showChar(c)}”`).join(' ');
    return {
      attached: false,
      unknown: unknown.length,
      problem: `This text has ${unknown.length} character${unknown.length > 1 ? 's' : ''} the model has never seen (${list}${unknown.length > 8 ? ' …' : ''}), so the model cannot continue training on it. Use the text it was trained on, or start a new model for this text.`,
    };
  }
  try {
    session.attach(chosen.corpus);
  } catch (e) {
    if (e.code !== 'TOO_SMALL') throw e;
    return { attached: false, problem: sentence(e.message) };
  }
  return { attached: true };
}

const attached = () => !!session && !!chosen && session.text === chosen.corpus;

async function loadBuiltIn() {
  if (builtIn === null) {
    const url = new URL('./corpus/brown.txt', import.meta.url);
    let response;
    try {
      response = await fetch(url);
    } catch {
      throw new UserError('The built-in corpus could not be downloaded (network error).');
    }
    if (!response.ok) throw new UserError(`The built-in corpus could not be downloaded (HTTP ${response.status}). Was the demo built with tools/build-demo.mjs?`);
    builtIn = new Corpus(await response.text(), { name: 'Brown corpus' });
  }
  return builtIn;
}

/** Was this model trained on the built-in corpus? (Then the page reloads it by itself.) */
async function trainedOnBuiltIn(corpus) {
  if (!corpus?.fingerprint) return false;
  try {
    return (await loadBuiltIn()).fingerprint === corpus.fingerprint;
  } catch {
    return false;
  }
}

// ---- the session ----

/** The cost of one step, refused when Pause could not answer in time. */
async function checkCost(estimate, settings) {
  const e = await estimate;
  const seconds = e.stepFlops / FLOPS_PER_SECOND;
  if (seconds > MAX_STEP_SECONDS) {
    throw new UserError(`This is too big to train interactively in a browser: one training step (batch ${settings.batchSize} × sequence ${settings.seqLength}, ${e.parameters.toLocaleString('en-US')} parameters) would take about ${Math.round(seconds)} s, and Pause can only act between steps. Choose a smaller hidden size, fewer layers, or a smaller batch or sequence length.`, 'TOO_BIG');
  }
}

function estimateFor(settings) {
  if (session) return session.estimate(pick(settings, TRAINING));
  const c = chosen.corpus;
  return Session.estimate(settings, { vocabSize: c.vocab.size, chars: c.chars });
}

async function createSession(settings) {
  if (state === 'running') throw new UserError('Pause training first.');
  if (!chosen) throw new UserError('Choose a text to train on first.');
  await checkCost(Session.estimate(settings, { vocabSize: chosen.corpus.vocab.size, chars: chosen.corpus.chars }).catch((e) => { throw userError(e); }), settings);
  // The new model is made before the old one is freed: if it does not fit, nothing is lost.
  const next = await Session.create(chosen.corpus, settings).catch((e) => { throw userError(e); });
  cancelGeneration();
  session?.dispose();
  session = next;
  state = 'stopped';
  return modelSummary();
}

function modelSummary() {
  if (!session) return null;
  const c = session.model.config;
  return {
    config: { layers: c.layers, hiddenSize: c.hiddenSize, vocabSize: c.vocabSize, dropout: c.dropout, seed: c.seed, cell: c.cell },
    parameterCount: session.model.parameterCount,
    settings: { layers: c.layers, hiddenSize: c.hiddenSize, dropout: c.dropout, seed: c.seed, ...session.settings },
    progress: { ...session.progress, seconds: session.seconds },
    history: session.history,
    corpus: session.corpus,
    state,
    trainChars: session.trainChars,
  };
}

async function loadSession(bytes) {
  if (state === 'running') throw new UserError('Pause training before loading another model.');
  let next;
  try {
    next = await Session.open(new Uint8Array(bytes));
  } catch (e) {
    if (e.code === 'OUT_OF_MEMORY') throw e;
    if (e.code === 'NOT_TEXT_MODEL') throw new UserError('This model has no character vocabulary, so it is not a character-level language model the demo can use.');
    const why = { BAD_MAGIC: 'it is not a model file saved by this demo or by lstm-wasm', TRUNCATED: 'the file is incomplete', CHECKSUM: 'the file is damaged (checksum mismatch)', UNSUPPORTED_VERSION: 'it was saved by an incompatible version of lstm-wasm' }[e.code];
    throw new UserError(why ? `This file cannot be loaded: ${why}.` : `This file cannot be loaded: ${e.message}`, e.code);
  }
  cancelGeneration();
  session?.dispose();
  session = next;
  state = 'stopped';
  const corpusStatus = attachCorpus();
  return { ...modelSummary(), corpusStatus, builtIn: await trainedOnBuiltIn(session.corpus) };
}

// ---- training ----

function progressEvent() {
  return {
    state,
    chars: session.progress.chars,
    steps: session.progress.steps,
    seconds: session.seconds,
    epoch: session.epoch,
    trainChars: session.trainChars,
    charsPerSecond: session.charsPerSecond,
    learningRate: session.learningRate,
    heapBytes: heapBytes(),
  };
}

// The wasm heap only grows; buildInfo() is async, so its size is refreshed after each
// chunk and reported with the next progress event.
let heapSize = 0;
const heapBytes = () => {
  buildInfo().then((info) => { heapSize = info.memoryBytes; }, () => {});
  return heapSize;
};

function trainChunk() {
  const r = session.train({ seconds: CHUNK_SECONDS });
  // the curve points this chunk made; all of them again when the session thinned its curves
  post({ kind: 'progress', ...progressEvent(), train: r.train, val: r.val, ...(r.halved ? { history: session.history } : {}) });
  if (performance.now() - lastSampleAt >= SAMPLE_EVERY_SECONDS * 1000) liveSample();
}

function liveSample() {
  lastSampleAt = performance.now();
  post({ kind: 'sample', text: session.sample(), chars: session.progress.chars });
}

function setState(next) {
  state = next;
  post({ kind: 'state', state, progress: session ? progressEvent() : null });
}

// ---- generation ----

function startGeneration(genId, options) {
  if (!session) throw new UserError('Train or load a model first.');
  const prompt = options.prompt ?? '';
  const vocab = session.model.vocabulary;
  const unknown = [...new Set([...prompt].filter((ch) => !vocab.has(ch)))];
  if (unknown.length) {
    throw new UserError(`The prompt has character${unknown.length > 1 ? 's' : ''} the model has never seen: ${unknown.slice(0, 8).map((c) => `“${showChar(c)}”`).join(' ')}.`);
  }
  const iterator = session.model.generateChars({ ...options, chunk: 32 });
  cancelGeneration();
  gen = { genId, iterator, produced: 0, t0: performance.now() };
  pump();
}

/** Produce characters for ~40 ms and send them as one chunk. Training waits meanwhile, so
 * the weights do not change under a generation and a seed always gives the same text. */
function generationSlice() {
  const g = gen;
  const until = performance.now() + GEN_SLICE_SECONDS * 1000;
  let text = '';
  let done = false;
  try {
    while (performance.now() < until) {
      const r = g.iterator.next();
      if (r.done) { done = true; break; }
      text += r.value;
      g.produced++;
    }
  } catch (e) {
    gen = null;
    post({ kind: 'gen-error', genId: g.genId, error: errorInfo(e) });
    return;
  }
  if (text) post({ kind: 'gen-chunk', genId: g.genId, text });
  if (done) {
    gen = null;
    post({ kind: 'gen-done', genId: g.genId, chars: g.produced, seconds: (performance.now() - g.t0) / 1000 });
  }
}

function cancelGeneration() {
  if (gen) post({ kind: 'gen-done', genId: gen.genId, cancelled: true, chars: gen.produced });
  gen = null;
}

// ---- the scheduler: one unit of work per task, so messages are handled in between ----

let pumping = false;

async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    for (;;) {
      if (gen) {
        generationSlice();
      } else if (state === 'running') {
        try {
          trainChunk();
        } catch (e) {
          // The library checks before it updates: a failed step leaves the model as it was.
          setState('paused');
          const info = errorInfo(e);
          if (e.code === 'NON_FINITE') info.message = `Training stopped: ${e.message.replace(/^trainSteps: /, '')}. The model is kept as it was before those steps.`;
          post({ kind: 'error', error: info });
        }
      } else {
        break;
      }
      // A macrotask boundary: queued messages (pause, stop, save...) run here.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    pumping = false;
  }
}

// ---- messages ----

const handlers = {
  async hello() {
    await init();
    const info = await buildInfo();
    heapSize = info.memoryBytes;
    const rates = Object.fromEntries(['adam', 'rmsprop', 'sgd'].map((optimizer) => [optimizer, Session.defaults({ optimizer }).learningRate]));
    return { build: { simd: info.simd, kernels: info.kernels }, simdSupported: simdSupported(), defaults: Session.defaults(), rates };
  },

  async useDefaultCorpus() {
    if (state === 'running') throw new UserError('Pause training before changing the text.');
    return choose(await loadBuiltIn(), 'default');
  },

  setCorpus({ text, name }) {
    if (state === 'running') throw new UserError('Pause training before changing the text.');
    if (typeof text !== 'string') throw new UserError('The text could not be read.');
    let corpus;
    try {
      corpus = new Corpus(text, { name: name || 'your text' });
    } catch (e) {
      throw userError(e);
    }
    return choose(corpus, 'user');
  },

  /** Memory and step time of the form's settings, as the library lays the model out. */
  async estimate({ settings }) {
    if (!session && !chosen) return null;
    const e = await estimateFor(settings).catch((err) => { throw userError(err); });
    return { ...e, stepSeconds: e.stepFlops / FLOPS_PER_SECOND, heapBytes: heapSize };
  },

  create({ settings }) { return createSession(settings); },

  async start({ settings }) {
    if (!session) throw new UserError('No model.');
    if (state === 'running') return modelSummary();
    // Training settings may change between runs; the architecture belongs to the model.
    if (settings) {
      try {
        session.configure(pick(settings, TRAINING));
      } catch (e) {
        throw userError(e);
      }
    }
    if (!attached()) throw new UserError('The current text cannot be used with this model (see the message above). Load a compatible text or start a new model.');
    await checkCost(session.estimate(), session.settings);
    lastSampleAt = performance.now() - (SAMPLE_EVERY_SECONDS - 1) * 1000; // first sample soon
    setState('running');
    pump();
    return modelSummary();
  },

  pause() { return halt('paused'); },
  stop() { return halt('stopped'); },

  discard() {
    if (state === 'running') throw new UserError('Pause training first.');
    cancelGeneration();
    session?.dispose();
    session = null;
    state = 'idle';
    return { state };
  },

  generate({ genId, options }) { startGeneration(genId, options); return { genId }; },

  cancelGenerate() {
    cancelGeneration();
    return {};
  },

  save() {
    if (!session) throw new UserError('There is no model to save.');
    const bytes = session.save();
    return { result: { bytes, summary: modelSummary() }, transfer: [bytes.buffer] };
  },

  load({ bytes }) { return loadSession(bytes); },
};

function halt(next) {
  if (!session) return { state };
  setState(next);
  return modelSummary();
}

function errorInfo(e) {
  const oom = e?.code === 'OUT_OF_MEMORY' || e instanceof RangeError && /allocat|memory/i.test(e.message);
  return {
    name: e?.name ?? 'Error',
    code: oom ? 'OUT_OF_MEMORY' : e?.code ?? 'ERROR',
    message: oom
      ? `Out of memory: ${e.message}. Choose a smaller model (hidden size, layers) or a smaller batch size or sequence length.`
      : e?.message ?? String(e),
  };
}

self.onmessage = async (event) => {
  const { id, type, ...args } = event.data;
  const handler = handlers[type];
  try {
    if (!handler) throw new Error(`unknown request ${type}`);
    const out = await handler(args);
    if (out && out.transfer) post({ kind: 'reply', id, result: out.result }, out.transfer);
    else post({ kind: 'reply', id, result: out });
  } catch (e) {
    post({ kind: 'reply', id, error: errorInfo(e) });
  }
};
