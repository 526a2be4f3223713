// tfjs_import.js - Model.fromTfjs: a TensorFlow.js layers model (model.save()'s model.json and
// weights, or a Keras model converted to that format) read into a model with the same outputs,
// or refused with an LstmError that names the layer and the option it cannot represent. What
// is read: [InputLayer] [Embedding] (LSTM | GRU | Bidirectional(LSTM | GRU), with Dropout
// between them) x L, then Dense or TimeDistributed(Dense) [Activation]. Nothing else.

import { checkNumber, checkOptions } from './checks.js';
import { Corpus } from './corpus.js';
import { LstmError } from './errors.js';
import { Vocabulary } from './text.js';
import { GATE_BLOCKS, importError, layerChain, readArtifacts, unsupported } from './tfjs_format.js';

const label = (layer) => `layer "${layer.name}" (${layer.className})`;

// Config keys that only shape training in Keras and TF.js (initial values, penalties, weight
// constraints): the weights are what they are, so these are read past.
const TRAINING_ONLY = ['kernel_initializer', 'recurrent_initializer', 'bias_initializer', 'embeddings_initializer',
  'kernel_regularizer', 'recurrent_regularizer', 'bias_regularizer', 'activity_regularizer', 'embeddings_regularizer',
  'kernel_constraint', 'recurrent_constraint', 'bias_constraint', 'embeddings_constraint', 'trainable', 'seed'];
const COMMON = ['name', 'dtype', 'batch_input_shape', 'batch_size', 'input_dim', 'input_length', ...TRAINING_ONLY];
// The keys each class may have: any other key, unless null, is refused (it could change the
// numbers in a way this importer does not know). implementation, unroll, use_cudnn and
// zero_output_for_mask choose how a result is computed, not which.
const KNOWN_KEYS = {
  rnn: ['units', 'activation', 'recurrent_activation', 'use_bias', 'unit_forget_bias', 'dropout', 'recurrent_dropout',
    'implementation', 'return_sequences', 'return_state', 'go_backwards', 'stateful', 'unroll', 'time_major', 'reset_after',
    'zero_output_for_mask', 'use_cudnn'],
  Dense: ['units', 'activation', 'use_bias'],
  Embedding: ['output_dim', 'mask_zero', 'sparse'],
  Dropout: ['rate', 'noise_shape'],
  Bidirectional: ['layer', 'merge_mode', 'backward_layer'],
  TimeDistributed: ['layer'],
  InputLayer: ['batch_shape', 'sparse', 'ragged', 'optional'],
  Activation: ['activation'],
};
const RECURRENT = ['LSTM', 'GRU'];

function checkKeys(layer, config, known) {
  for (const [key, value] of Object.entries(config)) {
    if (value === null || COMMON.includes(key) || known.includes(key)) continue;
    throw unsupported(`${label(layer)}: option ${key} (${JSON.stringify(value)}) is not known to this importer`);
  }
  // a Keras 3 dtype policy arrives as { class_name: 'DTypePolicy', config: { name } }; an
  // InputLayer's dtype is its input's (int32 token ids are fine), the others' their weights'
  const dtype = typeof config.dtype === 'object' && config.dtype !== null ? config.dtype.config?.name : config.dtype;
  if (dtype != null && dtype !== 'float32' && layer.className !== 'InputLayer') throw unsupported(`${label(layer)}: dtype ${JSON.stringify(dtype)}: only float32 layers are read`);
  for (const key of ['sparse', 'ragged']) if (config[key]) throw unsupported(`${label(layer)}: ${key} inputs are not read`);
}

// A declared input shape (batch_input_shape, or Keras 3's batch_shape), or null.
function declaredShape(config) {
  const shape = config.batch_input_shape ?? config.batch_shape;
  return Array.isArray(shape) ? shape : null;
}

const GATE_ACTIVATION = { sigmoid: 'sigmoid', hard_sigmoid: 'hardSigmoid', hardSigmoid: 'hardSigmoid' };

/** One LSTM or GRU config read into the cell options it needs. `kerasMajor` is the major
 * Keras version that wrote the file (3 changes hard_sigmoid), or null for TF.js. */
function readCell(layer, className, config, kerasMajor) {
  checkKeys(layer, config, KNOWN_KEYS.rnn);
  const what = label(layer);
  const cell = className.toLowerCase();
  const units = config.units;
  if (!Number.isInteger(units) || units < 1) throw importError(`${what}: units must be a positive integer, got ${JSON.stringify(units)}`);
  for (const flag of ['stateful', 'return_state', 'time_major']) {
    if (config[flag]) throw unsupported(`${what}: ${flag} is true: lstm-wasm's layers are not ${flag === 'stateful' ? 'stateful between calls' : flag === 'return_state' ? 'read for their states' : 'time-major'}`);
  }
  const activation = config.activation ?? 'tanh';
  if (activation !== 'tanh' && activation !== 'relu') throw unsupported(`${what}: activation ${JSON.stringify(activation)}: only tanh and relu are supported`);
  const ra = config.recurrent_activation;
  if (ra === 'hard_sigmoid' && kerasMajor >= 3) {
    throw unsupported(`${what}: recurrent_activation hard_sigmoid in a Keras ${kerasMajor} model: Keras 3 defines it as relu6(x + 3) / 6 (slope 1/6), lstm-wasm's hardSigmoid is Keras 2's and TF.js's clip(0.2x + 0.5, 0, 1); refused rather than imported with other numbers`);
  }
  if (!Object.hasOwn(GATE_ACTIVATION, ra)) throw unsupported(`${what}: recurrent_activation ${JSON.stringify(ra)}: only sigmoid and hard_sigmoid are supported`);
  let resetAfter = true;
  if (cell === 'gru') {
    // Keras before 2.1.5 had no reset_after: its GRU was the reset-before form (bias (3H))
    resetAfter = config.reset_after ?? false;
    if (typeof resetAfter !== 'boolean') throw importError(`${what}: reset_after must be true or false, got ${JSON.stringify(resetAfter)}`);
  } else if (config.reset_after != null) {
    throw importError(`${what}: reset_after is a GRU option`);
  }
  for (const key of ['dropout', 'recurrent_dropout']) {
    const v = config[key] ?? 0;
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw importError(`${what}: ${key} must be a number in [0, 1), got ${JSON.stringify(v)}`);
  }
  return {
    cell, units, activation, recurrentActivation: GATE_ACTIVATION[ra], resetAfter,
    useBias: config.use_bias ?? true, unitForgetBias: cell === 'lstm' && config.unit_forget_bias === true,
    returnSequences: config.return_sequences ?? false, goBackwards: config.go_backwards ?? false,
    dropout: config.dropout ?? 0, recurrentDropout: config.recurrent_dropout ?? 0,
  };
}

// A recurrent layer's options that must be the same in every layer of one lstm-wasm model.
const SHARED = [['cell', 'the cell'], ['units', 'units'], ['activation', 'activation'],
  ['recurrentActivation', 'recurrent_activation'], ['resetAfter', 'reset_after']];

/** A Bidirectional wrapper: the forward cell; its backward_layer, when written (Keras 3 always
 * writes it), must be the same layer reading backwards. */
function readBidirectional(layer, kerasMajor) {
  const { config } = layer;
  checkKeys(layer, config, KNOWN_KEYS.Bidirectional);
  const mode = config.merge_mode ?? 'concat';
  if (mode !== 'concat') throw unsupported(`${label(layer)}: merge_mode ${JSON.stringify(mode)}: only concat is supported (lstm-wasm puts both directions side by side)`);
  const inner = config.layer;
  if (!RECURRENT.includes(inner?.class_name)) throw unsupported(`${label(layer)} wraps ${inner?.class_name ?? 'nothing'}: only LSTM and GRU are supported`);
  const forward = readCell(layer, inner.class_name, inner.config ?? {}, kerasMajor);
  if (forward.goBackwards) throw unsupported(`${label(layer)}: its forward layer has go_backwards true`);
  const back = config.backward_layer;
  if (back != null) {
    if (back.class_name !== inner.class_name) throw unsupported(`${label(layer)}: backward_layer is a ${back.class_name}, the forward layer a ${inner.class_name}`);
    const backward = readCell(layer, back.class_name, back.config ?? {}, kerasMajor);
    if (!backward.goBackwards) throw unsupported(`${label(layer)}: backward_layer does not read backwards (go_backwards false)`);
    for (const key of ['units', 'activation', 'recurrentActivation', 'resetAfter', 'useBias', 'returnSequences', 'dropout', 'recurrentDropout']) {
      if (backward[key] !== forward[key]) throw unsupported(`${label(layer)}: backward_layer differs from the forward layer in ${key} (${backward[key]} vs ${forward[key]}): lstm-wasm's two directions share their options`);
    }
  }
  return { ...forward, innerName: String(inner.config?.name ?? '') };
}

/** The layers in order, checked one by one and against their neighbours: { input (the declared
 * shape), embedding, recurrent (one entry per layer), dropouts (dropouts[k]: the dropout
 * sources before recurrent layer k; k = L: before the head), dense, activation }. */
function planLayers(layers, kerasMajor) {
  const plan = { input: null, embedding: null, recurrent: [], dropouts: [[]], dense: null, activation: null };
  layers.forEach((layer, i) => {
    const { config, className } = layer;
    const shape = declaredShape(config);
    if (shape && i > 0 && !(i === 1 && layers[0].className === 'InputLayer')) throw unsupported(`${label(layer)} declares an input shape in the middle of the model`);
    if (shape) plan.input = shape;
    const after = plan.activation ?? plan.dense;
    if (after && className !== 'Activation' && !RECURRENT.includes(className) && className !== 'Bidirectional') throw unsupported(`${label(layer)} comes after ${label(after)}: lstm-wasm's last layer is the Dense head`);
    switch (className) {
      case 'InputLayer':
        checkKeys(layer, config, KNOWN_KEYS.InputLayer);
        if (i !== 0) throw unsupported(`${label(layer)} is not the first layer`);
        break;
      case 'Embedding':
        checkKeys(layer, config, KNOWN_KEYS.Embedding);
        if (plan.embedding || plan.recurrent.length || plan.dropouts[0].length) throw unsupported(`${label(layer)}: an Embedding is read only as the first layer`);
        if (!Number.isInteger(config.input_dim) || config.input_dim < 1) throw importError(`${label(layer)}: input_dim must be a positive integer, got ${JSON.stringify(config.input_dim)}`);
        if (config.mask_zero) throw unsupported(`${label(layer)}: mask_zero is true (token 0 masks the step): not supported; lstm-wasm masks by sequence length`);
        plan.embedding = layer;
        break;
      case 'Dropout': {
        checkKeys(layer, config, KNOWN_KEYS.Dropout);
        const rate = config.rate;
        if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw importError(`${label(layer)}: rate must be a number in [0, 1), got ${JSON.stringify(rate)}`);
        if (config.noise_shape != null) throw unsupported(`${label(layer)}: noise_shape (a mask shared across steps or features) is not supported`);
        if (rate > 0) plan.dropouts[plan.recurrent.length].push({ layer, rate });
        break;
      }
      case 'LSTM': case 'GRU': case 'Bidirectional': {
        const bidirectional = className === 'Bidirectional';
        const cell = bidirectional ? readBidirectional(layer, kerasMajor) : readCell(layer, className, config, kerasMajor);
        if (!bidirectional && cell.goBackwards) throw unsupported(`${label(layer)}: go_backwards is true outside a Bidirectional wrapper: not supported`);
        if (plan.dense) throw unsupported(`${label(plan.dense)} sits before ${label(layer)}: a Dense is read only as the head, after the last recurrent layer`);
        const prev = plan.recurrent.at(-1);
        if (prev) {
          if (!prev.returnSequences) throw unsupported(`${label(prev.layer)} returns only its last step but feeds ${label(layer)}`);
          for (const [key, name] of SHARED) {
            if (cell[key] !== prev[key]) throw unsupported(`${label(layer)}: ${name} ${cell[key]} differs from ${label(prev.layer)}'s ${prev[key]}: every layer of an lstm-wasm model has the same ${name}`);
          }
          if (bidirectional !== prev.bidirectional) throw unsupported(`${label(layer)} and ${label(prev.layer)}: lstm-wasm's layers are all bidirectional or none`);
        }
        if (cell.dropout > 0) plan.dropouts[plan.recurrent.length].push({ layer, rate: cell.dropout, option: 'dropout' });
        plan.recurrent.push({ ...cell, layer, bidirectional });
        plan.dropouts.push([]);
        break;
      }
      case 'Dense': case 'TimeDistributed': {
        let dense = layer;
        if (className === 'TimeDistributed') {
          checkKeys(layer, config, KNOWN_KEYS.TimeDistributed);
          if (config.layer?.class_name !== 'Dense') throw unsupported(`${label(layer)} wraps ${config.layer?.class_name ?? 'nothing'}: only a Dense head is supported`);
          dense = { name: layer.name, className: 'Dense', config: config.layer.config ?? {} };
          if (!plan.recurrent.at(-1)?.returnSequences) throw unsupported(`${label(layer)} needs a sequence, but the recurrent layer before it returns only its last step`);
        }
        checkKeys(dense, dense.config, KNOWN_KEYS.Dense);
        if (!plan.recurrent.length) throw unsupported(`${label(layer)} comes before any LSTM or GRU layer: lstm-wasm's only dense layer is the head, after the last recurrent layer`);
        plan.dense = { ...layer, units: dense.config.units, activation: dense.config.activation ?? 'linear', useBias: dense.config.use_bias ?? true };
        break;
      }
      case 'Activation':
        checkKeys(layer, config, KNOWN_KEYS.Activation);
        if (!plan.dense || plan.activation || plan.dense.activation !== 'linear') throw unsupported(`${label(layer)}: an Activation is read only right after a linear Dense head`);
        plan.activation = layer;
        break;
      case 'Masking':
        throw unsupported(`${label(layer)}: masking by a value is not supported (lstm-wasm masks by sequence length: pass sequences of different lengths to predict or fit)`);
      default:
        throw unsupported(`${label(layer)}: this layer is not supported (lstm-wasm reads Embedding, LSTM, GRU, Bidirectional, Dropout, Dense, TimeDistributed(Dense), Activation and InputLayer)`);
    }
  });
  if (!plan.recurrent.length) throw unsupported('the model has no LSTM or GRU layer');
  if (!plan.dense) throw unsupported(`the model ends with ${label(layers.at(-1))}: a Dense head (softmax or linear) must come last`);
  const act = plan.activation ? plan.activation.config.activation : plan.dense.activation;
  if (act !== 'softmax' && act !== 'linear') throw unsupported(`${label(plan.activation ?? plan.dense)}: activation ${JSON.stringify(act)}: the head must be softmax (head 'softmax') or linear (head 'mse')`);
  plan.head = act === 'softmax' ? 'softmax' : 'mse';
  return plan;
}

/** One dropout rate for every layer output (lstm-wasm's `dropout`) and one recurrent rate,
 * from where the model's dropouts sit; refused where they cannot be said that way, unless
 * the caller chose the rates. They matter only if the model is trained further. */
function dropoutRates(plan, options) {
  const hint = 'pass { dropout } (command line: --dropout) to choose the rate lstm-wasm applies to every layer output when trained further; predictions do not depend on it';
  let dropout = options.dropout;
  if (dropout !== undefined) {
    checkNumber('Model.fromTfjs: dropout', dropout, 0, 1, { maxOpen: true });
  } else {
    const [first, ...rest] = plan.dropouts;
    const source = (s) => `${label(s.layer)}${s.option ? `'s dropout option` : ''} (rate ${s.rate})`;
    if (first.length) throw unsupported(`${source(first[0])} drops the model's input: lstm-wasm's dropout acts between layers and before the head only; ${hint}`);
    for (const sources of rest) if (sources.length > 1) throw unsupported(`${sources.map(source).join(' and ')} drop the same values twice; ${hint}`);
    const rates = rest.map((s) => s[0]?.rate ?? 0);
    if (rates.some((r) => r !== rates[0])) {
      const where = rest.map((s, k) => `${k < rest.length - 1 ? `before ${label(plan.recurrent[k + 1].layer)}` : 'before the head'}: ${s[0] ? source(s[0]) : 'none'}`);
      throw unsupported(`the dropout differs between places (${where.join('; ')}), and lstm-wasm has one rate for every layer output; ${hint}`);
    }
    dropout = rates[0];
  }
  let recurrentDropout = options.recurrentDropout;
  if (recurrentDropout !== undefined) {
    checkNumber('Model.fromTfjs: recurrentDropout', recurrentDropout, 0, 1, { maxOpen: true });
  } else {
    const r = plan.recurrent.map((u) => u.recurrentDropout);
    if (r.some((v) => v !== r[0])) throw unsupported(`recurrent_dropout differs between layers (${plan.recurrent.map((u) => `${u.layer.name}: ${u.recurrentDropout}`).join(', ')}): lstm-wasm has one; pass { recurrentDropout } (--recurrent-dropout) to choose it`);
    recurrentDropout = r[0];
    const first = plan.recurrent[0];
    if (recurrentDropout > 0 && first.cell === 'gru' && !first.resetAfter) {
      throw unsupported(`${label(first.layer)}: recurrent_dropout ${recurrentDropout} in a GRU with reset_after false: lstm-wasm's reset-before GRU has no recurrent dropout (its reset gate would scale the masked state); pass { recurrentDropout: 0 } (--recurrent-dropout 0) to import it, predictions do not depend on it`);
    }
  }
  return { dropout, recurrentDropout };
}

// The weights under a layer's name: TF.js names them layer/kernel, tensorflowjs_converter's
// Keras files layer/cell/kernel; a Bidirectional's are layer/forward_x/... and layer/backward_x/....
function weightsUnder(art, name, used) {
  return art.names.filter((n) => n.startsWith(`${name}/`)).map((n) => {
    used.add(n);
    return { name: n, path: n.slice(name.length + 1).split('/'), ...art.weights.get(n) };
  });
}

/** The weights of one layer by role (the last part of their names), each checked against its
 * expected shape: roles maps a role to its shape, or to null where it must be absent. */
function byRole(what, list, roles) {
  const found = {};
  for (const w of list) {
    const role = w.path.at(-1);
    if (!Object.hasOwn(roles, role) || roles[role] === null) {
      throw importError(`${what}: weight "${w.name}" is not expected here (expected ${Object.keys(roles).filter((r) => roles[r]).join(', ')})`);
    }
    if (found[role]) throw importError(`${what}: two weights for ${role} ("${found[role].name}", "${w.name}")`);
    const shape = roles[role];
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw importError(`${what}: weight "${w.name}" has shape [${w.shape}], expected [${shape}]`);
    }
    found[role] = w;
  }
  for (const [role, shape] of Object.entries(roles)) if (shape && !found[role]) throw importError(`${what}: weight ${role} is missing`);
  return found;
}

// Keras's (X, G) kernel as our (G, X) rows in our gate order. `fold`, for the first layer of
// an embedded model: the (V, E) embedding table, folded in as W (G, E) @ table^T (E, V) in
// float64, rounded once (exact for every token: the lookup is a row of the table).
function gateRows(kernel, X, H, blocks, fold = null) {
  const G = blocks.length * H;
  const cols = fold ? fold.rows : X;
  const out = new Float32Array(G * cols);
  for (let b = 0; b < blocks.length; b++) {
    for (let j = 0; j < H; j++) {
      const row = b * H + j;
      const col = blocks[b] * H + j;
      if (!fold) {
        for (let x = 0; x < X; x++) out[row * X + x] = kernel[x * G + col];
        continue;
      }
      for (let v = 0; v < fold.rows; v++) {
        let s = 0;
        for (let e = 0; e < X; e++) s += fold.values[v * X + e] * kernel[e * G + col];
        out[row * fold.rows + v] = s;
      }
    }
  }
  return out;
}

// A bias of G values (at `offset` in Keras's vector) in our gate order.
function gateVector(bias, H, blocks, offset = 0) {
  const out = new Float32Array(blocks.length * H);
  if (!bias) return out;
  for (let b = 0; b < blocks.length; b++) for (let j = 0; j < H; j++) out[b * H + j] = bias[offset + blocks[b] * H + j];
  return out;
}

/** Our tensors (name -> Float32Array, in the layout of tensors()) from the plan's weights. */
function tensorsFromWeights(art, plan, sizes) {
  const used = new Set();
  const { H, D, X, V } = sizes;
  const blocks = GATE_BLOCKS[plan.recurrent[0].cell];
  const G = blocks.length * H;
  const out = new Map();
  let fold = null;
  if (plan.embedding) {
    const e = plan.embedding;
    const table = weightsUnder(art, e.name, used);
    const w = byRole(label(e), table, { embeddings: [e.config.input_dim, X] }).embeddings;
    fold = { rows: w.shape[0], values: w.values };
  }
  plan.recurrent.forEach((unit, l) => {
    const what = label(unit.layer);
    const inputs = l === 0 ? X : D * H;
    const roles = { kernel: [inputs, G], recurrent_kernel: [H, G], bias: unit.useBias ? (unit.resetAfter && unit.cell === 'gru' ? [2, G] : [G]) : null };
    const all = weightsUnder(art, unit.layer.name, used);
    const directions = unit.bidirectional ? ['forward', 'backward'] : [null];
    const stray = unit.bidirectional && all.find((w) => w.path.length < 2 || !/^(forward|backward)/.test(w.path[0]));
    if (stray) throw importError(`${what}: weight "${stray.name}" belongs to neither direction (forward_... or backward_...)`);
    directions.forEach((dir, d) => {
      const mine = dir ? all.filter((w) => w.path[0].startsWith(dir)) : all;
      const w = byRole(dir ? `${what}, ${dir} direction` : what, mine, roles);
      const sfx = `_l${l}${d ? '_reverse' : ''}`;
      out.set(`weight_ih${sfx}`, gateRows(w.kernel.values, inputs, H, blocks, l === 0 ? fold : null));
      out.set(`weight_hh${sfx}`, gateRows(w.recurrent_kernel.values, H, H, blocks));
      // LSTM and the reset-before GRU add their one bias outside every product: it goes to
      // bias_ih, with bias_hh zero. The reset-after GRU's second row is the recurrent bias,
      // which its reset gate scales with W_hn h: that is our bias_hh (PyTorch's form).
      const twoRows = unit.cell === 'gru' && unit.resetAfter;
      out.set(`bias_ih${sfx}`, gateVector(w.bias?.values, H, blocks));
      out.set(`bias_hh${sfx}`, twoRows ? gateVector(w.bias?.values, H, blocks, G) : new Float32Array(G));
    });
  });
  const dense = plan.dense;
  const head = byRole(label(dense), weightsUnder(art, dense.name, used), { kernel: [D * H, V], bias: dense.useBias ? [V] : null });
  const weight = new Float32Array(V * D * H);
  for (let v = 0; v < V; v++) for (let i = 0; i < D * H; i++) weight[v * D * H + i] = head.kernel.values[i * V + v];
  out.set('out.weight', weight);
  out.set('out.bias', head.bias ? head.bias.values : new Float32Array(V));
  const stray = art.names.filter((n) => !used.has(n));
  if (stray.length) throw importError(`weight${stray.length > 1 ? 's' : ''} ${stray.map((n) => `"${n}"`).join(', ')} belong${stray.length > 1 ? '' : 's'} to no layer that was read`);
  return out;
}

// The vocabulary option: a Vocabulary or a Corpus (its vocabulary).
function vocabularyOption(vocab) {
  if (vocab === undefined) return null;
  if (vocab instanceof Corpus) return vocab.vocab;
  if (vocab instanceof Vocabulary) return vocab;
  throw new LstmError('Model.fromTfjs: vocab must be a Vocabulary or a Corpus');
}

/**
 * Model.fromTfjs(modelJson, weightData, options) (see model.js). Model is passed in by
 * model.js (this module would otherwise import it back).
 */
export async function fromTfjs(Model, artifacts, weightData, options = {}) {
  checkOptions('Model.fromTfjs', options, ['vocab', 'dropout', 'recurrentDropout', 'wasm']);
  let vocab = vocabularyOption(options.vocab);
  const art = readArtifacts(artifacts, weightData);
  const major = /^(\d+)\./.exec(art.kerasVersion);
  const layers = layerChain(art.topology);
  const plan = planLayers(layers, major ? Number(major[1]) : null);
  const rates = dropoutRates(plan, options);
  const first = plan.recurrent[0];
  const D = first.bidirectional ? 2 : 1;
  const H = first.units;
  // X: the first layer's input width, from its kernel (the declared shape, when there is one, must agree)
  const kernelName = art.names.find((n) => n.startsWith(`${first.layer.name}/`) && n.endsWith('/kernel') && !n.endsWith('recurrent_kernel'));
  const X = kernelName ? art.weights.get(kernelName).shape[0] : NaN;
  const declared = plan.input?.at(-1);
  if (!plan.embedding && plan.input && plan.input.length === 3 && declared != null && declared !== X) {
    throw importError(`the input shape declares ${declared} features but ${label(first.layer)}'s kernel reads ${X}`);
  }
  const V = plan.dense.units;
  if (!Number.isInteger(V) || V < 1) throw importError(`${label(plan.dense)}: units must be a positive integer, got ${JSON.stringify(V)}`);
  if (!vocab && plan.embedding) {
    // a model exported by toTfjs carries its vocabulary
    const cps = art.userDefinedMetadata?.lstmWasm?.vocabulary;
    if (Array.isArray(cps) && cps.length === plan.embedding.config.input_dim) vocab = new Vocabulary(cps);
  }
  const vocabSize = plan.embedding ? plan.embedding.config.input_dim : vocab ? X : 0;
  if (vocab && vocab.size !== vocabSize) {
    throw importError(`the vocabulary has ${vocab.size} characters but the model reads ${plan.embedding ? `${vocabSize} tokens (its Embedding's input_dim)` : `${X} features (a one-hot input needs one per character)`}`);
  }
  const tensors = tensorsFromWeights(art, plan, { H, D, X, V });
  const model = await Model.create({
    ...(vocabSize ? { vocabSize } : { inputSize: X }), outputSize: V, hiddenSize: H, layers: plan.recurrent.length,
    cell: first.cell, bidirectional: D === 2, head: plan.head, returnSequences: plan.recurrent.at(-1).returnSequences,
    activation: first.activation, recurrentActivation: first.recurrentActivation,
    ...(first.cell === 'gru' ? { resetAfter: first.resetAfter } : {}),
    ...rates, forgetBias: first.unitForgetBias ? 1 : 0,  // Keras's unit_forget_bias: 1 added at initialisation
    ...(options.wasm ? { wasm: options.wasm } : {}),
  });
  try {
    const params = new Float32Array(model.parameterCount);
    for (const t of model.tensors()) {
      const values = tensors.get(t.name);
      // the plan builds exactly the tensors of this config: anything else is a bug here
      if (!values || values.length !== t.size) throw new Error(`fromTfjs: tensor ${t.name} has ${values?.length} values, the model ${t.size}`);
      params.set(values, t.offset);
      tensors.delete(t.name);
    }
    if (tensors.size) throw new Error(`fromTfjs: tensors ${[...tensors.keys()]} are not in the model`);
    model.setParameters(params);
    if (vocab) model.setVocabulary(vocab);
    model.metadata = {
      converter: 'Model.fromTfjs',
      source: art.generatedBy ?? (art.kerasVersion ? `keras ${art.kerasVersion}` : 'TensorFlow.js'),
      layers: layers.map((l) => `${l.name} (${l.className})`),
      ...(plan.embedding ? { embedding: { folded: true, key: plan.embedding.name, dim: X } } : {}),
    };
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}
