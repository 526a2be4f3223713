// app.js - the demo page: controls, live statistics, chart, samples, generation, saving.
// All the work with the model happens in worker.js; this file only talks to it by messages
// and keeps the page responsive. No framework: a small state object and a render().

import { LossChart, formatCount, smoothLoss, halvePoints } from './chart.js';
import { limits } from './lib/lstm.js'; // the library's limits only: the model lives in worker.js

const $ = (id) => document.getElementById(id);
const MODEL_MAGIC = 'LSTMWASM'; // the first bytes of a saved model (see src/serialize.c)
const MAX_TEXT_BYTES = 32 * 1024 * 1024;

// ---- the worker and its request/reply protocol ----

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 1;

/** Send a request to the worker; resolves with its result, rejects with its error. */
function call(type, args = {}, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...args }, transfer);
  });
}

worker.onmessage = ({ data: m }) => {
  if (m.kind === 'reply') {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) {
      const e = new Error(m.error.message);
      e.code = m.error.code;
      p?.reject(e);
    } else {
      p?.resolve(m.result);
    }
    return;
  }
  events[m.kind]?.(m);
};

worker.onerror = (e) => {
  e.preventDefault?.();
  setState('failed');
  notify('error', `The training worker could not start (${e.message || 'module worker failed to load'}). Serve the demo over http from its build folder (make demo), in a browser that supports module workers.`);
};

// ---- page state ----

const app = {
  state: 'loading',          // loading | idle (no model) | running | paused | stopped | failed
  busy: false,               // a request that must not overlap (create, load, save) is running
  corpusTab: 'default',      // which corpus pane is shown
  corpus: null,              // the worker's current text: { source, name, chars, vocabSize, attached, problem }
  userTextName: 'pasted text',
  model: null,               // { config, parameterCount, settings, corpus, ... } from the worker
  history: { train: [], val: [] },
  progress: null,            // the latest progress event
  dirty: false,              // trained since the last download / save
  epochsEdited: false,       // the visitor set the schedule length (else it follows the corpus)
  gen: null,                 // the generation in progress: { genId, options, t0 }
  genCount: 0,
  build: null,
  lastSample: '',
};

// Read-only view for the end-to-end test and for curious visitors in the console.
window.lstmDemo = {
  get state() { return app.state; },
  get busy() { return app.busy; },
  get history() { return app.history; },
  get progress() { return app.progress; },
  get corpus() { return app.corpus; },
  get model() { return app.model; },
  get generating() { return app.gen !== null; },
  get generated() { return $('gen-text').textContent; },
  get generations() { return app.genCount; },
  get sample() { return app.lastSample; },
  get build() { return app.build; },
};

const chart = new LossChart($('chart'));

// ---- notices ----

/** Show a message on the page. Errors stay until closed; a key replaces an earlier notice. */
function notify(kind, message, { key, timeout } = {}) {
  const box = $('notices');
  if (key) box.querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
  const el = document.createElement('div');
  el.className = `notice ${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  if (key) el.dataset.key = key;
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.onclick = () => el.remove();
  el.append(text, close);
  box.append(el);
  const ms = timeout ?? (kind === 'error' || kind === 'warning' ? 0 : 7000);
  if (ms) setTimeout(() => el.remove(), ms);
  return el;
}

const clearNotice = (key) => $('notices').querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();

/** Run an async action with the page marked busy; errors become notices. */
async function guarded(action, { busy = true } = {}) {
  if (busy) { app.busy = true; render(); }
  try {
    return await action();
  } catch (e) {
    notify('error', e.message);
    return undefined;
  } finally {
    if (busy) { app.busy = false; render(); }
  }
}

// ---- formatting ----

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');

function fmtBytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} MB`;
  return `${Math.max(1, Math.round(n / 1e3))} kB`;
}

function fmtDuration(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function fmtRate(lr) {
  return lr.toExponential(2).replace('e-', 'e−');
}

// ---- settings ----

const FIELDS = {
  layers: ['layers', 'int', 1, 8],
  hiddenSize: ['hidden', 'int', 1, limits.maxHidden],
  dropout: ['dropout', 'num', 0, 0.95],
  seed: ['seed', 'int', 0, limits.maxSeed],
  seqLength: ['seq', 'int', 1, 4096],
  batchSize: ['batch', 'int', 1, 4096],
  learningRate: ['lr', 'num', 1e-7, 10],
  epochs: ['epochs', 'num', 0.01, 100000],
  clipNorm: ['clip', 'num', 0, 1000],
};

const LABELS = {
  layers: 'Layers', hiddenSize: 'Hidden size', dropout: 'Dropout', seed: 'Init seed',
  seqLength: 'Sequence length', batchSize: 'Batch size', learningRate: 'Learning rate',
  epochs: 'Epochs', clipNorm: 'Clip gradient norm',
};

/** The settings from the form; throws a readable error for a bad value. */
function readSettings() {
  const s = { optimizer: $('optimizer').value, schedule: $('schedule').value };
  for (const [key, [id, kind, min, max]] of Object.entries(FIELDS)) {
    const raw = $(id).value.trim();
    const v = Number(raw);
    const ok = raw !== '' && Number.isFinite(v) && v >= min && v <= max && (kind !== 'int' || Number.isInteger(v));
    if (!ok) {
      $(id).focus();
      throw new Error(`${LABELS[key]} must be ${kind === 'int' ? 'a whole number' : 'a number'} from ${min} to ${max}.`);
    }
    s[key] = v;
  }
  if (s.dropout >= 1) throw new Error('Dropout must be below 1.');
  return s;
}

function writeSettings(s, config) {
  const set = (id, v) => { if (v !== undefined && v !== null) $(id).value = String(v); };
  set('layers', config?.layers ?? s.layers);
  set('hidden', config?.hiddenSize ?? s.hiddenSize);
  set('dropout', Math.round((config?.dropout ?? s.dropout) * 1000) / 1000);
  set('seed', config?.seed ?? s.seed);
  set('seq', s.seqLength);
  set('batch', s.batchSize);
  set('optimizer', s.optimizer);
  set('lr', s.learningRate);
  set('schedule', s.schedule);
  set('epochs', s.epochs);
  set('clip', s.clipNorm);
}

// Sensible starting rates when the optimizer changes (the visitor can still edit them).
const DEFAULT_RATES = { adam: 0.003, rmsprop: 0.002, sgd: 0.5 };

/** Parameters of a token LSTM in the library's (PyTorch) layout. */
function parameterCount(V, H, L) {
  const layer0 = 4 * H * V + 4 * H * H + 8 * H;
  const upper = (L - 1) * (8 * H * H + 8 * H);
  return layer0 + upper + V * H + V;
}

/** Memory the model will take in the wasm heap: an estimate, shown before training. */
function memoryEstimate(s, V, chars) {
  const H = s.hiddenSize;
  const P = parameterCount(V, H, s.layers);
  // parameters + gradients + optimizer moments (2 for Adam, 1 for RMSprop / SGD momentum),
  // and the library's transposed copy of the input weights (a row per character)
  const weights = P * 4 * (s.optimizer === 'adam' ? 4 : 3) + 4 * 4 * H * V;
  // activations kept for backpropagation through the B x T characters of one step
  const perLayer = 2 * H + 4 * H + H + (s.dropout > 0 ? 2 * H : 0);
  const activations = 4 * s.batchSize * s.seqLength * (s.layers * perLayer + 2 * V + 4 * H + H);
  const text = 4 * chars; // the text as 32-bit token ids, copied into the heap
  return { P, weights, activations, text, total: weights + activations + text };
}

function updateEstimate() {
  let s;
  try { s = readSettings(); } catch { $('param-count').textContent = '–'; return; }
  if (app.model) {
    const c = app.model.config;
    Object.assign(s, { layers: c.layers, hiddenSize: c.hiddenSize, dropout: c.dropout });
  }
  const V = app.model?.config.vocabSize ?? app.corpus?.vocabSize;
  if (!V) {
    $('param-count').textContent = '–';
    $('memory-estimate').textContent = '–';
    $('memory-detail').textContent = 'Choose a text first: the vocabulary size sets the input and output layers.';
    return;
  }
  const m = memoryEstimate(s, V, app.corpus?.chars ?? 0);
  $('param-count').textContent = fmtInt(app.model?.parameterCount ?? m.P);
  $('memory-estimate').textContent = `≈ ${fmtBytes(m.total)}`;
  // WebAssembly memory is limited to 4 GB, and browsers often give less.
  $('memory-estimate').classList.toggle('too-big', m.total > 2e9);
  $('memory-estimate').title = m.total > 2e9 ? 'Probably more than this browser can give a WebAssembly module (at most 4 GB).' : '';
  // The same rule as the worker's: ~6 flops per weight per character (input weights are
  // looked up, not multiplied), ~3e10 flops/s.
  const stepSeconds = 6 * (m.P - 4 * s.hiddenSize * V) * s.batchSize * s.seqLength / 3e10;
  const slow = stepSeconds > 1 ? ` One training step will take about ${stepSeconds.toFixed(0)} s${stepSeconds > 5 ? ': too slow to train here' : ''}.` : '';
  const heap = app.model && app.progress?.heapBytes ? ` WebAssembly memory in use now: ${fmtBytes(app.progress.heapBytes)}.` : '';
  $('memory-detail').textContent = `Weights, gradients and ${s.optimizer === 'adam' ? 'Adam moments' : 'optimizer state'} ${fmtBytes(m.weights)} · activations for batch ${s.batchSize} × ${s.seqLength} ${fmtBytes(m.activations)} · text ${fmtBytes(m.text)}.${heap}${slow}`;
}

// ---- rendering ----

function setState(state) {
  app.state = state;
  document.body.dataset.state = state;
  render();
}

function render() {
  const { state, busy } = app;
  const hasModel = app.model !== null;
  const running = state === 'running';
  const ready = !['loading', 'failed'].includes(state);
  const corpusMatchesTab = app.corpus && app.corpus.source === app.corpusTab;

  $('train').hidden = hasModel;
  $('train').disabled = !ready || busy || !corpusMatchesTab;
  $('resume').hidden = !hasModel || running;
  $('resume').textContent = state === 'paused' ? 'Resume' : 'Continue training';
  $('resume').disabled = busy || !app.corpus?.attached;
  $('pause').hidden = !running;
  $('stop').hidden = !(running || state === 'paused');
  $('stop').disabled = busy;
  $('new-model').hidden = !hasModel || running;
  $('new-model').disabled = busy;

  $('arch-fields').disabled = hasModel || busy;
  $('arch-note').textContent = hasModel ? '(fixed for this model: “New model” to change)' : '';
  $('train-fields').disabled = running || busy;

  const corpusLocked = running || busy || !ready;
  for (const id of ['corpus-tab-default', 'corpus-tab-user', 'corpus-text', 'corpus-file']) $(id).disabled = corpusLocked;
  $('corpus-tab-default').setAttribute('aria-selected', String(app.corpusTab === 'default'));
  $('corpus-tab-user').setAttribute('aria-selected', String(app.corpusTab === 'user'));
  $('corpus-pane-default').hidden = app.corpusTab !== 'default';
  $('corpus-pane-user').hidden = app.corpusTab !== 'user';

  $('download').disabled = !hasModel || busy;
  $('save-browser').disabled = !hasModel || busy;
  $('load-file').disabled = running || busy || !ready;
  $('load-file-label').classList.toggle('disabled', running || busy || !ready);
  for (const b of document.querySelectorAll('#saved-list button[data-action="load"]')) b.disabled = running || busy;

  $('generate').disabled = !hasModel || busy;
  $('generate').textContent = app.gen ? 'Stop' : 'Generate';

  const pill = $('run-state');
  const label = { loading: 'starting…', failed: 'unavailable', idle: 'no model', running: 'training', paused: 'paused', stopped: hasModel && app.progress?.chars ? 'stopped' : 'ready' }[state];
  pill.textContent = label;
  pill.dataset.state = state;

  renderCorpus();
  updateEstimate();
}

function renderCorpus() {
  const c = app.corpus;
  const shown = c && c.source === app.corpusTab;
  $('corpus-chars').textContent = shown ? fmtInt(c.chars) : '–';
  $('corpus-vocab').textContent = shown ? `${fmtInt(c.vocabSize)} symbols` : '–';
  let status = '';
  if (app.corpusTab === 'user' && !shown) status = 'Paste or drop a text to train on. Any language works: the model learns one character at a time.';
  else if (shown && c.source === 'user') status = `Using ${c.name}.`;
  else if (shown) status = `Using the built-in ${c.name}.`;
  if (shown && app.model && c.attached === false) status = 'This text does not fit the current model (see the message above).';
  $('corpus-status').textContent = status;
}

function renderStats() {
  const p = app.progress;
  const h = app.history;
  const loss = trainLoss();
  $('stat-train').textContent = loss != null ? loss.toFixed(3) : '–';
  $('stat-val').textContent = h.val.length ? h.val.at(-1)[1].toFixed(3) : '–';
  if (!p) {
    for (const id of ['stat-chars', 'stat-speed', 'stat-elapsed', 'stat-epoch', 'stat-epoch-time', 'stat-lr']) $(id).textContent = '–';
    return;
  }
  $('stat-chars').textContent = formatCount(p.chars);
  $('stat-chars').title = `${fmtInt(p.chars)} characters, ${fmtInt(p.steps)} steps`;
  $('stat-speed').textContent = p.charsPerSecond ? `${formatCount(p.charsPerSecond)} chars/s` : '–';
  $('stat-elapsed').textContent = fmtDuration(p.seconds);
  const planned = app.model?.settings?.epochs;
  $('stat-epoch').textContent = p.trainChars ? `${p.epoch.toFixed(2)}${planned ? ` of ${+planned.toFixed(2)}` : ''}` : '–';
  $('stat-epoch-time').textContent = p.charsPerSecond && p.trainChars ? `≈ ${fmtDuration(p.trainChars / p.charsPerSecond)}` : '–';
  $('stat-lr').textContent = p.learningRate ? fmtRate(p.learningRate) : '–';
  updateEstimate();
}

function resetHistory(history) {
  app.history = { train: [...(history?.train ?? [])], val: [...(history?.val ?? [])] };
  refreshChart();
  renderStats();
}

/** The training loss shown in the statistics: the end of the curve the chart draws. */
function trainLoss() {
  return smoothLoss(app.history.train).at(-1)?.[1] ?? null;
}

function refreshChart() {
  chart.setData({ train: app.history.train, val: app.history.val, epochChars: app.progress?.trainChars ?? app.model?.trainChars ?? 0 });
}

// ---- events from the worker ----

const events = {
  progress(m) {
    app.progress = m;
    if (m.train) {
      app.history.train.push(m.train);
      // The worker keeps at most 3000 points for the saved history; the page as many.
      if (app.history.train.length > 3000) app.history.train = halvePoints(app.history.train);
      app.dirty = true;
    }
    if (m.val) {
      const last = app.history.val.at(-1);
      if (last && last[0] === m.val[0]) app.history.val[app.history.val.length - 1] = m.val;
      else app.history.val.push(m.val);
    }
    if (m.state !== app.state && app.model) setState(m.state);
    refreshChart();
    renderStats();
  },

  state(m) {
    if (m.progress) app.progress = m.progress;
    if (app.model) setState(m.state);
    renderStats();
  },

  sample(m) {
    app.lastSample = m.text;
    $('sample').textContent = m.text;
    $('sample-meta').textContent = `after ${formatCount(m.chars)} characters · temperature 0.8`;
  },

  'gen-chunk'(m) {
    if (app.gen?.genId !== m.genId) return;
    $('gen-text').append(document.createTextNode(m.text));
    const out = $('gen-output');
    out.scrollTop = out.scrollHeight;
  },

  'gen-done'(m) {
    if (app.gen?.genId !== m.genId) return;
    const g = app.gen;
    app.gen = null;
    app.genCount++;
    $('gen-output').dataset.done = String(app.genCount);
    if (!m.cancelled) {
      $('gen-meta').textContent = `${fmtInt(m.chars)} characters in ${m.seconds.toFixed(2)} s · seed ${g.options.seed}, temperature ${g.options.temperature}, top-k ${g.options.topK || 'off'}, top-p ${g.options.topP < 1 ? g.options.topP : 'off'}`;
    } else {
      $('gen-meta').textContent = 'Stopped.';
    }
    render();
  },

  'gen-error'(m) {
    if (app.gen?.genId !== m.genId) return;
    app.gen = null;
    notify('error', `Generation failed: ${m.error.message}`);
    render();
  },

  error(m) {
    notify('error', m.error.message);
  },
};

// ---- corpus ----

async function useDefaultCorpus() {
  app.corpusTab = 'default';
  render();
  await guarded(async () => {
    const c = await call('useDefaultCorpus');
    corpusChanged(c);
  });
}

async function useUserText(text, name) {
  app.corpusTab = 'user';
  await guarded(async () => {
    const c = await call('setCorpus', { text, name });
    corpusChanged(c);
  });
}

/** The default length of the cosine decay, in epochs of this corpus: about 9 million
 * characters, i.e. roughly 15 minutes of the default model on a 2-core machine, so a small
 * corpus is not left at the floor rate for most of a run and a large one still decays.
 * (Measured on tinyshakespeare: decaying over 3 epochs = 5 minutes reached 1.54 nats/char
 * at 15 minutes; over 9 epochs, 1.51.) */
const DECAY_CHARACTERS = 9e6;
const defaultEpochs = (chars) => Math.min(100, Math.max(1, Math.round(DECAY_CHARACTERS / Math.max(1, 0.9 * chars))));

function corpusChanged(c, { quiet = false } = {}) {
  app.corpus = c;
  // until the visitor sets it, the schedule follows the corpus size
  if (!app.model && !app.epochsEdited && c.chars > 0) $('epochs').value = String(defaultEpochs(c.chars));
  if (c.problem && !quiet) notify('error', c.problem, { key: 'corpus' });
  else clearNotice('corpus');
  if (c.attached && app.model) clearNotice('need-corpus');
  if (app.progress) app.progress = { ...app.progress, trainChars: Math.floor(c.chars * 0.9) };
  render();
  renderStats();
}

let typingTimer = 0;
function onTextInput() {
  clearTimeout(typingTimer);
  app.userTextName = 'pasted text';
  $('corpus-file-name').textContent = 'Drop a text file here, or';
  typingTimer = setTimeout(() => {
    const text = $('corpus-text').value;
    if (text.trim()) useUserText(text, app.userTextName);
  }, 400);
}

/** A dropped or chosen file: a saved model is loaded, anything else must be UTF-8 text. */
async function openFile(file) {
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (new TextDecoder().decode(bytes.subarray(0, 8)) === MODEL_MAGIC) {
    await loadModelBytes(bytes, file.name);
    return;
  }
  if (app.state === 'running') { notify('error', 'Pause training before changing the text.'); return; }
  if (bytes.length > MAX_TEXT_BYTES) {
    notify('error', `“${file.name}” is ${fmtBytes(bytes.length)}; the demo takes texts up to ${fmtBytes(MAX_TEXT_BYTES)}.`);
    return;
  }
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    notify('error', `“${file.name}” is not UTF-8 text. Save it as plain UTF-8 text (.txt) and try again.`);
    return;
  }
  if (text.includes('\0')) {
    notify('error', `“${file.name}” looks like a binary file, not text.`);
    return;
  }
  app.userTextName = `“${file.name}”`;
  $('corpus-text').value = text;
  $('corpus-file-name').textContent = `${file.name} · ${fmtBytes(bytes.length)}`;
  await useUserText(text, app.userTextName);
}

// ---- training ----

async function train() {
  let settings;
  try { settings = readSettings(); } catch (e) { notify('error', e.message); return; }
  await guarded(async () => {
    const created = await call('create', { settings });
    modelChanged(created);
    app.dirty = false;
    await start(settings);
  });
}

async function start(settings) {
  const r = await call('start', { settings: settings ?? readSettings() });
  app.model = { ...app.model, ...r };
  setState(r.state);
}

function modelChanged(m) {
  app.model = m;
  app.progress = null;
  resetHistory(m.history);
  if (m.progress?.chars || m.history.val.length) {
    app.progress = { ...m.progress, epoch: m.trainChars ? m.progress.chars / m.trainChars : 0, trainChars: m.trainChars, charsPerSecond: 0, learningRate: 0 };
  }
  setState(m.state);
  renderStats();
  refreshChart();
}

// ---- keeping models ----

function modelFileName() {
  const m = app.model;
  const corpus = (m.corpus?.name ?? 'model').replace(/[“”"]/g, '').replace(/\.[a-z0-9]+$/i, '').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '').toLowerCase() || 'model';
  const chars = app.progress?.chars ?? m.progress?.chars ?? 0;
  return `${corpus}-${m.config.layers}x${m.config.hiddenSize}-${formatCount(chars)}chars.lstm`;
}

async function saveBytes() {
  const { bytes, summary } = await call('save');
  app.model = { ...app.model, ...summary };
  return bytes;
}

async function download() {
  await guarded(async () => {
    const bytes = await saveBytes();
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = modelFileName();
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    app.dirty = false;
    notify('success', `Downloaded ${a.download} (${fmtBytes(bytes.length)}).`);
  });
}

async function loadModelBytes(bytes, label) {
  if (app.state === 'running') { notify('error', 'Pause training before loading a model.'); return; }
  await guarded(async () => {
    const r = await call('load', { bytes });
    writeSettings(r.settings, r.config);
    modelChanged(r);
    app.dirty = false;
    const trained = r.progress?.chars ? `, trained on ${formatCount(r.progress.chars)} characters` : '';
    notify('success', `Loaded ${label}: ${r.config.layers} × ${r.config.hiddenSize} LSTM, ${fmtInt(r.parameterCount)} parameters${trained}.`);
    await connectCorpus(r);
  });
}

/** After loading: find the text to continue training on. The built-in corpus is reloaded
 * automatically; a visitor's own text is not saved with the model, so it is asked for. */
async function connectCorpus(r) {
  const source = r.corpus?.source;
  if (source === 'default') {
    if (app.corpus?.source !== 'default' || !r.corpusStatus.attached) {
      app.corpusTab = 'default';
      corpusChanged(await call('useDefaultCorpus'));
    } else {
      corpusChanged({ ...app.corpus, ...r.corpusStatus });
    }
    return;
  }
  // The text loaded now may not fit the model; that is expected, so it is said calmly below.
  corpusChanged({ ...app.corpus, ...r.corpusStatus }, { quiet: true });
  if (!r.corpusStatus.attached && source !== 'user') {
    app.corpusTab = 'user';
    render();
    notify('info', 'To continue training this model, paste or drop a text that uses only its characters. Generating works without it.', { key: 'need-corpus', timeout: 0 });
  }
  if (source === 'user') {
    const wanted = `${r.corpus.name} (${fmtInt(r.corpus.chars)} characters)`;
    if (!r.corpusStatus.attached) {
      app.corpusTab = 'user';
      render();
      notify('info', `To continue training, paste or drop the text this model was trained on: ${wanted}. Generating works without it.`, { key: 'need-corpus', timeout: 0 });
    } else if (app.corpus.fingerprint !== r.corpus.fingerprint) {
      notify('info', `“Continue training” will use the text loaded now (${app.corpus.name}), not the one the model was trained on, ${wanted}. Its characters are compatible.`, { key: 'need-corpus' });
    }
  }
}

// IndexedDB: one object store of { key, name, bytes, savedAt, summary }.
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('lstm-wasm-demo', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('models', { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`The browser storage is not available: ${req.error?.message ?? 'unknown error'}`));
  });
}

async function dbRequest(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction('models', mode);
      const req = fn(tx.objectStore('models'));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(new Error(tx.error?.name === 'QuotaExceededError' ? 'The browser storage is full: delete saved models or download this one instead.' : `Browser storage failed: ${tx.error?.message}`));
      tx.onabort = tx.onerror;
    });
  } finally {
    db.close();
  }
}

async function saveToBrowser() {
  await guarded(async () => {
    const bytes = await saveBytes();
    const m = app.model;
    const chars = app.progress?.chars ?? 0;
    const val = app.history.val.at(-1)?.[1];
    const savedAt = new Date().toISOString();
    const record = {
      key: `${savedAt}-${Math.random().toString(36).slice(2, 8)}`,
      name: `${(m.corpus?.name ?? 'model').replace(/[“”]/g, '')} · ${m.config.layers}×${m.config.hiddenSize}`,
      bytes,
      savedAt,
      summary: { chars, val, size: bytes.length, parameters: m.parameterCount },
    };
    await dbRequest('readwrite', (store) => store.put(record));
    app.dirty = false;
    notify('success', `Saved in this browser: ${record.name}.`);
    await refreshSaved();
  });
}

async function refreshSaved() {
  let records;
  try {
    records = await dbRequest('readonly', (store) => store.getAll());
  } catch (e) {
    $('saved-list').innerHTML = '';
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = e.message;
    $('saved-list').append(li);
    return;
  }
  records.sort((a, b) => b.savedAt.localeCompare(a.savedAt));
  const list = $('saved-list');
  list.innerHTML = '';
  if (!records.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'Nothing saved yet.';
    list.append(li);
    return;
  }
  for (const r of records) {
    const li = document.createElement('li');
    const info = document.createElement('div');
    info.className = 'saved-info';
    const name = document.createElement('strong');
    name.textContent = r.name;
    const meta = document.createElement('span');
    meta.className = 'muted';
    const when = new Date(r.savedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    meta.textContent = `${when} · ${formatCount(r.summary.chars)} chars${r.summary.val != null ? ` · val ${r.summary.val.toFixed(3)}` : ''} · ${fmtBytes(r.summary.size)}`;
    info.append(name, meta);
    const load = document.createElement('button');
    load.type = 'button';
    load.className = 'button small';
    load.dataset.action = 'load';
    load.textContent = 'Load';
    load.onclick = async () => {
      const rec = await dbRequest('readonly', (store) => store.get(r.key)).catch((e) => notify('error', e.message));
      if (rec) await loadModelBytes(new Uint8Array(rec.bytes), `“${rec.name}” from this browser`);
    };
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'button small subtle';
    del.textContent = 'Delete';
    del.onclick = async () => {
      await dbRequest('readwrite', (store) => store.delete(r.key)).catch((e) => notify('error', e.message));
      await refreshSaved();
    };
    li.append(info, load, del);
    list.append(li);
  }
  render();
}

// ---- generation ----

async function generate() {
  if (app.gen) {
    await call('cancelGenerate');
    return;
  }
  const num = (id) => Number($(id).value);
  const options = {
    prompt: $('gen-prompt').value,
    length: num('gen-length'),
    temperature: num('gen-temperature'),
    topK: num('gen-topk'),
    topP: num('gen-topp'),
    seed: num('gen-seed'),
  };
  const bad = [['length', 1, 100000, true], ['temperature', 0, 100], ['topK', 0, limits.maxVocab, true], ['topP', 0, 1], ['seed', 0, limits.maxSeed, true]]
    .find(([k, min, max, int]) => !(Number.isFinite(options[k]) && options[k] >= min && options[k] <= max && (!int || Number.isInteger(options[k]))));
  if (bad) { notify('error', `Generation: ${bad[0]} must be ${bad[3] ? 'a whole number' : 'a number'} from ${bad[1]} to ${bad[2]}.`); return; }
  const genId = nextId++;
  app.gen = { genId, options, t0: performance.now() };
  $('gen-prompt-echo').textContent = options.prompt;
  $('gen-text').textContent = '';
  $('gen-meta').textContent = app.state === 'running' ? 'Generating (training waits meanwhile)…' : 'Generating…';
  render();
  try {
    await call('generate', { genId, options });
  } catch (e) {
    app.gen = null;
    $('gen-meta').textContent = '';
    notify('error', e.message);
    render();
  }
}

// ---- wiring ----

$('corpus-tab-default').onclick = () => { if (app.corpus?.source !== 'default') useDefaultCorpus(); else { app.corpusTab = 'default'; render(); } };
$('corpus-tab-user').onclick = () => {
  app.corpusTab = 'user';
  render();
  const text = $('corpus-text').value;
  if (text.trim() && app.corpus?.source !== 'user') useUserText(text, app.userTextName);
  else $('corpus-text').focus();
};
$('corpus-text').addEventListener('input', onTextInput);
$('corpus-file').onchange = (e) => { openFile(e.target.files[0]); e.target.value = ''; };
$('load-file').onchange = async (e) => {
  const file = e.target.files[0];
  e.target.value = '';
  if (file) await loadModelBytes(new Uint8Array(await file.arrayBuffer()), `“${file.name}”`);
};

// Files can be dropped anywhere: models are recognised by their first bytes.
document.addEventListener('dragover', (e) => {
  if (![...e.dataTransfer.types].includes('Files')) return;
  e.preventDefault();
  $('dropzone').classList.add('over');
});
document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) $('dropzone').classList.remove('over'); });
document.addEventListener('drop', (e) => {
  e.preventDefault();
  $('dropzone').classList.remove('over');
  const file = e.dataTransfer.files[0];
  if (file) openFile(file);
});

$('train').onclick = train;
$('resume').onclick = () => guarded(() => start());
$('pause').onclick = () => guarded(async () => { const r = await call('pause'); setState(r.state); }, { busy: false });
$('stop').onclick = () => guarded(async () => { const r = await call('stop'); setState(r.state); }, { busy: false });

let discardTimer = 0;
$('new-model').onclick = async () => {
  // Two clicks when the model has unsaved training: nothing trained is lost by a slip.
  const button = $('new-model');
  if (app.dirty && !button.dataset.confirm) {
    button.dataset.confirm = '1';
    button.textContent = 'Discard unsaved model?';
    discardTimer = setTimeout(() => { delete button.dataset.confirm; button.textContent = 'New model'; }, 4000);
    return;
  }
  clearTimeout(discardTimer);
  delete button.dataset.confirm;
  button.textContent = 'New model';
  await guarded(async () => {
    await call('discard');
    app.model = null;
    app.progress = null;
    app.dirty = false;
    resetHistory(null);
    $('sample').innerHTML = '<span class="muted">Start training to see what the model writes.</span>';
    $('sample-meta').textContent = 'a fresh sample every few seconds while training';
    setState('idle');
    if (app.corpus && !app.corpus.attached) corpusChanged({ ...app.corpus, attached: true, problem: null });
  });
};

$('optimizer').onchange = () => { $('lr').value = String(DEFAULT_RATES[$('optimizer').value]); updateEstimate(); };
$('settings').addEventListener('input', updateEstimate);
$('epochs').addEventListener('input', () => { app.epochsEdited = true; });
$('download').onclick = download;
$('save-browser').onclick = saveToBrowser;
$('generate').onclick = generate;
$('gen-prompt').addEventListener('keydown', (e) => { if (e.key === 'Enter' && !$('generate').disabled) generate(); });

window.addEventListener('beforeunload', (e) => {
  if (app.dirty && app.model) { e.preventDefault(); e.returnValue = ''; }
});

// ---- start ----

async function main() {
  render();
  renderStats();
  refreshChart();
  refreshSaved();
  let hello;
  try {
    hello = await call('hello');
  } catch (e) {
    setState('failed');
    notify('error', `WebAssembly could not be started: ${e.message}`);
    return;
  }
  app.build = hello.build;
  const label = hello.build.simd ? 'WebAssembly SIMD' : 'WebAssembly scalar fallback';
  $('build').textContent = label;
  $('build').dataset.simd = String(hello.build.simd);
  $('build').title = `Build in use: ${hello.build.simd ? 'lstm-simd.wasm' : 'lstm-scalar.wasm'} (kernels: ${hello.build.kernels})`;
  $('footer-build').textContent = `${hello.build.simd ? 'lstm-simd.wasm' : 'lstm-scalar.wasm'} · kernels ${hello.build.kernels}`;
  if (!hello.simdSupported) {
    notify('warning', 'This browser does not support WebAssembly SIMD, so the demo uses the scalar fallback build: everything works, but training is several times slower.');
  }
  writeSettings(hello.defaults);
  setState('idle');
  await useDefaultCorpus();
}

main();
