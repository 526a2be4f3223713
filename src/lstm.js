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

/**
 * Load the wasm module (once). Options: `simd` (true/false to force a build), `wasmUrl`
 * (URL or string of the .wasm to use), `wasmBinary` (its bytes). Without options the SIMD
 * build is used where supported and the scalar build elsewhere, found next to this file.
 */
export function init(options = {}) {
  if (!loading) {
    loading = instantiate(options).catch((e) => { loading = null; throw e; });
  }
  return loading;
}

async function instantiate(options) {
  const simd = options.simd ?? simdSupported();
  if (simd && !simdSupported()) throw new LstmError('this engine has no WebAssembly SIMD', 'LOAD');
  let bytes = options.wasmBinary;
  if (!bytes) {
    const url = options.wasmUrl
      ? new URL(options.wasmUrl, typeof location !== 'undefined' ? location.href : import.meta.url)
      : new URL(simd ? './lstm-simd.wasm' : './lstm-scalar.wasm', import.meta.url);
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
  encode(text, { unknown = 'error' } = {}) {
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
  constructor(text, vocab, { validationFraction = 0.1 } = {}) {
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

// ---- the model ----

const CONFIG_WORDS = 9;
const MESSAGE_BYTES = 256;

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
   * hiddenSize, layers, seed, dropout, initScale, forgetBias.
   */
  static async create(options = {}) {
    checkOptions('Model.create', options, ['vocabSize', 'inputSize', 'outputSize', 'hiddenSize',
      'layers', 'seed', 'dropout', 'initScale', 'forgetBias', 'wasm']);
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
    ];
    return wasm.scratch([CONFIG_WORDS * 4, 4, MESSAGE_BYTES], (cfg, out, msg) => {
      const view = new DataView(wasm.buffer);
      words.forEach((w, i) => {
        if (i < 5) view.setInt32(cfg + 4 * i, w, true);
        else if (i === 5) view.setUint32(cfg + 4 * i, w, true);
        else view.setFloat32(cfg + 4 * i, w, true);
      });
      const status = wasm.x.lstm_create(cfg, out, msg);
      if (status !== 0) throw statusError(status, `Model.create: ${wasm.utf8(msg)}`);
      return new Model(wasm, wasm.u32(out, 1)[0]);
    });
  }

  /** Read a model saved by save() (or the C lstm_save). Rejects damaged data with an LstmError. */
  static async load(bytes, { wasm } = {}) {
    wasm ??= await wasmInstance();
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
      });
    });
  }

  get disposed() { return !this.#ptr; }
  get parameterCount() { return this.#wasm.x.lstm_parameter_count(this.#p) >>> 0; }
  get stepCount() { return Number(this.#wasm.x.lstm_step_count(this.#p)); }
  get simd() { return this.#wasm.simd; }

  /** Bytes the model's parameters, gradients and optimizer moments take (Adam: 4 arenas). */
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
    return JSON.parse(new TextDecoder().decode(bytes));
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

  /** Position (in tokens, within each stripe) of the next trainSteps batch. */
  get streamPosition() { return Number(this.#wasm.x.lstm_stream_position(this.#p)); }

  // Copy a batch { batch, steps, tokens | inputs, targets } into the heap and call fn(ptr).
  #withBatch(what, b, fn) {
    checkOptions(what, b, ['batch', 'steps', 'tokens', 'inputs', 'targets']);
    const B = checkInt(`${what}: batch`, b.batch, 1, 65536);
    const T = checkInt(`${what}: steps`, b.steps, 1, 65536);
    const n = B * T;
    const { dense, inputSize } = this.config;
    const asInt = (name, a) => {
      if (!a || a.length !== n) throw new LstmError(`${what}: ${name} must have batch*steps = ${n} entries, got ${a?.length}`);
      return a instanceof Int32Array ? a : Int32Array.from(a);
    };
    const targets = asInt('targets', b.targets);
    let input;
    if (dense) {
      if (!b.inputs || b.inputs.length !== n * inputSize) {
        throw new LstmError(`${what}: inputs must have batch*steps*inputSize = ${n * inputSize} values, got ${b.inputs?.length}`);
      }
      input = b.inputs instanceof Float32Array ? b.inputs : Float32Array.from(b.inputs);
    } else {
      input = asInt('tokens', b.tokens);
    }
    const w = this.#wasm;
    return w.scratch([20, input.byteLength, targets.byteLength], (desc, inp, tgt) => {
      w.u8(inp, input.byteLength).set(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
      w.i32(tgt, n).set(targets);
      w.i32(desc, 5).set([B, T, dense ? 0 : inp, dense ? inp : 0, tgt]);
      return fn(desc);
    });
  }

  /** One training step (forward, backward, clip, update) on a batch; returns the loss. */
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
   * Train on a TextDataset (or TokenStream) char-rnn style, `steps` steps in one call into
   * wasm. Options: steps, seqLength, batchSize, optimizer (see setOptimizer), clipNorm,
   * learningRate. Returns { steps, loss (mean), losses, tokens, seconds, tokensPerSecond }.
   */
  trainSteps(data, options = {}) {
    checkOptions('trainSteps', options, ['steps', 'seqLength', 'batchSize', 'optimizer', 'clipNorm', 'learningRate']);
    const stream = data instanceof TextDataset ? data.train : data;
    if (!(stream instanceof TokenStream)) throw new LstmError('trainSteps needs a TextDataset or TokenStream');
    if (data instanceof TextDataset && !this.vocabulary && !this.config.dense) this.setVocabulary(data.vocab);
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
    const w = this.#wasm;
    const p = this.#p;
    const streamPtr = stream.heap(w);
    const t0 = performance.now();
    const losses = w.scratch([Math.max(steps, 1) * 4], (out) => {
      const status = w.x.lstm_train_stream(p, streamPtr, stream.length, B, T, steps, out);
      const copy = w.f32(out, steps).slice();
      this.#check(status, 'trainSteps');
      return copy;
    });
    const seconds = (performance.now() - t0) / 1000;
    const tokens = steps * B * T;
    let sum = 0;
    for (const l of losses) sum += l;
    return { steps, loss: steps ? sum / steps : NaN, losses, tokens, seconds, tokensPerSecond: tokens / seconds };
  }

  /** Mean cross-entropy (nats per token) over a stream, from a zero state, without dropout. */
  evaluate(data, { batchSize = 16, seqLength = 128 } = {}) {
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
   * token 0) seeds it.
   */
  * generateChars(options = {}) {
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
  save({ trainingState = true } = {}) {
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
