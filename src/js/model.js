// model.js - the Model class: one C lstm_model handle in the wasm heap, with its parameters,
// training, inference, generation and saving. Call dispose() when done.

import {
  CONFIG, MEMORY, MESSAGE_BYTES, OPTIMIZER, OPTIMIZER_TYPES, SAVE_INT8, SAVE_TRAINING_STATE, STATUS, TENSOR_INFO, limits,
} from './abi.js';
import { withBatch } from './batch.js';
import { checkBoolean, checkChoice, checkInt, checkNumber, checkOptions } from './checks.js';
import { checkModelChoices, configFields, modelConfig } from './config.js';
import { LstmError, statusError } from './errors.js';
import { extendVocabulary } from './extend.js';
import { applyTrainingOptions, evaluate, fit, fitAsync, predict } from './fit.js';
import { generateChars, generateStream, generateText } from './generate.js';
import { inferenceState, restoreInferenceState } from './inference.js';
import { wasmInstance } from './loader.js';
import { setStepGuard, stepGuard, trainingStats } from './step_guard.js';
import { trace } from './trace.js';
import { TextDataset, TokenStream, Vocabulary } from './text.js';
import { toTfjs } from './tfjs_export.js';
import { fromTfjs } from './tfjs_import.js';

// lstm_create and lstm_load have no model to hold a failure's message: it comes back in an
// lstm_message. call(modelOut, message) returns the status.
function newModel(wasm, what, call) {
  return wasm.scratch([4, MESSAGE_BYTES], (out, msg) => {
    const status = call(out, msg);
    if (status !== STATUS.OK) throw statusError(status, `${what}: ${wasm.utf8(msg)}`);
    return new Model(wasm, wasm.u32(out, 1)[0]);
  });
}

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
    const choices = checkModelChoices(options);
    const wasm = options.wasm ?? await wasmInstance();
    const fields = configFields(options, choices);
    return wasm.scratch([CONFIG.size], (cfg) => {
      wasm.writeStruct(CONFIG, cfg, fields);
      return newModel(wasm, 'Model.create', (out, msg) => wasm.x.lstm_create(cfg, out, msg));
    });
  }

  /**
   * What a model of these Model.create options takes, before making it: { parameters,
   * parameterBytes (parameters and gradients), optimizerBytes, activationBytes (training on
   * batchSize x seqLength batches, carried state included), inferenceBytes, totalBytes }, as
   * the core lays them out. training: { batchSize (32), seqLength (64), optimizer ('adam') }.
   */
  static async estimate(options = {}, training = {}) {
    const choices = checkModelChoices(options);
    const { batchSize = 32, seqLength = 64, optimizer = 'adam' } = checkOptions('Model.estimate', training, ['batchSize', 'seqLength', 'optimizer']);
    checkInt('batchSize', batchSize, 1, limits.maxBatch);
    checkInt('seqLength', seqLength, 1, limits.maxSteps);
    checkChoice('optimizer', optimizer, OPTIMIZER_TYPES);
    const wasm = options.wasm ?? await wasmInstance();
    const fields = configFields(options, choices);
    return wasm.scratch([CONFIG.size, MEMORY.size, MESSAGE_BYTES], (cfg, out, msg) => {
      wasm.writeStruct(CONFIG, cfg, fields);
      const status = wasm.x.lstm_estimate_memory(cfg, batchSize, seqLength, OPTIMIZER_TYPES.indexOf(optimizer), out, msg);
      if (status !== STATUS.OK) throw statusError(status, `Model.estimate: ${wasm.utf8(msg)}`);
      return Object.fromEntries(Object.entries(wasm.readStruct(MEMORY, out)).map(([k, v]) => [k, Number(v)]));
    });
  }

  /** Read a model saved by save() (or the C lstm_save). Rejects damaged data with an LstmError. */
  static async load(bytes, options = {}) {
    const wasm = checkOptions('Model.load', options, ['wasm']).wasm ?? await wasmInstance();
    if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
    if (!ArrayBuffer.isView(bytes)) throw new LstmError('Model.load: bytes must be a Uint8Array or ArrayBuffer');
    const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return wasm.scratch([data.length], (buf) => {
      wasm.u8(buf, data.length).set(data);
      return newModel(wasm, 'Model.load', (out, msg) => wasm.x.lstm_load(buf, data.length, out, msg));
    });
  }

  /** A TensorFlow.js layers model (model.json and its weights, or a save handler's artifacts)
   * as a model with the same outputs, or an LstmError naming what it cannot represent
   * (tfjs_import.js; docs/tfjs-keras.md). Options: vocab, dropout, recurrentDropout. */
  static fromTfjs(modelJson, weightData, options) { return fromTfjs(Model, modelJson, weightData, options); }

  get #p() {
    if (!this.#ptr) throw new LstmError('the model was disposed', 'DISPOSED', STATUS.STATE);
    return this.#ptr;
  }

  #check(status, what) {
    if (status !== STATUS.OK) {
      throw statusError(status, `${what}: ${this.#wasm.utf8(this.#wasm.x.lstm_error_message(this.#ptr))}`);
    }
  }

  #readConfig() {
    const w = this.#wasm;
    return w.scratch([CONFIG.size], (cfg) => {
      w.x.lstm_get_config(this.#p, cfg);
      return modelConfig(w.readStruct(CONFIG, cfg));
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
    return w.scratch([TENSOR_INFO.size], (info) => {
      const list = [];
      for (let i = 0; i < n; i++) {
        this.#check(w.x.lstm_tensor(this.#p, i, info), 'tensors');
        const { name, offset, rows, cols } = w.readStruct(TENSOR_INFO, info);
        list.push({ name: w.utf8(name), offset, rows, cols, size: rows * cols });
      }
      return list;
    });
  }

  /** Is this a quantised model (loaded from a save({ quantize: 'int8' }) file)? It predicts,
   * evaluates and generates on int8 weight matrices, and cannot train. */
  get quantized() { return this.#wasm.x.lstm_parameters(this.#p) === 0; }

  /** A copy of all parameters, in the layout of tensors(). */
  parameters() {
    const w = this.#wasm;
    const ptr = w.x.lstm_parameters(this.#p);
    if (!ptr) throw statusError(STATUS.STATE, 'parameters: a quantised model keeps its weight matrices as int8, not as float parameters');
    return w.f32(ptr, this.parameterCount).slice();
  }

  setParameters(values) {
    const n = this.parameterCount;
    if (!(values instanceof Float32Array) || values.length !== n) {
      throw new LstmError(`setParameters needs a Float32Array of ${n} values, got ${values?.length ?? typeof values}`);
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(values[i])) throw new LstmError(`setParameters: value ${i} is not finite`);
    }
    if (this.quantized) throw statusError(STATUS.STATE, 'setParameters: a quantised model is for inference; its weights are int8');
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

  /** A new model (this one is unchanged; dispose both) whose vocabulary is this one's followed
   * by the symbols of `vocab` it lacks, with their input columns and output rows initialised as
   * a fresh model's: see types/model.d.ts for what is kept (extend.js). */
  extendVocabulary(vocab) { return extendVocabulary(Model, this, this.#wasm, vocab); }

  /** JSON-serialisable data saved with the model (training settings, history...). */
  get metadata() {
    const w = this.#wasm;
    const n = w.x.lstm_metadata_size(this.#p);
    if (n === 0) return null;
    const bytes = w.u8(w.x.lstm_metadata(this.#p), n).slice();
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw statusError(STATUS.CORRUPT, `the model's metadata (${n} bytes) is not JSON: it was not written by this library`);
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
    if (!OPTIMIZER_TYPES.includes(type)) throw new LstmError(`optimizer type must be one of ${OPTIMIZER_TYPES.join(', ')}, got ${String(type)}`);
    const fields = {
      type: OPTIMIZER_TYPES.indexOf(type),
      learningRate: checkNumber('learningRate', options.learningRate ?? cur.learningRate, 0, 1000, { minOpen: true }),
      momentum: checkNumber('momentum', options.momentum ?? cur.momentum, 0, 1, { maxOpen: true }),
      beta1: checkNumber('beta1', options.beta1 ?? cur.beta1, 0, 1, { maxOpen: true }),
      // RMSprop's usual decay is 0.99, not Adam's 0.999: switching to it without a beta2 takes 0.99
      beta2: checkNumber('beta2', options.beta2 ?? (type === 'rmsprop' && cur.type !== 'rmsprop' ? 0.99 : cur.beta2), 0, 1, { maxOpen: true }),
      epsilon: checkNumber('epsilon', options.epsilon ?? cur.epsilon, 0, 1, { minOpen: true }),
      weightDecay: checkNumber('weightDecay', options.weightDecay ?? cur.weightDecay, 0, 1000),
      clipNorm: checkNumber('clipNorm', options.clipNorm ?? cur.clipNorm, -Infinity, Infinity),
    };
    const w = this.#wasm;
    w.scratch([OPTIMIZER.size], (o) => {
      w.writeStruct(OPTIMIZER, o, fields);
      this.#check(w.x.lstm_set_optimizer(this.#p, o), 'setOptimizer');
    });
  }

  get optimizer() {
    const w = this.#wasm;
    return w.scratch([OPTIMIZER.size], (o) => {
      w.x.lstm_get_optimizer(this.#p, o);
      const fields = w.readStruct(OPTIMIZER, o);
      return { ...fields, type: OPTIMIZER_TYPES[fields.type] };
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
  setStepGuard(options = {}) { setStepGuard(this.#core(), options); }

  /** { maxSkips, skipIfLossAbove } (see setStepGuard). */
  get stepGuard() { return stepGuard(this.#core()); }

  /** Forget the running mean of losses the loss guard compares with (say, before new text). */
  resetLossMean() { this.#check(this.#wasm.x.lstm_reset_loss_mean(this.#p), 'resetLossMean'); }

  /** { steps, skipped, skipStreak, lastSkipReason, lossMean }: applied and skipped steps so
   * far, the skips in a row up to now, why the last step was skipped ('none' if it was
   * applied; 'loss', 'gradient', 'update' or 'lossSpike'), and the guard's running mean. */
  get trainingStats() { return trainingStats(this.#core()); }

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

  // Check and copy a batch into the heap (batch.js), give C scratch blocks of `sizes` bytes for
  // its out-parameters: call(model, lstm_batch, ...outs) returns the status, read(...outs) the
  // result, copied out before the blocks are freed.
  #onBatch(what, batch, sizes, call, read) {
    const w = this.#wasm;
    const p = this.#p;
    return withBatch(w, this.config, what, batch, (desc) => w.scratch(sizes, (...outs) => {
      this.#check(call(p, desc, ...outs), what);
      return read(...outs);
    }));
  }

  /** One training step (forward, backward, clip, update) on a batch; returns the loss. A bad
   * step is skipped (see setStepGuard; trainingStats.lastSkipReason says so). */
  trainBatch(batch) {
    const w = this.#wasm;
    return this.#onBatch('trainBatch', batch, [4], (p, desc, loss) => w.x.lstm_train_batch(p, desc, loss),
      (loss) => w.f32(loss, 1)[0]);
  }

  /** Mean cross-entropy of a batch from the carried state, without dropout; changes nothing. */
  computeLoss(batch) {
    const w = this.#wasm;
    return this.#onBatch('computeLoss', batch, [8], (p, desc, loss) => w.x.lstm_compute_loss(p, desc, loss),
      (loss) => w.f64(loss, 1)[0]);
  }

  /** Loss and gradients of a batch (and input gradients for dense models); no update. */
  computeGradients(batch) {
    const w = this.#wasm;
    return this.#onBatch('computeGradients', batch, [8], (p, desc, loss) => w.x.lstm_compute_gradients(p, desc, loss),
      (loss) => {
        const result = { loss: w.f64(loss, 1)[0], gradients: this.gradients() };
        if (this.config.dense) {
          result.inputGradients = w.f32(w.x.lstm_input_gradients(this.#p), batch.batch * batch.steps * this.config.inputSize).slice();
        }
        return result;
      });
  }

  /**
   * Loss and, for the softmax head, accuracy of a batch from a zero state without dropout;
   * changes nothing (not even the carried state). Returns { loss, accuracy } (accuracy is
   * NaN for the mse head).
   */
  evaluateBatch(batch) {
    const w = this.#wasm;
    return this.#onBatch('evaluateBatch', batch, [8, 8],
      (p, desc, loss, accuracy) => w.x.lstm_evaluate_batch(p, desc, loss, accuracy),
      (loss, accuracy) => ({ loss: w.f64(loss, 1)[0], accuracy: w.f64(accuracy, 1)[0] }));
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
    // the output's size follows from the batch, so it is allocated once the batch is checked
    return withBatch(w, this.config, 'predictBatch', batch, (desc) => {
      const count = batch.batch * (returnSequences ? batch.steps : 1) * outputSize;
      return w.scratch([count * 4], (out) => {
        this.#check(w.x.lstm_predict(p, desc, out, count), 'predictBatch');
        return w.f32(out, count).slice();
      });
    }, false);
  }

  // ---- Keras-like training on whole data sets (fit.js) ----

  /**
   * Train on samples x with targets y (see docs/tasks.md for their shapes; sequences may
   * differ in length and are masked). Options: epochs, initialEpoch (continue a run saved
   * after epoch initialEpoch - 1: the shuffle order and schedule of each epoch depend only on
   * seed and epoch), batchSize, validationSplit (the last fraction of the samples) or
   * validationData [x, y], shuffle, seed, learningRate, optimizer, schedule, earlyStopping,
   * maxSkips and skipIfLossAbove (see setStepGuard), onEpochEnd(epoch, logs) (return false to
   * stop), onBatchEnd(batch, { epoch, batches, loss, skipped }). Returns { history: { loss,
   * valLoss, valAccuracy, learningRate, skipped }, epochs, stoppedEarly, stopped (false: only
   * fitAsync's signal stops a fit), bestEpoch, earlyStopping (its state, to pass as
   * earlyStopping.state when resuming) }.
   */
  fit(x, y, options = {}) { return fit(this, x, y, options); }

  /** fit on the calling thread without blocking it: the same batches and history, with a
   * task boundary between batches (at least every ~10 ms), where the page paints. onBatchEnd
   * may return a promise, which is awaited (a pause). signal (an AbortSignal): aborting ends
   * the fit after the batch under way, the model consistent, and resolves with stopped: true
   * and the epochs completed (the one under way is not in the history). Do not use the model
   * otherwise until it settles. */
  fitAsync(x, y, options = {}) { return fitAsync(this, x, y, options); }

  /** Outputs for samples x: an array with one Float32Array per sample (outputSize values,
   * or length*outputSize with returnSequences), probabilities for the softmax head. */
  predict(x, options = {}) { return predict(this, x, options); }

  // ---- char-rnn training on text ----

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
    const T = checkInt('seqLength', options.seqLength ?? 64, 1, limits.maxSteps);
    const B = checkInt('batchSize', options.batchSize ?? 32, 1, limits.maxBatch);
    if (stream.length < B * (T + 1)) {
      throw new LstmError(`the training text has ${stream.length} tokens; batch ${B} x sequence ${T} needs at least ${B * (T + 1)}`);
    }
    applyTrainingOptions(this, options);
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
    if (!(data instanceof TokenStream) && !(data instanceof TextDataset)) return evaluate(this, data, optionsOrY, maybeOptions);
    const { batchSize = 16, seqLength = 128 } = checkOptions('evaluate', optionsOrY, ['batchSize', 'seqLength']);
    const stream = data instanceof TextDataset ? data.validation : data;
    if (!(stream instanceof TokenStream)) throw new LstmError('evaluate needs a TokenStream or TextDataset');
    checkInt('batchSize', batchSize, 1, limits.maxBatch);
    checkInt('seqLength', seqLength, 1, limits.maxSteps);
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

  /** Every step's h, c and gate activations of one sequence (text, token ids, or dense input
   * vectors), and the head's outputs, from a zero state; nothing else moves. See types/model.d.ts. */
  trace(input, options = {}) { return trace(this, this.#core(), input, options); }

  /** The inference state as bytes, and back (a model of the same shape; see types/model.d.ts). */
  inferenceState() { return inferenceState(this.#core()); }
  restoreInferenceState(bytes) { restoreInferenceState(this.#core(), bytes); }

  /**
   * Generate text (generate.js; options: GenerateOptions in types/generation.d.ts): a generator of
   * characters as they are written (options checked and prompt read when it is called); the
   * text, or with `n` the n texts of a batch (`vocab` may be the first argument).
   */
  generateChars(options = {}) { return generateChars(this, this.#core(), options); }
  generate(vocabOrOptions, maybeOptions) { return generateText(this, this.#core(), vocabOrOptions, maybeOptions); }

  /** Async iterator of characters, yielding to the event loop between chunks. */
  generateStream(vocabOrOptions, maybeOptions) { return generateStream(this, vocabOrOptions, maybeOptions); }

  /** Seed the sampler as generate's `seed` does. Its random state is saved with the training
   * state, so a caller that wants a file independent of past sampling puts it back here. */
  seedSampler(seed) {
    this.#check(this.#wasm.x.lstm_sampler_seed(this.#p, checkInt('seed', seed, 0, limits.maxSeed)), 'seedSampler');
  }

  // The handle generate.js works through: the module, the pointer and the status check.
  #core() {
    const model = this; // ptr read at each use: a generation outlives calls, and the model may be disposed
    return { wasm: this.#wasm, get ptr() { return model.#p; }, check: (status, what) => this.#check(status, what) };
  }

  // ---- saving ----

  /** The model as bytes (versioned, checksummed). trainingState: include optimizer moments,
   * RNG, carried state and stream position so training resumes exactly (default true; never
   * for quantize). quantize: 'int8' writes each weight matrix as int8 rows with a scale each,
   * about 4 times smaller: an inference-only file (see quantized). A quantised model always
   * saves that way. */
  save(options = {}) {
    checkOptions('save', options, ['trainingState', 'quantize']);
    const quantize = options.quantize ?? (this.quantized ? 'int8' : 'none');
    if (quantize !== 'int8' && quantize !== 'none') throw new LstmError(`save: quantize must be 'int8' or 'none', got ${String(quantize)}`);
    if (quantize === 'none' && this.quantized) throw statusError(STATUS.STATE, 'save: a quantised model saves as int8 only');
    const int8 = quantize === 'int8';
    if (int8 && options.trainingState === true) throw new LstmError('save: a quantised (int8) file is for inference and has no training state');
    const trainingState = !int8 && checkBoolean('save: trainingState', options.trainingState ?? true);
    const w = this.#wasm;
    const p = this.#p;
    const flags = (trainingState ? SAVE_TRAINING_STATE : 0) | (int8 ? SAVE_INT8 : 0);
    const size = w.scratch([4], (s) => {
      this.#check(w.x.lstm_save_size(p, flags, s), 'save');
      return w.u32(s, 1)[0];
    });
    return w.scratch([size, 4], (buf, written) => {
      this.#check(w.x.lstm_save(p, flags, buf, size, written), 'save');
      return w.u8(buf, size).slice();
    });
  }

  /** The model as a TensorFlow.js layers model with the same outputs (tfjs_export.js). */
  toTfjs(options) { return toTfjs(this, options); }

  /** Free the model's memory. Safe to call twice; any later use throws. */
  dispose() {
    if (this.#ptr) this.#wasm.x.lstm_free(this.#ptr);
    this.#ptr = 0;
  }

  [Symbol.dispose]() { this.dispose(); }
}
