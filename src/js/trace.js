// trace.js - Model.trace: every step's h, c and gate activations of one sequence, and the head's
// outputs, from lstm_trace (include/lstm.h); the input checked and the heap's results copied
// into a Trace (declared in types/generation.d.ts). `core` is the model's handle ({ wasm, ptr, check }).

import { STATUS, TRACE_REQUEST, limits } from './abi.js';
import { checkBoolean, checkInt, checkOptions, isSequence } from './checks.js';
import { LstmError, statusError } from './errors.js';

/** The names of a cell's gates, in the order of its gate rows. */
function gateNames(config) {
  if (config.cell === 'gru') return ['r', 'z', 'n'];
  return config.cifg ? ['i', 'g', 'o'] : ['i', 'f', 'g', 'o'];
}

/** Model.trace (see types/generation.d.ts for the shapes). */
export function trace(model, core, input, options = {}) {
  checkOptions('trace', options, ['layers', 'probabilities']);
  const config = model.config;
  const L = config.layers;
  const layers = [...new Set(checkLayers(options.layers ?? Array.from({ length: L }, (_, l) => l), L))].sort((a, b) => a - b);
  const wantOutputs = checkBoolean('trace: probabilities', options.probabilities ?? true);
  const { tokens, inputs, steps } = config.dense ? denseInput(config, input) : tokenInput(model, config, input);
  const directions = config.bidirectional ? 2 : 1;
  const units = layers.length * directions;
  const H = config.hiddenSize;
  const S = config.projSize || H;
  const names = gateNames(config);
  const V = config.outputSize;
  const lstm = config.cell !== 'gru';
  const count = { h: units * steps * S, c: lstm ? units * steps * H : 0, gates: units * names.length * steps * H, outputs: wantOutputs ? steps * V : 0 };
  for (const [name, n] of Object.entries(count)) {
    // the request's capacities are 32-bit float counts; a wasm32 heap holds less anyway
    if (n * 4 > 2 ** 32) throw statusError(STATUS.OUT_OF_MEMORY, `trace: ${steps} steps need ${n} floats of ${name}, more than the wasm heap can hold`);
  }
  const w = core.wasm;
  const input32 = tokens ?? inputs;
  return w.scratch([TRACE_REQUEST.size, input32.byteLength, count.h * 4, count.c * 4, count.gates * 4, count.outputs * 4], (req, inp, h, c, gates, outputs) => {
    (tokens ? w.i32(inp, steps) : w.f32(inp, inputs.length)).set(input32);
    const ptr = (p, n) => (n > 0 ? p : 0);
    w.writeStruct(TRACE_REQUEST, req, {
      steps, tokens: tokens ? inp : 0, inputs: tokens ? 0 : inp,
      layers: layers.reduce((mask, l) => mask | (1 << l), 0) >>> 0,
      h: ptr(h, count.h), hCapacity: count.h, c: ptr(c, count.c), cCapacity: count.c,
      gates: ptr(gates, count.gates), gatesCapacity: count.gates, outputs: ptr(outputs, count.outputs), outputsCapacity: count.outputs,
    });
    core.check(w.x.lstm_trace(core.ptr, req), 'trace');
    const out = [];
    let unit = 0;
    for (const layer of layers) {
      for (let d = 0; d < directions; d++, unit++) {
        const gateArrays = {};
        names.forEach((name, q) => { gateArrays[name] = w.f32(gates + ((unit * names.length + q) * steps * H) * 4, steps * H).slice(); });
        out.push({
          layer, direction: d === 0 ? 'forward' : 'reverse',
          h: w.f32(h + unit * steps * S * 4, steps * S).slice(),
          c: lstm ? w.f32(c + unit * steps * H * 4, steps * H).slice() : null,
          gates: gateArrays, hSize: S, hiddenSize: H,
        });
      }
    }
    return { steps, tokens, layers: out, probabilities: wantOutputs ? w.f32(outputs, steps * V).slice() : null };
  });
}

function checkLayers(layers, L) {
  if (!isSequence(layers)) throw new LstmError(`trace: layers must be an array of layer indices in [0, ${L - 1}], got ${String(layers)}`);
  return Array.from(layers, (l) => checkInt('trace: layers[]', l, 0, L - 1));
}

function checkSteps(steps) {
  if (steps < 1) throw new LstmError('trace needs at least one step, got an empty input');
  if (steps > limits.maxSteps) throw new LstmError(`trace reads at most ${limits.maxSteps} steps, got ${steps}`);
  return steps;
}

// Text through the model's vocabulary, or token ids.
function tokenInput(model, config, input) {
  let tokens;
  if (typeof input === 'string') {
    const vocab = model.vocabulary;
    if (!vocab) throw statusError(STATUS.STATE, 'trace: the model has no vocabulary to read text with: pass token ids, or setVocabulary first');
    try {
      tokens = vocab.encode(input);
    } catch (e) {
      throw e instanceof LstmError ? statusError(e.status, `trace: ${e.message}`) : e;
    }
  } else if (isSequence(input)) {
    tokens = new Int32Array(input.length);
    for (let t = 0; t < input.length; t++) {
      const id = input[t];
      if (!Number.isInteger(id)) throw new LstmError(`trace: token ${t} must be an integer id, got ${String(id)}`);
      if (id < 0 || id >= config.vocabSize) throw statusError(STATUS.TOKEN_RANGE, `trace: token ${t} is ${id}, outside the model's vocabulary [0, ${config.vocabSize})`);
      tokens[t] = id;
    }
  } else {
    throw new LstmError('trace needs text (a string) or token ids (an array) for a token model');
  }
  return { tokens, inputs: null, steps: checkSteps(tokens.length) };
}

// Dense inputs: an array of steps, each inputSize numbers, or one flat array of steps * inputSize.
function denseInput(config, input) {
  const X = config.inputSize;
  if (typeof input === 'string') throw new LstmError('trace: text needs a token model; this one reads dense inputs (arrays of numbers)');
  if (!isSequence(input)) throw new LstmError(`trace needs an array of input vectors (${X} numbers each) for a dense model`);
  const nested = input.length > 0 && isSequence(input[0]);
  const steps = nested ? input.length : input.length / X;
  if (!Number.isInteger(steps)) throw new LstmError(`trace: a flat input of ${input.length} numbers is not a whole number of steps of ${X}`);
  checkSteps(steps);
  const inputs = new Float32Array(steps * X);
  for (let t = 0; t < steps; t++) {
    const v = nested ? input[t] : input.subarray?.(t * X, (t + 1) * X) ?? Array.prototype.slice.call(input, t * X, (t + 1) * X);
    if (!isSequence(v) || v.length !== X) throw new LstmError(`trace: step ${t} must have ${X} input values, got ${v?.length ?? typeof v}`);
    for (let j = 0; j < X; j++) {
      if (typeof v[j] !== 'number' || !Number.isFinite(v[j])) throw new LstmError(`trace: input ${j} of step ${t} is not a finite number: ${String(v[j])}`);
      inputs[t * X + j] = v[j];
    }
  }
  return { tokens: null, inputs, steps };
}
