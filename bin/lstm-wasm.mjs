#!/usr/bin/env node
// lstm-wasm - the command line: train a character model on a text file, sample from it,
// describe a model file, measure it on a text, move a model from and to TensorFlow.js. A shell
// around the library's Session (the same training session the demo page runs) and models; each
// command is a module in bin/cli/. Node.js >= 18; no dependencies beyond the package itself.
//
//   lstm-wasm train <corpus.txt> --out model.lstm [options]
//   lstm-wasm sample <model.lstm> [--prompt TEXT --length N --temperature T --seed N]
//   lstm-wasm info <model.lstm> [--json]
//   lstm-wasm eval <model.lstm> <text.txt> [--part validation|text] [--json]
//   lstm-wasm import-tfjs <model.json> --out model.lstm [--vocab FILE]
//   lstm-wasm export-tfjs <model.lstm> --out DIR
//   lstm-wasm convert <model.lstm> --out FILE [--quantize int8] [--eval text.txt]
//
// Exit status: 0 done, 1 a file or model problem (missing, unreadable, corrupt) or a failed
// step, 2 bad command line, 130 / 143 stopped by SIGINT / SIGTERM (after saving a checkpoint).

import { LstmError } from '../dist/lstm.js';
import { PKG, PROG, UsageError, CliError, levenshtein } from './cli/common.mjs';
import * as train from './cli/train.mjs';
import * as sample from './cli/sample.mjs';
import * as info from './cli/info.mjs';
import * as evaluate from './cli/eval.mjs';
import * as tfjs from './cli/tfjs.mjs';
import * as convert from './cli/convert.mjs';

const COMMANDS = {
  train: { run: train.train, help: train.help },
  sample: { run: sample.sample, help: sample.help },
  info: { run: info.info, help: info.help },
  eval: { run: evaluate.evaluate, help: evaluate.help },
  'import-tfjs': { run: tfjs.importTfjs, help: tfjs.importHelp },
  'export-tfjs': { run: tfjs.exportTfjs, help: tfjs.exportHelp },
  convert: { run: convert.convert, help: convert.help },
};

const HELP = `${PROG} ${PKG.version} - LSTM language models in WebAssembly

Usage:
  ${PROG} train <corpus.txt> --out model.lstm [options]   train a character model on a UTF-8 text
  ${PROG} sample <model.lstm> [options]                   generate text, streamed to stdout
  ${PROG} info <model.lstm> [--json]                      configuration, size, vocabulary, training state
  ${PROG} eval <model.lstm> <text.txt> [options]          validation loss on a text, nats and bits per char
  ${PROG} import-tfjs <model.json> --out model.lstm       a TensorFlow.js layers model (or a converted Keras one) as a model file
  ${PROG} export-tfjs <model.lstm> --out DIR              a model file as a TensorFlow.js layers model (DIR/model.json)
  ${PROG} convert <model.lstm> --out FILE [options]       for shipping: --quantize int8 (4x smaller), no training state

Run "${PROG} <command> --help" for the options of a command.
Exit status: 0 ok, 1 file or model problem, 2 bad command line, 130 interrupted.`;

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    if (command === 'help' && Object.hasOwn(COMMANDS, rest[0])) console.log(COMMANDS[rest[0]].help);
    else console.log(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    console.log(PKG.version);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, command)) {
    const best = Object.keys(COMMANDS).map((n) => [levenshtein(n, command), n]).sort((a, b) => a[0] - b[0])[0];
    throw new UsageError(`unknown command "${command}"${best[0] <= 2 ? ` (did you mean ${best[1]}?)` : ''}; the commands are ${Object.keys(COMMANDS).join(', ')}`);
  }
  return (await COMMANDS[command].run(rest)) ?? 0;
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
