// train.mjs - "lstm-wasm train": a Session (the demo page's training session) driven in chunks
// of ~0.25 s, with a progress display, atomic checkpoints, Ctrl-C, --resume and the
// --report-at marks. The training itself, its schedule, validation and file are the Session's.

import { existsSync, statSync, accessSync, unlinkSync, constants as fsc } from 'node:fs';
import path from 'node:path';
import { Session, limits } from '../../dist/lstm.js';
import {
  PROG, UsageError, CliError, parse, number, choice, onePositional, writeAtomic, pendingTempFile, readCorpus,
  openSession, textError, fmtInt, fmtRate, fmtDuration, fmtBytes, fmtLoss,
} from './common.mjs';

const CHUNK_SECONDS = 0.25; // training runs in calls of about this long, so signals and the display stay live

export const help = `Usage: ${PROG} train <corpus.txt> --out model.lstm [options]

The demo page's recipe: the defaults below are the same, and so is the file.
Model (a new model; a resumed one keeps its own):
  --hidden N            hidden size (default 192)
  --layers N            layers (default 2)
  --dropout P           dropout on each layer's output while training, 0 <= P < 1 (default 0.2)
  --seed N              initialisation and dropout seed (default 1)
  --cell lstm|gru       the cell (default lstm)
  --layer-norm          layer-normalised LSTM
  --peephole            LSTM with peephole connections
  --cifg                LSTM with coupled input and forget gates
  --proj-size N         LSTM projection of h to N < hidden values (default 0 = none)
  --recurrent-dropout P variational dropout on h(t-1), 0 <= P < 1 (default 0)
Training:
  --seq N               sequence length of truncated backpropagation (default 64)
  --batch N             sequences per step (default 16)
  --optimizer NAME      adam, rmsprop or sgd (default adam)
  --lr X                base learning rate (default 3e-3; rmsprop 2e-3, sgd 0.5)
  --schedule NAME       cosine (to 10% of --lr over --epochs, then flat) or constant (default cosine)
  --epochs N            the schedule's length in passes over the training text (default: about
                        9 million characters, 1 to 100 passes); training stops at its end unless
                        --steps or --minutes says otherwise
  --clip X              gradient norm clipping, 0 = off (default 5)
  --val F               fraction of the text held out for the validation loss (default 0.1)
  --steps N             stop when the model has taken N steps in all
  --minutes M           stop after M minutes of training
  --report-at M1,M2     at these minutes of training, print the loss on the whole validation part
Files:
  --out FILE            the model: written at every checkpoint and at the end (required)
  --checkpoint-every N  checkpoint every N steps, or every Ns / Nm (default 60s)
  --resume              continue training the model in --out: weights, optimizer, data position,
                        schedule and loss history (a model saved by the demo page works too)
  --force               replace an existing --out with a new model
  --progress MODE       bar (default on a terminal), lines (default otherwise), none
  --quiet               same as --progress none

Checkpoints are written atomically (a temporary file, then a rename), so the file always
holds a complete model. Ctrl-C stops after the current chunk of steps, writes a checkpoint and
exits with status 130; the command it prints continues exactly where it stopped. The same
text, settings, seed and --steps give the same file as the demo page; a run stopped by
--minutes depends on the machine's speed.

The README's quality table (validation loss after 2, 5 and 15 minutes on tinyshakespeare):
  ${PROG} train ../shared/data/tinyshakespeare.txt --out shakespeare.lstm --minutes 15 --report-at 2,5,15`;

// ---- train ----

// The model flags: [flag, Model option, parse]. A resumed model must match those given.
const MODEL_FLAGS = [
  ['hidden', 'hiddenSize', (v) => number('hidden', v, { int: true, min: 1, max: limits.maxHidden })],
  ['layers', 'layers', (v) => number('layers', v, { int: true, min: 1, max: limits.maxLayers })],
  ['dropout', 'dropout', (v) => number('dropout', v, { min: 0, max: 1, maxOpen: true })],
  ['seed', 'seed', (v) => number('seed', v, { int: true, min: 0, max: limits.maxSeed })],
  ['cell', 'cell', (v) => choice('cell', v, ['lstm', 'gru'])],
  ['layer-norm', 'layerNorm', (v) => v],
  ['peephole', 'peephole', (v) => v],
  ['cifg', 'cifg', (v) => v],
  ['proj-size', 'projSize', (v) => number('proj-size', v, { int: true, min: 0, max: limits.maxHidden - 1 })],
  ['recurrent-dropout', 'recurrentDropout', (v) => number('recurrent-dropout', v, { min: 0, max: 1, maxOpen: true })],
];
const TRAINING_FLAGS = [
  ['seq', 'seqLength', (v) => number('seq', v, { int: true, min: 1, max: limits.maxSteps })],
  ['batch', 'batchSize', (v) => number('batch', v, { int: true, min: 1, max: limits.maxBatch })],
  ['optimizer', 'optimizer', (v) => choice('optimizer', v, ['adam', 'rmsprop', 'sgd'])],
  ['lr', 'learningRate', (v) => number('lr', v, { min: 0, max: 1000, minOpen: true })],
  ['schedule', 'schedule', (v) => choice('schedule', v, ['cosine', 'constant'])],
  ['epochs', 'epochs', (v) => number('epochs', v, { min: 0, max: 1e6, minOpen: true })],
  ['clip', 'clipNorm', (v) => number('clip', v, { min: 0, max: 1e6 })],
  ['val', 'validationFraction', (v) => number('val', v, { min: 0, max: 0.5 })],
];
const BOOLEAN_FLAGS = ['layer-norm', 'peephole', 'cifg'];

const optionsOf = (flags) => Object.fromEntries(flags.map(([flag]) => [flag, { type: BOOLEAN_FLAGS.includes(flag) ? 'boolean' : 'string' }]));
const settingsOf = (flags, o) => Object.fromEntries(flags.map(([flag, key, read]) => [key, read(o[flag])]).filter(([, v]) => v !== undefined));

/** Minutes of training at which to report, ascending. */
function reportMarks(text) {
  if (text === undefined) return [];
  const marks = text.split(',').map((m) => Number(m.trim()));
  if (!marks.every((m) => Number.isFinite(m) && m > 0)) throw new UsageError(`--report-at must be minutes separated by commas (2,5,15), got "${text}"`);
  return marks.sort((a, b) => a - b);
}

function checkpointEvery(text) {
  if (text === undefined) return { seconds: 60 };
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text);
  if (!m || Number(m[1]) <= 0 || (!m[2] && !Number.isInteger(Number(m[1])))) {
    throw new UsageError(`--checkpoint-every must be a number of steps (200) or of seconds/minutes (30s, 5m), got "${text}"`);
  }
  return m[2] ? { seconds: Number(m[1]) * (m[2] === 'm' ? 60 : 1) } : { steps: Number(m[1]) };
}

/** A resumed model keeps its architecture: a model flag that says otherwise is a mistake. */
function checkSameModel(config, architecture) {
  for (const [flag, key] of MODEL_FLAGS) {
    const want = architecture[key];
    if (want === undefined) continue;
    // dropouts are float32 in the model
    const same = typeof want === 'number' && !Number.isInteger(want) ? Math.fround(want) === config[key] : want === config[key];
    if (!same) throw new UsageError(`--${flag}${typeof want === 'boolean' ? '' : ` ${want}`} does not match the model being resumed (${config[key]}); leave it out`);
  }
}

export async function train(args) {
  const { values: o, positionals } = parse('train', args, {
    out: { type: 'string', short: 'o' }, ...optionsOf(MODEL_FLAGS), ...optionsOf(TRAINING_FLAGS),
    steps: { type: 'string' }, minutes: { type: 'string' }, 'report-at': { type: 'string' },
    'checkpoint-every': { type: 'string' }, resume: { type: 'boolean' },
    force: { type: 'boolean' }, progress: { type: 'string' }, quiet: { type: 'boolean' },
  });
  if (o.help) return console.log(help);
  const corpusFile = onePositional('train', positionals, 'corpus file');
  if (!o.out) throw new UsageError('train needs --out FILE (where the model is written)');
  if (o.resume && o.force) throw new UsageError('--resume and --force contradict each other');
  const architecture = settingsOf(MODEL_FLAGS, o);
  const training = settingsOf(TRAINING_FLAGS, o);
  // another optimizer starts at its own rate, as on the demo page, unless --lr says otherwise
  if (training.optimizer && training.learningRate === undefined) training.learningRate = Session.defaults({ optimizer: training.optimizer }).learningRate;
  const stopSteps = number('steps', o.steps, { int: true, min: 1, max: 1e12 });
  const minutes = number('minutes', o.minutes, { min: 0, max: 1e6, minOpen: true });
  const marks = reportMarks(o['report-at']);
  const every = checkpointEvery(o['checkpoint-every']);
  const mode = o.quiet ? 'none' : (o.progress ?? (process.stderr.isTTY ? 'bar' : 'lines'));
  if (!['bar', 'lines', 'none'].includes(mode)) throw new UsageError(`--progress must be bar, lines or none, got "${o.progress}"`);

  const out = o.out;
  const exists = existsSync(out);
  if (o.resume && !exists) throw new CliError(`cannot resume: ${out} does not exist (leave out --resume to start a new model)`);
  if (!o.resume && exists && !o.force) {
    throw new UsageError(`${out} exists: pass --resume to continue training it, or --force to replace it with a new model`);
  }
  try {
    accessSync(path.dirname(path.resolve(out)), fsc.W_OK);
  } catch {
    throw new CliError(`cannot write ${out}: the directory ${path.dirname(path.resolve(out))} does not exist or is not writable`);
  }
  const corpus = readCorpus(corpusFile);
  let session;
  if (o.resume) {
    session = await openSession(out);
    try {
      checkSameModel(session.model.config, architecture);
      session.configure(training);
      session.attach(corpus);
    } catch (e) {
      session.dispose();
      throw textError(`the corpus cannot be used with ${out}`, e);
    }
    const before = session.corpus?.fingerprint;
    if (before && before !== corpus.fingerprint) {
      process.stderr.write(`${PROG}: warning: ${corpusFile} differs from the text the model was trained on (${session.corpus.name}); the data position no longer matches\n`);
    }
  } else {
    session = await Session.create(corpus, { ...architecture, ...training }).catch((e) => { throw textError(corpusFile, e); });
  }
  try {
    return await trainLoop(session, { corpusFile, out, stopSteps, seconds: minutes === undefined ? Infinity : minutes * 60, marks, every, mode });
  } finally {
    session.dispose();
  }
}

async function trainLoop(session, { corpusFile, out, stopSteps, seconds, marks, every, mode }) {
  const startSteps = session.progress.steps;
  const startChars = session.progress.chars;
  const target = stopSteps ?? (seconds < Infinity ? Infinity : session.plannedSteps);
  if (target <= startSteps) {
    console.log(`${out} has already taken ${fmtInt(startSteps)} steps (target ${fmtInt(target)}): nothing to do; raise --steps or --epochs to train further`);
    return 0;
  }
  const display = progressDisplay(mode, target, seconds);
  let stop = null;
  const onSignal = (signal) => {
    if (stop) {                            // second signal: leave now; the file is complete
      if (pendingTempFile()) try { unlinkSync(pendingTempFile()); } catch { /* gone */ }
      display.end();
      process.stderr.write(`${PROG}: stopped; ${out} holds the last checkpoint\n`);
      process.exit(signal === 'SIGTERM' ? 143 : 130);
    }
    stop = signal;
    display.note(`${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping after this chunk and saving (press again to quit at once)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const t0 = performance.now();
  const hasValidation = session.settings.validationFraction > 0;
  let trained = 0; // seconds in session.train: the clock of --minutes and --report-at
  let lastCheckpoint = { steps: startSteps, time: t0 };
  let recent = [];
  let skipped = 0;
  let valLoss = session.history.val.at(-1)?.[1] ?? null;
  const loss = () => (recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : null);
  const steps = () => session.progress.steps;
  const checkpoint = (final) => {
    writeAtomic(out, session.save());
    lastCheckpoint = { steps: steps(), time: performance.now() };
    display.checkpoint(steps(), loss(), valLoss, final);
  };
  try {
    while (steps() < target && trained < seconds) {
      let n = target - steps();
      if (every.steps) n = Math.min(n, lastCheckpoint.steps + every.steps - steps()); // land on checkpoints
      const nextMark = marks.length ? marks[0] * 60 : Infinity;
      const r = session.train({ steps: n, seconds: Math.max(0, Math.min(CHUNK_SECONDS, seconds - trained, nextMark - trained)) });
      trained += r.seconds;
      recent = [...recent, ...r.losses].slice(-50);
      skipped += r.skipped;
      if (r.val.length) valLoss = r.val.at(-1)[1];
      const done = steps() - startSteps;
      const eta = seconds < Infinity ? seconds - trained : (target - steps()) * (trained / done);
      display.update(steps(), trained, loss(), valLoss, (session.progress.chars - startChars) / trained, eta, skipped);
      while (marks.length && trained >= marks[0] * 60) {
        const val = session.evaluate({ part: 'validation' });
        display.clear();
        console.log(`${marks.shift()} min: validation ${fmtLoss(val)} on the whole validation part; ` +
          `${fmtInt(session.progress.chars)} characters seen, ${fmtRate((session.progress.chars - startChars) / trained)} chars/s`);
      }
      if (steps() >= target || trained >= seconds) break;
      const due = every.steps ? steps() - lastCheckpoint.steps >= every.steps
        : (performance.now() - lastCheckpoint.time) / 1000 >= every.seconds;
      if (due || stop) checkpoint(false);
      if (stop) break;
      await new Promise((r) => setImmediate(r)); // let signals in
    }
    if (stop) {
      display.end();
      const more = stopSteps !== undefined ? ` --steps ${stopSteps}` : seconds < Infinity ? ` --minutes ${+((seconds - trained) / 60).toFixed(2)}` : '';
      process.stderr.write(`${PROG}: interrupted at step ${fmtInt(steps())}; ${out} is saved. Continue with: ${PROG} train ${corpusFile} --out ${out} --resume${more}\n`);
      return stop === 'SIGTERM' ? 143 : 130;
    }
    if (hasValidation) valLoss = session.evaluate();
    checkpoint(true);
    display.end();
    const wall = (performance.now() - t0) / 1000;
    console.log(`trained ${fmtInt(steps() - startSteps)} steps (${fmtInt(steps())} in all) in ${fmtDuration(wall)}, ` +
      `${fmtRate((session.progress.chars - startChars) / trained)} chars/s; loss ${loss() != null ? fmtLoss(loss()) : '-'}` +
      `${valLoss != null ? `, val loss ${fmtLoss(valLoss)}` : ''}; saved ${out} (${fmtBytes(statSync(out).size)})`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function progressDisplay(mode, target, seconds) {
  const err = process.stderr;
  let lastLine = -Infinity;
  let lastText = '';
  let barShown = false;
  const byTime = target === Infinity;
  const of = (step, trained) => (byTime ? `${fmtDuration(trained)}/${fmtDuration(seconds)}` : `${String(step).padStart(String(target).length)}/${target}`);
  const stats = (loss, val, rate, eta, skipped) =>
    `loss ${loss?.toFixed(3) ?? '-'}  val ${val != null ? val.toFixed(3) : '-'}  ${fmtRate(rate)} chars/s  ETA ${fmtDuration(eta)}${skipped ? `  skipped ${skipped}` : ''}`;
  const clear = () => { if (barShown) { err.write('\r\x1b[K'); barShown = false; } };
  return {
    update(step, trained, loss, val, rate, eta, skipped) {
      if (mode === 'bar') {
        const width = 24;
        const frac = Math.min(1, byTime ? trained / seconds : step / target);
        const full = Math.round(frac * width);
        lastText = `${of(step, trained)} [${'█'.repeat(full)}${'░'.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${stats(loss, val, rate, eta, skipped)}`;
        const cols = err.columns || 100;
        err.write(`\r${lastText.slice(0, cols - 1)}\x1b[K`);
        barShown = true;
      } else if (mode === 'lines') {
        const now = performance.now();
        if (now - lastLine >= 5000 || step === target) {
          lastLine = now;
          err.write(`step ${byTime ? `${step}, ${of(step, trained)}` : of(step, trained).trim()}  ${stats(loss, val, rate, eta, skipped)}\n`);
        }
      }
    },
    checkpoint(step, loss, val, final) {
      if (mode === 'none') return;
      clear();
      err.write(`${final ? 'saved' : 'checkpoint'} at step ${step}: loss ${loss != null ? fmtLoss(loss) : '-'}${val != null ? `, val loss ${fmtLoss(val)}` : ''}\n`);
      if (mode === 'bar' && lastText && !final) { err.write(`\r${lastText.slice(0, (err.columns || 100) - 1)}`); barShown = true; }
    },
    note(message) {
      if (mode === 'none') return;
      clear();
      err.write(`${message}\n`);
    },
    clear,
    end() { if (barShown) { err.write('\n'); barShown = false; } },
  };
}
