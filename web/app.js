// app.js - the demo page: controls, live statistics, chart, samples, generation, saving.
// All the work with the model happens on the library's TrainingWorker (a Session on another
// thread); this file drives it and keeps the page responsive. It opens on the pretrained model
// (pretrained.js), which a visitor can fine-tune on their text or look inside (look_inside.js,
// on a second worker). No framework: a small state object and a render().

import { LossChart, formatCount, smoothLoss } from './chart.js';
import { fmtBytes, fmtDuration, fmtInt, fmtRate } from './format.js';
import { generate, initGeneration } from './generation.js';
import { Session, TrainingWorker, simdSupported } from './lib/lstm.js';
import { checkCost, loadError, pageError, showChar, stepSeconds } from './messages.js';
import { notify, clearNotice } from './notices.js';
import { showSaved } from './saved_models.js';
import { download, initKeeping, saveToBrowser } from './keep_model.js';
import { readSettings, writeSettings, showEstimate, showNoEstimate } from './settings_form.js';
import { attachChosen, builtInCorpus, choose, chosenText, fileText, initTexts, isBuiltIn, isModelFile, prefetchBuiltIn } from './texts.js';
import { showBuild } from './build_info.js';
import { initLookInside, lookInside, modelReplaced, renderLookInside } from './look_inside.js';
import { fetchPretrained, pretrainedBytes } from './pretrained.js';
import { extendPretrained } from './snapshot.js';

const $ = (id) => document.getElementById(id);
// The page's training settings (the rest of its form is the model's architecture).
const TRAINING = ['seqLength', 'batchSize', 'optimizer', 'learningRate', 'schedule', 'epochs', 'clipNorm'];
const SAMPLE_EVERY_SECONDS = 4;
// For tests: ?steps=N stops training when the model has taken N steps (a file to compare).
const STOP_AT = Number(new URLSearchParams(location.search).get('steps')) || 0;

const pick = (object, keys) => Object.fromEntries(keys.filter((k) => object?.[k] !== undefined).map((k) => [k, object[k]]));

let worker = null;   // the TrainingWorker

// ---- page state ----

const app = {
  state: 'loading',          // loading | idle (no model) | running | paused | stopped | failed
  busy: false,               // a request that must not overlap (create, load, save) is running; 'text': a change of text
  corpusTab: 'default',      // which corpus pane is shown
  corpus: null,              // the chosen text: { source, name, chars, vocabSize, fingerprint, epochs, attached, problem }
  userTextName: 'pasted text',  // the visitor's text's name: a file's, as the command line names it
  model: null,               // { config, parameterCount, settings, corpus, ..., pretrained: the untrained pretrained model }
  history: { train: [], val: [] },
  progress: null,            // the latest progress event
  dirty: false,              // trained since the last download / save
  epochsEdited: false,       // the visitor set the schedule length (else it follows the corpus)
  gen: null,                 // the generation in progress: { options, t0, pieces, cancelled }
  genCount: 0,
  build: null,
  lastSample: '',
  rates: null,               // the recipe's starting learning rate of each optimizer
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
  get inside() { return lookInside; },
};

const chart = new LossChart($('chart'));
initGeneration(app, () => worker, () => render());
initKeeping({ app, worker: () => worker, guarded: (action) => guarded(action), refreshSaved: () => refreshSaved() });

/** Run an async action with the page marked busy; errors become notices. busy: 'text' for a
 * change of text, which leaves the model to generate with. */
async function guarded(action, { busy = true } = {}) {
  if (busy) { app.busy = busy; render(); }
  try {
    return await action();
  } catch (e) {
    notify('error', e.message);
    return undefined;
  } finally {
    if (busy) { app.busy = false; render(); }
  }
}

// ---- the size and cost of the settings (the library's estimate, made by the worker) ----

let estimate = null;   // the last one: { e, s }
let estimateSeq = 0;   // replies to older requests are dropped

async function refreshEstimate() {
  const seq = ++estimateSeq;
  let s;
  try { s = readSettings(); } catch { estimate = null; showNoEstimate(); return; }
  if (!ownModel() && !app.corpus?.vocabSize) {
    estimate = null;
    showNoEstimate('Choose a text first: the vocabulary size sets the input and output layers.');
    return;
  }
  let e;
  try {
    e = await estimateFor(s);
  } catch (err) {
    if (seq === estimateSeq) { estimate = null; showNoEstimate(pageError(err).message); }
    return;
  }
  if (seq !== estimateSeq) return;
  estimate = { e, s };
  showHeapNow();
}

/** A model trained here (not the pretrained one, which the form's settings would replace). */
const ownModel = () => app.model !== null && !app.model.pretrained;

/** Session.estimate of these settings: the model's own, or a new model's for the chosen text. */
async function estimateFor(s) {
  const e = ownModel() ? await worker.estimate(pick(s, TRAINING)) : await worker.estimate(s, { vocabSize: app.corpus.vocabSize, chars: app.corpus.chars });
  return { ...e, stepSeconds: stepSeconds(e) };
}

/** The estimate with the WebAssembly memory in use now (it grows while a model trains). */
function showHeapNow() {
  if (estimate) showEstimate(estimate.e, estimate.s, app.model ? app.progress?.memoryBytes : 0);
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
  // the pretrained model, untrained here, is a starting point: a new model replaces it freely
  const pretrained = hasModel && app.model.pretrained;
  const fixed = hasModel && !pretrained;
  const running = state === 'running';
  const ready = !['loading', 'failed'].includes(state);
  const corpusMatchesTab = app.corpus && app.corpus.source === app.corpusTab;
  const ownText = app.corpusTab === 'user';

  $('train').hidden = fixed;
  $('train').textContent = pretrained ? 'Train from scratch' : 'Train';
  $('train').disabled = !ready || busy || !corpusMatchesTab;
  $('finetune').hidden = !(ownText && pretrainedBytes() && !fixed);
  $('finetune').disabled = !ready || busy || !corpusMatchesTab;
  $('resume').hidden = !hasModel || running || (pretrained && ownText);
  $('resume').textContent = state === 'paused' ? 'Resume' : 'Continue training';
  $('resume').disabled = busy || !app.corpus?.attached;
  $('pause').hidden = !running;
  $('stop').hidden = !(running || state === 'paused');
  $('stop').disabled = busy;
  $('new-model').hidden = !fixed || running;
  $('new-model').disabled = busy;

  $('arch-fields').disabled = fixed || busy;
  $('arch-note').textContent = fixed ? '(fixed for this model: “New model” to change)' : '';
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

  $('generate').disabled = !hasModel || (busy && busy !== 'text');
  renderLookInside(hasModel);
  $('generate').textContent = app.gen ? 'Stop' : 'Generate';

  const pill = $('run-state');
  const label = { loading: 'starting…', failed: 'unavailable', idle: 'no model', running: 'training', paused: 'paused', stopped: hasModel && app.progress?.chars ? 'stopped' : 'ready' }[state];
  pill.textContent = label;
  pill.dataset.state = state;

  renderCorpus();
}

function renderCorpus() {
  const c = app.corpus;
  const shown = c && c.source === app.corpusTab;
  $('corpus-chars').textContent = shown ? fmtInt(c.chars) : '–';
  $('corpus-vocab').textContent = shown ? `${fmtInt(c.vocabSize)} symbols` : '–';
  let status = '';
  if (app.corpusTab === 'user' && !shown) status = 'Paste or drop a text to train on. Any language works: the model learns one character at a time.';
  else if (shown && c.source === 'user') status = `Using ${c.name === 'pasted text' ? c.name : `“${c.name}”`}.`;
  else if (shown) status = `Using the built-in ${c.name}.`;
  if (shown && app.model && c.attached === false) {
    status = app.model.pretrained ? 'Train a new model on it, or continue from the pretrained model: the characters it has never seen are added to it.'
      : 'This text does not fit the current model (see the message above).';
  }
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
  showHeapNow();
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

function listen() {
  worker.addEventListener('progress', ({ detail: m }) => {
    app.progress = m;
    // the session's curves: the points this unit made, or all of them when it thinned them
    if (m.history) app.history = m.history;
    else {
      app.history.train.push(...m.train);
      app.history.val.push(...m.val);
    }
    if (m.train.length || m.val.length) app.dirty = true;
    refreshChart();
    renderStats();
  });
  worker.addEventListener('state', ({ detail: { state } }) => {
    if (app.model) setState(state === 'idle' ? 'stopped' : state);
  });
  worker.addEventListener('sample', ({ detail: m }) => {
    app.lastSample = m.text;
    $('sample').textContent = m.text;
    $('sample-meta').textContent = `after ${formatCount(m.chars)} characters · temperature 0.8`;
  });
}

// ---- corpus ----

async function useDefaultCorpus() {
  app.corpusTab = 'default';
  render();
  await guarded(async () => {
    await corpusChanged(await choose(await builtInCorpus(), 'default'));
  }, { busy: 'text' });
}

async function useUserText(text, name) {
  app.corpusTab = 'user';
  await guarded(async () => {
    await corpusChanged(await choose({ text, name }, 'user'));
  }, { busy: 'text' });
}

async function corpusChanged(c, { quiet = false } = {}) {
  app.corpus = c;
  // until the visitor sets it, the schedule follows the corpus size (the recipe's decay length)
  if ((!app.model || app.model.pretrained) && !app.epochsEdited && c.epochs) $('epochs').value = String(c.epochs);
  if (c.problem && !quiet) notify('error', c.problem, { key: 'corpus' });
  else clearNotice('corpus');
  if (c.attached && app.model) clearNotice('need-corpus');
  if (app.progress && c.trainChars) app.progress = { ...app.progress, trainChars: c.trainChars };
  render();
  renderStats();
  await refreshEstimate();
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
  if (isModelFile(bytes)) {
    await loadModelBytes(bytes, file.name);
    return;
  }
  if (app.state === 'running') { notify('error', 'Pause training before changing the text.'); return; }
  let text;
  try { text = fileText(bytes, file.name); } catch (e) { notify('error', e.message); return; }
  app.userTextName = file.name;
  $('corpus-text').value = text;
  $('corpus-file-name').textContent = `${file.name} · ${fmtBytes(bytes.length)}`;
  await useUserText(text, app.userTextName);
}

// ---- training ----

async function train() {
  let settings;
  try { settings = readSettings(); } catch (e) { notify('error', e.message); return; }
  await guarded(async () => {
    const chosen = chosenText();
    if (!chosen) throw new Error('Choose a text to train on first.');
    checkCost(await worker.estimate(settings, { vocabSize: app.corpus.vocabSize, chars: app.corpus.chars }).catch((e) => { throw pageError(e); }), settings);
    // the worker makes the new model before it frees the old one: if it does not fit, nothing is lost
    const info = await worker.createSession(chosen, settings).catch((e) => { throw pageError(e); });
    app.corpus = { ...app.corpus, attached: true, problem: null };
    modelChanged(summary(info));
    app.dirty = false;
    await start(settings);
  });
}

/** Resume a paused run, or start a run (after Stop, or on a loaded model) with the form's
 * training settings (the architecture belongs to the model). */
async function start(settings) {
  await worker.configure(pick(settings ?? readSettings(), TRAINING)).catch((e) => { throw pageError(e); });
  if (app.state === 'paused') {
    await worker.resume();
    return;
  }
  if (!app.corpus?.attached) throw new Error('The current text cannot be used with this model (see the message above). Load a compatible text or start a new model.');
  const info = await worker.info();
  checkCost(await worker.estimate(), info.settings);
  const steps = STOP_AT ? { steps: Math.max(0, STOP_AT - info.progress.steps) } : {};
  app.model.pretrained = false;
  worker.train({ ...steps, sampleEvery: SAMPLE_EVERY_SECONDS }).catch((e) => {
    if (e.code !== 'DISPOSED') notify('error', pageError(e).message);
  });
  setState('running');
}

/** The page's view of the worker's SessionInfo. */
function summary(info) {
  const c = info.config;
  return {
    ...info,
    settings: { layers: c.layers, hiddenSize: c.hiddenSize, dropout: c.dropout, seed: c.seed, ...info.settings },
    progress: { ...info.progress, seconds: info.seconds },
  };
}

function modelChanged(m) {
  app.model = m;
  app.progress = null;
  resetHistory(m.history);
  if (m.progress?.chars || m.history.val.length) {
    app.progress = { ...m.progress, epoch: m.trainChars ? m.progress.chars / m.trainChars : 0, trainChars: m.trainChars, charsPerSecond: 0, learningRate: 0 };
  }
  setState('stopped');
  renderStats();
  refreshChart();
  refreshEstimate();
  modelReplaced();
}

// ---- the pretrained model ----

/** Make the pretrained model the page's model (at start, and after "New model"). */
async function openPretrained(bytes) {
  const r = summary(await worker.openSession(bytes).catch((e) => { throw loadError(e); }));
  // its training settings are the recipe's: the form keeps the recipe's for this text
  modelChanged({ ...r, pretrained: true });
}

/** "Continue from the pretrained model": the pretrained model with the chosen text's new
 * symbols added (on the second worker), opened as a new run on that text. */
async function fineTune() {
  let settings;
  try { settings = readSettings(); } catch (e) { notify('error', e.message); return; }
  await guarded(async () => {
    const chosen = chosenText();
    if (!chosen || app.corpus?.source !== 'user') throw new Error('Paste or drop a text to fine-tune on first.');
    if (app.state === 'paused') await worker.cancel();
    const { bytes, added } = await extendPretrained(pretrainedBytes(), chosen).catch((e) => { throw pageError(e); });
    modelChanged(summary(await worker.openSession(bytes).catch((e) => { throw loadError(e); })));
    const status = await attachChosen();
    app.corpus = { ...app.corpus, ...status };
    if (!status.attached) throw new Error(status.problem);
    app.dirty = false;
    const shown = added.slice(0, 12).map((c) => `“${showChar(c)}”`).join(' ');
    notify('info', added.length ? `Fine-tuning the pretrained model on ${chosen.name}: ${added.length} character${added.length > 1 ? 's' : ''} it had never seen added (${shown}${added.length > 12 ? ' …' : ''}).`
      : `Fine-tuning the pretrained model on ${chosen.name}: it knows every character of it.`, { key: 'finetune' });
    await start(settings);
  });
}

// ---- keeping models ----

async function loadModelBytes(bytes, label) {
  if (app.state === 'running') { notify('error', 'Pause training before loading a model.'); return; }
  await guarded(async () => {
    // a paused run ends: the loaded model replaces its model
    if (app.state === 'paused') await worker.cancel();
    const r = summary(await worker.openSession(bytes).catch((e) => { throw loadError(e); }));
    writeSettings(r.settings, r.config);
    modelChanged(r);
    app.dirty = false;
    const trained = r.progress?.chars ? `, trained on ${formatCount(r.progress.chars)} characters` : '';
    notify('success', `Loaded ${label}: ${r.config.layers} × ${r.config.hiddenSize} ${r.config.cell === 'gru' ? 'GRU' : 'LSTM'}, ${fmtInt(r.parameterCount)} parameters${trained}.`);
    await connectCorpus({ ...r, corpusStatus: await attachChosen(), builtIn: isBuiltIn(r.corpus) });
  });
}

/** After loading: find the text to continue training on. The built-in corpus is reloaded
 * automatically (the page knows it by its fingerprint); another text (a visitor's, or the
 * file a model was trained on with the command line) is not saved with the model, so it is
 * asked for. */
async function connectCorpus(r) {
  if (r.builtIn) {
    if (app.corpus?.source !== 'default' || !r.corpusStatus.attached) {
      app.corpusTab = 'default';
      await corpusChanged(await choose(await builtInCorpus(), 'default'));
    } else {
      await corpusChanged({ ...app.corpus, ...r.corpusStatus });
    }
    return;
  }
  // The text loaded now may not fit the model; that is expected, so it is said calmly below.
  await corpusChanged({ ...app.corpus, ...r.corpusStatus }, { quiet: true });
  if (!r.corpusStatus.attached && !r.corpus) {
    app.corpusTab = 'user';
    render();
    notify('info', 'To continue training this model, paste or drop a text that uses only its characters. Generating works without it.', { key: 'need-corpus', timeout: 0 });
  }
  if (r.corpus) {
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

async function refreshSaved() {
  await showSaved(loadModelBytes);
  render();
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
$('finetune').onclick = fineTune;
$('resume').onclick = () => guarded(() => start());
// the worker's 'state' event sets the page's state, before these answer
$('pause').onclick = () => guarded(() => worker.pause(), { busy: false });
$('stop').onclick = () => guarded(() => worker.cancel(), { busy: false });

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
    if (app.state === 'paused') await worker.cancel();
    await worker.discard();
    app.model = null;
    app.progress = null;
    app.dirty = false;
    resetHistory(null);
    $('sample').innerHTML = '<span class="muted">Start training to see what the model writes.</span>';
    $('sample-meta').textContent = 'a fresh sample every few seconds while training';
    setState('idle');
    // the page's resting state: the pretrained model, if it came
    if (pretrainedBytes()) await openPretrained(pretrainedBytes());
    await corpusChanged({ ...app.corpus, ...(app.corpus?.source === 'default' && app.model ? await attachChosen() : { attached: !app.model, problem: null }) });
  });
};

$('optimizer').onchange = () => { $('lr').value = String(app.rates[$('optimizer').value]); refreshEstimate(); };
$('settings').addEventListener('input', refreshEstimate);
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
  // the pretrained model downloads while the worker starts
  const pretrained = fetchPretrained().catch((e) => e);
  prefetchBuiltIn();
  render();
  renderStats();
  refreshChart();
  refreshSaved();
  try {
    worker = await TrainingWorker.create();
  } catch (e) {
    setState('failed');
    notify('error', e.code === 'WORKER'
      ? `The training worker could not start (${e.message}). Serve the demo over http from its build folder (make demo), in a browser that supports module workers.`
      : `WebAssembly could not be started: ${e.message}`);
    return;
  }
  listen();
  initTexts(worker, app);
  app.build = worker.buildInfo;
  showBuild(app.build);
  if (!simdSupported()) {
    notify('warning', 'This browser does not support WebAssembly SIMD, so the demo uses the scalar fallback build: everything works, but training is several times slower.');
  }
  app.rates = Object.fromEntries(['adam', 'rmsprop', 'sgd'].map((optimizer) => [optimizer, Session.defaults({ optimizer }).learningRate]));
  writeSettings(Session.defaults());
  initLookInside({
    app,
    worker: () => worker,
    // the text the model trains on, else the one the pretrained model learnt from
    snapshotText: async () => (app.corpus?.attached && chosenText()
      ? { source: chosenText(), label: app.corpus.source === 'default' ? 'the Brown corpus' : app.corpus.name === 'pasted text' ? 'the pasted text' : `“${app.corpus.name}”` }
      : { source: await builtInCorpus(), label: 'the Brown corpus' }),
  });
  setState('idle');
  const bytes = await pretrained;
  if (bytes instanceof Error) notify('warning', `${bytes.message} Train a model to generate text.`);
  else await guarded(() => openPretrained(bytes));
  // Describing and attaching the 3-MB built-in text holds the worker for ~0.5 s: a visitor who
  // asks for text at once is served first.
  await new Promise((resolve) => { setTimeout(resolve, 600); });
  while (app.gen) await new Promise((resolve) => { setTimeout(resolve, 100); });
  await useDefaultCorpus();
}

main();
