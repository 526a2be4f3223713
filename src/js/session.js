// session.js - the char-rnn training session, written once for every shell (TrainingWorker,
// which the demo drives; the command line; a web app): a model, the text it trains on, the
// recipe's settings, the learning-rate schedule, validation, the loss curves and the one
// metadata format. Training runs in calls of some steps or some seconds; what it produces
// (weights, optimizer state, curves, file) depends only on the steps taken, never on how they
// were split into calls or on how long they took. Clock readings (seconds, speed) are
// reported, never saved.

import { STATUS, limits } from './abi.js';
import { checkInt, checkNumber, checkOptions } from './checks.js';
import { Corpus } from './corpus.js';
import { LstmError, statusError } from './errors.js';
import { TrainingHistory } from './history.js';
import { Model } from './model.js';
import {
  FULL_EVALUATION, LR_PERIOD, SAMPLE, TRAINING_SETTINGS, checkSetting, learningRateAt, plannedSteps,
  recipeFor, sliceEvaluation, trainPointSteps, validationInterval, validationSliceChars,
} from './recipe.js';
import { readSession, writeSession } from './session_file.js';
import { TextDataset, TokenStream } from './text.js';

/** Model.create options a session passes on for a new model (a char-rnn: tokens in, softmax
 * out at every step, one direction, so that it can continue a text). */
const ARCHITECTURE = ['layers', 'hiddenSize', 'dropout', 'seed', 'cell', 'layerNorm', 'peephole', 'cifg', 'projSize',
  'recurrentDropout', 'activation', 'orthogonalInit', 'forgetBias', 'initScale'];
// Settings the caller may give: validationChars follows from the model.
const CALLER_SETTINGS = TRAINING_SETTINGS.filter((k) => k !== 'validationChars');
// Settings whose change changes the rate the optimizer should have now.
const RATE_SETTINGS = ['optimizer', 'learningRate', 'schedule', 'epochs', 'decayTo', 'clipNorm'];
// Steps per call into wasm at most (the losses of a call are one heap block).
const MAX_CALL_STEPS = 10000;

const pick = (object, keys) => Object.fromEntries(keys.filter((k) => object[k] !== undefined).map((k) => [k, object[k]]));
const now = () => performance.now();

/** The Model.create options of a model's architecture (for estimates of it). */
function architectureOf(config) {
  return pick(config, ARCHITECTURE);
}

function trainPart(chars, fraction) { return chars - Math.floor(chars * fraction); }

/** Is a text of `chars` characters long enough for these settings? The split is TextDataset's
 * (the last validationFraction validates); the training part must hold one batch of stripes,
 * the validation part (if any) two characters. Throws LstmError TOO_SMALL before anything is
 * made, so that a too-small text costs nothing. */
function checkTextSize(chars, s) {
  const f = s.validationFraction;
  const need = s.batchSize * (s.seqLength + 1);
  const fits = (n) => trainPart(n, f) >= need && (f === 0 || n - trainPart(n, f) >= 2);
  if (fits(chars)) return;
  let total = Math.ceil(Math.max(need / (1 - f), f > 0 ? 2 / f : 0));
  while (!fits(total)) total++;
  const fmt = (n) => n.toLocaleString('en-US');
  const kept = f > 0 ? `, ${Math.round(f * 100)} % of the ${fmt(chars)} kept for validation` : '';
  throw new LstmError(`the text is too small: ${fmt(trainPart(chars, f))} characters to train on${kept}, and batch ` +
    `${s.batchSize} x sequence ${s.seqLength} needs at least ${fmt(need)} (a text of ${fmt(total)}); use a longer ` +
    'text, or a smaller batch size or sequence length', 'TOO_SMALL');
}

export class Session {
  #model;
  #settings;
  #corpus;           // what the metadata says about the text trained on last
  #progress;         // { chars, steps, skipped }: steps taken (skipped ones too) and their characters
  #history;
  #extra;            // other tools' metadata fields, kept
  #text = null;      // the text to train on: { corpus, dataset, slice }
  #rateStale = true; // the optimizer's rate is not the schedule's (a new session, a change)
  #secondsPerStep = 0;
  #charsPerSecond = 0;
  #seconds = 0;

  /** @internal use Session.create or Session.open */
  constructor(model, saved) {
    this.#model = model;
    this.#settings = { ...saved.settings };
    this.#settings.validationChars ??= validationSliceChars(model.parameterCount);
    this.#corpus = saved.corpus;
    this.#progress = { ...saved.progress };
    this.#history = new TrainingHistory(saved.history);
    this.#extra = saved.extra;
    this.fileFormat = saved.from;
    // a session's own file holds the rate its schedule set; any other file is set afresh
    this.#rateStale = saved.from !== 'session';
  }

  /** The recipe's settings (architecture and training) for a text of `chars` characters and
   * an optimizer: { layers, hiddenSize, dropout, seed, seqLength, batchSize, optimizer,
   * learningRate, schedule, epochs (null without chars), decayTo, clipNorm, skipIfLossAbove,
   * validationFraction }. */
  static defaults(options = {}) {
    return recipeFor(checkOptions('Session.defaults', options, ['chars', 'optimizer']));
  }

  /** A new model for a Corpus, with the recipe's settings where `settings` gives none. */
  static async create(corpus, settings = {}) {
    if (!(corpus instanceof Corpus)) throw new LstmError('Session.create needs a Corpus');
    checkOptions('Session.create', settings, [...ARCHITECTURE, ...CALLER_SETTINGS]);
    const recipe = recipeFor({ chars: corpus.chars, optimizer: settings.optimizer });
    const training = { ...pick(recipe, TRAINING_SETTINGS), validationChars: null };
    for (const [k, v] of Object.entries(pick(settings, CALLER_SETTINGS))) training[k] = checkSetting(k, v);
    checkTextSize(corpus.chars, training);
    const model = await Model.create({ vocabSize: corpus.vocab.size, ...pick(recipe, ARCHITECTURE), ...pick(settings, ARCHITECTURE) });
    try {
      model.setVocabulary(corpus.vocab);
      const session = new Session(model, {
        from: null, settings: training, corpus: corpus.describe(), progress: { chars: 0, steps: 0, skipped: 0 }, history: {}, extra: {},
      });
      session.attach(corpus);
      return session;
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** A session continuing a saved model (bytes, or a Model the session then owns): its
   * settings, progress and curves from the metadata, converted from earlier formats. */
  static async open(file) {
    const model = file instanceof Model ? file : await Model.load(file);
    try {
      if (model.config.dense || !model.vocabulary) {
        throw new LstmError('this model has no character vocabulary: it is not a character-level language model', 'NOT_TEXT_MODEL');
      }
      return new Session(model, Session.readMetadata(model));
    } catch (e) {
      if (file !== model) model.dispose();
      throw e;
    }
  }

  /** A model's session metadata in this version's format, whatever format it was saved in
   * (from: 'session', 'demo-v1', 'cli-v1', or null when it has none). */
  static readMetadata(model) {
    let meta = null;
    try { meta = model.metadata; } catch { /* not JSON: not a session's */ }
    return readSession(meta, model);
  }

  /** What a session with these settings takes before it is made: Model.estimate's fields for
   * its batches and optimizer, textBytes (the text's ids and the validation slice in the heap),
   * totalBytes with them, and stepFlops (the cost of one training step). */
  static async estimate(settings, { vocabSize, chars = 0 }) {
    const s = { ...recipeFor({ optimizer: settings.optimizer }), ...pick(settings, Object.keys(settings)) };
    const architecture = pick(s, ARCHITECTURE);
    const batches = { batchSize: s.batchSize, seqLength: s.seqLength, optimizer: s.optimizer };
    const memory = await Model.estimate({ vocabSize, ...architecture }, batches);
    // A token model looks its input weights up, one column per character, instead of
    // multiplying by them: a step costs what it costs a model whose input is one number wide,
    // ~6 flops per weight per character (forward 2, backward 4).
    const multiplied = await Model.estimate({ ...architecture, inputSize: 1, outputSize: vocabSize }, batches);
    const slice = Math.min(chars - trainPart(chars, s.validationFraction), validationSliceChars(memory.parameters));
    const textBytes = 4 * (chars + slice);
    return { ...memory, textBytes, totalBytes: memory.totalBytes + textBytes, stepFlops: 6 * multiplied.parameters * s.batchSize * s.seqLength };
  }

  get model() { return this.#model; }
  get settings() { return { ...this.#settings }; }
  get progress() { return { ...this.#progress }; }
  get history() { return { train: [...this.#history.train], val: [...this.#history.val] }; }
  /** The text the model was trained on last: { name, chars, fingerprint, vocabSize } or null. */
  get corpus() { return this.#corpus && { ...this.#corpus }; }
  /** The Corpus training continues on, or null. */
  get text() { return this.#text?.corpus ?? null; }
  get trainChars() {
    if (this.#text) return this.#text.dataset.train.length;
    return this.#corpus ? trainPart(this.#corpus.chars, this.#settings.validationFraction) : 0;
  }
  get epoch() { return this.trainChars ? this.#progress.chars / this.trainChars : 0; }
  /** The step at which the learning-rate schedule ends (where the command line stops by default). */
  get plannedSteps() { return plannedSteps({ ...this.#settings, epochs: this.#settings.epochs ?? 1 }, this.trainChars); }
  /** The rate of the next step. */
  get learningRate() { return learningRateAt(this.#settings, this.#progress.chars, this.trainChars); }
  /** Seconds spent in train() by this object (not saved). */
  get seconds() { return this.#seconds; }
  /** Training speed, smoothed over recent calls (not saved). */
  get charsPerSecond() { return this.#charsPerSecond; }

  /** Train on this Corpus from now on. The model must know all its characters (LstmError
   * TOKEN_RANGE names the others) and it must be long enough for the settings (TOO_SMALL). */
  attach(corpus) {
    if (!(corpus instanceof Corpus)) throw new LstmError('attach needs a Corpus');
    const unknown = corpus.unknownChars(this.#model.vocabulary);
    if (unknown.length) {
      const shown = unknown.slice(0, 8).map((c) => JSON.stringify(c)).join(' ');
      throw new LstmError(`the text has ${unknown.length} character${unknown.length > 1 ? 's' : ''} the model has never seen ` +
        `(${shown}${unknown.length > 8 ? ' ...' : ''}); a model continues only on text made of its vocabulary`, 'TOKEN_RANGE');
    }
    checkTextSize(corpus.chars, this.#settings);
    const dataset = new TextDataset(corpus.text, this.#model.vocabulary, { validationFraction: this.#settings.validationFraction });
    this.#detach();
    this.#text = { corpus, dataset, slice: null };
    this.#settings.epochs ??= recipeFor({ chars: corpus.chars }).epochs;
    // the schedule's length is counted in passes over this text
    if (corpus.fingerprint !== this.#corpus?.fingerprint) this.#rateStale = true;
  }

  #detach() {
    if (!this.#text) return;
    this.#text.dataset.dispose();
    this.#text.slice?.dispose();
    this.#text = null;
  }

  /** Change training settings (not the architecture: it belongs to the model). */
  configure(settings) {
    checkOptions('Session.configure', settings, CALLER_SETTINGS);
    const next = { ...this.#settings };
    for (const [k, v] of Object.entries(pick(settings, CALLER_SETTINGS))) next[k] = checkSetting(k, v);
    if (this.#text) checkTextSize(this.#text.corpus.chars, next);
    if (RATE_SETTINGS.some((k) => next[k] !== this.#settings[k])) this.#rateStale = true;
    const resplit = next.validationFraction !== this.#settings.validationFraction;
    this.#settings = next;
    if (resplit && this.#text) this.attach(this.#text.corpus);
  }

  #needText(what) {
    if (!this.#text) throw statusError(STATUS.STATE, `Session.${what}: no text to train on: attach a Corpus first`);
    return this.#text;
  }

  /**
   * Train `steps` steps, or for about `seconds` (at least one step), whichever ends first.
   * Validation runs, and curve points are made, at fixed positions. Returns { steps, skipped,
   * loss (mean of the applied steps), losses (theirs), train and val (the curve points made),
   * halved (a curve was thinned: read history again), seconds }.
   */
  train(options = {}) {
    const { steps = Infinity, seconds = Infinity } = checkOptions('Session.train', options, ['steps', 'seconds']);
    if (steps !== Infinity) checkInt('steps', steps, 0, 1e12);
    if (seconds !== Infinity) checkNumber('seconds', seconds, 0, 1e9);
    if (steps === Infinity && seconds === Infinity) throw new LstmError('Session.train needs steps or seconds');
    const text = this.#needText('train');
    this.#corpus = text.corpus.describe();
    const report = { steps: 0, skipped: 0, loss: NaN, losses: [], train: [], val: [], halved: false, seconds: 0 };
    const t0 = now();
    this.#history.halved = false;
    this.#validateIfDue(report);
    while (report.steps < steps) {
      const elapsed = (now() - t0) / 1000;
      if (report.steps > 0 && elapsed >= seconds) break;
      let n = Math.min(steps - report.steps, MAX_CALL_STEPS, this.#stepsToNextEvent());
      // time only decides how many steps run before control returns
      if (seconds !== Infinity) n = Math.min(n, this.#secondsPerStep ? Math.max(1, Math.round((seconds - elapsed) / this.#secondsPerStep)) : 1);
      this.#trainSteps(text, n, report);
      this.#validateIfDue(report);
    }
    report.seconds = (now() - t0) / 1000;
    report.loss = report.losses.length ? report.losses.reduce((a, b) => a + b, 0) / report.losses.length : NaN;
    report.halved = this.#history.halved;
    this.#seconds += report.seconds;
    return report;
  }

  // Steps until the rate changes (a multiple of LR_PERIOD, with the cosine schedule) or the
  // next validation is due: a call into wasm ends there.
  #stepsToNextEvent() {
    const s = this.#settings;
    const p = this.#progress;
    let n = s.schedule === 'cosine' ? LR_PERIOD - (p.steps % LR_PERIOD) : Infinity;
    const next = this.#nextValidation();
    if (next !== Infinity) n = Math.min(n, Math.max(1, Math.ceil((next - p.chars) / (s.batchSize * s.seqLength))));
    return n;
  }

  #trainSteps(text, n, report) {
    const s = this.#settings;
    const p = this.#progress;
    const model = this.#model;
    if (this.#rateStale || (s.schedule === 'cosine' && p.steps % LR_PERIOD === 0)) {
      model.setOptimizer({ type: s.optimizer, learningRate: this.learningRate, clipNorm: s.clipNorm });
      this.#rateStale = false;
    }
    const batchChars = s.batchSize * s.seqLength;
    const before = { applied: model.stepCount, skipped: model.trainingStats.skipped };
    let r;
    try {
      r = model.trainSteps(text.dataset, { steps: n, seqLength: s.seqLength, batchSize: s.batchSize, skipIfLossAbove: s.skipIfLossAbove });
    } catch (e) {
      if (e.code === 'NON_FINITE') {
        // The run of skips that failed is undone (stream, dropout, carried state); the steps
        // applied before it stay. Their losses were not returned: the curve misses them.
        const stats = model.trainingStats;
        const skipped = stats.skipped - before.skipped - model.stepGuard.maxSkips;
        const taken = model.stepCount - before.applied + skipped;
        Object.assign(p, { steps: p.steps + taken, chars: p.chars + taken * batchChars, skipped: p.skipped + skipped });
      }
      throw e;
    }
    const skipped = new Set(r.skippedSteps);
    const every = trainPointSteps(batchChars);
    for (let i = 0; i < n; i++) {
      p.steps++;
      p.chars += batchChars;
      const applied = !skipped.has(i);
      if (applied) report.losses.push(r.losses[i]);
      const point = this.#history.addStep(r.losses[i], applied, p.steps, every, p.chars);
      if (point) report.train.push(point);
    }
    p.skipped += r.skipped;
    report.steps += n;
    report.skipped += r.skipped;
    this.#secondsPerStep = this.#secondsPerStep ? 0.7 * this.#secondsPerStep + 0.3 * (r.seconds / n) : r.seconds / n;
    this.#charsPerSecond = this.#charsPerSecond ? 0.8 * this.#charsPerSecond + 0.2 * r.tokensPerSecond : r.tokensPerSecond;
  }

  #sliceChars() {
    return Math.min(this.#text.dataset.validation.length, this.#settings.validationChars);
  }

  // Where (in characters seen) the next validation is due; Infinity without validation text.
  #nextValidation() {
    if (!this.#text || this.#sliceChars() < 2) return Infinity;
    const last = this.#history.lastValidation;
    return last === null ? 0 : last + validationInterval(last, this.#sliceChars());
  }

  #validateIfDue(report) {
    if (this.#progress.chars < this.#nextValidation()) return;
    report.val.push(this.#history.addValidation(this.#progress.chars, this.evaluate()));
  }

  /**
   * Mean cross-entropy in nats per character, without dropout, from a zero state; changes
   * nothing. part: 'slice' (the fixed start of the validation text the curve is measured on,
   * default), 'validation' (all of it) or 'text' (the whole text).
   */
  evaluate(options = {}) {
    const { part = 'slice' } = checkOptions('Session.evaluate', options, ['part']);
    const text = this.#needText('evaluate');
    const model = this.#model;
    if (part === 'slice') {
      if (!text.slice) text.slice = new TokenStream(text.dataset.validation.ids.subarray(0, this.#sliceChars()));
      return model.evaluate(text.slice, sliceEvaluation(text.slice.length));
    }
    if (part === 'validation') return model.evaluate(text.dataset.validation, FULL_EVALUATION);
    if (part !== 'text') throw new LstmError(`Session.evaluate: part must be 'slice', 'validation' or 'text', got ${String(part)}`);
    const all = new TokenStream(model.vocabulary.encode(text.corpus.text));
    try {
      return model.evaluate(all, FULL_EVALUATION);
    } finally {
      all.dispose();
    }
  }

  /** A live sample: Model.generate with the recipe's sampling (320 characters, temperature
   * 0.8, top-p 0.95) and a seed that follows the steps, unless options say otherwise. */
  sample(options = {}) {
    return this.#model.generate({ ...SAMPLE, seed: (this.#progress.steps % limits.maxSeed) + 1, ...options });
  }

  /** Session.estimate for this model and the current settings (or others for training). */
  estimate(settings = {}) {
    const text = this.#text?.corpus ?? this.#corpus;
    return Session.estimate({ ...architectureOf(this.#model.config), ...this.#settings, ...settings },
      { vocabSize: this.#model.config.vocabSize, chars: text?.chars ?? 0 });
  }

  /** The metadata save() writes (see session_file.js for the format). */
  metadata() {
    return writeSession({ settings: this.#settings, corpus: this.#corpus, progress: this.#progress, history: this.#history, extra: this.#extra });
  }

  /** The model with its training state and the session's metadata, as bytes. */
  save() {
    const model = this.#model;
    // The sampler's random state is in the file, and samples are drawn when someone asks (or
    // by the clock, while training): put it back where a new model has it, so that the file
    // does not depend on them.
    model.seedSampler(model.config.seed);
    model.metadata = this.metadata();
    return model.save({ trainingState: true });
  }

  /** Free the model and the text's heap copies. Safe to call twice. */
  dispose() {
    this.#detach();
    this.#model.dispose();
  }

  [Symbol.dispose]() { this.dispose(); }
}
