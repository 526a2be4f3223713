// session_file.js - what a training session saves in a model's metadata, and how the files of
// earlier versions (the demo's "lstm-wasm-demo" v1, the command line's first format) read as
// it. One format: the same session gives the same bytes whichever shell saved it, so nothing
// measured by a clock (seconds, speed, dates) is in it.
//
//   { format: 'lstm-wasm-session', version: 1,
//     settings: { seqLength, batchSize, optimizer, learningRate, schedule, epochs, decayTo,
//                 clipNorm, skipIfLossAbove, validationFraction, validationChars },
//     corpus:   { name, chars, fingerprint, vocabSize } | null    (the text trained on last)
//     progress: { chars, steps, skipped }                         (steps taken, skipped ones too)
//     history:  { train: [[chars, loss]...], val: [[chars, loss]...], pending: [sum, count] },
//     ...any other fields the model's metadata had (a converter's notes), kept as they were }

import { points } from './history.js';
import { TRAINING_SETTINGS, checkSetting, recipeFor } from './recipe.js';

const FORMAT = 'lstm-wasm-session';
const VERSION = 1;

// The fields a session owns, and those of the earlier formats it replaces.
const OWN = ['format', 'version', 'settings', 'corpus', 'progress', 'history'];
const OLD_DEMO = ['app', 'valChars', 'savedAt'];
const OLD_CLI = ['createdBy', 'training'];

const count = (v) => (Number.isFinite(v) && v >= 0 ? v : 0);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function otherFields(meta, known) {
  return isObject(meta) ? Object.fromEntries(Object.entries(meta).filter(([k]) => !known.includes(k))) : {};
}

// Saved training settings over the recipe's: a field that is missing or out of range takes
// the recipe's value (epochs and validationChars: null, for the session to fill in), so a
// damaged or older file still trains.
function settingsFrom(saved) {
  const recipe = { ...recipeFor(), epochs: null, validationChars: null };
  return Object.fromEntries(TRAINING_SETTINGS.map((key) => {
    try {
      return [key, isObject(saved) && saved[key] !== undefined ? checkSetting(key, saved[key]) : recipe[key]];
    } catch {
      return [key, recipe[key]];
    }
  }));
}

function corpusFrom(c, vocabSize) {
  if (!isObject(c)) return null;
  return {
    name: typeof c.name === 'string' ? c.name : typeof c.file === 'string' ? c.file : 'text',
    chars: count(c.chars),
    fingerprint: typeof c.fingerprint === 'string' ? c.fingerprint : null,
    vocabSize: Number.isInteger(c.vocabSize) ? c.vocabSize : vocabSize,
  };
}

/**
 * The session state saved in a model's metadata, in this format whatever format the file
 * has: { settings, corpus, progress, history: { train, val, pending }, extra (fields of other
 * tools, kept), from ('session' | 'demo-v1' | 'cli-v1' | null: no session was saved) }.
 */
export function readSession(meta, model) {
  const vocabSize = model.vocabulary?.size ?? 0;
  if (isObject(meta) && meta.format === FORMAT && meta.version === VERSION) {
    return {
      from: 'session',
      settings: settingsFrom(meta.settings),
      corpus: corpusFrom(meta.corpus, vocabSize),
      progress: { chars: count(meta.progress?.chars), steps: count(meta.progress?.steps), skipped: count(meta.progress?.skipped) },
      history: isObject(meta.history) ? meta.history : {},
      extra: otherFields(meta, OWN),
    };
  }
  if (isObject(meta) && meta.app === 'lstm-wasm-demo') return fromDemo(meta, vocabSize);
  if (isObject(meta) && isObject(meta.training) && String(meta.createdBy ?? '').startsWith('lstm-wasm')) {
    return fromCli(meta, vocabSize, model);
  }
  // A model trained some other way (the library's own calls, a converter): the recipe, and
  // the steps the model counts, at the recipe's batch.
  const steps = model.stepCount;
  const recipe = recipeFor();
  return {
    from: null,
    settings: settingsFrom(null),
    corpus: null,
    progress: { chars: steps * recipe.batchSize * recipe.seqLength, steps, skipped: 0 },
    history: {},
    extra: isObject(meta) ? meta : {},
  };
}

// The demo's first files: the same settings and curves, a time in seconds (dropped: no clock
// in the file), the slice size as valChars, and the architecture repeated (the model has it).
function fromDemo(meta, vocabSize) {
  const settings = settingsFrom(meta.settings);
  settings.validationChars = Number.isInteger(meta.valChars) && meta.valChars >= 2 ? meta.valChars : null;
  return {
    from: 'demo-v1',
    settings,
    corpus: corpusFrom(meta.corpus, vocabSize),
    progress: { chars: count(meta.progress?.chars), steps: count(meta.progress?.steps), skipped: count(meta.progress?.skipped) },
    history: { train: points(meta.history?.train), val: points(meta.history?.val) },
    extra: otherFields(meta, [...OWN, ...OLD_DEMO]),
  };
}

// The command line's first files: Adam at a constant rate, a step target (now the schedule's
// length in epochs), a SHA-256 fingerprint of the raw file (not comparable: dropped), the first
// 20,000 validation characters, and a checkpoint list of { step, loss, valLoss }.
function fromCli(meta, vocabSize, model) {
  const t = meta.training;
  const settings = settingsFrom({
    seqLength: t.seqLength, batchSize: t.batchSize, optimizer: 'adam', learningRate: t.learningRate,
    schedule: 'constant', clipNorm: t.clipNorm, validationFraction: t.validationFraction,
    epochs: t.targetSteps > 0 && t.stepsPerEpoch > 0 ? t.targetSteps / t.stepsPerEpoch : undefined,
  });
  settings.validationChars = 20000;
  const batchChars = settings.batchSize * settings.seqLength;
  const list = Array.isArray(meta.history) ? meta.history.filter(isObject) : [];
  const at = (h) => count(h.step) * batchChars;
  const steps = count(meta.progress?.steps ?? model.stepCount);
  return {
    from: 'cli-v1',
    settings,
    corpus: corpusFrom(meta.corpus, vocabSize),
    progress: { chars: count(meta.progress?.tokens ?? steps * batchChars), steps, skipped: 0 },
    history: {
      train: points(list.filter((h) => h.loss != null).map((h) => [at(h), h.loss])),
      val: points(list.filter((h) => h.valLoss != null).map((h) => [at(h), h.valLoss])),
    },
    extra: otherFields(meta, [...OWN, ...OLD_CLI]),
  };
}

/** The metadata to save: the other tools' fields first, then the session's. */
export function writeSession({ settings, corpus, progress, history, extra }) {
  return { ...extra, format: FORMAT, version: VERSION, settings, corpus, progress, history: history.toJSON() };
}
