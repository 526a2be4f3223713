// extend.js - Model.extendVocabulary: a character model given symbols it has never seen. The
// new model has the old vocabulary followed by the new symbols, so every old id keeps its
// meaning; the input columns and output rows of the new symbols come from a fresh model of the
// extended shape (Model.create with the same options and seed), everything else is the old
// model's, tensor by tensor in the PyTorch layout. Not the training state: see types/model.d.ts.

import { STATUS } from './abi.js';
import { LstmError, statusError } from './errors.js';
import { Vocabulary } from './text.js';

/** The checks, before anything is made: what the model is, and what vocab adds. */
function symbolsToAdd(model, vocab) {
  if (!(vocab instanceof Vocabulary)) throw new LstmError('extendVocabulary needs a Vocabulary (Vocabulary.fromText(text), or a Corpus\'s vocab)');
  const c = model.config;
  if (c.dense) throw statusError(STATUS.STATE, 'extendVocabulary: the model reads dense inputs, not symbols');
  // the outputs must be the symbols too (a classifier over tokens has other classes)
  if (c.head !== 'softmax' || c.outputSize !== c.vocabSize) {
    throw statusError(STATUS.STATE, `extendVocabulary: the model's outputs (${c.head}, ${c.outputSize}) are not its ${c.vocabSize} input symbols: ` +
      'only a next-symbol model (softmax over its vocabulary) can be extended');
  }
  if (model.quantized) {
    throw statusError(STATUS.STATE, 'extendVocabulary: a quantised (int8) model has no float weights to extend; extend the float model, then save it as int8');
  }
  const old = model.vocabulary;
  if (!old) throw statusError(STATUS.STATE, 'extendVocabulary: the model has no vocabulary (setVocabulary first)');
  return Array.from(vocab.codePoints).filter((cp) => !old.index.has(cp));
}

/** Model.extendVocabulary (see types/model.d.ts). `Model` is passed in: model.js imports this file. */
export async function extendVocabulary(Model, model, wasm, vocab) {
  const added = symbolsToAdd(model, vocab);
  const old = model.vocabulary;
  const V = old.size + added.length;
  // Model.config is Model.create's options, but for the sizes that follow from the vocabulary
  const { vocabSize, inputSize, outputSize, dense, ...options } = model.config;
  // the metadata first: a model whose metadata is not JSON fails before anything is made
  let metadata;
  try {
    metadata = model.metadata;
  } catch (e) {
    throw new LstmError(`extendVocabulary: ${e.message}; it cannot be carried over`, e.code, e.status);
  }
  const next = await Model.create({ ...options, vocabSize: V, outputSize: V, wasm });
  try {
    const from = model.tensors();
    const into = next.tensors();
    const src = model.parameters();
    const dst = next.parameters();
    // Same names in the same order; a tensor with the vocabulary as a dimension (weight_ih of
    // layer 0: columns, out.weight and out.bias: rows) grows, and the old values go to its
    // first rows and columns, where PyTorch's state_dict of the same model keeps them.
    from.forEach((a, n) => {
      const b = into[n];
      if (a.name !== b.name || b.rows < a.rows || b.cols < a.cols) {
        throw statusError(STATUS.STATE, `extendVocabulary: tensor ${n} is ${a.name} (${a.rows}, ${a.cols}) in the model but ${b.name} (${b.rows}, ${b.cols}) in the extended one`);
      }
      for (let r = 0; r < a.rows; r++) dst.set(src.subarray(a.offset + r * a.cols, a.offset + (r + 1) * a.cols), b.offset + r * b.cols);
    });
    next.setParameters(dst);
    next.setVocabulary(new Vocabulary([...old.codePoints, ...added]));
    next.metadata = metadata;
    next.setOptimizer(model.optimizer);
    next.setStepGuard(model.stepGuard);
    return next;
  } catch (e) {
    next.dispose();
    throw e;
  }
}
