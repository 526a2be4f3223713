// types/generation.d.ts - generation options, traces, and the TensorFlow.js import and export types.
import type { Vocabulary, Corpus } from './data.js';

export interface GenerateOptions {
  vocab?: Vocabulary;
  prompt?: string;
  length?: number;
  /** 0 = argmax; else the logits are divided by it. Applied first. */
  temperature?: number;
  /** Keep the k most likely (0 = off). Applied second. */
  topK?: number;
  /** Keep the smallest set of the most likely whose mass, renormalised over what top-k kept,
   * reaches p (1 = off). Applied third; the draw is from what remains, renormalised. */
  topP?: number;
  /** Sampler seed (default 1). With `n`, sample k draws with seed + k (mod 2^32). */
  seed?: number;
  /** Tokens generated per call into wasm (default 16; with `stop`, 1). */
  chunk?: number;
  /** Start from the model's inference state (where the last generate, step() or
   * restoreInferenceState left it: its h and c, its pending logits, the tokens it has read)
   * instead of a zero state; a prompt, if given, is read on top of it. Without a seed the
   * sampler's random state continues too (then n must be 1), so one generation split into
   * two calls writes the same text as one call. Default false. */
  continue?: boolean;
  /** Stop strings: the text ends at the first occurrence of any of them in the generated text
   * (a match may span any number of characters), the stop string excluded; the model's state
   * has read it. Default: none. */
  stop?: string | string[];
  /** Repetition penalty (CTRL, Keskar et al. 2019, as Hugging Face applies it): for every token
   * the inference state has read since it was reset (the prompt and the text generated so far),
   * the logit z becomes z / penalty if z > 0, else z * penalty, before temperature, top-k and
   * top-p. 1 = off (default); > 1 makes repeats less likely. In (0, 100]. */
  repetitionPenalty?: number;
}

/** generate with `n`: several samples of one prompt in one call, advancing together as a
 * batch through the matrix kernels. Sample k is the text generate writes with seed + k (and
 * n: 1 the text generate writes without n); afterwards the inference state is sample 0's. */
export interface GenerateSamplesOptions extends GenerateOptions {
  /** Samples, 1..1024. */
  n: number;
}

/** One direction of one layer in a Trace. Arrays are step-major: value j of step t is at
 * t * width + j. */
export interface TraceLayer {
  /** 0-based. */
  layer: number;
  /** 'reverse': a bidirectional model's second unit; its step t is its state after reading
   * the inputs from the last one back to t (what the layer outputs at t). */
  direction: 'forward' | 'reverse';
  /** steps x hSize: h after reading input t (with projSize, the projected h). */
  h: Float32Array;
  /** steps x hiddenSize: the cell state c after input t (LSTM cells; with layerNorm the
   * normalised c); null for the GRU. */
  c: Float32Array | null;
  /** Gate activations after their nonlinearity, steps x hiddenSize each: LSTM i, f, g, o (cifg:
   * i, g, o); GRU r, z, n. */
  gates: Record<string, Float32Array>;
  /** projSize when set, else hiddenSize. */
  hSize: number;
  hiddenSize: number;
}

export interface Trace {
  steps: number;
  /** The token ids read (text or token input); null for dense input. */
  tokens: Int32Array | null;
  /** The requested layers in layer order, forward then reverse for a bidirectional model. */
  layers: TraceLayer[];
  /** steps x outputSize, the head applied at every step: softmax head: the next-token
   * distribution after each step (as predict's); mse head: the outputs. null when
   * { probabilities: false }. */
  probabilities: Float32Array | null;
}

export interface TraceOptions {
  /** Layers to record (0-based; default all). The others are computed, not copied out. */
  layers?: number[];
  /** Compute the head's outputs at every step (default true). */
  probabilities?: boolean;
}

/** One weight of a TensorFlow.js weight manifest (tf.io.WeightsManifestEntry's shape). */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  /** Only float32 weights are read (float16 or quantised ones are refused). */
  dtype: string;
  quantization?: unknown;
}

/** A TensorFlow.js layers model's model.json: the Keras model config and where its weights are. */
export interface TfjsModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
  format?: string;
  generatedBy?: string | null;
  convertedBy?: string | null;
  userDefinedMetadata?: object;
}

/** The artifacts TF.js's model.save() hands a save handler (tf.io.withSaveHandler; its
 * tf.io.ModelArtifacts type fits this one). */
export interface TfjsArtifacts {
  modelTopology?: {} | ArrayBuffer;
  weightSpecs?: TfjsWeightSpec[];
  weightData?: ArrayBuffer | ArrayBuffer[];
  format?: string;
  generatedBy?: string | null;
  convertedBy?: string | null;
  userDefinedMetadata?: object;
}

/** The binary weights of a model.json: its weight files concatenated in manifest order, or the list of them. */
export type TfjsWeightData = ArrayBuffer | ArrayBufferView | (ArrayBuffer | ArrayBufferView)[];

export interface FromTfjsOptions {
  /** The characters of a character model (an Embedding's input_dim, or the one-hot input width). */
  vocab?: Vocabulary | Corpus;
  /** The dropout rate kept for further training, where the model's Dropout layers cannot be said as one rate. */
  dropout?: number;
  /** The recurrent dropout kept for further training, where the layers' recurrent_dropout differ. */
  recurrentDropout?: number;
}

/** model.toTfjs(): the artifacts for tf.io.fromMemory, and model.json for files. */
export interface ToTfjsResult {
  modelTopology: object;
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  weightSpecs: { name: string; shape: number[]; dtype: 'float32' }[];
  weightData: ArrayBuffer;
  userDefinedMetadata?: { lstmWasm: { vocabulary: number[] } };
  /** model.json, naming the weights file weightsPath (default './weights.bin'). */
  modelJson: TfjsModelJson;
}
