// lstm.js - the JavaScript API of lstm-wasm: loads the SIMD (or fallback) wasm build and
// wraps the C handle in a Model class. Works unchanged in Node.js, browsers and workers.
//
// Rules kept throughout: no typed-array view of the heap survives a call that may grow
// memory; results are copied out; temporary heap buffers are freed in `finally`; pointers
// are read as unsigned (>>> 0).

const STATUS_NAMES = [
  'OK', 'INVALID_ARGUMENT', 'OUT_OF_MEMORY', 'BAD_MAGIC', 'UNSUPPORTED_VERSION', 'TRUNCATED',
  'CHECKSUM', 'CORRUPT', 'NON_FINITE', 'TOKEN_RANGE', 'BUFFER_TOO_SMALL', 'STATE',
];

/** Every failure of this library is an LstmError; `code` names the cause. */
export class LstmError extends Error {
  constructor(message, code = 'INVALID_ARGUMENT', status = 1) {
    super(message);
    this.name = 'LstmError';
    this.code = code;
    this.status = status;
  }
}

/** An allocation failed (the wasm heap could not grow); the model is unchanged. */
export class LstmOutOfMemoryError extends LstmError {
  constructor(message) {
    super(message, 'OUT_OF_MEMORY', 2);
    this.name = 'LstmOutOfMemoryError';
  }
}

function statusError(status, message) {
  const code = STATUS_NAMES[status] ?? `STATUS_${status}`;
  return status === 2 ? new LstmOutOfMemoryError(message) : new LstmError(message, code, status);
}

// ---- loading the module ----

// The smallest module that uses a SIMD instruction (i8x16.popcnt): validates only with SIMD.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1,
  0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** True when this JavaScript engine supports WebAssembly 128-bit SIMD. */
export function simdSupported() {
  try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node &&
  typeof window === 'undefined';

async function fetchBytes(url) {
  if (isNode && url.protocol === 'file:') {
    const fsName = 'node:fs/promises';
    const fs = await import(/* @vite-ignore */ fsName);
    return fs.readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new LstmError(`cannot fetch ${url}: HTTP ${response.status}`, 'LOAD');
  return response.arrayBuffer();
}

let loading = null;
let loadedWith = null; // the options the module was loaded with

/**
 * Load the wasm module (once). Options: `simd` (true/false to force a build), `wasmUrl`
 * (URL or string of the .wasm to use), `wasmBinary` (its bytes). Without options the SIMD
 * build is used where supported and the scalar build elsewhere, found next to this file.
 * Once loaded, a call with options that would load something else is refused rather than
 * ignored: they belong in the first call, before any Model.create or Model.load.
 */
export function init(options = {}) {
  try {
    checkOptions('init', options, ['simd', 'wasmUrl', 'wasmBinary']);
  } catch (e) {
    return Promise.reject(e);
  }
  if (!loading) {
    loadedWith = options;
    loading = instantiate(options).catch((e) => { loading = null; loadedWith = null; throw e; });
    return loading;
  }
  const asked = Object.keys(options).filter((k) => options[k] !== undefined);
  if (asked.length === 0) return loading;
  return loading.then((wasm) => {
    // a URL may be a new object or a string naming the same file: compare what it names
    const url = (u) => (u === undefined ? undefined : String(u));
    const same = asked.every((k) => (k === 'simd' ? options.simd === wasm.simd
      : k === 'wasmUrl' ? url(options.wasmUrl) === url(loadedWith.wasmUrl) : options[k] === loadedWith[k]));
    if (!same) {
      throw new LstmError(`init: the module is already loaded (the ${wasm.simd ? 'SIMD' : 'scalar'} build), so ${asked.join(', ')} cannot apply; pass them to the first init(), before any Model.create or Model.load`, 'STATE', 11);
    }
    return wasm;
  });
}

async function instantiate(options) {
  const simd = options.simd ?? simdSupported();
  if (simd && !simdSupported()) throw new LstmError('this engine has no WebAssembly SIMD', 'LOAD');
  let bytes = options.wasmBinary;
  if (!bytes) {
    const url = options.wasmUrl
      ? new URL(options.wasmUrl, typeof location !== 'undefined' ? location.href : import.meta.url)
      // Two literal `new URL('./x.wasm', import.meta.url)` expressions, not one with a
      // computed name: bundlers (Vite, webpack 5, Parcel) recognise only this exact form,
      // and then emit the file and rewrite the URL.
      : simd ? new URL('./lstm-simd.wasm', import.meta.url) : new URL('./lstm-scalar.wasm', import.meta.url);
    bytes = await fetchBytes(url);
  }
  let memoryGrew = () => {};
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { emscripten_notify_memory_growth: () => memoryGrew() },
  });
  const wasm = new Wasm(instance.exports, simd);
  memoryGrew = () => wasm.onGrow();
  instance.exports._initialize();
  return wasm;
}

/** The loaded module: heap access and calls with status checks. Internal. */
class Wasm {
  constructor(exports, simd) {
    this.x = exports;
    this.simd = simd && exports.lstm_build_simd() === 1;
    this.kernels = this.utf8(exports.lstm_kernel_table_name(1));
  }

  onGrow() { /* views are made fresh per access, so nothing to update */ }

  get buffer() { return this.x.memory.buffer; }
  u8(ptr, n) { return new Uint8Array(this.buffer, ptr >>> 0, n); }
  i32(ptr, n) { return new Int32Array(this.buffer, ptr >>> 0, n); }
  u32(ptr, n) { return new Uint32Array(this.buffer, ptr >>> 0, n); }
  f32(ptr, n) { return new Float32Array(this.buffer, ptr >>> 0, n); }
  f64(ptr, n) { return new Float64Array(this.buffer, ptr >>> 0, n); }

  utf8(ptr) {
    const heap = new Uint8Array(this.buffer);
    let end = ptr >>> 0;
    while (heap[end] !== 0) end++;
    return new TextDecoder().decode(heap.subarray(ptr >>> 0, end));
  }

  malloc(bytes) {
    const ptr = this.x.malloc(Math.max(bytes, 1)) >>> 0;
    if (ptr === 0) throw new LstmOutOfMemoryError(`cannot allocate ${bytes} bytes in the wasm heap`);
    return ptr;
  }

  free(ptr) { if (ptr) this.x.free(ptr); }

  /** Run fn with temporary heap blocks of the given byte sizes, freed afterwards. */
  scratch(sizes, fn) {
    const ptrs = [];
    try {
      for (const n of sizes) ptrs.push(this.malloc(n));
      return fn(...ptrs);
    } finally {
      for (const p of ptrs) this.free(p);
    }
  }

  /** Copy a typed array into a new heap block; the caller frees it. */
  copyIn(array) {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const ptr = this.malloc(bytes.length);
    this.u8(ptr, bytes.length).set(bytes);
    return ptr;
  }
}

async function wasmInstance() { return init(); }

// ---- argument checks (before anything reaches C) ----

function checkInt(name, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LstmError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function checkNumber(name, value, min, max, { minOpen = false, maxOpen = false } = {}) {
  const ok = typeof value === 'number' && Number.isFinite(value) &&
    (minOpen ? value > min : value >= min) && (maxOpen ? value < max : value <= max);
  if (!ok) {
    throw new LstmError(`${name} must be a number in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}, got ${String(value)}`);
  }
  return value;
}

function checkOptions(name, options, allowed) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new LstmError(`${name} must be an object`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new LstmError(`${name}: unknown option "${key}" (known: ${allowed.join(', ')})`);
    }
  }
  return options;
}

const OPTIMIZERS = { sgd: 0, rmsprop: 1, adam: 2 };
const SKIP_REASONS = ['none', 'loss', 'gradient', 'update', 'lossSpike'];
const OPTIMIZER_NAMES = ['sgd', 'rmsprop', 'adam'];

// ---- vocabulary and data ----

/** A character vocabulary over Unicode code points (not UTF-16 units, not bytes). */
export class Vocabulary {
  /** @param {Iterable<number>} codePoints distinct code points, in id order */
  constructor(codePoints) {
    this.codePoints = Uint32Array.from(codePoints);
    this.index = new Map();
    this.codePoints.forEach((cp, i) => {
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new LstmError(`vocabulary entry ${i} is not a Unicode scalar value: ${cp}`);
      }
      if (this.index.has(cp)) throw new LstmError(`vocabulary has code point ${cp} twice`);
      this.index.set(cp, i);
    });
    if (this.codePoints.length === 0) throw new LstmError('vocabulary is empty');
  }

  /** The sorted distinct code points of a text. Lone surrogates are rejected. */
  static fromText(text) {
    if (typeof text !== 'string') throw new LstmError('text must be a string');
    if (text.length === 0) throw new LstmError('text is empty: no vocabulary can be built');
    const set = new Set();
    for (const ch of text) set.add(ch.codePointAt(0));
    return new Vocabulary([...set].sort((a, b) => a - b));
  }

  get size() { return this.codePoints.length; }

  /** Text to ids. Unknown characters throw, or with { unknown: 'skip' } are dropped. */
  encode(text, options = {}) {
    const { unknown = 'error' } = checkOptions('encode', options, ['unknown']);
    if (unknown !== 'error' && unknown !== 'skip') throw new LstmError(`encode: unknown must be 'error' or 'skip', got ${String(unknown)}`);
    if (typeof text !== 'string') throw new LstmError('text must be a string');
    const ids = new Int32Array(text.length);
    let n = 0;
    let offset = 0;
    for (const ch of text) {
      const cp = ch.codePointAt(0);
      const id = this.index.get(cp);
      if (id === undefined) {
        if (unknown !== 'skip') {
          throw new LstmError(`character ${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) at offset ${offset} is not in the vocabulary`, 'TOKEN_RANGE', 9);
        }
      } else {
        ids[n++] = id;
      }
      offset += ch.length;
    }
    return ids.slice(0, n);
  }

  decode(ids) {
    let out = '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.size) {
        throw new LstmError(`token ${id} is outside [0, ${this.size})`, 'TOKEN_RANGE', 9);
      }
      out += String.fromCodePoint(this.codePoints[id]);
    }
    return out;
  }

  has(ch) { return this.index.has(ch.codePointAt(0)); }
  toJSON() { return Array.from(this.codePoints); }
}

/** A sequence of token ids, copied into the wasm heap once on first use. */
export class TokenStream {
  constructor(ids) {
    this.ids = ids instanceof Int32Array ? ids : Int32Array.from(ids);
    this.ptr = 0;
    this.wasm = null;
  }

  get length() { return this.ids.length; }

  /** @internal the heap copy (made once). */
  heap(wasm) {
    if (!this.ptr) {
      this.ptr = wasm.copyIn(this.ids);
      this.wasm = wasm;
    }
    return this.ptr;
  }

  dispose() {
    if (this.ptr) this.wasm.free(this.ptr);
    this.ptr = 0;
  }

  [Symbol.dispose]() { this.dispose(); }
}

/** A text encoded with a vocabulary and split, in order, into training and validation parts. */
export class TextDataset {
  constructor(text, vocab, options = {}) {
    const { validationFraction = 0.1 } = checkOptions('TextDataset', options, ['validationFraction']);
    if (!(vocab instanceof Vocabulary)) throw new LstmError('vocab must be a Vocabulary');
    checkNumber('validationFraction', validationFraction, 0, 0.9);
    this.vocab = vocab;
    const ids = vocab.encode(text);
    if (ids.length < 2) throw new LstmError(`text has ${ids.length} characters; at least 2 are needed to train`);
    const nVal = Math.floor(ids.length * validationFraction);
    this.train = new TokenStream(ids.subarray(0, ids.length - nVal));
    this.validation = new TokenStream(ids.subarray(ids.length - nVal));
  }

  dispose() { this.train.dispose(); this.validation.dispose(); }
  [Symbol.dispose]() { this.dispose(); }
}

// ---- samples for fit / evaluate / predict, and time-series windows ----

const range = (from, to) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
const isSequence = (a) => Array.isArray(a) || (ArrayBuffer.isView(a) && !(a instanceof DataView));

/**
 * Samples x (and targets y, or null) padded to the longest sequence, from which batches are
 * cut. Every batch has the same number of steps (the longest sample), so the workspace is
 * sized by the first batch and training allocates nothing afterwards. Internal.
 *   x: one sequence per sample. Token models: ids. Dense models: steps, each an array of
 *      inputSize numbers (or a number when inputSize is 1), or one flat array of
 *      length*inputSize numbers.
 *   y, returnSequences false: per sample a class id (softmax) or outputSize numbers (mse;
 *      a number when outputSize is 1). returnSequences true: per sample one such target
 *      per step (mse: nested or flat).
 */
// A value for an error message: arrays in brackets, so [0.5] does not read as 0.5.
const shown = (v) => (isSequence(v) ? `[${Array.from(v).join(', ')}]` : String(v));

class Samples {
  constructor(what, x, y, config) {
    const { dense, inputSize: X, vocabSize, head, returnSequences, outputSize: V } = config;
    if (!isSequence(x)) throw new LstmError(`${what}: x must be an array of sequences`);
    const n = x.length;
    if (n === 0) throw new LstmError(`${what}: x has no samples`);
    if (y !== null && (!isSequence(y) || y.length !== n)) {
      throw new LstmError(`${what}: y must have one entry per sample (${n}), got ${y?.length ?? typeof y}`);
    }
    // flat: the sample is one array of numbers holding len*X values (dense models); nested
    // steps ([[v], [v], ...]) are not flat, even when inputSize is 1
    const flat = (seq) => dense && typeof seq[0] === 'number';
    this.lengths = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const seq = x[i];
      if (!isSequence(seq) || seq.length === 0) throw new LstmError(`${what}: x[${i}] must be a non-empty sequence`);
      if (flat(seq) && seq.length % X !== 0) throw new LstmError(`${what}: x[${i}] has ${seq.length} values, not a multiple of inputSize ${X}`);
      this.lengths[i] = flat(seq) ? seq.length / X : seq.length;
    }
    const T = this.lengths.reduce((a, b) => Math.max(a, b), 0);
    if (T > 65536) throw new LstmError(`${what}: the longest sequence has ${T} steps, more than 65536`);
    this.T = T;
    this.X = dense ? X : 1;
    this.inputs = dense ? new Float32Array(n * T * X) : new Int32Array(n * T);
    for (let i = 0; i < n; i++) {
      const seq = x[i];
      const base = i * T * this.X;
      for (let t = 0; t < this.lengths[i]; t++) {
        if (!dense) {
          const id = seq[t];
          if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new LstmError(`${what}: x[${i}][${t}] = ${id} is outside [0, ${vocabSize})`, 'TOKEN_RANGE', 9);
          this.inputs[base + t] = id;
          continue;
        }
        const step = flat(seq) ? null : seq[t];
        if (step !== null && (!isSequence(step) || step.length !== X)) throw new LstmError(`${what}: x[${i}][${t}] must have inputSize = ${X} values`);
        for (let f = 0; f < X; f++) {
          const v = step === null ? seq[t * X + f] : step[f];
          if (typeof v !== 'number' || !Number.isFinite(v)) throw new LstmError(`${what}: x[${i}] step ${t} holds ${shown(v)}, not a finite number`);
          this.inputs[base + t * X + f] = v;
        }
      }
    }
    this.returnSequences = returnSequences;
    this.V = V;
    this.index = range(0, n);
    this.n = n;
    if (y === null) return;
    const rowsPer = returnSequences ? T : 1;
    if (head === 'softmax') {
      this.targets = new Int32Array(n * rowsPer);
      const id = (v, where) => {
        if (!Number.isInteger(v) || v < 0 || v >= V) throw new LstmError(`${what}: ${where} = ${String(v)} is not a class id in [0, ${V})`, 'TOKEN_RANGE', 9);
        return v;
      };
      for (let i = 0; i < n; i++) {
        if (!returnSequences) { this.targets[i] = id(y[i], `y[${i}]`); continue; }
        if (!isSequence(y[i]) || y[i].length !== this.lengths[i]) throw new LstmError(`${what}: y[${i}] must have one class id per step (${this.lengths[i]})`);
        for (let t = 0; t < this.lengths[i]; t++) this.targets[i * T + t] = id(y[i][t], `y[${i}][${t}]`);
      }
    } else {
      this.values = new Float32Array(n * rowsPer * V);
      const put = (at, v, where) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new LstmError(`${what}: ${where} holds ${shown(v)}, not a finite number`);
        this.values[at] = v;
      };
      // one target of V numbers: a number (V = 1) or an array
      const target = (v, at, where) => {
        if (typeof v === 'number' && V === 1) { put(at, v, where); return; }
        if (!isSequence(v) || v.length !== V) throw new LstmError(`${what}: ${where} must have outputSize = ${V} values`);
        for (let j = 0; j < V; j++) put(at + j, v[j], where);
      };
      for (let i = 0; i < n; i++) {
        if (!returnSequences) { target(y[i], i * V, `y[${i}]`); continue; }
        const len = this.lengths[i];
        const yi = y[i];
        const flatY = isSequence(yi) && yi.length === len * V && typeof yi[0] === 'number';
        if (!isSequence(yi) || (!flatY && yi.length !== len)) throw new LstmError(`${what}: y[${i}] must have one target per step (${len})`);
        for (let t = 0; t < len; t++) {
          if (flatY) for (let j = 0; j < V; j++) put((i * T + t) * V + j, yi[t * V + j], `y[${i}]`);
          else target(yi[t], (i * T + t) * V, `y[${i}][${t}]`);
        }
      }
    }
  }

  /** The samples at positions ids (a view sharing the arrays). */
  subset(ids) {
    const view = Object.create(this);
    view.index = ids.map((i) => this.index[i]);
    view.n = ids.length;
    return view;
  }

  /** A batch object for trainBatch / evaluateBatch / predictBatch of the samples at ids. */
  batch(ids) {
    const B = ids.length;
    const { T, X, V } = this;
    const samples = ids.map((i) => this.index[i]);
    const inputs = new this.inputs.constructor(B * T * X);
    const lengths = new Int32Array(B);
    samples.forEach((s, b) => {
      inputs.set(this.inputs.subarray(s * T * X, (s + 1) * T * X), b * T * X);
      lengths[b] = this.lengths[s];
    });
    const batch = { batch: B, steps: T };
    batch[X > 1 || this.inputs instanceof Float32Array ? 'inputs' : 'tokens'] = inputs;
    if (lengths.some((len) => len < T)) batch.lengths = lengths;
    const rowsPer = this.returnSequences ? T : 1;
    if (this.targets) {
      const targets = new Int32Array(B * rowsPer);
      samples.forEach((s, b) => targets.set(this.targets.subarray(s * rowsPer, (s + 1) * rowsPer), b * rowsPer));
      batch.targets = targets;
    } else if (this.values) {
      const per = rowsPer * V;
      const values = new Float32Array(B * per);
      samples.forEach((s, b) => values.set(this.values.subarray(s * per, (s + 1) * per), b * per));
      batch.targetValues = values;
    }
    // the number of scored steps, to weight a batch's mean loss (not an lstm_batch field)
    Object.defineProperty(batch, 'scoredSteps', { value: lengths.reduce((a, b) => a + b, 0) });
    return batch;
  }
}

/** The learning rate of each epoch: a function (epoch, baseLr) => lr, { type: 'step',
 * every, factor } (lr = base * factor^floor(epoch / every)) or { type: 'cosine', epochs,
 * minLearningRate } (half a cosine from base to min over `epochs`, then min). */
function learningRateSchedule(spec, base, epochs) {
  if (spec === undefined || spec === null) return () => base;
  if (typeof spec === 'function') {
    return (epoch) => checkNumber(`schedule(${epoch})`, spec(epoch, base), 0, 1000, { minOpen: true });
  }
  if (typeof spec !== 'object') throw new LstmError('schedule must be a function or { type: \'step\' | \'cosine\', ... }');
  if (spec.type === 'step') {
    checkOptions('schedule', spec, ['type', 'every', 'factor']);
    const every = checkInt('schedule.every', spec.every ?? 10, 1, 1e9);
    const factor = checkNumber('schedule.factor', spec.factor ?? 0.5, 0, 1, { minOpen: true });
    return (epoch) => base * factor ** Math.floor(epoch / every);
  }
  if (spec.type === 'cosine') {
    checkOptions('schedule', spec, ['type', 'epochs', 'minLearningRate']);
    const total = checkInt('schedule.epochs', spec.epochs ?? Math.max(epochs, 1), 1, 1e9);
    const min = checkNumber('schedule.minLearningRate', spec.minLearningRate ?? 0, 0, base);
    return (epoch) => {
      const lr = min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * Math.min(epoch, total) / total));
      return Math.max(lr, min, 1e-12); // the optimizer needs lr > 0
    };
  }
  throw new LstmError(`schedule.type must be 'step' or 'cosine', got ${String(spec.type)}`);
}

/** earlyStopping: true, or { patience (5), minDelta (0), restoreBestWeights (true), state
 * (the `earlyStopping` a previous fit returned, to continue its count when resuming) }. */
function earlyStoppingOptions(spec) {
  const fresh = { bestLoss: Infinity, bestEpoch: -1, wait: 0 };
  if (spec === undefined || spec === false || spec === null) return { on: false, minDelta: 0, state: fresh };
  const o = spec === true ? {} : checkOptions('earlyStopping', spec, ['patience', 'minDelta', 'restoreBestWeights', 'state']);
  const restore = o.restoreBestWeights ?? true;
  if (typeof restore !== 'boolean') throw new LstmError(`earlyStopping.restoreBestWeights must be true or false, got ${String(restore)}`);
  let state = fresh;
  if (o.state !== undefined) {
    const st = checkOptions('earlyStopping.state', o.state, ['bestLoss', 'bestEpoch', 'wait']);
    if (typeof st.bestLoss !== 'number' || Number.isNaN(st.bestLoss)) throw new LstmError(`earlyStopping.state.bestLoss must be a number, got ${String(st.bestLoss)}`);
    state = { bestLoss: st.bestLoss, bestEpoch: checkInt('earlyStopping.state.bestEpoch', st.bestEpoch, -1, 1e6), wait: checkInt('earlyStopping.state.wait', st.wait, 0, 1e9) };
  }
  return {
    on: true,
    patience: checkInt('earlyStopping.patience', o.patience ?? 5, 0, 1e9),
    minDelta: checkNumber('earlyStopping.minDelta', o.minDelta ?? 0, 0, Infinity),
    restoreBestWeights: restore,
    state,
  };
}

/** Fisher-Yates shuffles of n samples, one per epoch, from xorshift32 seeded with `seed`: a
 * run resumed at epoch k replays the first k shuffles (cheap) to continue where it was. */
function epochShuffler(n, seed) {
  let s = seed >>> 0 || 1;
  const random = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  return () => {
    const order = range(0, n);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  };
}

/**
 * Cut a numeric series into sliding windows for sequence regression: each sample is
 * `window` consecutive steps and its target the step `horizon` after the last. The series
 * (numbers, or arrays of equal width for several features) is split in order into
 * training, validation and test parts by `split` fractions; a window belongs to the part
 * its target falls in. With normalize (default), every feature is standardised with the
 * mean and standard deviation of the training part only. Returns { train, validation,
 * test } (each { x, y } for fit/evaluate/predict), inputSize, outputSize, mean, std and
 * denormalize(values).
 */
export function slidingWindows(series, options = {}) {
  checkOptions('slidingWindows', options, ['window', 'horizon', 'split', 'normalize']);
  if (!isSequence(series)) throw new LstmError('slidingWindows: series must be an array');
  const n = series.length;
  const F = typeof series[0] === 'number' ? 1 : series[0]?.length;
  if (!Number.isInteger(F) || F < 1) throw new LstmError('slidingWindows: series must hold numbers or arrays of numbers');
  const values = new Float64Array(n * F);
  for (let i = 0; i < n; i++) {
    const s = series[i];
    for (let f = 0; f < F; f++) {
      const v = F === 1 && typeof s === 'number' ? s : s?.[f];
      if (typeof v !== 'number' || !Number.isFinite(v) || (F > 1 && s.length !== F)) {
        throw new LstmError(`slidingWindows: series[${i}] must be ${F === 1 ? 'a finite number' : `${F} finite numbers`}`);
      }
      values[i * F + f] = v;
    }
  }
  const window = checkInt('window', options.window, 1, 65536);
  const horizon = checkInt('horizon', options.horizon ?? 1, 1, 1e9);
  const split = options.split ?? [0.7, 0.15, 0.15];
  if (!Array.isArray(split) || split.length !== 3 || split.some((v) => typeof v !== 'number' || !(v >= 0)) ||
      Math.abs(split[0] + split[1] + split[2] - 1) > 1e-9 || split[0] === 0) {
    throw new LstmError(`split must be three fractions [train, validation, test] summing to 1 with train > 0, got ${JSON.stringify(split)}`);
  }
  const nTrain = Math.floor(n * split[0]);
  const nVal = Math.floor(n * split[1]);
  if (nTrain < window + horizon) throw new LstmError(`slidingWindows: the training part has ${nTrain} steps; window ${window} + horizon ${horizon} needs at least ${window + horizon}`);
  const mean = new Array(F).fill(0);
  const std = new Array(F).fill(1);
  if (options.normalize ?? true) {
    for (let f = 0; f < F; f++) {
      let sum = 0;
      for (let i = 0; i < nTrain; i++) sum += values[i * F + f];
      mean[f] = sum / nTrain;
      let sq = 0;
      for (let i = 0; i < nTrain; i++) sq += (values[i * F + f] - mean[f]) ** 2;
      std[f] = Math.sqrt(sq / nTrain) || 1; // a constant feature: leave its scale alone
    }
  }
  const z = (i, f) => (values[i * F + f] - mean[f]) / std[f];
  const parts = { train: { x: [], y: [] }, validation: { x: [], y: [] }, test: { x: [], y: [] } };
  for (let end = window - 1; end + horizon < n; end++) {
    const target = end + horizon;
    const part = target < nTrain ? parts.train : target < nTrain + nVal ? parts.validation : parts.test;
    const x = new Float32Array(window * F);
    for (let t = 0; t < window; t++) for (let f = 0; f < F; f++) x[t * F + f] = z(end - window + 1 + t, f);
    const y = new Float32Array(F);
    for (let f = 0; f < F; f++) y[f] = z(target, f);
    part.x.push(x);
    part.y.push(y);
  }
  const denormalize = (v) => Float64Array.from(v, (value, i) => value * std[i % F] + mean[i % F]);
  return { ...parts, inputSize: F, outputSize: F, window, horizon, mean, std, denormalize };
}

// ---- the model ----

const CONFIG_WORDS = 20;
const MESSAGE_BYTES = 256;
const HEADS = { softmax: 0, mse: 1 };
const HEAD_NAMES = ['softmax', 'mse'];
const CELLS = { lstm: 0, gru: 1 };
const CELL_NAMES = ['lstm', 'gru'];
const ACTIVATIONS = { tanh: 0, relu: 1 };
const ACTIVATION_NAMES = ['tanh', 'relu'];
const BATCH_BYTES = 28; // lstm_batch: batch, steps and five pointers

/** A stacked LSTM with a softmax head, living in the wasm heap. Call dispose() when done. */
export class Model {
  #ptr;
  #wasm;
  #vocab = null;

  /** @internal use Model.create or Model.load */
  constructor(wasm, ptr) {
    this.#wasm = wasm;
    this.#ptr = ptr;
    this.config = this.#readConfig();
  }

  /**
   * Options: vocabSize (token inputs and outputs) or inputSize + outputSize (dense inputs),
   * hiddenSize, layers, seed, dropout, initScale, forgetBias, head ('softmax': classes with
   * cross-entropy, or 'mse': linear outputs with mean squared error), returnSequences (true:
   * an output at every step; false: only at each sequence's last step), cell ('lstm' or
   * 'gru', PyTorch nn.GRU), recurrentDropout (variational, on h_{t-1} into W_hh),
   * orthogonalInit (orthogonal gate blocks of W_hh), peephole and cifg (LSTM variants),
   * activation ('tanh' or 'relu': the candidate and the cell output), projSize (PyTorch's
   * proj_size: h = W_hr (o * tanh(c)) has projSize values; 0 = none), layerNorm
   * (layer-normalised gate pre-activations and cell, with learned gains and biases),
   * bidirectional (a second unit per layer reads each sequence backwards; outputs are both
   * directions side by side; for fit/predict on whole sequences, not for step() or streams).
   */
  static async create(options = {}) {
    checkOptions('Model.create', options, ['vocabSize', 'inputSize', 'outputSize', 'hiddenSize',
      'layers', 'seed', 'dropout', 'initScale', 'forgetBias', 'head', 'returnSequences', 'cell', 'recurrentDropout', 'orthogonalInit', 'peephole', 'cifg', 'activation', 'projSize', 'layerNorm', 'bidirectional', 'wasm']);
    const flag = (name) => {
      const v = options[name] ?? false;
      if (typeof v !== 'boolean') throw new LstmError(`${name} must be true or false, got ${String(v)}`);
      return v ? 1 : 0;
    };
    const activation = options.activation ?? 'tanh';
    if (!Object.hasOwn(ACTIVATIONS, activation)) throw new LstmError(`activation must be 'tanh' or 'relu', got ${String(activation)}`);
    const orthogonalInit = options.orthogonalInit ?? false;
    if (typeof orthogonalInit !== 'boolean') throw new LstmError(`orthogonalInit must be true or false, got ${String(orthogonalInit)}`);
    const cell = options.cell ?? 'lstm';
    if (!Object.hasOwn(CELLS, cell)) throw new LstmError(`cell must be 'lstm' or 'gru', got ${String(cell)}`);
    if (cell === 'gru' && (options.peephole || options.cifg)) throw new LstmError('peephole and cifg are LSTM variants: the GRU has neither');
    const head = options.head ?? 'softmax';
    if (!Object.hasOwn(HEADS, head)) throw new LstmError(`head must be 'softmax' or 'mse', got ${String(head)}`);
    const returnSequences = options.returnSequences ?? true;
    if (typeof returnSequences !== 'boolean') throw new LstmError(`returnSequences must be true or false, got ${String(returnSequences)}`);
    const wasm = options.wasm ?? await wasmInstance();
    const dense = options.inputSize !== undefined;
    if (!dense && options.vocabSize === undefined) throw new LstmError('vocabSize (or inputSize for dense inputs) is required');
    const inputVocab = dense ? 0 : checkInt('vocabSize', options.vocabSize, 1, 1 << 20);
    const inputSize = dense ? checkInt('inputSize', options.inputSize, 1, 65536) : 0;
    const outputSize = checkInt('outputSize', options.outputSize ?? options.vocabSize, 1, 1 << 20);
    const words = [
      inputVocab, inputSize,
      checkInt('hiddenSize', options.hiddenSize ?? 128, 1, 4096),
      checkInt('layers', options.layers ?? 1, 1, 16),
      outputSize,
      checkInt('seed', options.seed ?? 1, 0, 0xffffffff),
      checkNumber('dropout', options.dropout ?? 0, 0, 1, { maxOpen: true }),
      checkNumber('initScale', options.initScale ?? 0, 0, 100),
      checkNumber('forgetBias', options.forgetBias ?? 0, -100, 100),
      HEADS[head], returnSequences ? 0 : 1, CELLS[cell],
      checkNumber('recurrentDropout', options.recurrentDropout ?? 0, 0, 1, { maxOpen: true }),
      orthogonalInit ? 1 : 0,
      flag('peephole'), flag('cifg'), ACTIVATIONS[activation],
      checkInt('projSize', options.projSize ?? 0, 0, 4095),
      flag('layerNorm'),
      flag('bidirectional'),
    ];
    return wasm.scratch([CONFIG_WORDS * 4, 4, MESSAGE_BYTES], (cfg, out, msg) => {
      const view = new DataView(wasm.buffer);
      words.forEach((w, i) => {
        if (i < 5) view.setInt32(cfg + 4 * i, w, true);
        else if (i === 5) view.setUint32(cfg + 4 * i, w, true);
        else if (i < 9 || i === 12) view.setFloat32(cfg + 4 * i, w, true);
        else view.setInt32(cfg + 4 * i, w, true);
      });
      const status = wasm.x.lstm_create(cfg, out, msg);
      if (status !== 0) throw statusError(status, `Model.create: ${wasm.utf8(msg)}`);
      return new Model(wasm, wasm.u32(out, 1)[0]);
    });
  }

  /** Read a model saved by save() (or the C lstm_save). Rejects damaged data with an LstmError. */
  static async load(bytes, options = {}) {
    const wasm = checkOptions('Model.load', options, ['wasm']).wasm ?? await wasmInstance();
    if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
    if (!ArrayBuffer.isView(bytes)) throw new LstmError('Model.load: bytes must be a Uint8Array or ArrayBuffer');
    const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return wasm.scratch([data.length, 4, MESSAGE_BYTES], (buf, out, msg) => {
      wasm.u8(buf, data.length).set(data);
      const status = wasm.x.lstm_load(buf, data.length, out, msg);
      if (status !== 0) throw statusError(status, `Model.load: ${wasm.utf8(msg)}`);
      return new Model(wasm, wasm.u32(out, 1)[0]);
    });
  }

  get #p() {
    if (!this.#ptr) throw new LstmError('the model was disposed', 'DISPOSED', 11);
    return this.#ptr;
  }

  #check(status, what) {
    if (status !== 0) {
      throw statusError(status, `${what}: ${this.#wasm.utf8(this.#wasm.x.lstm_error_message(this.#ptr))}`);
    }
  }

  #readConfig() {
    const w = this.#wasm;
    return w.scratch([CONFIG_WORDS * 4], (cfg) => {
      w.x.lstm_get_config(this.#p, cfg);
      const v = new DataView(w.buffer, cfg, CONFIG_WORDS * 4);
      const inputVocab = v.getInt32(0, true);
      return Object.freeze({
        vocabSize: inputVocab || undefined,
        inputSize: inputVocab ? inputVocab : v.getInt32(4, true),
        dense: inputVocab === 0,
        hiddenSize: v.getInt32(8, true),
        layers: v.getInt32(12, true),
        outputSize: v.getInt32(16, true),
        seed: v.getUint32(20, true),
        dropout: v.getFloat32(24, true),
        initScale: v.getFloat32(28, true),
        forgetBias: v.getFloat32(32, true),
        head: HEAD_NAMES[v.getInt32(36, true)],
        returnSequences: v.getInt32(40, true) === 0,
        cell: CELL_NAMES[v.getInt32(44, true)],
        recurrentDropout: v.getFloat32(48, true),
        orthogonalInit: v.getInt32(52, true) === 1,
        peephole: v.getInt32(56, true) === 1,
        cifg: v.getInt32(60, true) === 1,
        activation: ACTIVATION_NAMES[v.getInt32(64, true)],
        projSize: v.getInt32(68, true),
        layerNorm: v.getInt32(72, true) === 1,
        bidirectional: v.getInt32(76, true) === 1,
      });
    });
  }

  get disposed() { return !this.#ptr; }
  get parameterCount() { return this.#wasm.x.lstm_parameter_count(this.#p) >>> 0; }
  get stepCount() { return Number(this.#wasm.x.lstm_step_count(this.#p)); }
  get simd() { return this.#wasm.simd; }

  /** Bytes of the parameters alone (4 per parameter); gradients and each optimizer moment
   * take as much again (Adam: 4 x parameterBytes in all, plus activations). */
  get parameterBytes() { return this.parameterCount * 4; }

  /** Names, offsets and shapes of the tensors in the parameter arena (PyTorch layout). */
  tensors() {
    const w = this.#wasm;
    const n = w.x.lstm_tensor_count(this.#p);
    return w.scratch([16], (info) => {
      const list = [];
      for (let i = 0; i < n; i++) {
        this.#check(w.x.lstm_tensor(this.#p, i, info), 'tensors');
        const v = w.u32(info, 4);
        const rows = v[2] | 0;
        const cols = v[3] | 0;
        list.push({ name: w.utf8(v[0]), offset: v[1], rows, cols, size: rows * cols });
      }
      return list;
    });
  }

  /** A copy of all parameters, in the layout of tensors(). */
  parameters() {
    const w = this.#wasm;
    return w.f32(w.x.lstm_parameters(this.#p), this.parameterCount).slice();
  }

  setParameters(values) {
    const n = this.parameterCount;
    if (!(values instanceof Float32Array) || values.length !== n) {
      throw new LstmError(`setParameters needs a Float32Array of ${n} values, got ${values?.length ?? typeof values}`);
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(values[i])) throw new LstmError(`setParameters: value ${i} is not finite`);
    }
    const w = this.#wasm;
    w.f32(w.x.lstm_parameters(this.#p), n).set(values);
    w.x.lstm_parameters_changed(this.#p);
  }

  /** A copy of the gradients of the last computeGradients / training step. */
  gradients() {
    const w = this.#wasm;
    return w.f32(w.x.lstm_gradients(this.#p), this.parameterCount).slice();
  }

  /** The vocabulary stored with the model (set by setVocabulary or by training on a TextDataset). */
  get vocabulary() {
    if (this.#vocab) return this.#vocab;
    const w = this.#wasm;
    const n = w.x.lstm_vocabulary_size(this.#p);
    if (n === 0) return null;
    this.#vocab = new Vocabulary(w.u32(w.x.lstm_vocabulary(this.#p), n).slice());
    return this.#vocab;
  }

  setVocabulary(vocab) {
    if (!(vocab instanceof Vocabulary)) throw new LstmError('setVocabulary needs a Vocabulary');
    if (!this.config.dense && vocab.size !== this.config.vocabSize) {
      throw new LstmError(`vocabulary has ${vocab.size} entries but the model was made for ${this.config.vocabSize}`);
    }
    const w = this.#wasm;
    const ptr = w.copyIn(vocab.codePoints);
    try {
      this.#check(w.x.lstm_set_vocabulary(this.#p, ptr, vocab.size), 'setVocabulary');
    } finally {
      w.free(ptr);
    }
    this.#vocab = vocab;
  }

  /** JSON-serialisable data saved with the model (training settings, history...). */
  get metadata() {
    const w = this.#wasm;
    const n = w.x.lstm_metadata_size(this.#p);
    if (n === 0) return null;
    const bytes = w.u8(w.x.lstm_metadata(this.#p), n).slice();
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new LstmError(`the model's metadata (${n} bytes) is not JSON: it was not written by this library`, 'CORRUPT', 7);
    }
  }

  set metadata(value) {
    const bytes = new TextEncoder().encode(value == null ? '' : JSON.stringify(value));
    const w = this.#wasm;
    const ptr = w.copyIn(bytes);
    try {
      this.#check(w.x.lstm_set_metadata(this.#p, ptr, bytes.length), 'metadata');
    } finally {
      w.free(ptr);
    }
  }

  // ---- training ----

  /**
   * Options: type ('adam' | 'rmsprop' | 'sgd'), learningRate, momentum, beta1, beta2,
   * epsilon, weightDecay (decoupled), clipNorm (<= 0 disables). Unset fields keep their
   * current values; changing the type resets the moments.
   */
  setOptimizer(options = {}) {
    checkOptions('setOptimizer', options, ['type', 'learningRate', 'momentum', 'beta1', 'beta2',
      'epsilon', 'weightDecay', 'clipNorm']);
    const cur = this.optimizer;
    const type = options.type ?? cur.type;
    if (!(type in OPTIMIZERS)) throw new LstmError(`optimizer type must be one of ${Object.keys(OPTIMIZERS).join(', ')}, got ${String(type)}`);
    const values = [
      checkNumber('learningRate', options.learningRate ?? cur.learningRate, 0, 1000, { minOpen: true }),
      checkNumber('momentum', options.momentum ?? cur.momentum, 0, 1, { maxOpen: true }),
      checkNumber('beta1', options.beta1 ?? cur.beta1, 0, 1, { maxOpen: true }),
      checkNumber('beta2', options.beta2 ?? (type === 'rmsprop' && cur.type !== 'rmsprop' ? 0.99 : cur.beta2), 0, 1, { maxOpen: true }),
      checkNumber('epsilon', options.epsilon ?? cur.epsilon, 0, 1, { minOpen: true }),
      checkNumber('weightDecay', options.weightDecay ?? cur.weightDecay, 0, 1000),
      checkNumber('clipNorm', options.clipNorm ?? cur.clipNorm, -Infinity, Infinity),
    ];
    const w = this.#wasm;
    w.scratch([32], (o) => {
      const v = new DataView(w.buffer, o, 32);
      v.setInt32(0, OPTIMIZERS[type], true);
      values.forEach((x, i) => v.setFloat32(4 + 4 * i, x, true));
      this.#check(w.x.lstm_set_optimizer(this.#p, o), 'setOptimizer');
    });
  }

  get optimizer() {
    const w = this.#wasm;
    return w.scratch([32], (o) => {
      w.x.lstm_get_optimizer(this.#p, o);
      const v = new DataView(w.buffer, o, 32);
      const f = (i) => v.getFloat32(4 + 4 * i, true);
      return {
        type: OPTIMIZER_NAMES[v.getInt32(0, true)], learningRate: f(0), momentum: f(1),
        beta1: f(2), beta2: f(3), epsilon: f(4), weightDecay: f(5), clipNorm: f(6),
      };
    });
  }

  /** Zero the hidden and cell state carried between training batches. */
  resetState() { this.#check(this.#wasm.x.lstm_reset_state(this.#p), 'resetState'); }

  /**
   * Bad steps: a step whose loss or gradient is not finite, whose update would overflow, or
   * (with skipIfLossAbove: k) whose loss is above k times the running mean of recent losses is
   * skipped and changes nothing; the maxSkips-th in a row throws LstmError NON_FINITE with the
   * model as it was before the first. Options: maxSkips (1..1000, default 5), skipIfLossAbove
   * (0 = off, default; else > 1). Unset fields keep their current values.
   */
  setStepGuard(options = {}) {
    checkOptions('setStepGuard', options, ['maxSkips', 'skipIfLossAbove']);
    const cur = this.stepGuard;
    const maxSkips = checkInt('maxSkips', options.maxSkips ?? cur.maxSkips, 1, 1000);
    const factor = options.skipIfLossAbove ?? cur.skipIfLossAbove;
    if (factor !== 0) checkNumber('skipIfLossAbove', factor, 1, 1e6, { minOpen: true });
    const w = this.#wasm;
    w.scratch([8], (g) => {
      const v = new DataView(w.buffer, g, 8);
      v.setInt32(0, maxSkips, true);
      v.setFloat32(4, factor, true);
      this.#check(w.x.lstm_set_step_guard(this.#p, g), 'setStepGuard');
    });
  }

  /** { maxSkips, skipIfLossAbove } (see setStepGuard). */
  get stepGuard() {
    const w = this.#wasm;
    return w.scratch([8], (g) => {
      this.#check(w.x.lstm_get_step_guard(this.#p, g), 'stepGuard');
      const v = new DataView(w.buffer, g, 8);
      return { maxSkips: v.getInt32(0, true), skipIfLossAbove: v.getFloat32(4, true) };
    });
  }

  /** Forget the running mean of losses the loss guard compares with (say, before new text). */
  resetLossMean() { this.#check(this.#wasm.x.lstm_reset_loss_mean(this.#p), 'resetLossMean'); }

  /** { steps, skipped, skipStreak, lastSkipReason, lossMean }: applied and skipped steps so
   * far, the skips in a row up to now, why the last step was skipped ('none' if it was
   * applied; 'loss', 'gradient', 'update' or 'lossSpike'), and the guard's running mean. */
  get trainingStats() {
    const w = this.#wasm;
    return w.scratch([32], (o) => {
      this.#check(w.x.lstm_get_training_stats(this.#p, o), 'trainingStats');
      const v = new DataView(w.buffer, o, 32);
      return {
        steps: Number(v.getBigUint64(0, true)),
        skipped: Number(v.getBigUint64(8, true)),
        skipStreak: v.getInt32(16, true),
        lastSkipReason: SKIP_REASONS[v.getInt32(20, true)],
        lossMean: v.getFloat64(24, true),
      };
    });
  }

  /**
   * Clip and apply the optimizer to the given gradients (a Float32Array in the layout of
   * tensors()), as a training step does after its backward pass: the same clipping, step
   * count and bad-step policy. Returns { skipped, reason }.
   */
  applyGradients(gradients) {
    const n = this.parameterCount;
    if (!(gradients instanceof Float32Array) || gradients.length !== n) {
      throw new LstmError(`applyGradients needs a Float32Array of ${n} values, got ${gradients?.length ?? typeof gradients}`);
    }
    const w = this.#wasm;
    w.f32(w.x.lstm_gradients(this.#p), n).set(gradients);
    this.#check(w.x.lstm_apply_gradients(this.#p), 'applyGradients');
    const reason = this.trainingStats.lastSkipReason;
    return { skipped: reason !== 'none', reason };
  }

  /** Position (in tokens, within each stripe) of the next trainSteps batch. */
  get streamPosition() { return Number(this.#wasm.x.lstm_stream_position(this.#p)); }

  // Copy a batch { batch, steps, tokens | inputs, targets | targetValues, lengths } into the
  // heap and call fn(ptr). Targets are left out (and not required) without needTargets.
  #withBatch(what, b, fn, needTargets = true) {
    checkOptions(what, b, ['batch', 'steps', 'tokens', 'inputs', 'targets', 'targetValues', 'lengths']);
    const B = checkInt(`${what}: batch`, b.batch, 1, 65536);
    const T = checkInt(`${what}: steps`, b.steps, 1, 65536);
    const n = B * T;
    const { dense, inputSize, head, returnSequences, outputSize } = this.config;
    const rows = returnSequences ? n : B;
    const rowsName = returnSequences ? 'batch*steps' : 'batch';
    const asInt = (name, a, count, countName) => {
      if (!a || a.length !== count) throw new LstmError(`${what}: ${name} must have ${countName} = ${count} entries, got ${a?.length}`);
      return a instanceof Int32Array ? a : Int32Array.from(a);
    };
    let targets = null;
    let values = null;
    if (needTargets && head === 'mse') {
      if (b.targets !== undefined) throw new LstmError(`${what}: an mse model takes targetValues, not targets`);
      const count = rows * outputSize;
      if (!b.targetValues || b.targetValues.length !== count) {
        throw new LstmError(`${what}: targetValues must have ${rowsName}*outputSize = ${count} values, got ${b.targetValues?.length}`);
      }
      values = b.targetValues instanceof Float32Array ? b.targetValues : Float32Array.from(b.targetValues);
    } else if (needTargets) {
      if (b.targetValues !== undefined) throw new LstmError(`${what}: a softmax model takes targets (class ids), not targetValues`);
      targets = asInt('targets', b.targets, rows, rowsName);
    }
    let input;
    if (dense) {
      if (!b.inputs || b.inputs.length !== n * inputSize) {
        throw new LstmError(`${what}: inputs must have batch*steps*inputSize = ${n * inputSize} values, got ${b.inputs?.length}`);
      }
      input = b.inputs instanceof Float32Array ? b.inputs : Float32Array.from(b.inputs);
    } else {
      input = asInt('tokens', b.tokens, n, 'batch*steps');
    }
    let lengths = null;
    if (b.lengths != null) {
      lengths = asInt('lengths', b.lengths, B, 'batch');
      lengths.forEach((len, i) => {
        if (len < 1 || len > T) throw new LstmError(`${what}: lengths[${i}] = ${len} is outside [1, ${T}]`);
      });
    }
    const w = this.#wasm;
    const size = (a) => (a ? a.byteLength : 0);
    const copy = (ptr, a) => { if (a) w.u8(ptr, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)); };
    return w.scratch([BATCH_BYTES, input.byteLength, size(targets), size(values), size(lengths)], (desc, inp, tgt, val, len) => {
      copy(inp, input);
      copy(tgt, targets);
      copy(val, values);
      copy(len, lengths);
      w.u32(desc, 7).set([B, T, dense ? 0 : inp, dense ? inp : 0, targets ? tgt : 0, values ? val : 0, lengths ? len : 0]);
      return fn(desc);
    });
  }

  /** One training step (forward, backward, clip, update) on a batch; returns the loss. A bad
   * step is skipped (see setStepGuard; trainingStats.lastSkipReason says so). */
  trainBatch(batch) {
    const w = this.#wasm;
    const p = this.#p;
    return this.#withBatch('trainBatch', batch, (desc) => w.scratch([4], (loss) => {
      this.#check(w.x.lstm_train_batch(p, desc, loss), 'trainBatch');
      return w.f32(loss, 1)[0];
    }));
  }

  /** Mean cross-entropy of a batch from the carried state, without dropout; changes nothing. */
  computeLoss(batch) {
    const w = this.#wasm;
    const p = this.#p;
    return this.#withBatch('computeLoss', batch, (desc) => w.scratch([8], (loss) => {
      this.#check(w.x.lstm_compute_loss(p, desc, loss), 'computeLoss');
      return w.f64(loss, 1)[0];
    }));
  }

  /** Loss and gradients of a batch (and input gradients for dense models); no update. */
  computeGradients(batch) {
    const w = this.#wasm;
    const p = this.#p;
    return this.#withBatch('computeGradients', batch, (desc) => w.scratch([8], (loss) => {
      this.#check(w.x.lstm_compute_gradients(p, desc, loss), 'computeGradients');
      const result = { loss: w.f64(loss, 1)[0], gradients: this.gradients() };
      if (this.config.dense) {
        result.inputGradients = w.f32(w.x.lstm_input_gradients(p), batch.batch * batch.steps * this.config.inputSize).slice();
      }
      return result;
    }));
  }

  /**
   * Loss and, for the softmax head, accuracy of a batch from a zero state without dropout;
   * changes nothing (not even the carried state). Returns { loss, accuracy } (accuracy is
   * NaN for the mse head).
   */
  evaluateBatch(batch) {
    const w = this.#wasm;
    const p = this.#p;
    return this.#withBatch('evaluateBatch', batch, (desc) => w.scratch([16], (out) => {
      this.#check(w.x.lstm_evaluate_batch(p, desc, out, out + 8), 'evaluateBatch');
      const [loss, accuracy] = w.f64(out, 2);
      return { loss, accuracy };
    }));
  }

  /**
   * Outputs of a batch (targets not needed) from a zero state without dropout: softmax
   * probabilities or mse values, batch-first, (batch, steps, outputSize) or with
   * returnSequences false (batch, outputSize). Padded steps are zeros.
   */
  predictBatch(batch) {
    const w = this.#wasm;
    const p = this.#p;
    const { outputSize, returnSequences } = this.config;
    return this.#withBatch('predictBatch', batch, (desc) => {
      const count = batch.batch * (returnSequences ? batch.steps : 1) * outputSize;
      return w.scratch([count * 4], (out) => {
        this.#check(w.x.lstm_predict(p, desc, out, count), 'predictBatch');
        return w.f32(out, count).slice();
      });
    }, false);
  }

  // ---- Keras-like training on whole data sets ----

  /**
   * Train on samples x with targets y (see README "Tasks" for their shapes; sequences may
   * differ in length and are masked). Options: epochs, initialEpoch (continue a run saved
   * after epoch initialEpoch - 1: the shuffle order and schedule of each epoch depend only on
   * seed and epoch), batchSize, validationSplit (the last fraction of the samples) or
   * validationData [x, y], shuffle, seed, learningRate, optimizer, schedule, earlyStopping,
   * maxSkips and skipIfLossAbove (see setStepGuard), onEpochEnd(epoch, logs) (return false to
   * stop). Returns { history: { loss, valLoss, valAccuracy, learningRate, skipped }, epochs,
   * stoppedEarly, bestEpoch, earlyStopping (its state, to pass as earlyStopping.state when
   * resuming) }.
   */
  fit(x, y, options = {}) {
    checkOptions('fit', options, ['epochs', 'initialEpoch', 'batchSize', 'validationSplit', 'validationData',
      'shuffle', 'seed', 'learningRate', 'optimizer', 'schedule', 'earlyStopping', 'maxSkips', 'skipIfLossAbove', 'onEpochEnd']);
    const epochs = checkInt('epochs', options.epochs ?? 1, 0, 1e6);
    const initialEpoch = checkInt('initialEpoch', options.initialEpoch ?? 0, 0, epochs);
    const batchSize = checkInt('batchSize', options.batchSize ?? 32, 1, 65536);
    const split = checkNumber('validationSplit', options.validationSplit ?? 0, 0, 1, { maxOpen: true });
    if (split > 0 && options.validationData) throw new LstmError('fit: give validationSplit or validationData, not both');
    if (options.onEpochEnd !== undefined && typeof options.onEpochEnd !== 'function') throw new LstmError('fit: onEpochEnd must be a function');
    const shuffle = options.shuffle ?? true;
    if (typeof shuffle !== 'boolean') throw new LstmError(`fit: shuffle must be true or false, got ${String(shuffle)}`);
    const seed = checkInt('seed', options.seed ?? 1, 0, 0xffffffff);
    const baseGiven = options.learningRate !== undefined || options.optimizer?.learningRate !== undefined;
    if (initialEpoch > 0 && options.schedule != null && !baseGiven) {
      // the optimizer holds the last epoch's scheduled rate, not the schedule's base
      throw new LstmError('fit: with initialEpoch and a schedule, give learningRate (the base rate of the first run)');
    }
    const stopping = earlyStoppingOptions(options.earlyStopping);
    let data = this.#samples('fit', x, y);
    let val = null;
    if (options.validationData) {
      if (!Array.isArray(options.validationData) || options.validationData.length !== 2) throw new LstmError('fit: validationData must be [x, y]');
      val = this.#samples('fit: validationData', options.validationData[0], options.validationData[1]);
    } else if (split > 0) {
      const nVal = Math.floor(data.n * split);
      if (nVal < 1 || nVal >= data.n) throw new LstmError(`fit: validationSplit ${split} of ${data.n} samples leaves no validation or no training samples`);
      val = data.subset(range(data.n - nVal, data.n));
      data = data.subset(range(0, data.n - nVal));
    }
    const opt = { ...(options.optimizer ?? {}) };
    if (options.learningRate !== undefined) opt.learningRate = options.learningRate;
    if (Object.keys(opt).length > 0) this.setOptimizer(opt);
    const guard = {};
    if (options.maxSkips !== undefined) guard.maxSkips = options.maxSkips;
    if (options.skipIfLossAbove !== undefined) guard.skipIfLossAbove = options.skipIfLossAbove;
    if (Object.keys(guard).length > 0) this.setStepGuard(guard);
    const baseLr = this.optimizer.learningRate;
    const schedule = learningRateSchedule(options.schedule, baseLr, epochs);
    const history = { loss: [], valLoss: [], valAccuracy: [], learningRate: [], skipped: [] };
    const state = stopping.state;
    let best = { loss: state.bestLoss, epoch: state.bestEpoch, params: null };
    let waited = state.wait;
    let stoppedEarly = false;
    const nextShuffle = epochShuffler(data.n, seed);
    if (shuffle) for (let e = 0; e < initialEpoch; e++) nextShuffle();
    let epoch = initialEpoch;
    for (; epoch < epochs; epoch++) {
      const lr = schedule(epoch);
      if (lr !== this.optimizer.learningRate) this.setOptimizer({ learningRate: lr });
      const order = shuffle ? nextShuffle() : range(0, data.n);
      let sum = 0;
      let rows = 0;
      let skipped = 0;
      for (let at = 0; at < data.n; at += batchSize) {
        const batch = data.batch(order.slice(at, at + batchSize));
        this.resetState(); // samples are independent sequences: each starts from zero
        let loss;
        try {
          loss = this.trainBatch(batch);
        } catch (e) {
          if (e instanceof LstmError) e.message = `fit: epoch ${epoch}, batch ${at / batchSize}: ${e.message.replace(/^trainBatch: /, '')}`;
          throw e;
        }
        if (this.trainingStats.lastSkipReason !== 'none') { skipped++; continue; }
        sum += loss * batch.batch;
        rows += batch.batch;
      }
      const logs = { loss: rows ? sum / rows : NaN, learningRate: lr, skipped };
      history.loss.push(logs.loss);
      history.learningRate.push(lr);
      history.skipped.push(skipped);
      if (val) {
        const r = this.#evaluateSamples(val, batchSize);
        logs.valLoss = r.loss;
        history.valLoss.push(r.loss);
        if (this.config.head === 'softmax') {
          logs.valAccuracy = r.accuracy;
          history.valAccuracy.push(r.accuracy);
        }
      }
      const monitored = val ? logs.valLoss : logs.loss;
      if (monitored < best.loss - stopping.minDelta) {
        best = { loss: monitored, epoch, params: stopping.restoreBestWeights && stopping.on ? this.parameters() : null };
        waited = 0;
      } else {
        waited++;
      }
      const go = options.onEpochEnd?.(epoch, logs);
      if (stopping.on && waited >= stopping.patience) { stoppedEarly = true; epoch++; break; }
      if (go === false) { epoch++; break; }
    }
    // restoreBestWeights can restore only weights seen in this call: the best of an earlier
    // run (before initialEpoch) is not in the model, so then the weights stay as they are
    if (stoppedEarly && best.params) this.setParameters(best.params);
    return {
      history, epochs: epoch, stoppedEarly, bestEpoch: best.epoch,
      earlyStopping: { bestLoss: best.loss, bestEpoch: best.epoch, wait: waited },
    };
  }

  /**
   * Loss (and accuracy for the softmax head) over samples x with targets y, from a zero
   * state without dropout. Also accepts a TokenStream or TextDataset: see evaluate below.
   */
  #evaluateSamples(data, batchSize) {
    let loss = 0;
    let correct = 0;
    let rows = 0;
    for (let at = 0; at < data.n; at += batchSize) {
      const batch = data.batch(range(at, Math.min(at + batchSize, data.n)));
      const r = this.evaluateBatch(batch);
      const scored = this.config.returnSequences ? batch.scoredSteps : batch.batch;
      loss += r.loss * scored;
      correct += r.accuracy * scored;
      rows += scored;
    }
    const result = { loss: loss / rows };
    if (this.config.head === 'softmax') result.accuracy = correct / rows;
    return result;
  }

  /** Outputs for samples x: an array with one Float32Array per sample (outputSize values,
   * or length*outputSize with returnSequences), probabilities for the softmax head. */
  predict(x, options = {}) {
    const { batchSize = 64 } = checkOptions('predict', options, ['batchSize']);
    checkInt('batchSize', batchSize, 1, 65536);
    const data = this.#samples('predict', x, null);
    const { outputSize: V, returnSequences } = this.config;
    const out = [];
    for (let at = 0; at < data.n; at += batchSize) {
      const idx = range(at, Math.min(at + batchSize, data.n));
      const batch = data.batch(idx);
      const y = this.predictBatch(batch);
      idx.forEach((sample, b) => {
        const len = returnSequences ? data.lengths[sample] : 1;
        const per = returnSequences ? batch.steps * V : V;
        out.push(y.slice(b * per, b * per + len * V));
      });
    }
    return out;
  }

  // Samples (and targets) in the padded form batches are cut from; see Samples.
  #samples(what, x, y) {
    return new Samples(what, x, y, this.config);
  }

  /**
   * Train on a TextDataset (or TokenStream) char-rnn style, `steps` steps in one call into
   * wasm. Options: steps, seqLength, batchSize, optimizer (see setOptimizer), clipNorm,
   * learningRate, maxSkips and skipIfLossAbove (see setStepGuard). Returns { steps, loss (mean
   * of the applied steps), losses (every step's), skipped, skippedSteps (their indices in
   * losses), tokens, seconds, tokensPerSecond }.
   */
  trainSteps(data, options = {}) {
    checkOptions('trainSteps', options, ['steps', 'seqLength', 'batchSize', 'optimizer', 'clipNorm', 'learningRate', 'maxSkips', 'skipIfLossAbove']);
    const stream = data instanceof TextDataset ? data.train : data;
    if (!(stream instanceof TokenStream)) throw new LstmError('trainSteps needs a TextDataset or TokenStream');
    const steps = checkInt('steps', options.steps ?? 1, 0, 1e9);
    const T = checkInt('seqLength', options.seqLength ?? 64, 1, 65536);
    const B = checkInt('batchSize', options.batchSize ?? 32, 1, 65536);
    if (stream.length < B * (T + 1)) {
      throw new LstmError(`the training text has ${stream.length} tokens; batch ${B} x sequence ${T} needs at least ${B * (T + 1)}`);
    }
    const opt = { ...(options.optimizer ?? {}) };
    if (options.clipNorm !== undefined) opt.clipNorm = options.clipNorm;
    if (options.learningRate !== undefined) opt.learningRate = options.learningRate;
    if (Object.keys(opt).length > 0) this.setOptimizer(opt);
    const guard = {};
    if (options.maxSkips !== undefined) guard.maxSkips = options.maxSkips;
    if (options.skipIfLossAbove !== undefined) guard.skipIfLossAbove = options.skipIfLossAbove;
    if (Object.keys(guard).length > 0) this.setStepGuard(guard);
    const w = this.#wasm;
    const p = this.#p;
    const streamPtr = stream.heap(w);
    const t0 = performance.now();
    const [losses, skips] = w.scratch([Math.max(steps, 1) * 4, Math.max(steps, 1)], (out, why) => {
      const status = w.x.lstm_train_stream_skips(p, streamPtr, stream.length, B, T, steps, out, why);
      const copy = [w.f32(out, steps).slice(), w.u8(why, steps).slice()];
      this.#check(status, 'trainSteps');
      return copy;
    });
    // only once the core has accepted the model and the text (a bidirectional model, say,
    // it refuses): a refused call leaves the model as it was
    if (data instanceof TextDataset && !this.vocabulary && !this.config.dense) this.setVocabulary(data.vocab);
    const seconds = (performance.now() - t0) / 1000;
    const tokens = steps * B * T;
    let sum = 0;
    const skippedSteps = [];
    losses.forEach((l, i) => { if (skips[i]) skippedSteps.push(i); else sum += l; });
    const applied = steps - skippedSteps.length;
    return {
      steps, loss: applied ? sum / applied : NaN, losses, skipped: skippedSteps.length, skippedSteps,
      tokens, seconds, tokensPerSecond: tokens / seconds,
    };
  }

  /**
   * evaluate(x, y, { batchSize }): { loss, accuracy } over samples (see fit).
   * evaluate(streamOrDataset, { batchSize, seqLength }): mean cross-entropy (nats per token)
   * over a token stream, from a zero state, without dropout.
   */
  evaluate(data, optionsOrY, maybeOptions) {
    if (!(data instanceof TokenStream) && !(data instanceof TextDataset)) {
      const options = checkOptions('evaluate', maybeOptions, ['batchSize']);
      const batchSize = checkInt('batchSize', options.batchSize ?? 64, 1, 65536);
      return this.#evaluateSamples(this.#samples('evaluate', data, optionsOrY), batchSize);
    }
    const { batchSize = 16, seqLength = 128 } = checkOptions('evaluate', optionsOrY, ['batchSize', 'seqLength']);
    const stream = data instanceof TextDataset ? data.validation : data;
    if (!(stream instanceof TokenStream)) throw new LstmError('evaluate needs a TokenStream or TextDataset');
    checkInt('batchSize', batchSize, 1, 65536);
    checkInt('seqLength', seqLength, 1, 65536);
    const B = Math.max(1, Math.min(batchSize, Math.floor(stream.length / 2)));
    if (stream.length < 2) throw new LstmError(`cannot evaluate on ${stream.length} tokens (need at least 2)`);
    const w = this.#wasm;
    const p = this.#p;
    const ptr = stream.heap(w);
    return w.scratch([8], (out) => {
      this.#check(w.x.lstm_evaluate_stream(p, ptr, stream.length, B, seqLength, out), 'evaluate');
      return w.f64(out, 1)[0];
    });
  }

  // ---- inference ----

  /** Zero the inference state (generation starts from it). */
  resetInference() { this.#check(this.#wasm.x.lstm_infer_reset(this.#p), 'resetInference'); }

  /** Feed one token (or, for dense models, an array of inputSize numbers); returns the logits. */
  step(input) {
    const w = this.#wasm;
    const p = this.#p;
    const V = this.config.outputSize;
    if (this.config.dense) {
      if (!input || input.length !== this.config.inputSize) throw new LstmError(`step needs ${this.config.inputSize} input values`);
      const x = Float32Array.from(input);
      return w.scratch([x.byteLength], (ptr) => {
        w.f32(ptr, x.length).set(x);
        this.#check(w.x.lstm_infer_step(p, 0, ptr, 0), 'step');
        return w.f32(w.x.lstm_infer_logits(p), V).slice();
      });
    }
    checkInt('token', input, 0, this.config.vocabSize - 1);
    this.#check(w.x.lstm_infer_step(p, input, 0, 0), 'step');
    return w.f32(w.x.lstm_infer_logits(p), V).slice();
  }

  #sampling(options) {
    const temperature = checkNumber('temperature', options.temperature ?? 1, 0, 100);
    const topK = checkInt('topK', options.topK ?? 0, 0, 1 << 20);
    const topP = checkNumber('topP', options.topP ?? 1, 0, 1);
    return [temperature, topK, topP];
  }

  /**
   * Generate text: yields strings (one character each) as they are produced.
   * Options: prompt, length, temperature (0 = argmax), topK, topP, seed, vocab.
   * The inference state starts from zero and the prompt; with no prompt a newline (or
   * token 0) seeds it. Options are checked when it is called, not at the first character.
   */
  generateChars(options = {}) {
    checkOptions('generate', options, ['prompt', 'length', 'temperature', 'topK', 'topP', 'seed', 'vocab', 'chunk']);
    const vocab = options.vocab ?? this.vocabulary;
    if (!(vocab instanceof Vocabulary)) throw new LstmError('generate needs a vocabulary: pass { vocab } or train on a TextDataset first');
    if (this.config.dense) throw new LstmError('generate needs a token model');
    const length = checkInt('length', options.length ?? 200, 0, 1e9);
    const sampling = this.#sampling(options);
    const prompt = options.prompt ?? '';
    if (typeof prompt !== 'string') throw new LstmError('prompt must be a string');
    let ids = vocab.encode(prompt);
    if (ids.length === 0) ids = Int32Array.of(vocab.has('\n') ? vocab.index.get(10) : 0);
    for (const id of ids) {
      if (id >= this.config.vocabSize) throw new LstmError(`prompt token ${id} is outside the model's vocabulary of ${this.config.vocabSize}`, 'TOKEN_RANGE', 9);
    }
    const w = this.#wasm;
    this.#check(w.x.lstm_infer_reset(this.#p), 'generate');
    this.#check(w.x.lstm_sampler_seed(this.#p, checkInt('seed', options.seed ?? 1, 0, 0xffffffff)), 'generate');
    const chunk = checkInt('chunk', options.chunk ?? 16, 1, 1 << 16);
    return this.#emitChars(vocab, ids, length, sampling, chunk);
  }

  // The generator behind generateChars: the prompt goes in with the first chunk.
  * #emitChars(vocab, ids, length, sampling, chunk) {
    const w = this.#wasm;
    let promptLeft = ids;
    for (let done = 0; done < length;) {
      const n = Math.min(chunk, length - done);
      const out = w.scratch([12, promptLeft.byteLength || 4, n * 4], (s, pr, o) => {
        const v = new DataView(w.buffer, s, 12);
        v.setFloat32(0, sampling[0], true);
        v.setInt32(4, sampling[1], true);
        v.setFloat32(8, sampling[2], true);
        w.i32(pr, promptLeft.length).set(promptLeft);
        this.#check(w.x.lstm_generate(this.#p, pr, promptLeft.length, s, n, o), 'generate');
        return w.i32(o, n).slice();
      });
      promptLeft = new Int32Array(0);
      done += n;
      for (const id of out) yield String.fromCodePoint(vocab.codePoints[id]);
    }
  }

  /** Generate text as a string; see generateChars. `vocab` may be the first argument. */
  generate(vocabOrOptions, maybeOptions) {
    const options = vocabOrOptions instanceof Vocabulary
      ? { ...maybeOptions, vocab: vocabOrOptions } : (vocabOrOptions ?? {});
    let out = '';
    for (const ch of this.generateChars(options)) out += ch;
    return out;
  }

  /** Async iterator of characters, yielding to the event loop between chunks. */
  async * generateStream(vocabOrOptions, maybeOptions) {
    const options = vocabOrOptions instanceof Vocabulary
      ? { ...maybeOptions, vocab: vocabOrOptions } : (vocabOrOptions ?? {});
    let i = 0;
    for (const ch of this.generateChars(options)) {
      yield ch;
      if (++i % 64 === 0) await new Promise((r) => setTimeout(r, 0));
    }
  }

  // ---- saving ----

  /** The model as bytes (versioned, checksummed). trainingState: include optimizer moments,
   * RNG, carried state and stream position so training resumes exactly (default true). */
  save(options = {}) {
    checkOptions('save', options, ['trainingState']);
    const trainingState = options.trainingState ?? true;
    if (typeof trainingState !== 'boolean') throw new LstmError(`save: trainingState must be true or false, got ${String(trainingState)}`);
    const w = this.#wasm;
    const p = this.#p;
    const flags = trainingState ? 1 : 0;
    const size = w.scratch([4], (s) => {
      this.#check(w.x.lstm_save_size(p, flags, s), 'save');
      return w.u32(s, 1)[0];
    });
    return w.scratch([size, 4], (buf, written) => {
      this.#check(w.x.lstm_save(p, flags, buf, size, written), 'save');
      return w.u8(buf, size).slice();
    });
  }

  /** Free the model's memory. Safe to call twice; any later use throws. */
  dispose() {
    if (this.#ptr) this.#wasm.x.lstm_free(this.#ptr);
    this.#ptr = 0;
  }

  [Symbol.dispose]() { this.dispose(); }
}

/** Information about the loaded build: { simd, kernels, memoryBytes }. */
export async function buildInfo() {
  const w = await wasmInstance();
  return { simd: w.simd, kernels: w.kernels, memoryBytes: w.buffer.byteLength };
}

/** @internal for tests: the raw module (kernel checks, heap size). */
export async function _internals(options) {
  return options ? instantiate(options) : wasmInstance();
}
