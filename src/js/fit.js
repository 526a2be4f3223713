// fit.js - Keras-like training on whole data sets: fit with its learning-rate schedules, early
// stopping and per-epoch shuffles (in one call, or batch by batch: fitAsync, a worker), and
// evaluate and predict over samples. Functions of a Model, through its public methods only.

import { limits } from './abi.js';
import { checkBoolean, checkInt, checkNumber, checkOptions } from './checks.js';
import { LstmError } from './errors.js';
import { YIELD_MS, nextTask } from './event_loop.js';
import { Samples, range } from './samples.js';

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
  const restore = checkBoolean('earlyStopping.restoreBestWeights', o.restoreBestWeights ?? true);
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

/** Set the optimizer options (optimizer, learningRate, clipNorm) and the step guard options
 * (maxSkips, skipIfLossAbove) that fit and trainSteps take, in that order; what is not given
 * keeps its current value. */
export function applyTrainingOptions(model, options) {
  const opt = { ...(options.optimizer ?? {}) };
  if (options.clipNorm !== undefined) opt.clipNorm = options.clipNorm;
  if (options.learningRate !== undefined) opt.learningRate = options.learningRate;
  if (Object.keys(opt).length > 0) model.setOptimizer(opt);
  const guard = {};
  if (options.maxSkips !== undefined) guard.maxSkips = options.maxSkips;
  if (options.skipIfLossAbove !== undefined) guard.skipIfLossAbove = options.skipIfLossAbove;
  if (Object.keys(guard).length > 0) model.setStepGuard(guard);
}

const FIT_OPTIONS = ['epochs', 'initialEpoch', 'batchSize', 'validationSplit', 'validationData', 'shuffle', 'seed',
  'learningRate', 'optimizer', 'schedule', 'earlyStopping', 'maxSkips', 'skipIfLossAbove', 'onEpochEnd', 'onBatchEnd'];

/**
 * Model.fit, one batch at a time: a generator that yields after every training batch ({ phase:
 * 'train', epoch, batch, batches, size, loss, skipped }) and every validation batch ({ phase:
 * 'validation', epoch, batch, batches }), and returns fit's result. Before each batch it asks
 * stop(): true ends the fit there (the epoch under way is not in the history; stopped: true).
 * fit, fitAsync and TrainingWorker's thread drive it, so all three take the same steps.
 * `allowed`: the options the driver takes.
 */
export function* fitBatches(model, x, y, options = {}, { allowed = FIT_OPTIONS, stop = () => false } = {}) {
  checkOptions('fit', options, allowed);
  const epochs = checkInt('epochs', options.epochs ?? 1, 0, 1e6);
  const initialEpoch = checkInt('initialEpoch', options.initialEpoch ?? 0, 0, epochs);
  const batchSize = checkInt('batchSize', options.batchSize ?? 32, 1, limits.maxBatch);
  const split = checkNumber('validationSplit', options.validationSplit ?? 0, 0, 1, { maxOpen: true });
  if (split > 0 && options.validationData) throw new LstmError('fit: give validationSplit or validationData, not both');
  for (const name of ['onEpochEnd', 'onBatchEnd']) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new LstmError(`fit: ${name} must be a function`);
  }
  const shuffle = checkBoolean('fit: shuffle', options.shuffle ?? true);
  const seed = checkInt('seed', options.seed ?? 1, 0, limits.maxSeed);
  const baseGiven = options.learningRate !== undefined || options.optimizer?.learningRate !== undefined;
  if (initialEpoch > 0 && options.schedule != null && !baseGiven) {
    // the optimizer holds the last epoch's scheduled rate, not the schedule's base
    throw new LstmError('fit: with initialEpoch and a schedule, give learningRate (the base rate of the first run)');
  }
  const stopping = earlyStoppingOptions(options.earlyStopping);
  let data = new Samples('fit', x, y, model.config);
  let val = null;
  if (options.validationData) {
    if (!Array.isArray(options.validationData) || options.validationData.length !== 2) throw new LstmError('fit: validationData must be [x, y]');
    val = new Samples('fit: validationData', options.validationData[0], options.validationData[1], model.config);
  } else if (split > 0) {
    const nVal = Math.floor(data.n * split);
    if (nVal < 1 || nVal >= data.n) throw new LstmError(`fit: validationSplit ${split} of ${data.n} samples leaves no validation or no training samples`);
    val = data.subset(range(data.n - nVal, data.n));
    data = data.subset(range(0, data.n - nVal));
  }
  applyTrainingOptions(model, options);
  const baseLr = model.optimizer.learningRate;
  const schedule = learningRateSchedule(options.schedule, baseLr, epochs);
  const history = { loss: [], valLoss: [], valAccuracy: [], learningRate: [], skipped: [] };
  const state = stopping.state;
  let best = { loss: state.bestLoss, epoch: state.bestEpoch, params: null };
  let waited = state.wait;
  let stoppedEarly = false;
  let stopped = false;
  const nextShuffle = epochShuffler(data.n, seed);
  if (shuffle) for (let e = 0; e < initialEpoch; e++) nextShuffle();
  const batches = Math.ceil(data.n / batchSize);
  let epoch = initialEpoch;
  epochs: for (; epoch < epochs; epoch++) {
    const lr = schedule(epoch);
    if (lr !== model.optimizer.learningRate) model.setOptimizer({ learningRate: lr });
    const order = shuffle ? nextShuffle() : range(0, data.n);
    let sum = 0;
    let rows = 0;
    let skipped = 0;
    for (let at = 0; at < data.n; at += batchSize) {
      if (stop()) { stopped = true; break epochs; }
      const batch = data.batch(order.slice(at, at + batchSize));
      model.resetState(); // samples are independent sequences: each starts from zero
      let loss;
      try {
        loss = model.trainBatch(batch);
      } catch (e) {
        if (e instanceof LstmError) e.message = `fit: epoch ${epoch}, batch ${at / batchSize}: ${e.message.replace(/^trainBatch: /, '')}`;
        throw e;
      }
      const skip = model.trainingStats.lastSkipReason !== 'none';
      if (skip) {
        skipped++;
      } else {
        sum += loss * batch.batch;
        rows += batch.batch;
      }
      yield { phase: 'train', epoch, batch: at / batchSize, batches, size: batch.batch, loss, skipped: skip };
    }
    const logs = { loss: rows ? sum / rows : NaN, learningRate: lr, skipped };
    if (val) {
      const r = yield* lossBatches(model, val, batchSize, epoch, stop);
      if (r === null) { stopped = true; break; }
      logs.valLoss = r.loss;
      if (model.config.head === 'softmax') logs.valAccuracy = r.accuracy;
    }
    history.loss.push(logs.loss);
    history.learningRate.push(lr);
    history.skipped.push(skipped);
    if (val) history.valLoss.push(logs.valLoss);
    if (logs.valAccuracy !== undefined) history.valAccuracy.push(logs.valAccuracy);
    const monitored = val ? logs.valLoss : logs.loss;
    if (monitored < best.loss - stopping.minDelta) {
      best = { loss: monitored, epoch, params: stopping.restoreBestWeights && stopping.on ? model.parameters() : null };
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
  if (stoppedEarly && best.params) model.setParameters(best.params);
  return {
    history, epochs: epoch, stoppedEarly, stopped, bestEpoch: best.epoch,
    earlyStopping: { bestLoss: best.loss, bestEpoch: best.epoch, wait: waited },
  };
}

/** Model.fit: see there for the options and the result. */
export function fit(model, x, y, options = {}) {
  const run = fitBatches(model, x, y, options);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
    if (r.value.phase === 'train') options.onBatchEnd?.(r.value.batch, batchLogs(r.value));
  }
}

const batchLogs = ({ epoch, batches, loss, skipped }) => ({ epoch, batches, loss, skipped });

/** Model.fitAsync: fit, yielding to the event loop between batches (see Model.fitAsync). */
export async function fitAsync(model, x, y, options = {}) {
  const { signal, ...fitOptions } = checkOptions('fitAsync', options, [...FIT_OPTIONS, 'signal']);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new LstmError('fitAsync: signal must be an AbortSignal');
  const run = fitBatches(model, x, y, fitOptions, { stop: () => signal?.aborted ?? false });
  let yielded = performance.now();
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
    if (r.value.phase === 'train') await fitOptions.onBatchEnd?.(r.value.batch, batchLogs(r.value));
    // a task boundary every ~10 ms at most: the page paints, and an abort() can run
    if (performance.now() - yielded >= YIELD_MS) {
      await nextTask();
      yielded = performance.now();
    }
  }
}

// Loss (and accuracy for the softmax head) over samples, from a zero state without dropout;
// each batch's mean is weighted by the rows it scored. A generator of its batches, as
// fitBatches: returns null if stop() ended it.
function* lossBatches(model, data, batchSize, epoch, stop) {
  let loss = 0;
  let correct = 0;
  let rows = 0;
  const batches = Math.ceil(data.n / batchSize);
  for (let at = 0; at < data.n; at += batchSize) {
    if (stop()) return null;
    const batch = data.batch(range(at, Math.min(at + batchSize, data.n)));
    const r = model.evaluateBatch(batch);
    const scored = model.config.returnSequences ? batch.scoredSteps : batch.batch;
    loss += r.loss * scored;
    correct += r.accuracy * scored;
    rows += scored;
    yield { phase: 'validation', epoch, batch: at / batchSize, batches };
  }
  const result = { loss: loss / rows };
  if (model.config.head === 'softmax') result.accuracy = correct / rows;
  return result;
}

function lossOverSamples(model, data, batchSize) {
  const run = lossBatches(model, data, batchSize, 0, () => false);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
  }
}

/** Model.evaluate(x, y, { batchSize }): { loss, accuracy } over samples. */
export function evaluate(model, x, y, options) {
  const batchSize = checkInt('batchSize', checkOptions('evaluate', options, ['batchSize']).batchSize ?? 64, 1, limits.maxBatch);
  return lossOverSamples(model, new Samples('evaluate', x, y, model.config), batchSize);
}

/** Model.predict: one Float32Array of outputs per sample. */
export function predict(model, x, options = {}) {
  const { batchSize = 64 } = checkOptions('predict', options, ['batchSize']);
  checkInt('batchSize', batchSize, 1, limits.maxBatch);
  const data = new Samples('predict', x, null, model.config);
  const { outputSize: V, returnSequences } = model.config;
  const out = [];
  for (let at = 0; at < data.n; at += batchSize) {
    const idx = range(at, Math.min(at + batchSize, data.n));
    const batch = data.batch(idx);
    const y = model.predictBatch(batch);
    idx.forEach((sample, b) => {
      const len = returnSequences ? data.lengths[sample] : 1;
      const per = returnSequences ? batch.steps * V : V;
      out.push(y.slice(b * per, b * per + len * V));
    });
  }
  return out;
}
