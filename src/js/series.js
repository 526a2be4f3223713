// series.js - a numeric time series cut into sliding-window samples for sequence regression.

import { limits } from './abi.js';
import { checkInt, checkOptions, isSequence } from './checks.js';
import { LstmError } from './errors.js';

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
  const window = checkInt('window', options.window, 1, limits.maxSteps);
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
