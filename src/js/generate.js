// generate.js - text generation from a token model: the options checked, the prompt fed in,
// and characters produced in chunks of one lstm_generate call each. Model's generate methods
// are these functions; `core` is the model's handle ({ wasm, ptr, check }, see Model).

import { SAMPLING, STATUS, limits } from './abi.js';
import { checkInt, checkNumber, checkOptions } from './checks.js';
import { LstmError, statusError } from './errors.js';
import { Vocabulary } from './text.js';

/** Model.generateChars: a generator of one-character strings (see there for the options). */
export function generateChars(model, core, options = {}) {
  checkOptions('generate', options, ['prompt', 'length', 'temperature', 'topK', 'topP', 'seed', 'vocab', 'chunk']);
  const vocab = options.vocab ?? model.vocabulary;
  if (!(vocab instanceof Vocabulary)) throw new LstmError('generate needs a vocabulary: pass { vocab } or train on a TextDataset first');
  if (model.config.dense) throw new LstmError('generate needs a token model');
  const length = checkInt('length', options.length ?? 200, 0, 1e9);
  const sampling = {
    temperature: checkNumber('temperature', options.temperature ?? 1, 0, 100),
    topK: checkInt('topK', options.topK ?? 0, 0, limits.maxVocab),
    topP: checkNumber('topP', options.topP ?? 1, 0, 1),
  };
  const prompt = options.prompt ?? '';
  if (typeof prompt !== 'string') throw new LstmError('prompt must be a string');
  let ids = vocab.encode(prompt);
  if (ids.length === 0) ids = Int32Array.of(vocab.has('\n') ? vocab.index.get(10) : 0);
  for (const id of ids) {
    if (id >= model.config.vocabSize) throw statusError(STATUS.TOKEN_RANGE, `prompt token ${id} is outside the model's vocabulary of ${model.config.vocabSize}`);
  }
  core.check(core.wasm.x.lstm_infer_reset(core.ptr), 'generate');
  core.check(core.wasm.x.lstm_sampler_seed(core.ptr, checkInt('seed', options.seed ?? 1, 0, limits.maxSeed)), 'generate');
  // a bound on the heap block of one call, not a limit of the core
  const chunk = checkInt('chunk', options.chunk ?? 16, 1, 1 << 16);
  return emitChars(core, vocab, ids, length, sampling, chunk);
}

// The generator behind generateChars: the prompt goes in with the first chunk.
function* emitChars(core, vocab, ids, length, sampling, chunk) {
  const w = core.wasm;
  let promptLeft = ids;
  for (let done = 0; done < length;) {
    const n = Math.min(chunk, length - done);
    const out = w.scratch([SAMPLING.size, promptLeft.byteLength || 4, n * 4], (s, pr, o) => {
      w.writeStruct(SAMPLING, s, sampling);
      w.i32(pr, promptLeft.length).set(promptLeft);
      core.check(w.x.lstm_generate(core.ptr, pr, promptLeft.length, s, n, o), 'generate');
      return w.i32(o, n).slice();
    });
    promptLeft = new Int32Array(0);
    done += n;
    for (const id of out) yield String.fromCodePoint(vocab.codePoints[id]);
  }
}

/** Model.generate: the whole text as one string. */
export function generateText(model, vocabOrOptions, maybeOptions) {
  let out = '';
  for (const ch of model.generateChars(generateOptions(vocabOrOptions, maybeOptions))) out += ch;
  return out;
}

/** Model.generateStream: an async iterator of characters, yielding to the event loop between
 * chunks of 64. */
export async function* generateStream(model, vocabOrOptions, maybeOptions) {
  let i = 0;
  for (const ch of model.generateChars(generateOptions(vocabOrOptions, maybeOptions))) {
    yield ch;
    if (++i % 64 === 0) await new Promise((r) => setTimeout(r, 0));
  }
}

// generate's and generateStream's arguments: (vocab, options) or (options).
function generateOptions(vocabOrOptions, maybeOptions) {
  return vocabOrOptions instanceof Vocabulary ? { ...maybeOptions, vocab: vocabOrOptions } : (vocabOrOptions ?? {});
}
