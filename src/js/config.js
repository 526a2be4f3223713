// config.js - Model.create's options checked and turned into lstm_config's fields, and an
// lstm_config turned back into Model.config.

import { ACTIVATIONS, CELL_TYPES, GATE_ACTIVATIONS, HEAD_TYPES, limits } from './abi.js';
import { checkBoolean, checkChoice, checkInt, checkNumber, checkOptions } from './checks.js';
import { LstmError } from './errors.js';

const MODEL_OPTIONS = ['vocabSize', 'inputSize', 'outputSize', 'hiddenSize', 'layers', 'seed', 'dropout',
  'initScale', 'forgetBias', 'head', 'returnSequences', 'cell', 'recurrentDropout', 'orthogonalInit',
  'peephole', 'cifg', 'activation', 'projSize', 'layerNorm', 'bidirectional', 'recurrentActivation', 'resetAfter', 'wasm'];

/** The first stage of Model.create's checks, before the module is loaded: the option names
 * and the choices. Returns the choices with their defaults. */
export function checkModelChoices(options) {
  checkOptions('Model.create', options, MODEL_OPTIONS);
  const activation = checkChoice('activation', options.activation ?? 'tanh', ACTIVATIONS);
  const orthogonalInit = checkBoolean('orthogonalInit', options.orthogonalInit ?? false);
  const cell = checkChoice('cell', options.cell ?? 'lstm', CELL_TYPES);
  if (cell === 'gru' && (options.peephole || options.cifg)) throw new LstmError('peephole and cifg are LSTM variants: the GRU has neither');
  const head = checkChoice('head', options.head ?? 'softmax', HEAD_TYPES);
  const returnSequences = checkBoolean('returnSequences', options.returnSequences ?? true);
  const recurrentActivation = checkChoice('recurrentActivation', options.recurrentActivation ?? 'sigmoid', GATE_ACTIVATIONS);
  const resetAfter = checkBoolean('resetAfter', options.resetAfter ?? true);
  if (!resetAfter && cell !== 'gru') throw new LstmError('resetAfter is a GRU option (Keras reset_after): the LSTM has no reset gate');
  return { activation, orthogonalInit, cell, head, returnSequences, recurrentActivation, resetAfter };
}

/** The second stage: sizes and numbers, checked in the order of lstm_config's fields, and
 * the fields themselves (for abi.js's writeStruct of CONFIG). */
export function configFields(options, choices) {
  const flag = (name) => (checkBoolean(name, options[name] ?? false) ? 1 : 0);
  const dense = options.inputSize !== undefined;
  if (!dense && options.vocabSize === undefined) throw new LstmError('vocabSize (or inputSize for dense inputs) is required');
  return {
    inputVocab: dense ? 0 : checkInt('vocabSize', options.vocabSize, 1, limits.maxVocab),
    inputSize: dense ? checkInt('inputSize', options.inputSize, 1, limits.maxInput) : 0,
    outputSize: checkInt('outputSize', options.outputSize ?? options.vocabSize, 1, limits.maxVocab),
    hiddenSize: checkInt('hiddenSize', options.hiddenSize ?? 128, 1, limits.maxHidden),
    numLayers: checkInt('layers', options.layers ?? 1, 1, limits.maxLayers),
    seed: checkInt('seed', options.seed ?? 1, 0, limits.maxSeed),
    dropout: checkNumber('dropout', options.dropout ?? 0, 0, 1, { maxOpen: true }),
    initScale: checkNumber('initScale', options.initScale ?? 0, 0, 100),
    forgetBias: checkNumber('forgetBias', options.forgetBias ?? 0, -100, 100),
    head: HEAD_TYPES.indexOf(choices.head),
    lastStepOnly: choices.returnSequences ? 0 : 1,
    cell: CELL_TYPES.indexOf(choices.cell),
    recurrentDropout: checkNumber('recurrentDropout', options.recurrentDropout ?? 0, 0, 1, { maxOpen: true }),
    orthogonalInit: choices.orthogonalInit ? 1 : 0,
    peephole: flag('peephole'),
    cifg: flag('cifg'),
    activation: ACTIVATIONS.indexOf(choices.activation),
    // the projection must be narrower than the hidden state; the core names the exact bound
    projSize: checkInt('projSize', options.projSize ?? 0, 0, limits.maxHidden - 1),
    layerNorm: flag('layerNorm'),
    bidirectional: flag('bidirectional'),
    recurrentActivation: GATE_ACTIVATIONS.indexOf(choices.recurrentActivation),
    gruResetBefore: choices.resetAfter ? 0 : 1,
  };
}

/** Model.config from the fields of an lstm_config (abi.js's readStruct of CONFIG). */
export function modelConfig(c) {
  return Object.freeze({
    vocabSize: c.inputVocab || undefined,
    inputSize: c.inputVocab ? c.inputVocab : c.inputSize,
    dense: c.inputVocab === 0,
    hiddenSize: c.hiddenSize,
    layers: c.numLayers,
    outputSize: c.outputSize,
    seed: c.seed,
    dropout: c.dropout,
    initScale: c.initScale,
    forgetBias: c.forgetBias,
    head: HEAD_TYPES[c.head],
    returnSequences: c.lastStepOnly === 0,
    cell: CELL_TYPES[c.cell],
    recurrentDropout: c.recurrentDropout,
    orthogonalInit: c.orthogonalInit === 1,
    peephole: c.peephole === 1,
    cifg: c.cifg === 1,
    activation: ACTIVATIONS[c.activation],
    projSize: c.projSize,
    layerNorm: c.layerNorm === 1,
    bidirectional: c.bidirectional === 1,
    recurrentActivation: GATE_ACTIVATIONS[c.recurrentActivation],
    resetAfter: c.gruResetBefore === 0,
  });
}
