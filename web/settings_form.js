// settings_form.js - the model and training settings on the page: read (with a readable error
// for a bad value), written back (from a loaded model), and the size and cost the library
// estimates for them.

import { limits } from './lib/lstm.js'; // the library's limits only: the model is in the worker
import { fmtBytes, fmtInt } from './format.js';

const $ = (id) => document.getElementById(id);

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
export function readSettings() {
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

export function writeSettings(s, config) {
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

/** Show the library's estimate (Session.estimate, from the worker) of what these settings take;
 * `heapBytes`: the WebAssembly memory in use now, if a model exists. */
export function showEstimate(e, s, heapBytes) {
  $('param-count').textContent = fmtInt(e.parameters);
  $('memory-estimate').textContent = `≈ ${fmtBytes(e.totalBytes)}`;
  // WebAssembly memory is limited to 4 GB, and browsers often give less.
  $('memory-estimate').classList.toggle('too-big', e.totalBytes > 2e9);
  $('memory-estimate').title = e.totalBytes > 2e9 ? 'Probably more than this browser can give a WebAssembly module (at most 4 GB).' : '';
  const slow = e.stepSeconds > 1 ? ` One training step will take about ${e.stepSeconds.toFixed(0)} s${e.stepSeconds > 5 ? ': too slow to train here' : ''}.` : '';
  const heap = heapBytes ? ` WebAssembly memory in use now: ${fmtBytes(heapBytes)}.` : '';
  $('memory-detail').textContent = `Weights, gradients and ${s.optimizer === 'adam' ? 'Adam moments' : 'optimizer state'} ${fmtBytes(e.parameterBytes + e.optimizerBytes)} · activations for batch ${s.batchSize} × ${s.seqLength} ${fmtBytes(e.activationBytes)} · generation ${fmtBytes(e.inferenceBytes)} · text ${fmtBytes(e.textBytes)}.${heap}${slow}`;
}

/** No estimate: the settings are not valid yet, or there is no text (`why`). */
export function showNoEstimate(why = '') {
  $('param-count').textContent = '–';
  $('memory-estimate').textContent = '–';
  $('memory-detail').textContent = why;
}
