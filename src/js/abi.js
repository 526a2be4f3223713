// abi.js - the C ABI of include/lstm.h as data: enums, struct layouts, limits and flags, with
// the reads and writes of a struct through a DataView. tests/abi.test.mjs checks it against
// the header, so a field added in C and forgotten here fails a test instead of shifting words.

// ---- enums: names in value order (each C enum counts from 0 without gaps) ----

/** lstm_status; the names are the codes of LstmError. */
export const STATUS_NAMES = Object.freeze([
  'OK', 'INVALID_ARGUMENT', 'OUT_OF_MEMORY', 'BAD_MAGIC', 'UNSUPPORTED_VERSION', 'TRUNCATED',
  'CHECKSUM', 'CORRUPT', 'NON_FINITE', 'TOKEN_RANGE', 'BUFFER_TOO_SMALL', 'STATE',
]);
/** lstm_status by name: STATUS.TOKEN_RANGE is 9. */
export const STATUS = Object.freeze(Object.fromEntries(STATUS_NAMES.map((name, value) => [name, value])));

/** The other enums, under the names the JS options use (the C suffix in camelCase). */
export const HEAD_TYPES = Object.freeze(['softmax', 'mse']);              // lstm_head_type
export const CELL_TYPES = Object.freeze(['lstm', 'gru']);                 // lstm_cell_type
export const ACTIVATIONS = Object.freeze(['tanh', 'relu']);               // lstm_activation
export const GATE_ACTIVATIONS = Object.freeze(['sigmoid', 'hardSigmoid']); // lstm_gate_activation
export const OPTIMIZER_TYPES = Object.freeze(['sgd', 'rmsprop', 'adam']); // lstm_optimizer_type
export const SKIP_REASONS = Object.freeze(['none', 'loss', 'gradient', 'update', 'lossSpike']); // lstm_skip_reason

// ---- limits and flags ----

/** The core's limits (LSTM_MAX_* in include/lstm.h): values outside them are refused.
 * maxSeed is no #define but the range of the uint32_t seeds (lstm_config.seed,
 * lstm_sampler_seed). */
export const limits = Object.freeze({
  maxLayers: 16,
  maxHidden: 4096,
  maxVocab: 1 << 20,
  maxInput: 65536,
  maxParams: 2 ** 28,
  maxBatch: 65536,
  maxSteps: 65536,
  maxSkips: 1000,
  maxThreads: 64,
  maxSamples: 1024,
  maxSeed: 0xffffffff,
});

/** lstm_save's flags. */
export const SAVE_TRAINING_STATE = 1;
/** lstm_save's flag for a quantised file: int8 weight matrices, inference only. */
export const SAVE_INT8 = 2;

/** lstm_samples_start's flags: start from the inference state; continue its sampler (n = 1). */
export const SAMPLES_CONTINUE = 1;
export const SAMPLES_KEEP_SAMPLER = 2;

/** sizeof(lstm_message): the buffer lstm_create and lstm_load write a failure's text into. */
export const MESSAGE_BYTES = 256;

// ---- struct layouts ----

// wasm32: pointers are 4 bytes; every type is aligned to its size, as clang lays out C structs.
const TYPE_BYTES = { i32: 4, u32: 4, f32: 4, ptr: 4, u64: 8, f64: 8 };

/** A C struct as data: fields [jsName, type] in declaration order; offsets and size follow
 * from the types as the C compiler computes them. */
function struct(cName, fields) {
  let at = 0;
  let align = 1;
  const list = fields.map(([name, type]) => {
    const bytes = TYPE_BYTES[type];
    at = Math.ceil(at / bytes) * bytes;
    align = Math.max(align, bytes);
    const field = Object.freeze({ name, type, offset: at });
    at += bytes;
    return field;
  });
  return Object.freeze({ cName, fields: Object.freeze(list), size: Math.ceil(at / align) * align });
}

export const CONFIG = struct('lstm_config', [
  ['inputVocab', 'i32'], ['inputSize', 'i32'], ['hiddenSize', 'i32'], ['numLayers', 'i32'],
  ['outputSize', 'i32'], ['seed', 'u32'], ['dropout', 'f32'], ['initScale', 'f32'],
  ['forgetBias', 'f32'], ['head', 'i32'], ['lastStepOnly', 'i32'], ['cell', 'i32'],
  ['recurrentDropout', 'f32'], ['orthogonalInit', 'i32'], ['peephole', 'i32'], ['cifg', 'i32'],
  ['activation', 'i32'], ['projSize', 'i32'], ['layerNorm', 'i32'], ['bidirectional', 'i32'],
  ['recurrentActivation', 'i32'], ['gruResetBefore', 'i32'],
]);

export const OPTIMIZER = struct('lstm_optimizer', [
  ['type', 'i32'], ['learningRate', 'f32'], ['momentum', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'],
  ['epsilon', 'f32'], ['weightDecay', 'f32'], ['clipNorm', 'f32'],
]);

export const BATCH = struct('lstm_batch', [
  ['batch', 'i32'], ['steps', 'i32'], ['tokens', 'ptr'], ['inputs', 'ptr'], ['targets', 'ptr'],
  ['targetValues', 'ptr'], ['lengths', 'ptr'],
]);

export const SAMPLING = struct('lstm_sampling', [['temperature', 'f32'], ['topK', 'i32'], ['topP', 'f32'], ['repetitionPenalty', 'f32']]);

export const STEP_GUARD = struct('lstm_step_guard', [['maxSkips', 'i32'], ['lossFactor', 'f32']]);

export const TRAINING_STATS = struct('lstm_training_stats', [
  ['steps', 'u64'], ['skipped', 'u64'], ['skipStreak', 'i32'], ['lastReason', 'i32'], ['lossMean', 'f64'],
]);

export const TENSOR_INFO = struct('lstm_tensor_info', [
  ['name', 'ptr'], ['offset', 'u32'], ['rows', 'i32'], ['cols', 'i32'],
]);

export const MEMORY = struct('lstm_memory', [
  ['parameters', 'u64'], ['parameterBytes', 'u64'], ['optimizerBytes', 'u64'], ['activationBytes', 'u64'],
  ['inferenceBytes', 'u64'], ['totalBytes', 'u64'],
]);

export const TRACE_REQUEST = struct('lstm_trace_request', [
  ['steps', 'i32'], ['tokens', 'ptr'], ['inputs', 'ptr'], ['layers', 'u32'], ['h', 'ptr'], ['hCapacity', 'u32'],
  ['c', 'ptr'], ['cCapacity', 'u32'], ['gates', 'ptr'], ['gatesCapacity', 'u32'], ['outputs', 'ptr'],
  ['outputsCapacity', 'u32'],
]);

/** Every layout above, for the ABI test. */
export const STRUCTS = Object.freeze([CONFIG, OPTIMIZER, BATCH, SAMPLING, STEP_GUARD, TRAINING_STATS, TENSOR_INFO, MEMORY,
  TRACE_REQUEST]);

// ---- reading and writing ----

// wasm memory is little-endian; u64 goes through BigInt and comes back as a Number (counts of
// steps stay far below 2^53).
const ACCESS = {
  i32: [(v, at) => v.getInt32(at, true), (v, at, x) => v.setInt32(at, x, true)],
  u32: [(v, at) => v.getUint32(at, true), (v, at, x) => v.setUint32(at, x, true)],
  ptr: [(v, at) => v.getUint32(at, true), (v, at, x) => v.setUint32(at, x, true)],
  f32: [(v, at) => v.getFloat32(at, true), (v, at, x) => v.setFloat32(at, x, true)],
  f64: [(v, at) => v.getFloat64(at, true), (v, at, x) => v.setFloat64(at, x, true)],
  u64: [(v, at) => Number(v.getBigUint64(at, true)), (v, at, x) => v.setBigUint64(at, BigInt(x), true)],
};

/** Write a struct at ptr from a plain object with every field: heap blocks are not zeroed, so
 * a field left out would pass garbage to C, and is refused instead. */
export function writeStruct(layout, buffer, ptr, values) {
  const view = new DataView(buffer, ptr >>> 0, layout.size);
  for (const { name, type, offset } of layout.fields) {
    if (values[name] === undefined) throw new TypeError(`${layout.cName}.${name} is not set`);
    ACCESS[type][1](view, offset, values[name]);
  }
}

/** A struct at ptr as a plain object keyed by the fields' JS names. */
export function readStruct(layout, buffer, ptr) {
  const view = new DataView(buffer, ptr >>> 0, layout.size);
  return Object.fromEntries(layout.fields.map(({ name, type, offset }) => [name, ACCESS[type][0](view, offset)]));
}
