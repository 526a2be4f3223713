// worker.js - the demo's training worker. It owns the wasm module, the model and the corpus,
// so the page never blocks: training runs here in chunks of ~120 ms, and between chunks the
// worker returns to its event loop, where Pause / Stop / Generate / Save messages are handled.
//
// Protocol (page -> worker): { id, type, ...args }; every request gets exactly one
//   { kind: 'reply', id, result } or { kind: 'reply', id, error: { name, code, message } }.
// Events (worker -> page, unrequested): 'progress', 'state', 'sample', 'gen-chunk', 'gen-done',
//   'gen-error', 'error'.

import {
  init, buildInfo, simdSupported, Model, Vocabulary, TextDataset, TokenStream, limits,
} from './lib/lstm.js';
import { halvePoints } from './chart.js'; // shared with the page; no DOM at module level

const CHUNK_SECONDS = 0.12;       // target duration of one trainSteps call (>= 1 step)
const SAMPLE_EVERY_SECONDS = 4;   // live samples while training
const SAMPLE_LENGTH = 320;
const GEN_SLICE_SECONDS = 0.04;   // generation streams in slices of ~40 ms
const HISTORY_LIMIT = 3000;       // training-loss points kept (halved by merging when full)
const LR_FLOOR = 0.1;             // cosine decay ends at 10 % of the base learning rate
const VAL_FRACTION = 0.1;

const post = (message, transfer) => self.postMessage(message, transfer ?? []);

// ---- state ----

let model = null;
/** The text chosen on the page: { text, source: 'default'|'user', name, chars, fingerprint, vocab }. */
let corpus = null;
/** The text encoded for the current model: { dataset, val, vocab } or null. */
let data = null;
/** The training run of the current model: settings, progress, history (saved in metadata). */
let run = null;
let state = 'idle'; // idle (no model) | running | paused | stopped
let defaultText = null;

// Timing, measured (not saved).
let secondsPerStep = 0;
let charsPerSecond = 0;
let lastEvalAt = -Infinity; // run.progress.seconds of the last validation
let lastEvalSeconds = 0.05;
let lastSampleAt = 0;       // performance.now()
let gen = null;             // the generation in progress

// ---- helpers ----

/** FNV-1a over the UTF-16 units: tells "the same text" from "another text" in metadata. */
function fingerprint(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function countCodePoints(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++; // count each surrogate pair once
  }
  return n;
}

const showChar = (ch) => (ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === ' ' ? '␠' : ch);

/** An Error whose message is meant for the page as it is. */
class UserError extends Error {
  constructor(message, code = 'USER') { super(message); this.name = 'UserError'; this.code = code; }
}

/** The defaults (measured on the Brown corpus, 2 cores, Chromium): 2 x 192 learns about as
 * fast per second as 2 x 256 over the first minute, at nearly twice the characters per second,
 * and a batch of 16 gets past the early "unigram" plateau much sooner than 32 at the same
 * speed. Adam 3e-3 with a cosine decay (the page sets its length to ~9M characters of the
 * corpus), clipping at 5. Dropout 0.2: on tinyshakespeare, 15 minutes reached 1.49 nats/char
 * with 0.2 against 1.51 with 0.15 and 1.54 with 0.1 (bench/quality.mjs). */
function defaultSettings(config) {
  return {
    layers: config?.layers ?? 2,
    hiddenSize: config?.hiddenSize ?? 192,
    dropout: config ? Math.round(config.dropout * 1000) / 1000 : 0.2,
    seed: config?.seed ?? 1,
    seqLength: 64,
    batchSize: 16,
    optimizer: 'adam',
    learningRate: 0.003,
    schedule: 'cosine',
    epochs: 3,
    clipNorm: 5,
  };
}

function newRun(settings) {
  return {
    settings,
    corpus: null,
    progress: { chars: 0, steps: 0, seconds: 0 },
    history: { train: [], val: [] },
    valChars: 0,
  };
}

/** Learning rate for the next chunk: cosine from the base rate to LR_FLOOR of it over the
 * planned epochs, then constant; the position is measured in characters seen so that a
 * resumed model continues on the same curve. */
function learningRate() {
  const s = run.settings;
  if (s.schedule !== 'cosine' || !data) return s.learningRate;
  const planned = s.epochs * data.dataset.train.length;
  const t = Math.min(1, run.progress.chars / Math.max(1, planned));
  return s.learningRate * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

// ---- corpus ----

function setCorpus(text, source, name) {
  if (typeof text !== 'string') throw new UserError('The text could not be read.');
  // Windows line ends and a byte-order mark would only add useless symbols to the vocabulary.
  text = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (text.trim().length === 0) throw new UserError('The text is empty.');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
    throw new UserError('The text contains broken characters (lone UTF-16 surrogates).');
  }
  const vocab = Vocabulary.fromText(text);
  corpus = { text, source, name, chars: countCodePoints(text), fingerprint: fingerprint(text), vocab };
  const status = attachCorpus();
  return { ...corpusSummary(), ...status };
}

function corpusSummary() {
  if (!corpus) return { chars: 0, vocabSize: 0 };
  return { source: corpus.source, name: corpus.name, chars: corpus.chars, vocabSize: corpus.vocab.size, fingerprint: corpus.fingerprint };
}

/** Encode the corpus for the current model (or for its own vocabulary when there is none).
 * A model can continue on a text only if the text uses no character outside its vocabulary. */
function attachCorpus() {
  disposeData();
  if (!corpus) return { attached: false };
  const vocab = model ? model.vocabulary : corpus.vocab;
  if (model) {
    const unknown = corpus.vocab.toJSON().filter((cp) => !vocab.index.has(cp)).map((cp) => String.fromCodePoint(cp));
    if (unknown.length > 0) {
      const list = unknown.slice(0, 8).map((c) => `“${showChar(c)}”`).join(' ');
      return {
        attached: false,
        unknown: unknown.length,
        problem: `This text has ${unknown.length} character${unknown.length > 1 ? 's' : ''} the model has never seen (${list}${unknown.length > 8 ? ' …' : ''}), so the model cannot continue training on it. Use the text it was trained on, or start a new model for this text.`,
      };
    }
  }
  const dataset = new TextDataset(corpus.text, vocab, { validationFraction: VAL_FRACTION });
  data = { dataset, vocab, val: null };
  return { attached: true };
}

function disposeData() {
  if (!data) return;
  data.dataset.dispose();
  data.val?.dispose();
  data = null;
}

async function loadDefaultText() {
  if (defaultText === null) {
    const url = new URL('./corpus/brown.txt', import.meta.url);
    let response;
    try {
      response = await fetch(url);
    } catch {
      throw new UserError('The built-in corpus could not be downloaded (network error).');
    }
    if (!response.ok) throw new UserError(`The built-in corpus could not be downloaded (HTTP ${response.status}). Was the demo built with tools/build-demo.mjs?`);
    defaultText = await response.text();
  }
  return defaultText;
}

// ---- model ----

/** Is the text long enough for these settings? Checked before a model is made, so that a
 * too-small text costs nothing. The split is the one TextDataset makes (last 10 % validates). */
function checkSize(settings) {
  if (!corpus) throw new UserError('Choose a text to train on first.');
  const B = settings.batchSize;
  const T = settings.seqLength;
  const valLen = Math.floor(corpus.chars * VAL_FRACTION);
  const trainLen = corpus.chars - valLen;
  if (trainLen < B * (T + 1) || valLen < 2) {
    const need = Math.ceil(Math.max(B * (T + 1), 2) / (1 - VAL_FRACTION)) + 1;
    throw new UserError(`The text is too small: ${corpus.chars.toLocaleString('en-US')} characters, and batch ${B} × sequence ${T} needs at least ${need.toLocaleString('en-US')} (90 % of the text trains, 10 % validates). Use a longer text, or a smaller batch size or sequence length.`, 'TOO_SMALL');
  }
}

// One training step costs ~6 flops per weight per character (forward 2, backward 4), not
// counting the input weights, which are looked up (one column per character), not multiplied.
// A laptop core does ~3e10 flops/s in wasm SIMD. Pause can only answer between steps, so a
// step must stay short: beyond ~5 s (1.5e11 flops) the page refuses to train.
const FLOPS_PER_SECOND = 3e10;
const MAX_STEP_FLOPS = 1.5e11;

function parameterCount(V, H, L) {
  return 4 * H * V + 4 * H * H + 8 * H + (L - 1) * (8 * H * H + 8 * H) + V * H + V;
}

function checkCost(settings, V, H, L) {
  const flops = 6 * (parameterCount(V, H, L) - 4 * H * V) * settings.batchSize * settings.seqLength;
  if (flops > MAX_STEP_FLOPS) {
    throw new UserError(`This is too big to train interactively in a browser: one training step (batch ${settings.batchSize} × sequence ${settings.seqLength}, ${parameterCount(V, H, L).toLocaleString('en-US')} parameters) would take about ${Math.round(flops / FLOPS_PER_SECOND)} s, and Pause can only act between steps. Choose a smaller hidden size, fewer layers, or a smaller batch or sequence length.`, 'TOO_BIG');
  }
}

function checkTrainable(settings) {
  checkSize(settings);
  const c = model.config;
  checkCost(settings, c.vocabSize, c.hiddenSize, c.layers);
  if (!data) throw new UserError('The current text cannot be used with this model (see the message above). Load a compatible text or start a new model.');
}

async function createModel(settings) {
  if (state === 'running') throw new UserError('Pause training first.');
  checkSize(settings);
  checkCost(settings, corpus.vocab.size, settings.hiddenSize, settings.layers);
  // The new model is built before the old one is freed: if it does not fit, nothing is lost.
  const next = await Model.create({
    vocabSize: corpus.vocab.size, hiddenSize: settings.hiddenSize, layers: settings.layers,
    seed: settings.seed, dropout: settings.dropout,
  });
  try {
    next.setVocabulary(corpus.vocab);
    next.setOptimizer({ type: settings.optimizer, learningRate: settings.learningRate, clipNorm: settings.clipNorm });
  } catch (e) {
    next.dispose();
    throw e;
  }
  cancelGeneration();
  const previous = model;
  model = next;
  previous?.dispose();
  run = newRun(settings);
  resetTiming();
  state = 'stopped';
  attachCorpus();
  run.corpus = corpusRef();
  evaluateNow(); // the starting point of the curve: about ln(vocabulary size)
  return modelSummary();
}

function corpusRef() {
  return { source: corpus.source, name: corpus.name, chars: corpus.chars, fingerprint: corpus.fingerprint };
}

function resetTiming() {
  secondsPerStep = 0;
  charsPerSecond = 0;
  lastEvalAt = -Infinity;
  lastSampleAt = performance.now();
}

function modelSummary() {
  if (!model) return null;
  const c = model.config;
  return {
    config: { layers: c.layers, hiddenSize: c.hiddenSize, vocabSize: c.vocabSize, dropout: c.dropout, seed: c.seed },
    parameterCount: model.parameterCount,
    settings: run.settings,
    progress: run.progress,
    history: run.history,
    corpus: run.corpus,
    state,
    trainChars: data?.dataset.train.length ?? 0,
  };
}

function metadata() {
  return {
    app: 'lstm-wasm-demo',
    version: 1,
    settings: run.settings,
    corpus: run.corpus,
    progress: run.progress,
    history: run.history,
    valChars: run.valChars,
    savedAt: new Date().toISOString(),
  };
}

async function loadModel(bytes) {
  if (state === 'running') throw new UserError('Pause training before loading another model.');
  let next;
  try {
    next = await Model.load(new Uint8Array(bytes));
  } catch (e) {
    if (e.code === 'OUT_OF_MEMORY') throw e;
    const why = { BAD_MAGIC: 'it is not a model file saved by this demo or by lstm-wasm', TRUNCATED: 'the file is incomplete', CHECKSUM: 'the file is damaged (checksum mismatch)', UNSUPPORTED_VERSION: 'it was saved by an incompatible version of lstm-wasm' }[e.code];
    throw new UserError(why ? `This file cannot be loaded: ${why}.` : `This file cannot be loaded: ${e.message}`, e.code);
  }
  if (next.config.dense || !next.vocabulary) {
    next.dispose();
    throw new UserError('This model has no character vocabulary, so it is not a character-level language model the demo can use.');
  }
  const meta = safeMetadata(next);
  cancelGeneration();
  model?.dispose();
  model = next;
  const base = defaultSettings(model.config);
  run = newRun(base);
  if (meta?.app === 'lstm-wasm-demo') {
    // The architecture comes from the model itself; the rest from what was saved with it.
    run.settings = { ...base, ...meta.settings, layers: base.layers, hiddenSize: base.hiddenSize, dropout: base.dropout, seed: base.seed };
    run.corpus = meta.corpus ?? null;
    const num = (v) => (Number.isFinite(v) && v >= 0 ? v : 0);
    run.progress = { chars: num(meta.progress?.chars), steps: num(meta.progress?.steps), seconds: num(meta.progress?.seconds) };
    run.history = { train: points(meta.history?.train), val: points(meta.history?.val) };
    run.valChars = Number.isInteger(meta.valChars) && meta.valChars > 0 ? meta.valChars : 0;
  }
  resetTiming();
  lastEvalAt = run.progress.seconds;
  state = 'stopped';
  const corpusStatus = attachCorpus();
  return { ...modelSummary(), corpusStatus, fromDemo: meta?.app === 'lstm-wasm-demo' };
}

/** [[chars, loss], ...] from saved metadata, keeping only well-formed points. */
function points(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((p) => Array.isArray(p) && p.length === 2 && p.every(Number.isFinite));
}

function safeMetadata(m) {
  try { return m.metadata; } catch { return null; }
}

// ---- training ----

/** The fixed slice of the validation text used for the curve: sized so that one evaluation
 * takes ~0.3 s (a forward pass costs ~2 flops per parameter per character), and kept in the
 * model's metadata so that a resumed run is measured on the same characters. */
function validationStream() {
  if (data.val) return data.val;
  const full = data.dataset.validation;
  if (!run.valChars) {
    const budget = Math.round(3.6e9 / model.parameterCount / 1024) * 1024;
    run.valChars = Math.max(4096, Math.min(65536, budget));
  }
  data.val = new TokenStream(full.ids.subarray(0, Math.min(full.length, run.valChars)));
  return data.val;
}

function evaluateNow() {
  if (!model || !data || data.dataset.validation.length < 2) return;
  const val = validationStream();
  const t0 = performance.now();
  // Stripes of >= 1024 characters: each starts from a zero state, which costs a little loss.
  const batchSize = Math.max(1, Math.min(16, Math.floor(val.length / 1024)));
  const loss = model.evaluate(val, { batchSize, seqLength: 128 });
  lastEvalSeconds = (performance.now() - t0) / 1000;
  run.progress.seconds += lastEvalSeconds;
  lastEvalAt = run.progress.seconds;
  const point = [run.progress.chars, loss];
  const last = run.history.val.at(-1);
  if (last && last[0] === point[0]) run.history.val[run.history.val.length - 1] = point;
  else run.history.val.push(point);
  post({ kind: 'progress', ...progressEvent(), val: point });
}

function progressEvent() {
  const trainChars = data?.dataset.train.length ?? 0;
  return {
    state,
    chars: run.progress.chars,
    steps: run.progress.steps,
    seconds: run.progress.seconds,
    epoch: trainChars ? run.progress.chars / trainChars : 0,
    trainChars,
    charsPerSecond,
    learningRate: learningRate(),
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
  const s = run.settings;
  const steps = secondsPerStep > 0
    ? Math.max(1, Math.min(5000, Math.round(CHUNK_SECONDS / secondsPerStep))) : 1;
  const lr = learningRate();
  model.setOptimizer({ type: s.optimizer, learningRate: lr, clipNorm: s.clipNorm });
  // skip a step whose loss is over 3x the recent mean (char-rnn's explosion check) instead
  // of training on it; five such steps in a row stop training with the model kept
  const r = model.trainSteps(data.dataset, { steps, seqLength: s.seqLength, batchSize: s.batchSize, skipIfLossAbove: 3 });
  const perStep = r.seconds / steps;
  secondsPerStep = secondsPerStep ? 0.7 * secondsPerStep + 0.3 * perStep : perStep;
  charsPerSecond = charsPerSecond ? 0.8 * charsPerSecond + 0.2 * r.tokensPerSecond : r.tokensPerSecond;
  run.progress.chars += r.tokens;
  run.progress.steps += steps;
  run.progress.seconds += r.seconds;
  run.progress.skipped = (run.progress.skipped ?? 0) + r.skipped;
  const point = Number.isFinite(r.loss) ? [run.progress.chars, r.loss] : null; // null: all skipped
  if (point) run.history.train.push(point);
  if (run.history.train.length > HISTORY_LIMIT) run.history.train = halvePoints(run.history.train);
  post({ kind: 'progress', ...progressEvent(), train: point });
  // Validate every 0.2-3 s of training, so that it costs about 10 % of the time, and more
  // often in the first seconds, where the curve changes fastest.
  const interval = Math.min(3, Math.max(0.2, 10 * lastEvalSeconds), 1 + run.progress.seconds / 5);
  if (run.progress.seconds - lastEvalAt >= interval) evaluateNow();
  if (performance.now() - lastSampleAt >= SAMPLE_EVERY_SECONDS * 1000) liveSample();
}

function liveSample() {
  lastSampleAt = performance.now();
  const text = model.generate({ length: SAMPLE_LENGTH, temperature: 0.8, topP: 0.95, seed: (run.progress.steps % limits.maxSeed) + 1 });
  post({ kind: 'sample', text, chars: run.progress.chars });
}

function setState(next) {
  state = next;
  post({ kind: 'state', state, progress: run ? progressEvent() : null });
}

// ---- generation ----

function startGeneration(genId, options) {
  if (!model) throw new UserError('Train or load a model first.');
  const prompt = options.prompt ?? '';
  const vocab = model.vocabulary;
  const unknown = [...new Set([...prompt].filter((ch) => !vocab.has(ch)))];
  if (unknown.length) {
    throw new UserError(`The prompt has character${unknown.length > 1 ? 's' : ''} the model has never seen: ${unknown.slice(0, 8).map((c) => `“${showChar(c)}”`).join(' ')}.`);
  }
  const iterator = model.generateChars({ ...options, chunk: 32 });
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
    return { build: { simd: info.simd, kernels: info.kernels }, simdSupported: simdSupported(), defaults: defaultSettings(null) };
  },

  async useDefaultCorpus() {
    if (state === 'running') throw new UserError('Pause training before changing the text.');
    return setCorpus(await loadDefaultText(), 'default', 'Brown corpus');
  },

  setCorpus({ text, name }) {
    if (state === 'running') throw new UserError('Pause training before changing the text.');
    return setCorpus(text, 'user', name || 'your text');
  },

  create({ settings }) { return createModel(settings); },

  start({ settings }) {
    if (!model) throw new UserError('No model.');
    if (state === 'running') return modelSummary();
    if (settings) {
      // Training settings may change between runs; the architecture belongs to the model.
      const { seqLength, batchSize, optimizer, learningRate: lr, schedule, epochs, clipNorm } = settings;
      run.settings = { ...run.settings, seqLength, batchSize, optimizer, learningRate: lr, schedule, epochs, clipNorm };
    }
    checkTrainable(run.settings);
    run.corpus = corpusRef();
    if (run.history.val.length === 0) evaluateNow();
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
    model?.dispose();
    model = null;
    run = null;
    state = 'idle';
    attachCorpus();
    return { state };
  },

  generate({ genId, options }) { startGeneration(genId, options); return { genId }; },

  cancelGenerate() {
    cancelGeneration();
    return {};
  },

  save() {
    if (!model) throw new UserError('There is no model to save.');
    model.metadata = metadata();
    const bytes = model.save();
    return { result: { bytes, summary: modelSummary() }, transfer: [bytes.buffer] };
  },

  load({ bytes }) { return loadModel(bytes); },
};

function halt(next) {
  if (!model) return { state };
  const wasRunning = state === 'running';
  state = next;
  // A last validation point where training stopped (cheap: ~0.3 s at most).
  if (wasRunning && data && run.progress.seconds > lastEvalAt) evaluateNow();
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
