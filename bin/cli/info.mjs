// info.mjs - "lstm-wasm info": what a model file holds: configuration, size, vocabulary,
// training state and, for a character model, its training session (settings, text, curves).

import path from 'node:path';
import { Session } from '../../dist/lstm.js';
import { PROG, parse, onePositional, loadModel, fmtInt, fmtBytes, fmtLoss, showChars } from './common.mjs';

export const help = `Usage: ${PROG} info <model.lstm> [--json]

Prints the configuration, parameter count, vocabulary and training state of a model file.
  --json                the same as one JSON object`;

// config fields printed on their own lines; any others (newer ones) are listed as they are
const KNOWN_CONFIG = ['vocabSize', 'inputSize', 'dense', 'hiddenSize', 'layers', 'outputSize', 'seed', 'dropout', 'initScale', 'forgetBias'];

/** The lines about a char model's training session (settings, text, progress, curves). */
function sessionLines(s) {
  const t = s.settings;
  const lines = [`  settings     --seq ${t.seqLength} --batch ${t.batchSize} --optimizer ${t.optimizer} --lr ${+t.learningRate.toPrecision(6)} ` +
    `--schedule ${t.schedule} --epochs ${+Number(t.epochs).toPrecision(6)} --clip ${t.clipNorm} --val ${t.validationFraction}`];
  const c = s.corpus;
  if (c) lines.push(`  corpus       ${c.name}, ${fmtInt(c.chars)} characters, ${c.vocabSize} distinct${c.fingerprint ? ` (fingerprint ${c.fingerprint})` : ''}`);
  const p = s.progress;
  lines.push(`  progress     ${fmtInt(p.steps)} steps, ${fmtInt(p.chars)} characters${p.skipped ? `, ${fmtInt(p.skipped)} skipped` : ''}`);
  const train = s.history.train?.at(-1);
  const val = s.history.val?.at(-1);
  if (train) lines.push(`  last loss    ${fmtLoss(train[1])} training, at ${fmtInt(train[0])} characters`);
  if (val) lines.push(`  last val     ${fmtLoss(val[1])} validation, at ${fmtInt(val[0])} characters`);
  return lines;
}

export async function info(args) {
  const { values: o, positionals } = parse('info', args, { json: { type: 'boolean' } });
  if (o.help) return console.log(help);
  const file = onePositional('info', positionals, 'model file');
  const { model, bytes } = await loadModel(file);
  try {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = dv.getUint32(8, true);
    const trainingState = (dv.getUint32(12, true) & 1) === 1;
    const c = model.config;
    const vocab = model.vocabulary;
    const tensors = model.tensors().map(({ name, rows, cols }) => ({ name, shape: cols === 1 && !name.includes('weight') ? [rows] : [rows, cols] }));
    const session = vocab && !c.dense ? Session.readMetadata(model) : null;
    const result = {
      file: path.resolve(file), bytes: bytes.length, formatVersion: version,
      config: { input: c.dense ? 'dense' : 'tokens', ...c },
      parameters: model.parameterCount, quantized: model.quantized, tensors,
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
      `${file}: lstm-wasm model, format version ${version}, ${fmtBytes(bytes.length)}${trainingState ? ', with training state' : model.quantized ? ', int8 weights (inference only)' : ', weights only'}`,
      `  input        ${c.dense ? `dense vectors of ${c.inputSize}` : `tokens (one-hot over ${c.inputSize})`}`,
      `  hidden size  ${c.hiddenSize}`,
      `  layers       ${c.layers}`,
      `  output size  ${c.outputSize}`,
      `  dropout      ${+c.dropout.toPrecision(6)}    seed ${c.seed}${c.forgetBias ? `    forget bias ${+c.forgetBias.toPrecision(6)}` : ''}`,
      ...Object.entries(c).filter(([k]) => !KNOWN_CONFIG.includes(k)).map(([k, v]) => `  ${k.padEnd(12)} ${v}`),
      `  parameters   ${fmtInt(model.parameterCount)} (${fmtBytes(model.parameterCount * 4)} of float32)`,
      `  vocabulary   ${vocab ? `${vocab.size} characters: ${showChars(Array.from(vocab.codePoints))}` : 'none'}`,
    ];
    if (model.quantized) {
      lines.push('  training     none: an int8 file predicts and generates; train from the float file it came from');
    } else if (trainingState) {
      const opt = model.optimizer;
      lines.push(`  training     ${fmtInt(model.stepCount)} steps, data position ${fmtInt(model.streamPosition)}, optimizer ${opt.type} (learning rate ${+opt.learningRate.toPrecision(6)}, clip ${+opt.clipNorm.toPrecision(6)})`);
    } else {
      lines.push('  training     no training state saved (weights only): training would start a fresh optimizer');
    }
    if (session?.from) lines.push(...sessionLines(session));
    if (m.converter) lines.push(`  converted    by ${m.converter} from ${m.source ?? '?'}${m.embedding?.folded ? ` (embedding ${m.embedding.key}, dim ${m.embedding.dim}, folded into weight_ih_l0)` : ''}`);
    if (result.metadata != null && !session?.from && !m.converter) {
      const s = JSON.stringify(result.metadata);
      lines.push(`  metadata     ${s.length > 200 ? `${s.slice(0, 200)}…` : s}`);
    }
    console.log(lines.join('\n'));
    return 0;
  } finally {
    model.dispose();
  }
}
