// common.mjs - what the command line's commands share: its errors (UsageError exits 2,
// CliError 1), option parsing with suggestions, reading inputs and writing files atomically,
// and the formats of numbers, durations and losses.

import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync, openSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { Model, Corpus, Session, LstmError } from '../../dist/lstm.js';

export const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
export const PROG = 'lstm-wasm';

export class UsageError extends Error {}  // exit 2
export class CliError extends Error {}    // exit 1

// ---- argument parsing ----

export function levenshtein(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

export function parse(command, args, options) {
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

export function number(flag, text, { int = false, min = -Infinity, max = Infinity, minOpen = false, maxOpen = false } = {}) {
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

export function onePositional(command, positionals, what) {
  if (positionals.length === 0) throw new UsageError(`${command} needs a ${what} (see "${PROG} ${command} --help")`);
  if (positionals.length > 1) throw new UsageError(`${command} takes one ${what}, got ${positionals.length} arguments: ${positionals.join(' ')}`);
  return positionals[0];
}

// ---- files ----

/** A file's bytes, or a CliError "cannot read [what] FILE: why". */
export function readInput(file, what) {
  try {
    return readFileSync(file);
  } catch (e) {
    const why = { ENOENT: 'no such file', EISDIR: 'it is a directory', EACCES: 'permission denied' }[e.code] ?? e.message;
    throw new CliError(`cannot read ${what ? `${what} ` : ''}${file}: ${why}`);
  }
}

export async function loadModel(file) {
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
/** The temporary file being written, if any (a second Ctrl-C removes it). */
export const pendingTempFile = () => pendingTemp;
export function writeAtomic(file, bytes) {
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

export const fmtInt = (n) => n.toLocaleString('en-US');
export function fmtRate(x) {
  if (!Number.isFinite(x)) return '-';
  return x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(0)}k` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}
export function fmtDuration(s) {
  if (!Number.isFinite(s)) return '-';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}
export function fmtBytes(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}
export function showChars(codePoints, limit = 120) {
  let s = '';
  for (const cp of codePoints.slice(0, limit)) {
    const ch = String.fromCodePoint(cp);
    s += ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === '\r' ? '\\r' : ch === '\\' ? '\\\\' : cp < 32 || cp === 127 ? `\\u{${cp.toString(16)}}` : ch;
  }
  return codePoints.length > limit ? `${s}… (${codePoints.length - limit} more)` : s;
}

/** A flag that must be one of `names`. */
export function choice(flag, text, names) {
  if (text === undefined) return undefined;
  if (!names.includes(text)) throw new UsageError(`--${flag} must be ${names.join(', ')}, got "${text}"`);
  return text;
}

export const bits = (nats) => nats / Math.LN2;
export const fmtLoss = (nats) => `${nats.toFixed(4)} nats/char (${bits(nats).toFixed(4)} bits)`;

/** A text file as a Corpus (cleaned as the demo cleans it). */
export function readCorpus(file) {
  const text = readInput(file, 'corpus').toString('utf8');
  if (text.length === 0) throw new CliError(`the corpus ${file} is empty`);
  try {
    return new Corpus(text, { name: path.basename(file) });
  } catch (e) {
    if (e.code === 'BAD_TEXT') throw new CliError(`cannot use ${file}: ${e.message}`);
    throw e;
  }
}

/** A session for a model file: errors said in the command line's words. */
export async function openSession(file) {
  const { model } = await loadModel(file);
  try {
    return await Session.open(model);
  } catch (e) {
    model.dispose();
    if (e.code === 'NOT_TEXT_MODEL') throw new CliError(`${file} is not a character model (it has no vocabulary)`);
    throw e;
  }
}

/** An LstmError about a text (too small, unknown characters) as the command line says it. */
export const textError = (what, e) => (['TOO_SMALL', 'TOKEN_RANGE'].includes(e.code) ? new CliError(`${what}: ${e.message}`) : e);

