// convert.mjs - "lstm-wasm convert": a model file rewritten for shipping: int8 weights
// (Model.save's quantize) or float without the training state, with the loss on a text before
// and after when asked, so the cost of the smaller file is a figure, not a guess.

import { existsSync } from 'node:fs';
import { Model, Session } from '../../dist/lstm.js';
import { PROG, UsageError, CliError, parse, choice, onePositional, loadModel, writeAtomic, readCorpus, textError, fmtBytes, fmtLoss } from './common.mjs';

export const help = `Usage: ${PROG} convert <model.lstm> --out FILE [options]

Writes the model for inference: without its training state (optimizer moments, data
position), and with --quantize int8 each weight matrix as int8 rows with a scale each (about
4x smaller; the file predicts and generates but cannot be trained).
  --out FILE            the new file (required; never the input)
  --quantize MODE       int8, or none (default: float32 weights)
  --eval TEXT           a character model's validation loss on TEXT (as "${PROG} eval" measures
                        it) before and after, and the change
  --force               replace an existing --out
  --json                the result as one JSON object

Example:
  ${PROG} convert shakespeare.lstm --out shakespeare-int8.lstm --quantize int8 --eval input.txt`;

/** Validation loss of model bytes on a corpus, as "lstm-wasm eval" measures it. */
async function validationLoss(bytes, corpus, what) {
  const session = await Session.open(await Model.load(bytes));
  try {
    session.configure({ batchSize: 1, seqLength: 1 });
    try {
      session.attach(corpus);
    } catch (e) {
      throw textError(`${what} cannot be measured on that text`, e);
    }
    return session.evaluate({ part: 'validation' });
  } finally {
    session.dispose();
  }
}

export async function convert(args) {
  const { values: o, positionals } = parse('convert', args, {
    out: { type: 'string' }, quantize: { type: 'string' }, eval: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' },
  });
  if (o.help) return console.log(help);
  const file = onePositional('convert', positionals, 'model file');
  if (!o.out) throw new UsageError('convert needs --out FILE (where the converted model is written)');
  const quantize = choice('quantize', o.quantize ?? 'none', ['int8', 'none']);
  if (o.out === file) throw new UsageError('--out must not be the input file');
  if (!o.force && existsSync(o.out)) throw new UsageError(`${o.out} exists: choose another --out, or --force to replace it`);
  const corpus = o.eval === undefined ? null : readCorpus(o.eval);
  const { model, bytes } = await loadModel(file);
  let converted;
  try {
    if (model.quantized && quantize === 'none') throw new CliError(`${file} is already int8: its float weights are gone, so it converts only to int8`);
    converted = model.save({ trainingState: false, quantize });
  } finally {
    model.dispose();
  }
  // measured before writing, so that a model that cannot be measured leaves no file behind
  const loss = corpus && { before: await validationLoss(bytes, corpus, file), after: await validationLoss(converted, corpus, o.out) };
  writeAtomic(o.out, converted);
  if (o.json) {
    console.log(JSON.stringify({ input: file, output: o.out, quantize, bytesBefore: bytes.length, bytesAfter: converted.length, ...(loss ? { lossBefore: loss.before, lossAfter: loss.after } : {}) }, null, 2));
    return 0;
  }
  console.log(`${o.out}: ${fmtBytes(converted.length)} (${file}: ${fmtBytes(bytes.length)}, ${(bytes.length / converted.length).toFixed(2)}x smaller)${quantize === 'int8' ? ', int8 weights, inference only' : ', no training state'}`);
  if (loss) {
    const change = ((loss.after - loss.before) / loss.before) * 100;
    console.log(`validation loss on ${o.eval}: ${fmtLoss(loss.before)} before, ${fmtLoss(loss.after)} after (${change >= 0 ? '+' : ''}${change.toFixed(3)}%)`);
  }
  return 0;
}
