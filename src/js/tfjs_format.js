// tfjs_format.js - the TensorFlow.js layers-model format as containers: model.json (or the
// artifacts a save handler receives) with its weight manifest and binary weights read into
// named float32 tensors, the topology read as an ordered list of layers, and the same written
// back. What the layers mean is tfjs_import.js's and tfjs_export.js's business.

import { LstmError } from './errors.js';

/** An LstmError of Model.fromTfjs (code UNSUPPORTED for a model it cannot represent, else
 * INVALID_ARGUMENT for malformed input). */
export const importError = (message, code = 'INVALID_ARGUMENT') => new LstmError(`Model.fromTfjs: ${message}`, code);
export const unsupported = (message) => importError(message, 'UNSUPPORTED');

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);

// The bytes of weightData: TF.js's WeightData is an ArrayBuffer or a list of them (shards);
// Node's Buffer and other views are accepted too. One contiguous copy.
function weightBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data) && data.length > 0) {
    const parts = data.map((d, i) => {
      if (d instanceof ArrayBuffer) return new Uint8Array(d);
      if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      throw importError(`weightData[${i}] must be an ArrayBuffer or a typed array`);
    });
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  throw importError('weightData must be an ArrayBuffer, a Uint8Array (the weight files concatenated in manifest order) or a list of ArrayBuffers');
}

function checkSpec(spec, i) {
  const where = `weight ${i}${typeof spec?.name === 'string' ? ` "${spec.name}"` : ''}`;
  if (!isObject(spec) || typeof spec.name !== 'string' || spec.name === '') throw importError(`${where} has no name`);
  if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw importError(`${where} has no valid shape (${JSON.stringify(spec.shape)})`);
  }
  if (spec.quantization != null) {
    throw unsupported(`${where} is quantised (${JSON.stringify(spec.quantization.dtype ?? spec.quantization)}, from tensorflowjs_converter's --quantize options): only float32 weights are read; convert the model without quantisation`);
  }
  if ((spec.dtype ?? 'float32') !== 'float32') {
    throw unsupported(`${where} is ${spec.dtype}: only float32 weights are read (a float16 or mixed-precision model is not imported)`);
  }
}

/**
 * The parts of a TF.js layers model, checked: { topology ({ class_name, config }),
 * kerasVersion, generatedBy, userDefinedMetadata, weights (Map name -> { shape, values
 * (Float32Array) }), names (in manifest order) }.
 * artifacts: model.json (object or its text) with weightsManifest, then weightData the weight
 * files concatenated in manifest order; or a save handler's { modelTopology, weightSpecs,
 * weightData }, with weightData inside or as the second argument.
 */
export function readArtifacts(artifacts, weightData) {
  if (typeof artifacts === 'string') {
    try {
      artifacts = JSON.parse(artifacts);
    } catch (e) {
      throw importError(`model.json is not JSON: ${e.message}`);
    }
  }
  if (!isObject(artifacts)) throw importError('the first argument must be model.json (an object or its text) or the artifacts a save handler receives');
  if (artifacts.format != null && artifacts.format !== 'layers-model') {
    throw unsupported(`format "${artifacts.format}": only TF.js layers models are read (a graph model, from tf.saved_model or tensorflowjs_converter --output_format tfjs_graph_model, has no layers to map)`);
  }
  let topology = artifacts.modelTopology;
  if (topology instanceof ArrayBuffer || ArrayBuffer.isView(topology)) throw unsupported('the model topology is binary (a graph model): only layers models are read');
  if (!isObject(topology)) throw importError('modelTopology is missing or not an object');
  // tensorflowjs_converter writes Keras's own file attributes: { keras_version, backend,
  // model_config, training_config }; TF.js's model.save writes the model config itself.
  const kerasVersion = String(topology.keras_version ?? '');
  if (isObject(topology.model_config)) topology = topology.model_config;
  if (typeof topology.class_name !== 'string') throw importError('modelTopology has no class_name');

  let specs;
  if (artifacts.weightsManifest !== undefined) {
    if (!Array.isArray(artifacts.weightsManifest)) throw importError('weightsManifest must be a list of { paths, weights } groups');
    specs = artifacts.weightsManifest.flatMap((group, g) => {
      if (!isObject(group) || !Array.isArray(group.weights)) throw importError(`weightsManifest[${g}] has no list of weights`);
      return group.weights;
    });
    if (weightData === undefined) {
      const paths = artifacts.weightsManifest.flatMap((g) => g.paths ?? []);
      throw importError(`weightData is needed: the contents of ${paths.join(', ') || 'the weight files'}, concatenated in this order`);
    }
  } else if (Array.isArray(artifacts.weightSpecs)) {
    specs = artifacts.weightSpecs;
    if (weightData !== undefined && artifacts.weightData !== undefined) throw importError('weightData is given twice (in the artifacts and as the second argument)');
    weightData ??= artifacts.weightData;
    if (weightData === undefined) throw importError('the artifacts have weightSpecs but no weightData');
  } else {
    throw importError('model.json has neither weightsManifest nor weightSpecs: no weights');
  }
  specs.forEach(checkSpec);
  const bytes = weightBytes(weightData);
  const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
  const expected = sizes.reduce((a, b) => a + b, 0) * 4;
  if (bytes.length !== expected) {
    throw importError(`the weight manifest describes ${expected} bytes (${specs.length} float32 tensors) but weightData has ${bytes.length}: a missing, extra or truncated weight file`);
  }
  const weights = new Map();
  let at = 0;
  specs.forEach((spec, i) => {
    if (weights.has(spec.name)) throw importError(`the weight manifest names "${spec.name}" twice`);
    // a copy: the bytes need not be 4-aligned, and nothing here keeps the caller's buffer
    const values = new Float32Array(bytes.slice(at, at + sizes[i] * 4).buffer);
    at += sizes[i] * 4;
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw importError(`weight "${spec.name}" has a non-finite value (${values[bad]}) at index ${bad}`);
    weights.set(spec.name, { shape: spec.shape, values });
  });
  return {
    topology, kerasVersion, generatedBy: artifacts.generatedBy ?? null,
    userDefinedMetadata: isObject(artifacts.userDefinedMetadata) ? artifacts.userDefinedMetadata : null,
    weights, names: specs.map((s) => s.name),
  };
}

// A functional model's layer feeding `layer`: its one inbound node with one tensor, in the
// TF.js and Keras 2 form [[["name", nodeIndex, tensorIndex, kwargs]]].
function inboundLayer(layer) {
  const nodes = layer.inbound_nodes ?? [];
  if (nodes.length === 0) return null;
  const what = `layer "${layer.name}" (${layer.class_name})`;
  if (nodes.length > 1) throw unsupported(`${what} is called ${nodes.length} times (a shared layer): only a chain of layers is read`);
  const node = nodes[0];
  if (!Array.isArray(node) || node.length !== 1 || !Array.isArray(node[0])) {
    throw unsupported(`${what} has ${Array.isArray(node) ? node.length : 'unreadable'} inputs: only a chain of layers, each reading the one before, is read`);
  }
  const [name, nodeIndex, tensorIndex, kwargs] = node[0];
  if (nodeIndex !== 0 || tensorIndex !== 0) throw unsupported(`${what} reads output ${tensorIndex} of node ${nodeIndex} of "${name}": only a chain of layers is read`);
  // `training` only switches dropout; anything else (a mask, an initial state) changes the outputs
  const args = isObject(kwargs) ? Object.keys(kwargs).filter((k) => k !== 'training' && kwargs[k] != null) : [];
  if (args.length) throw unsupported(`${what} is called with ${args.join(', ')}: not read`);
  return name;
}

/** The layers of a Sequential model, or of a functional model that is a chain (one input,
 * one output, each layer reading the one before), in order: [{ name, className, config }]. */
export function layerChain(topology) {
  const cls = topology.class_name;
  const cfg = topology.config;
  const entry = (l, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config)) throw importError(`layer ${i} of the topology has no class_name and config`);
    return { name: String(l.config.name ?? l.name ?? `#${i}`), className: l.class_name, config: l.config };
  };
  if (cls === 'Sequential') {
    // Keras before 2.2.3 wrote the list itself as the config
    const layers = Array.isArray(cfg) ? cfg : cfg?.layers;
    if (!Array.isArray(layers)) throw importError('the Sequential model has no list of layers');
    return layers.map(entry);
  }
  if (cls === 'Model' || cls === 'Functional') {
    if (!Array.isArray(cfg?.layers)) throw importError(`the ${cls} has no list of layers`);
    const ins = cfg.input_layers ?? [];
    const outs = cfg.output_layers ?? [];
    if (ins.length !== 1 || outs.length !== 1) throw unsupported(`the ${cls} has ${ins.length} inputs and ${outs.length} outputs: only one of each is read`);
    const byName = new Map(cfg.layers.map((l, i) => [String(l.name ?? l.config?.name), { l, i }]));
    // walk back from the output to the input, then reverse
    const chain = [];
    let name = outs[0][0];
    for (let guard = 0; name != null; guard++) {
      const found = byName.get(String(name));
      if (!found || guard > cfg.layers.length) throw importError(`the ${cls}'s layer "${name}" is missing or part of a cycle`);
      chain.push(entry({ ...found.l, config: { name: found.l.name, ...found.l.config } }, found.i));
      name = inboundLayer(found.l);
    }
    if (chain.at(-1).name !== String(ins[0][0])) throw importError(`the ${cls}'s chain of layers does not start at its input "${ins[0][0]}"`);
    if (chain.length !== cfg.layers.length) {
      const used = new Set(chain.map((l) => l.name));
      const extra = cfg.layers.map((l) => String(l.name)).filter((n) => !used.has(n));
      throw unsupported(`the ${cls} has layers off the chain from input to output (${extra.join(', ')}): only a chain of layers is read`);
    }
    return chain.reverse();
  }
  throw unsupported(`a model of class ${cls}: only Sequential models and functional models (Model, Functional) that are a chain of layers are read`);
}

/** model.json's object for these artifacts, as TF.js's browserDownloads and http savers write
 * it (getModelJSONForModelArtifacts): the weights in one file at `weightsPath`. */
export function modelJsonFor(artifacts, weightsPath) {
  const json = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [weightsPath], weights: artifacts.weightSpecs }],
  };
  if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  return json;
}

/** Keras's gate blocks, in our order. Our LSTM rows are i, f, g, o (PyTorch), Keras's kernel
 * columns i, f, c, o: the same blocks. Our GRU rows are r, z, n (PyTorch), Keras's columns z,
 * r, h: our block b is Keras's block GATE_BLOCKS.gru[b] (and, the swap being its own inverse,
 * the other way round too). */
export const GATE_BLOCKS = Object.freeze({ lstm: Object.freeze([0, 1, 2, 3]), gru: Object.freeze([1, 0, 2]) });
