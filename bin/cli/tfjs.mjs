// tfjs.mjs - "lstm-wasm import-tfjs" and "lstm-wasm export-tfjs": a TensorFlow.js layers model
// (model.json and its weight files) to a model file and back. The files are read and written
// here; the conversion is the library's (Model.fromTfjs, model.toTfjs).

import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Model, Vocabulary, Corpus, LstmError } from '../../dist/lstm.js';
import { PROG, UsageError, CliError, parse, number, onePositional, loadModel, readInput, writeAtomic, fmtBytes, fmtInt } from './common.mjs';

export const importHelp = `Usage: ${PROG} import-tfjs <model.json> --out model.lstm [options]

Reads a TensorFlow.js layers model (model.json as model.save() writes it, with its weight files
beside it, as the manifest names them) and writes it as an lstm-wasm model file. Keras .h5 and
.keras files convert to this format first: tools/keras_to_tfjs.py, or tensorflowjs_converter.
  --out FILE            the model file to write (required)
  --vocab FILE          the characters of a character model: a .json list of characters in token
                        order, or a text file whose sorted distinct characters are the vocabulary
  --dropout P           the dropout rate stored for further training, where the model's own
                        Dropout layers cannot be said as one rate (predictions do not depend on it)
  --recurrent-dropout P the same for recurrent_dropout`;

export const exportHelp = `Usage: ${PROG} export-tfjs <model.lstm> --out DIR

Writes DIR/model.json and DIR/weights.bin: a TensorFlow.js layers model that
tf.loadLayersModel('file://DIR/model.json') (or over http) loads, with the same outputs.
  --out DIR             the directory to write (made if missing)`;

/** A --vocab file as a Vocabulary: a JSON list of characters (or code points) in token order,
 * or a text whose sorted distinct characters are the vocabulary (as the training commands,
 * after the same clean-up of line ends and byte-order mark). */
function readVocab(file) {
  const text = readInput(file, '--vocab').toString('utf8');
  try {
    if (!file.endsWith('.json')) return new Corpus(text).vocab;
    const list = JSON.parse(text);
    if (!Array.isArray(list)) throw new CliError(`--vocab ${file} must hold a JSON list of characters`);
    return new Vocabulary(list.map((c, i) => {
      if (typeof c === 'string' && [...c].length === 1) return c.codePointAt(0);
      if (Number.isInteger(c)) return c;
      throw new CliError(`--vocab ${file}: entry ${i} (${JSON.stringify(c)}) is not one character`);
    }));
  } catch (e) {
    if (e instanceof SyntaxError) throw new CliError(`--vocab ${file} is not JSON: ${e.message}`);
    if (e instanceof LstmError) throw new CliError(`--vocab ${file}: ${e.message}`);
    throw e;
  }
}

export async function importTfjs(args) {
  const { values: o, positionals } = parse('import-tfjs', args, {
    out: { type: 'string', short: 'o' }, vocab: { type: 'string' }, dropout: { type: 'string' }, 'recurrent-dropout': { type: 'string' },
  });
  if (o.help) return console.log(importHelp);
  const file = onePositional('import-tfjs', positionals, 'model.json');
  if (!o.out) throw new UsageError('import-tfjs needs --out FILE (the model file to write)');
  const options = {};
  if (o.dropout !== undefined) options.dropout = number('dropout', o.dropout, { min: 0, max: 1, maxOpen: true });
  if (o['recurrent-dropout'] !== undefined) options.recurrentDropout = number('recurrent-dropout', o['recurrent-dropout'], { min: 0, max: 1, maxOpen: true });
  if (o.vocab) options.vocab = readVocab(o.vocab);
  const source = readInput(file).toString('utf8');
  let json;
  try {
    json = JSON.parse(source);
  } catch (e) {
    throw new CliError(`${file} is not JSON: ${e.message}`);
  }
  // the weight files, named by the manifest relative to model.json, in manifest order
  const dir = path.dirname(file);
  const paths = Array.isArray(json?.weightsManifest) ? json.weightsManifest.flatMap((g) => (Array.isArray(g?.paths) ? g.paths : [])) : [];
  const parts = paths.map((p) => {
    if (typeof p !== 'string' || /^[a-z][\w+.-]*:/i.test(p) || path.isAbsolute(p)) throw new CliError(`${file} names the weight file ${JSON.stringify(p)}: only files beside model.json are read`);
    return readInput(path.join(dir, p), `the weight file (named by ${file})`);
  });
  let model;
  try {
    model = await Model.fromTfjs(json, parts, options);
  } catch (e) {
    if (e instanceof LstmError) throw new CliError(`cannot import ${file}: ${e.message.replace(/^Model\.fromTfjs: /, '')}`);
    throw e;
  }
  try {
    const bytes = model.save({ trainingState: false });
    writeAtomic(o.out, bytes);
    const c = model.config;
    console.log(`wrote ${o.out}: ${c.cell.toUpperCase()}${c.bidirectional ? ' bidirectional' : ''} ${c.layers} x ${c.hiddenSize}, `
      + `${c.dense ? `${c.inputSize} input features` : `${c.vocabSize} tokens in`}, ${c.outputSize} out (${c.head}${c.returnSequences ? '' : ', last step'}), `
      + `${fmtInt(model.parameterCount)} parameters, vocabulary ${model.vocabulary ? model.vocabulary.size : 'none'}, ${fmtBytes(bytes.length)}`);
    return 0;
  } finally {
    model.dispose();
  }
}

export async function exportTfjs(args) {
  const { values: o, positionals } = parse('export-tfjs', args, { out: { type: 'string', short: 'o' } });
  if (o.help) return console.log(exportHelp);
  const file = onePositional('export-tfjs', positionals, 'model file');
  if (!o.out) throw new UsageError('export-tfjs needs --out DIR (where model.json and weights.bin go)');
  const { model } = await loadModel(file);
  try {
    let artifacts;
    try {
      artifacts = model.toTfjs({ weightsPath: './weights.bin' });
    } catch (e) {
      if (e instanceof LstmError) throw new CliError(`cannot export ${file}: ${e.message.replace(/^toTfjs: /, '')}`);
      throw e;
    }
    try {
      mkdirSync(o.out, { recursive: true });
    } catch (e) {
      throw new CliError(`cannot make the directory ${o.out}: ${e.message}`);
    }
    if (!statSync(o.out).isDirectory()) throw new CliError(`${o.out} is not a directory`);
    writeAtomic(path.join(o.out, 'weights.bin'), new Uint8Array(artifacts.weightData));
    writeAtomic(path.join(o.out, 'model.json'), `${JSON.stringify(artifacts.modelJson)}\n`);
    console.log(`wrote ${path.join(o.out, 'model.json')} and weights.bin (${fmtBytes(artifacts.weightData.byteLength)}): `
      + `${artifacts.modelTopology.config.layers.map((l) => l.class_name).join(' -> ')}`);
    return 0;
  } finally {
    model.dispose();
  }
}
