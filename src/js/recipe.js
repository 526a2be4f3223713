// recipe.js - the char-rnn recipe: the settings the demo measured, and the rules a training
// session follows (learning-rate schedule, validation slice and cadence, history spacing),
// each a pure function of the settings and of a position counted in steps or characters.
// Nothing here reads a clock: where a chunk of training ends never changes a result.

import { OPTIMIZER_TYPES, limits } from './abi.js';
import { checkChoice, checkInt, checkNumber } from './checks.js';
import { LstmError } from './errors.js';

/** The defaults, measured on the Brown corpus (2 cores, Chromium): 2 x 192 learns about as
 * fast per second as 2 x 256 over the first minute, at nearly twice the characters per second,
 * and a batch of 16 gets past the early "unigram" plateau much sooner than 32 at the same
 * speed. Adam 3e-3 with a cosine decay to 10 % of it, clipping at 5. Dropout 0.2: on
 * tinyshakespeare, 15 minutes reached 1.49 nats/char with 0.2 against 1.51 with 0.15 and 1.54
 * with 0.1 (measured then with bench/quality.mjs; now `lstm-wasm train --report-at` does it).
 * skipIfLossAbove 3 is char-rnn's explosion check, skipping the step instead of stopping. */
const RECIPE = Object.freeze({
  layers: 2,
  hiddenSize: 192,
  dropout: 0.2,
  seed: 1,
  seqLength: 64,
  batchSize: 16,
  optimizer: 'adam',
  learningRate: 0.003,
  schedule: 'cosine',
  decayTo: 0.1,
  clipNorm: 5,
  skipIfLossAbove: 3,
  validationFraction: 0.1,
});

/** Starting rates for the other optimizers (Adam's is the recipe's). */
const LEARNING_RATES = Object.freeze({ adam: RECIPE.learningRate, rmsprop: 0.002, sgd: 0.5 });

const SCHEDULES = Object.freeze(['cosine', 'constant']);

/** The training settings a session takes (the architecture belongs to the model), each with
 * its check. epochs and validationChars may be null until a text (epochs) or a model
 * (validationChars) gives them their default. */
const TRAINING_CHECKS = {
  seqLength: (v) => checkInt('seqLength', v, 1, limits.maxSteps),
  batchSize: (v) => checkInt('batchSize', v, 1, limits.maxBatch),
  optimizer: (v) => checkChoice('optimizer', v, OPTIMIZER_TYPES),
  learningRate: (v) => checkNumber('learningRate', v, 0, 1000, { minOpen: true }),
  schedule: (v) => checkChoice('schedule', v, SCHEDULES),
  epochs: (v) => (v === null ? v : checkNumber('epochs', v, 0, 1e6, { minOpen: true })),
  decayTo: (v) => checkNumber('decayTo', v, 0, 1),
  clipNorm: (v) => checkNumber('clipNorm', v, 0, 1e6),
  skipIfLossAbove: (v) => (v === 0 ? v : checkNumber('skipIfLossAbove', v, 1, 1e6, { minOpen: true })),
  validationFraction: (v) => checkNumber('validationFraction', v, 0, 0.5),
  validationChars: (v) => (v === null ? v : checkInt('validationChars', v, 2, 1 << 30)),
};
export const TRAINING_SETTINGS = Object.freeze(Object.keys(TRAINING_CHECKS));

/** The value of a training setting, or an LstmError naming it. */
export function checkSetting(key, value) { return TRAINING_CHECKS[key](value); }

/** The length of the cosine decay, in characters: about 9 million, roughly 15 minutes of the
 * default model on a 2-core machine, so a small text is not left at the floor rate for most of
 * a run and a large one still decays. (Measured on tinyshakespeare: decaying over 3 epochs =
 * 5 minutes reached 1.54 nats/char at 15 minutes; over 9 epochs, 1.51.) */
const DECAY_CHARACTERS = 9e6;

/** The recipe for a text of `chars` characters (its decay length in epochs: epochs is null
 * without one), with the starting rate of `optimizer`. */
export function recipeFor({ chars = 0, optimizer = RECIPE.optimizer } = {}) {
  // without a text, no length: the session fills it in from the text it is given
  const trainChars = (1 - RECIPE.validationFraction) * chars;
  const epochs = chars > 0 ? Math.min(100, Math.max(1, Math.round(DECAY_CHARACTERS / trainChars))) : null;
  const learningRate = OPTIMIZER_TYPES.includes(optimizer) ? LEARNING_RATES[optimizer] : RECIPE.learningRate;
  return { ...RECIPE, optimizer, learningRate, epochs };
}

/** The rate is set at every LR_PERIOD-th step (counted from a model's first), from the
 * characters seen then: a chunk is split there, so every run sets the same rates at the same
 * steps. 16 steps of the default batch are 0.2 % of the decay. */
export const LR_PERIOD = 16;

/** The learning rate at `chars` characters seen: cosine from the base rate to decayTo of it
 * over `epochs` passes of the training text, then flat; or the base rate. */
export function learningRateAt(settings, chars, trainChars) {
  const base = settings.learningRate;
  if (settings.schedule !== 'cosine') return base;
  const t = Math.min(1, chars / Math.max(1, settings.epochs * trainChars));
  return base * (settings.decayTo + (1 - settings.decayTo) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** The steps after which the schedule has ended (where training stops by default). */
export function plannedSteps(settings, trainChars) {
  return Math.ceil(settings.epochs * trainChars / (settings.batchSize * settings.seqLength));
}

/** The size of the fixed slice of the validation text the curve is measured on, sized so that
 * one evaluation takes ~0.3 s (a forward pass costs ~2 flops per parameter per character),
 * between 4k and 64k characters. Kept in the metadata: a resumed run is measured on the same
 * characters. */
export function validationSliceChars(parameterCount) {
  const budget = Math.round(3.6e9 / parameterCount / 1024) * 1024;
  return Math.max(4096, Math.min(65536, budget));
}

/** Characters of training between a validation at `lastChars` and the next. An evaluation of
 * the slice costs about a third of training on as many characters (forward only); it is
 * repeated about every 10 times that cost (10 % of the time), and more often at first, where
 * the curve changes fastest: every lastChars / 4, but at least twice that cost apart. */
export function validationInterval(lastChars, sliceChars) {
  const cost = sliceChars / 3;
  return Math.ceil(Math.min(10 * cost, Math.max(2 * cost, lastChars / 4)));
}

/** Steps whose mean loss makes one point of the training curve: one per ~4k characters. */
export function trainPointSteps(batchChars) {
  return Math.max(1, Math.round(4096 / batchChars));
}

/** Points kept per curve; beyond it, neighbours are merged (halvePoints). */
export const HISTORY_LIMIT = 3000;

/** Evaluation batches: stripes of >= 1024 characters of the slice (each starts from a zero
 * state, which costs a little loss), 128 steps long; the whole validation part in 16 stripes,
 * as the README's quality table measures it. */
export function sliceEvaluation(sliceChars) {
  return { batchSize: Math.max(1, Math.min(16, Math.floor(sliceChars / 1024))), seqLength: 128 };
}
export const FULL_EVALUATION = Object.freeze({ batchSize: 16, seqLength: 128 });

/** Live samples while training. */
export const SAMPLE = Object.freeze({ length: 320, temperature: 0.8, topP: 0.95 });
