#!/usr/bin/env node
// lstm-wasm - the command line: train a character model on a text file, sample from it,
// describe a model file. Node.js >= 18; no dependencies beyond the package itself.
//
//   lstm-wasm train <corpus.txt> --out model.lstm [options]
//   lstm-wasm sample <model.lstm> [--prompt TEXT --length N --temperature T --seed N]
//   lstm-wasm info <model.lstm> [--json]
//
// Exit status: 0 done, 1 a file or model problem (missing, unreadable, corrupt) or a failed
// step, 2 bad command line, 130 / 143 stopped by SIGINT / SIGTERM (after saving a checkpoint).

import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync, openSync, fsyncSync, closeSync, renameSync, unlinkSync, existsSync, statSync, accessSync, constants as fsc } from 'node:fs';
import { createHash, randomInt } from 'node:crypto';
import path from 'node:path';
import { Model, Vocabulary, TextDataset, TokenStream, LstmError, limits } from '../dist/lstm.js';

const PKG = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const PROG = 'lstm-wasm';
const VAL_EVAL_TOKENS = 20000; // validation loss is measured on at most this many characters
const CHUNK_SECONDS = 0.25;    // training runs in calls of about this long, so signals and the display stay live
const HISTORY_LIMIT = 500;

class UsageError extends Error {}  // exit 2
class CliError extends Error {}    // exit 1

// ---- help ----

const HELP = {
  main: `${PROG} ${PKG.version} - LSTM language models in WebAssembly

Usage:
  ${PROG} train <corpus.txt> --out model.lstm [options]   train a character model on a UTF-8 text
  ${PROG} sample <model.lstm> [options]                   generate text, streamed to stdout
  ${PROG} info <model.lstm> [--json]                      configuration, size, vocabulary, training state

Run "${PROG} <command> --help" for the options of a command.
Exit status: 0 ok, 1 file or model problem, 2 bad command line, 130 interrupted.`,
  train: `Usage: ${PROG} train <corpus.txt> --out model.lstm [options]

Model (a new model; a resumed one keeps its own):
  --hidden N            hidden size (default 256)
  --layers N            LSTM layers (default 2)
  --dropout P           dropout on each layer's output while training, 0 <= P < 1 (default 0)
  --seed N              initialisation and dropout seed (default 1)
Training:
  --seq N               sequence length of truncated backpropagation (default 64)
  --batch N             sequences per step (default 32)
  --lr X                Adam learning rate (default 2e-3)
  --clip X              gradient norm clipping, 0 = off (default 5)
  --steps N             train until the model has taken N steps in all
  --epochs N            ... or N passes over the training text (default 1)
  --val F               fraction of the text held out for the validation loss (default 0.1)
Files:
  --out FILE            the model: written at every checkpoint and at the end (required)
  --checkpoint-every N  checkpoint every N steps, or every Ns / Nm (default 60s)
  --resume              continue training the model in --out: weights, optimizer, data position
  --force               replace an existing --out with a new model
  --progress MODE       bar (default on a terminal), lines (default otherwise), none
  --quiet               same as --progress none

Checkpoints are written atomically (a temporary file, then a rename), so the file always
holds a complete model. Ctrl-C stops after the current step chunk, writes a checkpoint and
exits with status 130; "--resume" with the same command continues exactly where it stopped.`,
  sample: `Usage: ${PROG} sample <model.lstm> [options]

  --prompt TEXT         text to start from (echoed first; default: a newline)
  --length N            characters to generate (default 500)
  --temperature T       0 = always the most likely character; higher = more random (default 0.8)
  --top-k K             sample from the K most likely characters only (default 0 = all)
  --top-p P             ... or from the smallest set with probability >= P (default 1 = all)
  --seed N              sampling seed, for repeatable output (default: random)`,
  info: `Usage: ${PROG} info <model.lstm> [--json]

Prints the configuration, parameter count, vocabulary and training state of a model file.
  --json                the same as one JSON object`,
};

// ---- argument parsing ----

function levenshtein(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function parse(command, args, options) {
  options = { help: { type: 'boolean', short: 'h' }, ...options };
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (e) {
    const m = /'(-[^' ]*)/.exec(e.message);
    const bad = m ? m[1].replace(/=.*$/, '') : '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const names = Object.keys(options).map((n) => `--${n}`);
      const best = names.map((n) => [levenshtein(n, bad), n]).sort((a, b) => a[0] - b[0])[0];
      const hint = best && best[0] <= 3 ? ` (did you mean ${best[1]}?)` : '';
      throw new UsageError(`${command}: unknown option ${bad}${hint}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = bad || e.message;
      const boolean = options[name.replace(/^--?/, '')]?.type === 'boolean';
      throw new UsageError(`${command}: ${boolean ? `${name} takes no value` : `${name} needs a value (a value starting with "-" is written ${name}=-1)`}`);
    }
    throw new UsageError(`${command}: ${e.message}`);
  }
}

function number(flag, text, { int = false, min = -Infinity, max = Infinity, minOpen = false, maxOpen = false } = {}) {
  if (text === undefined) return undefined;
  const v = Number(text);
  const ok = text.trim() !== '' && Number.isFinite(v) && (!int || Number.isInteger(v)) &&
    (minOpen ? v > min : v >= min) && (maxOpen ? v < max : v <= max);
  if (!ok) {
    const range = `${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`;
    throw new UsageError(`--${flag} must be ${int ? 'an integer' : 'a number'} in ${range}, got "${text}"`);
  }
  return v;
}

function onePositional(command, positionals, what) {
  if (positionals.length === 0) throw new UsageError(`${command} needs a ${what} (see "${PROG} ${command} --help")`);
  if (positionals.length > 1) throw new UsageError(`${command} takes one ${what}, got ${positionals.length} arguments: ${positionals.join(' ')}`);
  return positionals[0];
}

// ---- files ----

function readInput(file, what) {
  try {
    return readFileSync(file);
  } catch (e) {
    const why = { ENOENT: 'no such file', EISDIR: 'it is a directory', EACCES: 'permission denied' }[e.code] ?? e.message;
    throw new CliError(`cannot read ${what} ${file}: ${why}`);
  }
}

async function loadModel(file) {
  const bytes = readInput(file, 'model');
  try {
    return { model: await Model.load(bytes), bytes };
  } catch (e) {
    if (e instanceof LstmError) throw new CliError(`${file} is not a valid lstm-wasm model (${e.code}): ${e.message.replace(/^Model\.load: /, '')}`);
    throw e;
  }
}

/** Write a file so that it is never seen half-written: temporary file, fsync, rename. */
let pendingTemp = null;
function writeAtomic(file, bytes) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  pendingTemp = tmp;
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeFileSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    try { // make the rename itself durable (best effort: not every platform can fsync a directory)
      const dirFd = openSync(path.dirname(path.resolve(file)), 'r');
      try { fsyncSync(dirFd); } finally { closeSync(dirFd); }
    } catch { /* the file is complete either way */ }
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw new CliError(`cannot write ${file}: ${e.message}`);
  } finally {
    pendingTemp = null;
  }
}

// ---- formatting ----

const fmtInt = (n) => n.toLocaleString('en-US');
function fmtRate(x) {
  if (!Number.isFinite(x)) return '-';
  return x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(0)}k` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}
function fmtDuration(s) {
  if (!Number.isFinite(s)) return '-';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}
function fmtBytes(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}
function showChars(codePoints, limit = 120) {
  let s = '';
  for (const cp of codePoints.slice(0, limit)) {
    const ch = String.fromCodePoint(cp);
    s += ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === '\r' ? '\\r' : ch === '\\' ? '\\\\' : cp < 32 || cp === 127 ? `\\u{${cp.toString(16)}}` : ch;
  }
  return codePoints.length > limit ? `${s}… (${codePoints.length - limit} more)` : s;
}

// ---- train ----

async function train(args) {
  const { values: o, positionals } = parse('train', args, {
    out: { type: 'string', short: 'o' }, hidden: { type: 'string' }, layers: { type: 'string' },
    dropout: { type: 'string' }, seed: { type: 'string' }, seq: { type: 'string' }, batch: { type: 'string' },
    lr: { type: 'string' }, clip: { type: 'string' }, steps: { type: 'string' }, epochs: { type: 'string' },
    val: { type: 'string' }, 'checkpoint-every': { type: 'string' }, resume: { type: 'boolean' },
    force: { type: 'boolean' }, progress: { type: 'string' }, quiet: { type: 'boolean' },
  });
  if (o.help) return console.log(HELP.train);
  const corpusFile = onePositional('train', positionals, 'corpus file');
  if (!o.out) throw new UsageError('train needs --out FILE (where the model is written)');
  if (o.steps !== undefined && o.epochs !== undefined) throw new UsageError('give --steps or --epochs, not both');
  if (o.resume && o.force) throw new UsageError('--resume and --force contradict each other');
  const flags = {
    hidden: number('hidden', o.hidden, { int: true, min: 1, max: limits.maxHidden }),
    layers: number('layers', o.layers, { int: true, min: 1, max: limits.maxLayers }),
    dropout: number('dropout', o.dropout, { min: 0, max: 1, maxOpen: true }),
    seed: number('seed', o.seed, { int: true, min: 0, max: limits.maxSeed }),
    seq: number('seq', o.seq, { int: true, min: 1, max: limits.maxSteps }),
    batch: number('batch', o.batch, { int: true, min: 1, max: limits.maxBatch }),
    lr: number('lr', o.lr, { min: 0, max: 1000, minOpen: true }),
    clip: number('clip', o.clip, { min: 0 }),
    steps: number('steps', o.steps, { int: true, min: 1, max: 1e9 }),
    epochs: number('epochs', o.epochs, { min: 0, max: 1e6, minOpen: true }),
    val: number('val', o.val, { min: 0, max: 0.5 }),
  };
  let every = { seconds: 60 };
  if (o['checkpoint-every'] !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(o['checkpoint-every']);
    if (!m || Number(m[1]) <= 0 || (!m[2] && !Number.isInteger(Number(m[1])))) {
      throw new UsageError(`--checkpoint-every must be a number of steps (200) or of seconds/minutes (30s, 5m), got "${o['checkpoint-every']}"`);
    }
    every = m[2] ? { seconds: Number(m[1]) * (m[2] === 'm' ? 60 : 1) } : { steps: Number(m[1]) };
  }
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
  const text = readInput(corpusFile, 'corpus').toString('utf8');
  if (text.length === 0) throw new CliError(`the corpus ${corpusFile} is empty`);

  let model;
  let vocab;
  let meta = {};
  if (o.resume) {
    ({ model } = await loadModel(out));
    if (model.config.dense || !model.vocabulary) throw new CliError(`${out} is not a character model (it has no vocabulary)`);
    meta = (model.metadata && typeof model.metadata === 'object') ? model.metadata : {};
    const c = model.config;
    for (const [flag, have] of [['hidden', c.hiddenSize], ['layers', c.layers], ['seed', c.seed]]) {
      if (flags[flag] !== undefined && flags[flag] !== have) {
        throw new UsageError(`--${flag} ${flags[flag]} does not match the model being resumed (${have}); leave it out`);
      }
    }
    if (flags.dropout !== undefined && Math.fround(flags.dropout) !== c.dropout) {
      throw new UsageError(`--dropout ${flags.dropout} does not match the model being resumed (${c.dropout}); leave it out`);
    }
    vocab = model.vocabulary;
    try {
      vocab.encode(text);
    } catch (e) {
      throw new CliError(`the corpus cannot be used with ${out}: ${e.message}`);
    }
  } else {
    vocab = Vocabulary.fromText(text);
    model = await Model.create({
      vocabSize: vocab.size, hiddenSize: flags.hidden ?? 256, layers: flags.layers ?? 2,
      seed: flags.seed ?? 1, dropout: flags.dropout ?? 0,
    });
    model.setVocabulary(vocab);
  }
  const prev = meta.training ?? {};
  const T = flags.seq ?? prev.seqLength ?? 64;
  const B = flags.batch ?? prev.batchSize ?? 32;
  const valFraction = flags.val ?? prev.validationFraction ?? 0.1;
  const data = new TextDataset(text, vocab, { validationFraction: valFraction });
  if (data.train.length < B * (T + 1)) {
    throw new CliError(`the training part of ${corpusFile} has ${fmtInt(data.train.length)} characters; --batch ${B} x --seq ${T} needs at least ${fmtInt(B * (T + 1))} (use smaller --batch/--seq or a longer text)`);
  }
  const valStream = data.validation.length >= 2
    ? new TokenStream(data.validation.ids.subarray(0, VAL_EVAL_TOKENS)) : null;
  const stripe = Math.floor(data.train.length / B);
  const stepsPerEpoch = Math.max(1, Math.floor((stripe - 1) / T));
  const startStep = model.stepCount;
  let target;
  if (flags.steps !== undefined) target = flags.steps;
  else if (flags.epochs !== undefined) target = Math.ceil(flags.epochs * stepsPerEpoch);
  else if (o.resume && prev.targetSteps > startStep) target = prev.targetSteps;
  else target = o.resume ? startStep + stepsPerEpoch : stepsPerEpoch;
  if (target <= startStep) {
    console.log(`${out} has already taken ${fmtInt(startStep)} steps (target ${fmtInt(target)}): nothing to do; raise --steps or --epochs to train further`);
    return 0;
  }
  const opt = {};
  if (!o.resume || model.stepCount === 0) opt.type = 'adam';
  if (flags.lr !== undefined || !o.resume) opt.learningRate = flags.lr ?? 2e-3;
  if (flags.clip !== undefined || !o.resume) opt.clipNorm = flags.clip ?? 5;
  if (Object.keys(opt).length) model.setOptimizer(opt);

  const fingerprint = createHash('sha256').update(text).digest('hex').slice(0, 16);
  if (o.resume && meta.corpus?.sha256 && meta.corpus.sha256 !== fingerprint) {
    process.stderr.write(`${PROG}: warning: ${corpusFile} differs from the corpus the model was trained on (${meta.corpus.file}); the data position no longer matches\n`);
  }
  const history = Array.isArray(meta.history) ? meta.history.slice(-HISTORY_LIMIT) : [];
  const seconds0 = meta.progress?.seconds ?? 0;
  const settings = {
    seqLength: T, batchSize: B, learningRate: model.optimizer.learningRate, clipNorm: model.optimizer.clipNorm,
    validationFraction: valFraction, targetSteps: target, stepsPerEpoch,
  };

  // ---- the loop ----
  const display = progressDisplay(mode, target);
  let stop = null;
  const onSignal = (signal) => {
    if (stop) {                            // second signal: leave now; the file is complete
      if (pendingTemp) try { unlinkSync(pendingTemp); } catch { /* gone */ }
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
  let trainSeconds = 0;
  let lastCheckpointStep = startStep;
  let lastCheckpointTime = t0;
  let recent = [];
  let skipped = 0;
  let valLoss = history.length ? history[history.length - 1].valLoss ?? null : null;
  let chunk = 1;
  const checkpoint = (final) => {
    if (valStream) valLoss = model.evaluate(valStream, { batchSize: 16, seqLength: Math.max(T, 64) });
    const loss = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : null;
    history.push({ step: model.stepCount, loss, valLoss });
    if (history.length > HISTORY_LIMIT) history.splice(0, history.length - HISTORY_LIMIT);
    model.metadata = {
      ...meta,
      createdBy: `${PROG} ${PKG.version}`,
      corpus: { file: path.basename(corpusFile), chars: [...text].length, sha256: fingerprint },
      training: settings,
      progress: { steps: model.stepCount, seconds: seconds0 + trainSeconds, tokens: (model.stepCount) * B * T },
      history,
    };
    writeAtomic(out, model.save({ trainingState: true }));
    lastCheckpointStep = model.stepCount;
    lastCheckpointTime = performance.now();
    display.checkpoint(model.stepCount, loss, valLoss, final);
  };

  try {
    while (model.stepCount < target) {
      let n = Math.min(chunk, target - model.stepCount);
      if (every.steps) n = Math.min(n, lastCheckpointStep + every.steps - model.stepCount); // land on checkpoints
      // a step whose loss is over 3x the recent mean is skipped (char-rnn's explosion check,
      // without stopping); five skipped in a row throw NON_FINITE with the model kept
      const stats = model.trainSteps(data, { steps: n, seqLength: T, batchSize: B, skipIfLossAbove: 3 });
      trainSeconds += stats.seconds;
      const applied = Array.from(stats.losses).filter((_, i) => !stats.skippedSteps.includes(i));
      recent = [...recent, ...applied].slice(-50);
      skipped += stats.skipped;
      const perStep = stats.seconds / n;
      chunk = Math.max(1, Math.min(10000, Math.round(CHUNK_SECONDS / Math.max(perStep, 1e-6))));
      const done = model.stepCount - startStep;
      const rate = done * B * T / trainSeconds;
      const eta = (target - model.stepCount) * (trainSeconds / done);
      display.update(model.stepCount, recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : null, valLoss, rate, eta, skipped);
      const due = every.steps ? model.stepCount - lastCheckpointStep >= every.steps
        : (performance.now() - lastCheckpointTime) / 1000 >= every.seconds;
      if (model.stepCount >= target) break;
      if (due || stop) checkpoint(false);
      if (stop) break;
      await new Promise((r) => setImmediate(r)); // let signals in
    }
    if (stop) {
      display.end();
      process.stderr.write(`${PROG}: interrupted at step ${fmtInt(model.stepCount)}; ${out} is saved. Continue with: ${PROG} train ${corpusFile} --out ${out} --resume\n`);
      return stop === 'SIGTERM' ? 143 : 130;
    }
    checkpoint(true);
    display.end();
    const wall = (performance.now() - t0) / 1000;
    const loss = history[history.length - 1].loss;
    console.log(`trained ${fmtInt(model.stepCount - startStep)} steps (${fmtInt(model.stepCount)} in all) in ${fmtDuration(wall)}, ` +
      `${fmtRate((model.stepCount - startStep) * B * T / trainSeconds)} chars/s; loss ${loss.toFixed(3)}` +
      `${valLoss != null ? `, val loss ${valLoss.toFixed(3)}` : ''}; saved ${out} (${fmtBytes(statSync(out).size)})`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    valStream?.dispose();
    data.dispose();
    model.dispose();
  }
}

function progressDisplay(mode, target) {
  const err = process.stderr;
  let lastLine = -Infinity;
  let lastText = '';
  let barShown = false;
  const stats = (step, loss, val, rate, eta, skipped) =>
    `loss ${loss?.toFixed(3) ?? '-'}  val ${val != null ? val.toFixed(3) : '-'}  ${fmtRate(rate)} chars/s  ETA ${fmtDuration(eta)}${skipped ? `  skipped ${skipped}` : ''}`;
  const clear = () => { if (barShown) { err.write('\r\x1b[K'); barShown = false; } };
  return {
    update(step, loss, val, rate, eta, skipped) {
      if (mode === 'bar') {
        const width = 24;
        const frac = Math.min(1, step / target);
        const full = Math.round(frac * width);
        const head = `${String(step).padStart(String(target).length)}/${target} [${'█'.repeat(full)}${'░'.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}%`;
        lastText = `${head}  ${stats(step, loss, val, rate, eta, skipped)}`;
        const cols = err.columns || 100;
        err.write(`\r${lastText.slice(0, cols - 1)}\x1b[K`);
        barShown = true;
      } else if (mode === 'lines') {
        const now = performance.now();
        if (now - lastLine >= 5000 || step === target) {
          lastLine = now;
          err.write(`step ${step}/${target}  ${stats(step, loss, val, rate, eta, skipped)}\n`);
        }
      }
    },
    checkpoint(step, loss, val, final) {
      if (mode === 'none') return;
      clear();
      err.write(`${final ? 'saved' : 'checkpoint'} at step ${step}: loss ${loss?.toFixed(3) ?? '-'}${val != null ? `, val loss ${val.toFixed(3)}` : ''}\n`);
      if (mode === 'bar' && lastText && !final) { err.write(`\r${lastText.slice(0, (err.columns || 100) - 1)}`); barShown = true; }
    },
    note(message) {
      if (mode === 'none') return;
      clear();
      err.write(`${message}\n`);
    },
    end() { if (barShown) { err.write('\n'); barShown = false; } },
  };
}

// ---- sample ----

async function sample(args) {
  const { values: o, positionals } = parse('sample', args, {
    prompt: { type: 'string', short: 'p' }, length: { type: 'string', short: 'n' },
    temperature: { type: 'string', short: 't' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' },
    seed: { type: 'string' },
  });
  if (o.help) return console.log(HELP.sample);
  const file = onePositional('sample', positionals, 'model file');
  const length = number('length', o.length ?? '500', { int: true, min: 0, max: 1e9 });
  const temperature = number('temperature', o.temperature ?? '0.8', { min: 0, max: 100 });
  const topK = number('top-k', o['top-k'] ?? '0', { int: true, min: 0, max: limits.maxVocab });
  const topP = number('top-p', o['top-p'] ?? '1', { min: 0, max: 1 });
  const seed = o.seed !== undefined ? number('seed', o.seed, { int: true, min: 0, max: limits.maxSeed }) : randomInt(0, limits.maxSeed);
  const { model } = await loadModel(file);
  try {
    const vocab = model.vocabulary;
    if (model.config.dense || !vocab) throw new CliError(`${file} has no vocabulary: sample needs a character model`);
    const prompt = o.prompt ?? '';
    const unknown = [...new Set([...prompt].filter((ch) => !vocab.has(ch)))];
    if (unknown.length) {
      throw new UsageError(`--prompt has characters the model does not know: ${unknown.map((c) => JSON.stringify(c)).join(' ')}`);
    }
    const stdout = process.stdout;
    let closed = false;
    stdout.on('error', (e) => { if (e.code === 'EPIPE') closed = true; else throw e; });
    const write = async (s) => {
      if (closed || s === '') return;
      if (!stdout.write(s)) await new Promise((r) => { stdout.once('drain', r); stdout.once('close', r); });
    };
    await write(prompt);
    let buf = '';
    let last = prompt.slice(-1);
    for (const ch of model.generateChars({ prompt, length, temperature, topK, topP, seed, chunk: 32 })) {
      buf += ch;
      if (buf.length >= 64) { await write(buf); last = buf.slice(-1); buf = ''; }
      if (closed) break;
    }
    if (buf) { await write(buf); last = buf.slice(-1); }
    if (stdout.isTTY && last !== '\n') await write('\n');
    return 0;
  } finally {
    model.dispose();
  }
}

// ---- info ----

// config fields printed on their own lines; any others (newer ones) are listed as they are
const KNOWN_CONFIG = ['vocabSize', 'inputSize', 'dense', 'hiddenSize', 'layers', 'outputSize', 'seed', 'dropout', 'initScale', 'forgetBias'];

async function info(args) {
  const { values: o, positionals } = parse('info', args, { json: { type: 'boolean' } });
  if (o.help) return console.log(HELP.info);
  const file = onePositional('info', positionals, 'model file');
  const { model, bytes } = await loadModel(file);
  try {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = dv.getUint32(8, true);
    const trainingState = (dv.getUint32(12, true) & 1) === 1;
    const c = model.config;
    const vocab = model.vocabulary;
    const tensors = model.tensors().map(({ name, rows, cols }) => ({ name, shape: cols === 1 && !name.includes('weight') ? [rows] : [rows, cols] }));
    const result = {
      file: path.resolve(file), bytes: bytes.length, formatVersion: version,
      config: { input: c.dense ? 'dense' : 'tokens', ...c },
      parameters: model.parameterCount, tensors,
      vocabulary: vocab ? Array.from(vocab.codePoints, (cp) => String.fromCodePoint(cp)) : null,
      training: trainingState ? { steps: model.stepCount, streamPosition: model.streamPosition, optimizer: model.optimizer } : null,
      metadata: model.metadata,
    };
    if (o.json) {
      console.log(JSON.stringify(result, null, 2));
      return 0;
    }
    const m = result.metadata ?? {};
    const lines = [
      `${file}: lstm-wasm model, format version ${version}, ${fmtBytes(bytes.length)}${trainingState ? ', with training state' : ', weights only'}`,
      `  input        ${c.dense ? `dense vectors of ${c.inputSize}` : `tokens (one-hot over ${c.inputSize})`}`,
      `  hidden size  ${c.hiddenSize}`,
      `  layers       ${c.layers}`,
      `  output size  ${c.outputSize}`,
      `  dropout      ${+c.dropout.toPrecision(6)}    seed ${c.seed}${c.forgetBias ? `    forget bias ${+c.forgetBias.toPrecision(6)}` : ''}`,
      ...Object.entries(c).filter(([k]) => !KNOWN_CONFIG.includes(k)).map(([k, v]) => `  ${k.padEnd(12)} ${v}`),
      `  parameters   ${fmtInt(model.parameterCount)} (${fmtBytes(model.parameterCount * 4)} of float32)`,
      `  vocabulary   ${vocab ? `${vocab.size} characters: ${showChars(Array.from(vocab.codePoints))}` : 'none'}`,
    ];
    if (trainingState) {
      const opt = model.optimizer;
      lines.push(`  training     ${fmtInt(model.stepCount)} steps, data position ${fmtInt(model.streamPosition)}, optimizer ${opt.type} (learning rate ${+opt.learningRate.toPrecision(6)}, clip ${+opt.clipNorm.toPrecision(6)})`);
    } else {
      lines.push('  training     no training state saved (weights only): training would start a fresh optimizer');
    }
    if (m.training) {
      const t = m.training;
      lines.push(`  settings     --seq ${t.seqLength} --batch ${t.batchSize} --lr ${+Number(t.learningRate).toPrecision(6)} --val ${t.validationFraction}, target ${fmtInt(t.targetSteps)} steps (${fmtInt(t.stepsPerEpoch)} per epoch)`);
    }
    if (m.corpus) lines.push(`  corpus       ${m.corpus.file}, ${fmtInt(m.corpus.chars)} characters (sha256 ${m.corpus.sha256}…)`);
    if (Array.isArray(m.history) && m.history.length) {
      const h = m.history[m.history.length - 1];
      lines.push(`  last loss    ${h.loss != null ? h.loss.toFixed(4) : '-'} (train), ${h.valLoss != null ? h.valLoss.toFixed(4) : '-'} (validation) at step ${fmtInt(h.step)}${m.progress ? `, ${fmtDuration(m.progress.seconds)} of training` : ''}`);
    }
    if (m.converter) lines.push(`  converted    by ${m.converter} from ${m.source ?? '?'}${m.embedding?.folded ? ` (embedding ${m.embedding.key}, dim ${m.embedding.dim}, folded into weight_ih_l0)` : ''}`);
    if (result.metadata != null && !m.training && !m.converter) {
      const s = JSON.stringify(result.metadata);
      lines.push(`  metadata     ${s.length > 200 ? `${s.slice(0, 200)}…` : s}`);
    }
    console.log(lines.join('\n'));
    return 0;
  } finally {
    model.dispose();
  }
}

// ---- main ----

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    if (command === 'help' && rest[0] in HELP) console.log(HELP[rest[0]]);
    else console.log(HELP.main);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    console.log(PKG.version);
    return 0;
  }
  const commands = { train, sample, info };
  if (!Object.hasOwn(commands, command)) {
    const best = Object.keys(commands).map((n) => [levenshtein(n, command), n]).sort((a, b) => a[0] - b[0])[0];
    throw new UsageError(`unknown command "${command}"${best[0] <= 2 ? ` (did you mean ${best[1]}?)` : ''}; the commands are train, sample, info`);
  }
  return (await commands[command](rest)) ?? 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`${PROG}: ${e.message}\n`);
    process.exitCode = 2;
  } else if (e instanceof CliError || e instanceof LstmError) {
    process.stderr.write(`${PROG}: ${e.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`${PROG}: unexpected error: ${e?.stack ?? e}\n`);
    process.exitCode = 1;
  }
}
