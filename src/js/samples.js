// samples.js - samples for fit, evaluate and predict (x and targets y) padded to one length,
// from which batches for trainBatch / evaluateBatch / predictBatch are cut.

import { STATUS, limits } from './abi.js';
import { isSequence } from './checks.js';
import { LstmError, statusError } from './errors.js';

/** The integers from..to-1 (sample positions). */
export const range = (from, to) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

// A value for an error message: arrays in brackets, so [0.5] does not read as 0.5.
const shown = (v) => (isSequence(v) ? `[${Array.from(v).join(', ')}]` : String(v));

/**
 * Samples x (and targets y, or null) padded to the longest sequence, from which batches are
 * cut. Every batch has the same number of steps (the longest sample), so the workspace is
 * sized by the first batch and training allocates nothing afterwards.
 *   x: one sequence per sample. Token models: ids. Dense models: steps, each an array of
 *      inputSize numbers (or a number when inputSize is 1), or one flat array of
 *      length*inputSize numbers.
 *   y, returnSequences false: per sample a class id (softmax) or outputSize numbers (mse;
 *      a number when outputSize is 1). returnSequences true: per sample one such target
 *      per step (mse: nested or flat).
 */
export class Samples {
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
    if (T > limits.maxSteps) throw new LstmError(`${what}: the longest sequence has ${T} steps, more than ${limits.maxSteps}`);
    this.T = T;
    this.X = dense ? X : 1;
    this.inputs = dense ? new Float32Array(n * T * X) : new Int32Array(n * T);
    for (let i = 0; i < n; i++) {
      const seq = x[i];
      const base = i * T * this.X;
      for (let t = 0; t < this.lengths[i]; t++) {
        if (!dense) {
          const id = seq[t];
          if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw statusError(STATUS.TOKEN_RANGE, `${what}: x[${i}][${t}] = ${id} is outside [0, ${vocabSize})`);
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
        if (!Number.isInteger(v) || v < 0 || v >= V) throw statusError(STATUS.TOKEN_RANGE, `${what}: ${where} = ${String(v)} is not a class id in [0, ${V})`);
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
