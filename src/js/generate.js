// generate.js - text generation from a token model: the options checked, the prompt read once,
// then one sample, or n advancing together as a batch (lstm_samples_* in include/lstm.h), in
// chunks of tokens per call into wasm, each sample's text cut at its first stop string. Model's
// generate methods are these functions; `core` is the model's handle ({ wasm, ptr, check }).

import { SAMPLES_CONTINUE, SAMPLES_KEEP_SAMPLER, SAMPLING, STATUS, limits } from './abi.js';
import { checkBoolean, checkInt, checkNumber, checkOptions } from './checks.js';
import { LONE_SURROGATE } from './corpus.js';
import { LstmError, statusError } from './errors.js';
import { nextTask } from './event_loop.js';
import { Vocabulary } from './text.js';

const OPTIONS = ['prompt', 'length', 'temperature', 'topK', 'topP', 'repetitionPenalty', 'seed', 'vocab', 'chunk', 'continue', 'stop'];

// The generation that owns each model's samples: one started later ends an earlier one, which
// then throws instead of going on with the other's rows.
const owner = new WeakMap();

/** Model.generateChars: a generator of one-character strings (see GenerateOptions in types/generation.d.ts).
 * The options are checked and the prompt read when it is called. */
export function generateChars(model, core, options = {}) {
  if (options?.n !== undefined) throw new LstmError('generateChars streams one sample: n is for generate (which returns the n texts)');
  const plan = planOf(model, options, OPTIONS);
  return emitChars(model, core, plan, start(model, core, plan));
}

/** Model.generate: the text, or with `n` an array of n texts. */
export function generateText(model, core, vocabOrOptions, maybeOptions) {
  const options = generateOptions(vocabOrOptions, maybeOptions);
  if (options?.n === undefined) {
    let out = '';
    for (const ch of generateChars(model, core, options)) out += ch;
    return out;
  }
  const plan = planOf(model, options, [...OPTIONS, 'n']);
  return samplesText(model, core, plan, start(model, core, plan));
}

/** Model.generateStream: an async iterator of characters, yielding to the event loop between
 * chunks of 64. */
export async function* generateStream(model, vocabOrOptions, maybeOptions) {
  let i = 0;
  for (const ch of model.generateChars(generateOptions(vocabOrOptions, maybeOptions))) {
    yield ch;
    if (++i % 64 === 0) await nextTask();
  }
}

// generate's and generateStream's arguments: (vocab, options) or (options).
function generateOptions(vocabOrOptions, maybeOptions) {
  return vocabOrOptions instanceof Vocabulary ? { ...maybeOptions, vocab: vocabOrOptions } : (vocabOrOptions ?? {});
}

// ---- the options ----

function planOf(model, options, allowed) {
  checkOptions('generate', options, allowed);
  const vocab = options.vocab ?? model.vocabulary;
  if (!(vocab instanceof Vocabulary)) throw new LstmError('generate needs a vocabulary: pass { vocab } or train on a TextDataset first');
  if (model.config.dense) throw new LstmError('generate needs a token model');
  const length = checkInt('length', options.length ?? 200, 0, 1e9);
  const sampling = {
    temperature: checkNumber('temperature', options.temperature ?? 1, 0, 100),
    topK: checkInt('topK', options.topK ?? 0, 0, limits.maxVocab),
    topP: checkNumber('topP', options.topP ?? 1, 0, 1),
    repetitionPenalty: checkNumber('repetitionPenalty', options.repetitionPenalty ?? 1, 0, 100, { minOpen: true }),
  };
  const n = options.n === undefined ? 1 : checkInt('n', options.n, 1, limits.maxSamples);
  const fromState = checkBoolean('continue', options.continue ?? false);
  const stops = stopStrings(options.stop);
  const prompt = options.prompt ?? '';
  if (typeof prompt !== 'string') throw new LstmError('prompt must be a string');
  let ids = vocab.encode(prompt);
  // from a zero state something must be read first: a newline (or token 0) stands for no prompt
  if (ids.length === 0 && !fromState) ids = Int32Array.of(vocab.has('\n') ? vocab.index.get(10) : 0);
  for (const id of ids) {
    if (id >= model.config.vocabSize) throw statusError(STATUS.TOKEN_RANGE, `prompt token ${id} is outside the model's vocabulary of ${model.config.vocabSize}`);
  }
  let flags = fromState ? SAMPLES_CONTINUE : 0;
  let seed = 0;
  if (options.seed === undefined && fromState) {
    if (n > 1) throw new LstmError('generate: continuing without a seed continues the sampler\'s one random stream; with n > 1 give a seed (sample k then draws with seed + k)');
    flags |= SAMPLES_KEEP_SAMPLER;
  } else {
    seed = checkInt('seed', options.seed ?? 1, 0, limits.maxSeed);
  }
  // a bound on the heap block of one call, not a limit of the core; with stop strings one token
  // a call, so that a stopped sample's state ends just after its stop string
  const chunk = stops.length ? 1 : checkInt('chunk', options.chunk ?? 16, 1, 1 << 16);
  return { vocab, length, sampling, n, flags, seed, ids, stops, chunk };
}


function stopStrings(stop) {
  if (stop === undefined) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list)) throw new LstmError(`stop must be a string or an array of strings, got ${typeof stop}`);
  for (const s of list) {
    if (typeof s !== 'string' || s.length === 0) throw new LstmError(`stop strings must be non-empty strings, got ${JSON.stringify(s) ?? String(s)}`);
    if (LONE_SURROGATE.test(s)) throw new LstmError(`stop string ${JSON.stringify(s)} holds a lone UTF-16 surrogate`);
  }
  return [...list];
}

// ---- running the samples ----

function start(model, core, plan) {
  const w = core.wasm;
  w.scratch([Math.max(plan.ids.byteLength, 4)], (p) => {
    w.i32(p, plan.ids.length).set(plan.ids);
    core.check(w.x.lstm_samples_start(core.ptr, plan.n, plan.flags, plan.seed, p, plan.ids.length), 'generate');
  });
  const run = {};
  owner.set(model, run);
  return run;
}

// Each call's tokens: (n, count), -1 for a stopped sample.
function* rounds(model, core, plan, run) {
  const w = core.wasm;
  for (let done = 0; done < plan.length;) {
    if (owner.get(model) !== run) throw statusError(STATUS.STATE, 'generate: another generation started on this model, so this one cannot go on');
    const count = Math.min(plan.chunk, plan.length - done);
    const tokens = w.scratch([SAMPLING.size, plan.n * count * 4], (s, o) => {
      w.writeStruct(SAMPLING, s, plan.sampling);
      core.check(w.x.lstm_samples_generate(core.ptr, s, count, o), 'generate');
      return w.i32(o, plan.n * count).slice();
    });
    done += count;
    yield { tokens, count };
  }
}

// The end of a generation: its rows freed, unless a later one owns them (or the model is gone).
function finish(model, core, run) {
  if (owner.get(model) !== run) return;
  owner.delete(model);
  if (!model.disposed) core.check(core.wasm.x.lstm_samples_stop(core.ptr, -1), 'generate');
}

function* emitChars(model, core, plan, run) {
  const matcher = new StopMatcher(plan.stops);
  try {
    for (const { tokens, count } of rounds(model, core, plan, run)) {
      for (let i = 0; i < count; i++) {
        const { emit, stopped } = matcher.push(String.fromCodePoint(plan.vocab.codePoints[tokens[i]]));
        for (const ch of emit) yield ch;
        if (stopped) return;
      }
    }
    for (const ch of matcher.flush()) yield ch;
  } finally {
    finish(model, core, run);
  }
}

function samplesText(model, core, plan, run) {
  const matchers = Array.from({ length: plan.n }, () => new StopMatcher(plan.stops));
  const texts = Array(plan.n).fill('');
  const running = Array(plan.n).fill(true);
  let left = plan.n;
  try {
    for (const { tokens, count } of rounds(model, core, plan, run)) {
      for (let k = 0; k < plan.n; k++) {
        for (let i = 0; i < count && running[k]; i++) {
          const { emit, stopped } = matchers[k].push(String.fromCodePoint(plan.vocab.codePoints[tokens[k * count + i]]));
          texts[k] += emit;
          if (stopped) {
            // its row stays as its stop string left it: sample 0's is then the inference state
            core.check(core.wasm.x.lstm_samples_stop(core.ptr, k), 'generate');
            running[k] = false;
            left--;
          }
        }
      }
      if (left === 0) break;
    }
    return texts.map((t, k) => t + (running[k] ? matchers[k].flush() : ''));
  } finally {
    finish(model, core, run);
  }
}

/** Cuts a text at its first stop string as it is written, character by character: what may be
 * shown is given back at once, except an end that a stop string could still complete. The
 * first stop string to be completed ends the text where it begins (of two completed by the same
 * character, the longer). */
class StopMatcher {
  constructor(stops) {
    this.stops = stops;
    this.pending = '';
  }

  /** A character more: { emit: the text that can be shown now, stopped }. */
  push(ch) {
    if (this.stops.length === 0) return { emit: ch, stopped: false };
    const text = this.pending + ch;
    let cut = -1;
    for (const s of this.stops) {
      if (text.endsWith(s)) cut = cut < 0 ? text.length - s.length : Math.min(cut, text.length - s.length);
    }
    if (cut >= 0) {
      this.pending = '';
      return { emit: text.slice(0, cut), stopped: true };
    }
    // hold back the longest end of the text that begins some stop string
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
        if (text.endsWith(s.slice(0, k))) { hold = k; break; }
      }
    }
    this.pending = text.slice(text.length - hold);
    return { emit: text.slice(0, text.length - hold), stopped: false };
  }

  /** The held-back end, at the end of the text. */
  flush() {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}
