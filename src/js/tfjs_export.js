// tfjs_export.js - model.toTfjs(): a model as a TensorFlow.js layers model (the artifacts
// model.save() hands a save handler, and model.json for files) that tf.loadLayersModel loads
// and that computes the same outputs. Only what TF.js computes is exported; the rest is
// refused with an LstmError naming the option.

import { checkOptions } from './checks.js';
import { LstmError } from './errors.js';
import { GATE_BLOCKS, modelJsonFor } from './tfjs_format.js';

const refuse = (message) => new LstmError(`toTfjs: ${message}`, 'UNSUPPORTED');

// Options of ours that no TF.js layer computes.
const NO_TFJS = [
  ['peephole', 'peephole connections: TF.js\'s LSTM has none'],
  ['cifg', 'a coupled input/forget gate (cifg): TF.js\'s LSTM has separate gates'],
  ['projSize', 'a projection of the hidden state (projSize): TF.js\'s LSTM has none'],
  ['layerNorm', 'layer normalisation inside the cell: TF.js\'s LSTM has none'],
];

// (G, X) rows in our gate order -> Keras's (X, G) kernel, gate blocks reordered.
function kernelFromRows(rows, X, H, blocks) {
  const G = blocks.length * H;
  const out = new Float32Array(X * G);
  for (let b = 0; b < blocks.length; b++) {
    for (let j = 0; j < H; j++) {
      const row = b * H + j;
      const col = blocks[b] * H + j;
      for (let x = 0; x < X; x++) out[x * G + col] = rows[row * X + x];
    }
  }
  return out;
}

/** The model as TF.js artifacts: { modelTopology, format, generatedBy, convertedBy,
 * weightSpecs, weightData (ArrayBuffer), userDefinedMetadata, modelJson } - the first ones as
 * a save handler receives them (tf.io.fromMemory takes them), modelJson the model.json that
 * names the weights file weightsPath (default './weights.bin', as TF.js's savers write it). */
export function toTfjs(model, options = {}) {
  const { weightsPath = './weights.bin' } = checkOptions('toTfjs', options, ['weightsPath']);
  if (typeof weightsPath !== 'string' || weightsPath === '') throw new LstmError('toTfjs: weightsPath must be a file name');
  if (model.quantized) throw refuse('a quantised (int8) model keeps no float weights to export; export the float model it was saved from');
  const c = model.config;
  for (const [option, why] of NO_TFJS) if (c[option]) throw refuse(`the model uses ${why}`);
  if (c.cell === 'gru' && c.resetAfter) {
    throw refuse('a GRU with resetAfter true (PyTorch\'s form, the default): TF.js 4.22\'s GRU computes only reset_after false (it refuses resetAfter: true); create the model with resetAfter: false to export it');
  }
  const params = model.parameters();
  const info = new Map(model.tensors().map((t) => [t.name, t]));
  const tensor = (name) => {
    const t = info.get(name);
    return params.subarray(t.offset, t.offset + t.size);
  };
  const H = c.hiddenSize;
  const D = c.bidirectional ? 2 : 1;
  const blocks = GATE_BLOCKS[c.cell];
  const G = blocks.length * H;
  const X = c.inputSize;  // the vocabulary size for a token model
  const specs = [];
  const values = [];
  const add = (name, shape, data) => { specs.push({ name, shape, dtype: 'float32' }); values.push(data); };
  const layers = [];
  const batchShape = c.dense ? [null, null, X] : [null, null];

  // Token inputs need an Embedding in TF.js. Either representation is exact: an Embedding
  // lookup copies one row, and a product of a row with an identity block (or a one-hot row
  // with a kernel) adds the copied values to exact zeros. Identity embedding (V, V) with the
  // first kernels W_ih^T: V*V + D*V*G values; embedding = [W_ih^T of each direction] (V, D*G)
  // with identity-block kernels: V*D*G + D*D*G*G. The smaller one is written.
  let firstInputs = X;
  let firstKernels = null;  // per direction, when the embedding carries W_ih
  if (!c.dense) {
    const V = X;
    const identityTable = V * V + D * V * G <= V * D * G + D * D * G * G;
    const width = identityTable ? V : D * G;
    const table = new Float32Array(V * width);
    if (identityTable) {
      for (let v = 0; v < V; v++) table[v * V + v] = 1;
    } else {
      for (let d = 0; d < D; d++) {
        const k = kernelFromRows(tensor(`weight_ih_l0${d ? '_reverse' : ''}`), V, H, blocks);  // (V, G)
        for (let v = 0; v < V; v++) table.set(k.subarray(v * G, (v + 1) * G), v * width + d * G);
      }
      firstKernels = Array.from({ length: D }, (_, d) => {
        const k = new Float32Array(width * G);
        for (let g = 0; g < G; g++) k[(d * G + g) * G + g] = 1;
        return k;
      });
    }
    layers.push({ class_name: 'Embedding', config: { name: 'embedding', trainable: true, batch_input_shape: batchShape, dtype: 'float32', input_dim: V, output_dim: width, mask_zero: false, input_length: null } });
    add('embedding/embeddings', [V, width], table);
    firstInputs = width;
  }

  for (let l = 0; l < c.layers; l++) {
    const className = c.cell === 'gru' ? 'GRU' : 'LSTM';
    const name = `${c.cell}_${l}`;
    const last = l === c.layers - 1;
    const cell = {
      name, trainable: true, dtype: 'float32', units: H, activation: c.activation,
      recurrent_activation: c.recurrentActivation === 'hardSigmoid' ? 'hard_sigmoid' : 'sigmoid', use_bias: true,
      ...(c.cell === 'lstm' ? { unit_forget_bias: c.forgetBias === 1 } : { reset_after: false }),
      dropout: 0, recurrent_dropout: c.recurrentDropout, return_sequences: !last || c.returnSequences,
      return_state: false, go_backwards: false, stateful: false, unroll: false,
    };
    const inputs = l === 0 ? firstInputs : D * H;
    const prefix = D === 2 ? `bidirectional_${l}` : name;
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d ? '_reverse' : ''}`;
      const at = D === 2 ? `${prefix}/${d ? 'backward' : 'forward'}_${name}` : prefix;
      add(`${at}/kernel`, [inputs, G], l === 0 && firstKernels ? firstKernels[d] : kernelFromRows(tensor(`weight_ih${sfx}`), inputs, H, blocks));
      add(`${at}/recurrent_kernel`, [H, G], kernelFromRows(tensor(`weight_hh${sfx}`), H, H, blocks));
      // TF.js has one bias: ours are both added outside every product (the LSTM, and the GRU
      // with its reset gate before W_hn), so it is their sum
      const bias = new Float32Array(G);
      const [bi, bh] = [tensor(`bias_ih${sfx}`), tensor(`bias_hh${sfx}`)];
      for (let b = 0; b < blocks.length; b++) for (let j = 0; j < H; j++) bias[blocks[b] * H + j] = bi[b * H + j] + bh[b * H + j];
      add(`${at}/bias`, [G], bias);
    }
    const shape = l === 0 && c.dense ? { batch_input_shape: batchShape } : {};
    layers.push(D === 2
      ? { class_name: 'Bidirectional', config: { name: prefix, trainable: true, ...shape, layer: { class_name: className, config: cell }, merge_mode: 'concat' } }
      : { class_name: className, config: { ...cell, ...shape } });
    // our dropout acts on every layer's output: between layers and before the head
    if (c.dropout > 0) layers.push({ class_name: 'Dropout', config: { name: `dropout_${l}`, trainable: true, rate: c.dropout, noise_shape: null, seed: null } });
  }

  const V = c.outputSize;
  const I = D * H;
  const w = tensor('out.weight');  // (V, I)
  const kernel = new Float32Array(I * V);
  for (let v = 0; v < V; v++) for (let i = 0; i < I; i++) kernel[i * V + v] = w[v * I + i];
  layers.push({ class_name: 'Dense', config: { name: 'dense', trainable: true, dtype: 'float32', units: V, activation: c.head === 'softmax' ? 'softmax' : 'linear', use_bias: true } });
  add('dense/kernel', [I, V], kernel);
  add('dense/bias', [V], tensor('out.bias'));

  const total = values.reduce((n, v) => n + v.length, 0);
  const data = new Float32Array(total);
  let at = 0;
  for (const v of values) { data.set(v, at); at += v.length; }
  const vocab = model.vocabulary;
  const artifacts = {
    // the topology as tfjs-layers 4.22.0 writes it (Keras's config in snake_case), which is
    // what tests/tfjs.test.mjs loads with that version
    modelTopology: { class_name: 'Sequential', config: { name: 'lstm_wasm', layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    format: 'layers-model',
    generatedBy: 'lstm-wasm toTfjs',
    convertedBy: null,
    weightSpecs: specs,
    weightData: data.buffer,
    // the vocabulary travels with the model; fromTfjs reads it back
    ...(vocab ? { userDefinedMetadata: { lstmWasm: { vocabulary: vocab.toJSON() } } } : {}),
  };
  return { ...artifacts, modelJson: modelJsonFor(artifacts, weightsPath) };
}
