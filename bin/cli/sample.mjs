// sample.mjs - "lstm-wasm sample": text from a model file, streamed to stdout as it is made.

import { randomInt } from 'node:crypto';
import { limits } from '../../dist/lstm.js';
import { PROG, UsageError, CliError, parse, number, onePositional, loadModel } from './common.mjs';

export const help = `Usage: ${PROG} sample <model.lstm> [options]

  --prompt TEXT         text to start from (echoed first; default: a newline)
  --length N            characters to generate (default 500)
  --temperature T       0 = always the most likely character; higher = more random (default 0.8)
  --top-k K             sample from the K most likely characters only (default 0 = all)
  --top-p P             ... or from the smallest set with probability >= P (default 1 = all)
  --repetition-penalty P  make characters already in the text less likely (> 1) or more (< 1):
                        a logit z of one becomes z / P if z > 0, else z * P (default 1 = off)
  --stop TEXT           end the text where TEXT first appears (TEXT not printed); repeatable
  --samples N           N samples of the prompt, written together in one batch, each under a
                        header; sample k uses seed + k (default 1: one sample, streamed)
  --seed N              sampling seed, for repeatable output (default: random)`;

export async function sample(args) {
  const { values: o, positionals } = parse('sample', args, {
    prompt: { type: 'string', short: 'p' }, length: { type: 'string', short: 'n' },
    temperature: { type: 'string', short: 't' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' },
    'repetition-penalty': { type: 'string' }, stop: { type: 'string', multiple: true }, samples: { type: 'string' },
    seed: { type: 'string' },
  });
  if (o.help) return console.log(help);
  const file = onePositional('sample', positionals, 'model file');
  const length = number('length', o.length ?? '500', { int: true, min: 0, max: 1e9 });
  const temperature = number('temperature', o.temperature ?? '0.8', { min: 0, max: 100 });
  const topK = number('top-k', o['top-k'] ?? '0', { int: true, min: 0, max: limits.maxVocab });
  const topP = number('top-p', o['top-p'] ?? '1', { min: 0, max: 1 });
  const repetitionPenalty = number('repetition-penalty', o['repetition-penalty'] ?? '1', { min: 0, max: 100, minOpen: true });
  const samples = number('samples', o.samples ?? '1', { int: true, min: 1, max: limits.maxSamples });
  const stop = o.stop ?? [];
  if (stop.includes('')) throw new UsageError('--stop needs a non-empty text');
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
    const options = { prompt, length, temperature, topK, topP, repetitionPenalty, stop, seed };
    if (samples > 1) {
      const texts = model.generate({ ...options, n: samples });
      for (const [k, text] of texts.entries()) {
        await write(`${k ? '\n' : ''}--- sample ${k + 1} of ${samples} (seed ${(seed + k) % 2 ** 32}) ---\n${prompt}${text}\n`);
      }
      return 0;
    }
    await write(prompt);
    let buf = '';
    let last = prompt.slice(-1);
    for (const ch of model.generateChars({ ...options, chunk: 32 })) {
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
