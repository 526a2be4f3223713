// lstm.d.ts - type declarations of the lstm-wasm JavaScript API (src/js/index.js, shipped as dist/lstm.js).

// Symbol.dispose for a lib without esnext.disposable; merges with the same lib/@types/node declaration.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** Every failure of the library. `code` names the cause. */
export class LstmError extends Error {
  readonly code: 'INVALID_ARGUMENT' | 'OUT_OF_MEMORY' | 'BAD_MAGIC' | 'UNSUPPORTED_VERSION' | 'TRUNCATED'
    | 'CHECKSUM' | 'CORRUPT' | 'NON_FINITE' | 'TOKEN_RANGE' | 'BUFFER_TOO_SMALL' | 'STATE' | 'DISPOSED'
    | 'LOAD' | 'BAD_TEXT' | 'TOO_SMALL' | 'NOT_TEXT_MODEL' | 'UNSUPPORTED' | 'WORKER' | string;
  /** The C status code (lstm_status), 1..11. */
  readonly status: number;
}

/** An allocation in the wasm heap failed; the model is unchanged. */
export class LstmOutOfMemoryError extends LstmError {}

export interface InitOptions {
  /** Force the SIMD (true) or scalar (false) build; default: SIMD where supported. */
  simd?: boolean;
  /** Threads for the large matrix products (the SIMD threads build; results bit-identical to
   * one thread). Default: every core where shared memory exists (Node.js, cross-origin
   * isolated pages), else 1 (buildInfo().threadsReason says why). */
  threads?: number;
  /** Where to fetch the .wasm from (default: next to lstm.js). */
  wasmUrl?: string | URL;
  /** The .wasm bytes themselves. */
  wasmBinary?: ArrayBuffer | Uint8Array;
}

/** Load the module once (optional: the first Model.create/load does it with defaults). Options
 * belong in the first call: a later call whose options would load something else rejects with
 * an LstmError (code 'STATE') instead of being ignored. */
export function init(options?: InitOptions): Promise<unknown>;
export function simdSupported(): boolean;
export interface BuildInfo {
  simd: boolean;
  kernels: string;
  /** Threads the matrix products run on. */
  threads: number;
  /** What allows them, or why there is one ("the page is not cross-origin isolated ..."). */
  threadsReason: string;
  memoryBytes: number;
}
export function buildInfo(): Promise<BuildInfo>;
/** The C core's limits (LSTM_MAX_* in include/lstm.h; maxSeed is the range of its uint32_t
 * seeds): a value outside them is refused with an LstmError. */
export const limits: Readonly<{
  maxLayers: number;
  maxHidden: number;
  /** Token vocabulary and output size. */
  maxVocab: number;
  /** Dense input width. */
  maxInput: number;
  /** Floats per parameter arena. */
  maxParams: number;
  maxBatch: number;
  maxSteps: number;
  /** Samples of one generate call (n). */
  maxSamples: number;
  /** setStepGuard's maxSkips. */
  maxSkips: number;
  maxSeed: number;
}>;

export class Vocabulary {
  constructor(codePoints: Iterable<number>);
  /** Sorted distinct Unicode code points of the text. */
  static fromText(text: string): Vocabulary;
  readonly codePoints: Uint32Array;
  readonly size: number;
  encode(text: string, options?: { unknown?: 'error' | 'skip' }): Int32Array;
  decode(ids: Iterable<number>): string;
  has(char: string): boolean;
  toJSON(): number[];
}

/** Token ids, copied into the wasm heap once on first use. */
export class TokenStream {
  constructor(ids: Int32Array | ArrayLike<number>);
  readonly ids: Int32Array;
  readonly length: number;
  dispose(): void;
  [Symbol.dispose](): void;
}

export class TextDataset {
  constructor(text: string, vocab: Vocabulary, options?: { validationFraction?: number });
  readonly vocab: Vocabulary;
  readonly train: TokenStream;
  readonly validation: TokenStream;
  dispose(): void;
  [Symbol.dispose](): void;
}

export interface MemoryEstimate {
  parameters: number;
  /** Parameters and gradients. */
  parameterBytes: number;
  /** Optimizer moments (Adam 2 per parameter, SGD and RMSprop 1). */
  optimizerBytes: number;
  /** Training activations for the batch shape, and the carried state. */
  activationBytes: number;
  /** One inference step's activations, the embedding copy of token models, the sampler. */
  inferenceBytes: number;
  totalBytes: number;
}

export interface ModelOptions {
  /** Token inputs (one-hot semantics) and outputs over this many symbols. */
  vocabSize?: number;
  /** Dense inputs of this width (then outputSize is required). */
  inputSize?: number;
  outputSize?: number;
  hiddenSize?: number;
  layers?: number;
  seed?: number;
  /** Inverted dropout on each layer's output during training, [0, 1). */
  dropout?: number;
  /** Uniform init range; 0 = PyTorch's 1/sqrt(hiddenSize). */
  initScale?: number;
  /** Added to the forget-gate bias at initialisation (layer norm: the f block of the gate
   * norm's bias, where the normalisation keeps it). */
  forgetBias?: number;
  /** 'softmax' (classes, cross-entropy; default) or 'mse' (linear outputs, mean squared error). */
  head?: 'softmax' | 'mse';
  /** true (default): an output and loss at every step; false: only at each sequence's last step. */
  returnSequences?: boolean;
  /** 'lstm' (default) or 'gru' (PyTorch nn.GRU: gates r, z, n; parameters (3H, X), (3H, H)). */
  cell?: 'lstm' | 'gru';
  /** Variational dropout on the recurrent input h_{t-1} of W_hh: one mask per sequence and
   * layer for all steps of a batch; inverted, training only, from the seed. [0, 1). */
  recurrentDropout?: number;
  /** Each (H, H) gate block of weight_hh starts as a random orthogonal matrix. */
  orthogonalInit?: boolean;
  /** LSTM: diagonal peephole weights (i and f see c_{t-1}, o sees c_t); tensor peephole_l{l} (3, H). */
  peephole?: boolean;
  /** LSTM: coupled input and forget gate, f = 1 - i; gate rows i, g, o (3H). */
  cifg?: boolean;
  /** Candidate and cell-output activation: 'tanh' (default) or 'relu'. */
  activation?: 'tanh' | 'relu';
  /** PyTorch's proj_size (LSTM): h = W_hr (o * tanh(c)) has projSize < hiddenSize values;
   * tensors weight_hr_l{l} (P, H), weight_hh (4H, P), out.weight (V, P). 0 = none. */
  projSize?: number;
  /** Layer-normalised LSTM: each gate block of the pre-activations and the cell are
   * normalised over their H units with learned gain and bias (tensors layer_norm_gates_l{l}
   * (2, 4H), layer_norm_cell_l{l} (2, H)); plain LSTM cell only. */
  layerNorm?: boolean;
  /** Bidirectional (PyTorch's bidirectional=True, any cell): each layer also has a reverse unit
   * (tensors named *_reverse) that reads each sequence from its last valid step to its first;
   * a layer's output is both directions side by side (2 x hiddenSize, or 2 x projSize), and
   * with returnSequences false the head reads each direction's final state. For whole
   * sequences (fit, evaluate, predict, trainBatch); step() and text streams refuse it. */
  bidirectional?: boolean;
  /** The gates' activation (LSTM i, f, o; GRU r, z): 'sigmoid' (default) or 'hardSigmoid',
   * clip(0.2 x + 0.5, 0, 1) (TF.js's and Keras 2's). Not with layerNorm. */
  recurrentActivation?: 'sigmoid' | 'hardSigmoid';
  /** GRU: true (default, PyTorch's form) applies the reset gate after the recurrent product,
   * n = act(W_in x + b_in + r * (W_hn h + b_hn)); false applies it before, to h:
   * n = act(W_in x + b_in + W_hn (r * h) + b_hn) (Keras' reset_after=False, TF.js's GRU).
   * Not with recurrentDropout. */
  resetAfter?: boolean;
}

export interface ModelConfig {
  readonly vocabSize: number | undefined;
  readonly inputSize: number;
  readonly dense: boolean;
  readonly hiddenSize: number;
  readonly layers: number;
  readonly outputSize: number;
  readonly seed: number;
  readonly dropout: number;
  readonly initScale: number;
  readonly forgetBias: number;
  readonly head: 'softmax' | 'mse';
  readonly returnSequences: boolean;
  readonly cell: 'lstm' | 'gru';
  readonly recurrentDropout: number;
  readonly orthogonalInit: boolean;
  readonly peephole: boolean;
  readonly cifg: boolean;
  readonly activation: 'tanh' | 'relu';
  readonly projSize: number;
  readonly layerNorm: boolean;
  readonly bidirectional: boolean;
  readonly recurrentActivation: 'sigmoid' | 'hardSigmoid';
  readonly resetAfter: boolean;
}

export interface OptimizerOptions {
  type?: 'adam' | 'rmsprop' | 'sgd';
  learningRate?: number;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay (AdamW style). */
  weightDecay?: number;
  /** Clip gradients to this global L2 norm; <= 0 disables. */
  clipNorm?: number;
}

export interface Batch {
  batch: number;
  steps: number;
  /** (batch, steps) token ids, batch-first, for token models. */
  tokens?: Int32Array | ArrayLike<number>;
  /** (batch, steps, inputSize) values, batch-first, for dense models. */
  inputs?: Float32Array | ArrayLike<number>;
  /** Softmax head: class ids, (batch, steps) or with returnSequences false (batch). */
  targets?: Int32Array | ArrayLike<number>;
  /** MSE head: values, (batch, steps, outputSize) or with returnSequences false (batch, outputSize). */
  targetValues?: Float32Array | ArrayLike<number>;
  /** (batch) valid steps per sequence, 1..steps; later steps are padding (no loss, no gradient). */
  lengths?: Int32Array | ArrayLike<number>;
}

/** Samples for fit / evaluate / predict: one sequence per sample, lengths may differ.
 * Token models: ids. Dense models: steps (arrays of inputSize numbers, or numbers when
 * inputSize is 1), or one flat array of length*inputSize numbers. */
export type Sequences = ArrayLike<ArrayLike<number> | ArrayLike<ArrayLike<number>>>;
/** Targets: per sample a class id or outputSize numbers (returnSequences false), or one
 * such target per step (returnSequences true). */
export type Targets = ArrayLike<number | ArrayLike<number> | ArrayLike<ArrayLike<number>>>;

export type Schedule =
  | ((epoch: number, baseLearningRate: number) => number)
  | { type: 'step'; every?: number; factor?: number }
  | { type: 'cosine'; epochs?: number; minLearningRate?: number };

/** The bad-step policy (see Model.setStepGuard). */
export interface StepGuardOptions {
  /** The K-th skipped step in a row throws LstmError NON_FINITE (1..1000, default 5). */
  maxSkips?: number;
  /** 0 (off, default) or k > 1: skip a step whose loss is above k times the running mean of
   * recent losses (char-rnn's 3x rule, skipping instead of stopping). */
  skipIfLossAbove?: number;
}

export interface FitOptions extends StepGuardOptions {
  epochs?: number;
  /** Continue a run saved after epoch initialEpoch - 1 (Keras's initial_epoch): epochs
   * initialEpoch..epochs-1 run with the shuffle order and learning rate of the same epochs of
   * an uninterrupted run. With a schedule, give learningRate (the base rate). */
  initialEpoch?: number;
  batchSize?: number;
  /** The last fraction of the samples is held out for validation. */
  validationSplit?: number;
  validationData?: [Sequences, Targets];
  shuffle?: boolean;
  seed?: number;
  learningRate?: number;
  optimizer?: OptimizerOptions;
  schedule?: Schedule;
  /** Stop when the validation loss (training loss without validation) has not improved by
   * minDelta for `patience` epochs; restoreBestWeights (default true) then restores the best. */
  earlyStopping?: boolean | {
    patience?: number; minDelta?: number; restoreBestWeights?: boolean;
    /** The `earlyStopping` of the FitResult being resumed: its best loss and patience count.
     * (Its best weights are not in the file: restoreBestWeights restores only this call's.) */
    state?: EarlyStoppingState;
  };
  /** Called after every epoch; returning false stops training. */
  onEpochEnd?: (epoch: number, logs: EpochLogs) => unknown;
  /** Called after every training batch (batch: its index in the epoch). fitAsync awaits a
   * returned promise before the next batch (a pause); fit ignores what it returns. */
  onBatchEnd?: (batch: number, logs: BatchLogs) => unknown;
}

export interface FitAsyncOptions extends FitOptions {
  /** Aborting ends the fit after the batch under way (see Model.fitAsync). */
  signal?: AbortSignal;
}

export interface BatchLogs {
  epoch: number;
  /** Batches per epoch. */
  batches: number;
  /** This batch's loss (returned for a skipped batch too). */
  loss: number;
  /** The bad-step policy skipped this batch. */
  skipped: boolean;
}

export interface EpochLogs {
  /** Mean loss of the epoch's applied (not skipped) batches. */
  loss: number;
  learningRate: number;
  /** Batches skipped by the bad-step policy in this epoch. */
  skipped: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface EarlyStoppingState {
  bestLoss: number;
  bestEpoch: number;
  wait: number;
}

export interface FitResult {
  /** One entry per completed epoch. */
  history: { loss: number[]; valLoss: number[]; valAccuracy: number[]; learningRate: number[]; skipped: number[] };
  /** The epoch count reached: initialEpoch + the epochs completed. */
  epochs: number;
  stoppedEarly: boolean;
  /** Ended by fitAsync's signal (or TrainingWorker.cancel) before its last epoch: the batches
   * of the epoch under way were taken, but it is not in the history. */
  stopped: boolean;
  bestEpoch: number;
  earlyStopping: EarlyStoppingState;
}

export interface WindowedSeries {
  train: { x: Float32Array[]; y: Float32Array[] };
  validation: { x: Float32Array[]; y: Float32Array[] };
  test: { x: Float32Array[]; y: Float32Array[] };
  inputSize: number;
  outputSize: number;
  window: number;
  horizon: number;
  /** Per feature, of the training part only. */
  mean: number[];
  std: number[];
  denormalize(values: ArrayLike<number>): Float64Array;
}

/** Sliding windows over a series (numbers, or arrays of equal width), split in order. */
export function slidingWindows(series: ArrayLike<number> | ArrayLike<ArrayLike<number>>, options: {
  window: number; horizon?: number; split?: [number, number, number]; normalize?: boolean;
}): WindowedSeries;

export interface TrainStats {
  steps: number;
  /** Mean loss of the applied steps (NaN if all were skipped). */
  loss: number;
  /** Every step's loss, skipped ones included. */
  losses: Float32Array;
  /** Steps skipped by the bad-step policy, and their indices in losses. */
  skipped: number;
  skippedSteps: number[];
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

export type SkipReason = 'none' | 'loss' | 'gradient' | 'update' | 'lossSpike';

export interface TrainingStats {
  /** Applied steps. */
  steps: number;
  /** Skipped steps in all (saved with the training state). */
  skipped: number;
  /** Skipped steps in a row up to now. */
  skipStreak: number;
  /** Why the last step was skipped: 'none' if it was applied. */
  lastSkipReason: SkipReason;
  /** The running mean of recent losses the loss guard compares with. */
  lossMean: number;
}

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

export interface TensorInfo {
  name: string;
  offset: number;
  rows: number;
  cols: number;
  size: number;
}

export class Model {
  static create(options: ModelOptions): Promise<Model>;
  static load(bytes: Uint8Array | ArrayBuffer): Promise<Model>;
  /** A TensorFlow.js layers model (model.json and its weights, or a save handler's artifacts;
   * Keras files through tools/keras_to_tfjs.py) as a model with the same outputs. What it cannot
   * represent is refused with LstmError code UNSUPPORTED naming the layer and option. */
  static fromTfjs(modelJson: TfjsModelJson | TfjsArtifacts | string, weightData?: TfjsWeightData, options?: FromTfjsOptions): Promise<Model>;
  /** What a model of these options takes before it is made, as the core lays it out. */
  static estimate(options: ModelOptions, training?: { batchSize?: number; seqLength?: number; optimizer?: 'adam' | 'rmsprop' | 'sgd' }): Promise<MemoryEstimate>;

  readonly config: ModelConfig;
  readonly disposed: boolean;
  readonly parameterCount: number;
  /** Loaded from a save({ quantize: 'int8' }) file: it predicts, evaluates and generates;
   * training, parameters() and setParameters() throw LstmError STATE. */
  readonly quantized: boolean;
  readonly parameterBytes: number;
  readonly stepCount: number;
  readonly streamPosition: number;
  readonly simd: boolean;
  readonly vocabulary: Vocabulary | null;
  readonly optimizer: Required<OptimizerOptions>;
  metadata: unknown;

  tensors(): TensorInfo[];
  parameters(): Float32Array;
  setParameters(values: Float32Array): void;
  gradients(): Float32Array;
  setVocabulary(vocab: Vocabulary): void;
  /**
   * A new model (this one is unchanged: dispose both) for text with symbols this one has never
   * seen: its vocabulary is this one's followed by the symbols of `vocab` it lacks, in `vocab`'s
   * order, so every old id keeps its meaning. Layer 0's weight_ih gains a column per new symbol
   * (each direction's), out.weight a row and out.bias an entry: the values a fresh model of the
   * extended shape (the same options and seed) has there; every other value is this model's,
   * in the same PyTorch layout. So on text made of the old symbols the new model computes every
   * h, c and gate value bit for bit as this one does, and the old symbols' logits up to rounding
   * (the head's products are summed in blocks of rows, which move when rows are added: a few
   * ulps); each old symbol's probability is this one's times Z_old / Z_new (the new symbols'
   * logits join the softmax's sum), i.e. this one's distribution once renormalised over the old
   * symbols. Kept too: the
   * metadata (a session's settings, progress and curves), the optimizer settings and the step
   * guard; not the training state (optimizer moments, step count, carried state, stream
   * position: the new model starts them afresh, as a file saved without training state does).
   * A next-symbol model only (token inputs, softmax over its vocabulary); a quantised one is
   * refused (LstmError STATE).
   */
  extendVocabulary(vocab: Vocabulary): Promise<Model>;

  setOptimizer(options: OptimizerOptions): void;
  resetState(): void;
  /** Bad steps (non-finite loss or gradient, an update that would overflow, or a loss spike
   * with skipIfLossAbove) are skipped and change nothing; the maxSkips-th in a row throws
   * NON_FINITE with the model as it was before the first. */
  setStepGuard(options: StepGuardOptions): void;
  readonly stepGuard: Required<StepGuardOptions>;
  /** Forget the running loss mean the guard compares with (say, before training on new text). */
  resetLossMean(): void;
  readonly trainingStats: TrainingStats;
  /** Clip and apply the optimizer to these gradients (layout of tensors()) as a training step does. */
  applyGradients(gradients: Float32Array): { skipped: boolean; reason: SkipReason };
  /** One training step; a bad step is skipped (trainingStats.lastSkipReason says why). */
  trainBatch(batch: Batch): number;
  computeLoss(batch: Batch): number;
  computeGradients(batch: Batch): { loss: number; gradients: Float32Array; inputGradients?: Float32Array };
  trainSteps(data: TextDataset | TokenStream, options?: StepGuardOptions & {
    steps?: number; seqLength?: number; batchSize?: number;
    optimizer?: OptimizerOptions; clipNorm?: number; learningRate?: number;
  }): TrainStats;
  evaluate(data: TextDataset | TokenStream, options?: { batchSize?: number; seqLength?: number }): number;
  evaluate(x: Sequences, y: Targets, options?: { batchSize?: number }): { loss: number; accuracy?: number };
  /** Loss (and accuracy, NaN for mse) of a batch from a zero state without dropout. */
  evaluateBatch(batch: Batch): { loss: number; accuracy: number };
  /** Probabilities (softmax) or values (mse) of a batch, batch-first; padding is zeros. */
  predictBatch(batch: Omit<Batch, 'targets' | 'targetValues'>): Float32Array;
  fit(x: Sequences, y: Targets, options?: FitOptions): FitResult;
  /** fit without blocking the calling thread: the same batches and history as fit for the same
   * options, with a task boundary between batches (at least every ~10 ms) where a page paints
   * and timers run. Aborting `signal` ends it after the batch under way, the model consistent:
   * it resolves (does not reject) with stopped: true. Errors reject with fit's LstmError. Do
   * not use the model otherwise until it settles. */
  fitAsync(x: Sequences, y: Targets, options?: FitAsyncOptions): Promise<FitResult>;
  /** One Float32Array per sample: outputSize values, or length*outputSize with returnSequences. */
  predict(x: Sequences, options?: { batchSize?: number }): Float32Array[];

  resetInference(): void;
  step(input: number | ArrayLike<number>): Float32Array;
  /** Every step's h, c and gate activations, and the head's outputs, from a zero state; the
   * inference and training states are untouched. Input: text (through the model's vocabulary),
   * token ids, or for a dense model an array of input vectors (or one flat array). At most
   * limits.maxSteps steps. */
  trace(input: string | ArrayLike<number> | ArrayLike<number>[], options?: TraceOptions): Trace;
  /** The inference state as bytes (versioned, checksummed): each layer's h and c, the pending
   * logits, the tokens read (for repetitionPenalty) and the sampler's random state. */
  inferenceState(): Uint8Array;
  /** Put back a state inferenceState() wrote, for a model of the same shape; damaged bytes or
   * another shape throw an LstmError and change nothing. */
  restoreInferenceState(bytes: Uint8Array): void;
  /** Options checked when it is called; no `n` (use generate). */
  generateChars(options?: GenerateOptions): Generator<string, void, unknown>;
  generate(vocab: Vocabulary, options: GenerateSamplesOptions): string[];
  generate(options: GenerateSamplesOptions): string[];
  generate(vocab: Vocabulary, options?: GenerateOptions): string;
  generate(options?: GenerateOptions): string;
  generateStream(vocab: Vocabulary, options?: GenerateOptions): AsyncGenerator<string, void, unknown>;
  generateStream(options?: GenerateOptions): AsyncGenerator<string, void, unknown>;
  /** Seed the sampler as generate's `seed` does: its random state is saved with the training
   * state, so this puts a file back where it would be had nobody sampled. */
  seedSampler(seed: number): void;

  /** The model file. trainingState (default true) adds the optimizer state, step count, RNG
   * and stream position. quantize: 'int8' writes each weight matrix as int8 rows with a scale
   * each, about 4x smaller: an inference-only file (no training state). */
  save(options?: { trainingState?: boolean; quantize?: 'int8' | 'none' }): Uint8Array;
  /** The model as a TensorFlow.js layers model that tf.loadLayersModel loads (e.g. through
   * tf.io.fromMemory) with the same outputs. Refuses, with LstmError code UNSUPPORTED, what TF.js
   * cannot compute: peephole, cifg, projSize, layerNorm, a GRU with resetAfter true, int8 models. */
  toTfjs(options?: { weightsPath?: string }): ToTfjsResult;
  dispose(): void;
  [Symbol.dispose](): void;
}

/** A text made ready for char-rnn training, cleaned as every shell cleans it: a byte-order
 * mark dropped, CRLF and CR made LF; lone UTF-16 surrogates and empty texts are refused
 * (LstmError code 'BAD_TEXT'). */
export class Corpus {
  constructor(text: string, options?: { name?: string });
  /** The cleaned text. */
  readonly text: string;
  /** Given by the caller (a file name, "Brown corpus"...); saved in the metadata. */
  readonly name: string;
  /** Unicode code points. */
  readonly chars: number;
  /** FNV-1a of the cleaned text's UTF-16 units, 8 hex digits: "the same text" or not. */
  readonly fingerprint: string;
  readonly vocab: Vocabulary;
  /** Characters of this text that `vocab` lacks. */
  unknownChars(vocab: Vocabulary): string[];
  describe(): CorpusInfo;
}

export interface CorpusInfo {
  name: string;
  chars: number;
  /** null for a file converted from a format that kept another kind of fingerprint. */
  fingerprint: string | null;
  vocabSize: number;
}

/** The architecture of a session's new model (Model.create options of a char-rnn). */
export type SessionArchitecture = Pick<ModelOptions, 'layers' | 'hiddenSize' | 'dropout' | 'seed' | 'cell' | 'layerNorm'
  | 'peephole' | 'cifg' | 'projSize' | 'recurrentDropout' | 'activation' | 'orthogonalInit' | 'forgetBias' | 'initScale'>;

export interface TrainingSettings {
  seqLength: number;
  batchSize: number;
  optimizer: 'adam' | 'rmsprop' | 'sgd';
  /** The base rate. */
  learningRate: number;
  /** 'cosine': from the base rate down to decayTo of it over `epochs` passes of the training
   * text, counted in characters, then flat. 'constant': the base rate. */
  schedule: 'cosine' | 'constant';
  epochs: number;
  decayTo: number;
  /** Global gradient-norm clipping; 0 = off. */
  clipNorm: number;
  /** Skip a step whose loss is above this times the recent mean (0 = off). */
  skipIfLossAbove: number;
  /** The last fraction of the text is held out for validation (0..0.5). */
  validationFraction: number;
  /** The size of the fixed slice of the validation text the curve is measured on (set from
   * the model's size; not a caller's setting). */
  readonly validationChars: number;
}

/** The recipe: 2 x 192, dropout 0.2, sequence 64, batch 16, Adam 3e-3 with a cosine decay to
 * 10 % over ~9 million characters, clipping at 5, skipIfLossAbove 3, validation 10 %. */
export type SessionSettings = SessionArchitecture & Omit<TrainingSettings, 'epochs' | 'validationChars'> & { epochs: number | null };

/** A point of a loss curve: [characters seen, loss in nats per character]. */
export type CurvePoint = [number, number];

export interface SessionEstimate extends MemoryEstimate {
  /** The text's ids and the validation slice in the heap. */
  textBytes: number;
  /** Flops of one training step (a token model's input weights are looked up, not multiplied). */
  stepFlops: number;
}

export interface TrainReport {
  /** Steps taken by this call, skipped ones included. */
  steps: number;
  skipped: number;
  /** Mean loss of the applied steps (NaN if none). */
  loss: number;
  losses: number[];
  /** Curve points made by this call. */
  train: CurvePoint[];
  val: CurvePoint[];
  /** A curve was thinned (neighbours merged): read `history` again. */
  halved: boolean;
  seconds: number;
}

/** The metadata a session saves (format 'lstm-wasm-session', version 1). No clock readings:
 * the same session gives the same file whoever ran it. Other tools' fields are kept beside. */
export interface SessionMetadata {
  format: 'lstm-wasm-session';
  version: 1;
  settings: TrainingSettings;
  corpus: CorpusInfo | null;
  /** Steps taken (skipped ones too) and their characters. */
  progress: { chars: number; steps: number; skipped: number };
  /** pending: [loss sum, applied steps] of the curve point under way. */
  history: { train: CurvePoint[]; val: CurvePoint[]; pending: [number, number] };
  [other: string]: unknown;
}

/**
 * The char-rnn training session: the demo's worker and the command line are shells around it.
 * Training runs in calls of some steps or seconds; the rate is set at fixed steps, validation
 * and curve points come at fixed positions, and nothing saved depends on the clock, so the
 * same text, settings and seed give the same file however the calls were cut.
 */
export class Session {
  /** The recipe for a text of `chars` characters (epochs: null without) and an optimizer. */
  static defaults(options?: { chars?: number; optimizer?: 'adam' | 'rmsprop' | 'sgd' }): SessionSettings;
  /** A new model for the text; the recipe where settings give nothing. LstmError TOO_SMALL
   * when the text cannot hold one batch, before any model is made. */
  static create(corpus: Corpus, settings?: Partial<SessionSettings>): Promise<Session>;
  /** Continue a saved model (metadata of earlier demo and command-line versions converted).
   * LstmError NOT_TEXT_MODEL for a model without a character vocabulary. */
  static open(file: Uint8Array | ArrayBuffer | Model): Promise<Session>;
  /** A model's session metadata in this format; from: the format it was read from (null: none). */
  static readMetadata(model: Model): {
    from: 'session' | 'demo-v1' | 'cli-v1' | null;
    settings: TrainingSettings;
    corpus: CorpusInfo | null;
    progress: { chars: number; steps: number; skipped: number };
    history: { train?: CurvePoint[]; val?: CurvePoint[] };
    extra: Record<string, unknown>;
  };
  /** Memory and step cost of a session before it is made, as the core lays it out. */
  static estimate(settings: Partial<SessionSettings>, text: { vocabSize: number; chars?: number }): Promise<SessionEstimate>;

  readonly model: Model;
  /** The format the metadata was read from ('session', 'demo-v1', 'cli-v1'; null for a new session or none). */
  readonly fileFormat: 'session' | 'demo-v1' | 'cli-v1' | null;
  readonly settings: TrainingSettings;
  readonly progress: { chars: number; steps: number; skipped: number };
  readonly history: { train: CurvePoint[]; val: CurvePoint[] };
  /** The text the model was trained on last. */
  readonly corpus: CorpusInfo | null;
  /** The Corpus training continues on (attach), or null. */
  readonly text: Corpus | null;
  readonly trainChars: number;
  readonly epoch: number;
  /** The step at which the schedule ends. */
  readonly plannedSteps: number;
  /** The rate of the next step. */
  readonly learningRate: number;
  /** Time spent in train() by this object; never saved. */
  readonly seconds: number;
  readonly charsPerSecond: number;

  /** Train on this text from now on (TOKEN_RANGE: characters the model lacks; TOO_SMALL). */
  attach(corpus: Corpus): void;
  /** Change training settings (the architecture belongs to the model). */
  configure(settings: Partial<Omit<TrainingSettings, 'validationChars'>>): void;
  /** Train `steps` steps or about `seconds` (at least one step), whichever ends first. */
  train(options: { steps?: number; seconds?: number }): TrainReport;
  /** Nats per character: 'slice' (the curve's, default), 'validation' (all of it), 'text'. */
  evaluate(options?: { part?: 'slice' | 'validation' | 'text' }): number;
  /** A live sample (320 characters, temperature 0.8, top-p 0.95, a seed from the steps). */
  sample(options?: GenerateOptions): string;
  /** Session.estimate for this model, the settings, and optionally other training settings. */
  estimate(settings?: Partial<TrainingSettings>): Promise<SessionEstimate>;
  metadata(): SessionMetadata;
  /** The model, its training state and the metadata, as bytes. */
  save(): Uint8Array;
  dispose(): void;
  [Symbol.dispose](): void;
}

/** What a TrainingWorker's thread holds: a session ... */
export interface SessionInfo {
  task: 'session';
  config: ModelConfig;
  parameterCount: number;
  settings: TrainingSettings;
  progress: { chars: number; steps: number; skipped: number };
  history: { train: CurvePoint[]; val: CurvePoint[] };
  /** The text the model was trained on last. */
  corpus: CorpusInfo | null;
  /** The text attached now (training continues on it), or null. */
  text: CorpusInfo | null;
  trainChars: number;
  epoch: number;
  plannedSteps: number;
  learningRate: number;
  fileFormat: 'session' | 'demo-v1' | 'cli-v1' | null;
  seconds: number;
  /** The model's characters, as code points in id order. */
  vocabulary: number[];
}

/** ... or a model for fit. */
export interface ModelInfo {
  task: 'fit';
  config: ModelConfig;
  parameterCount: number;
  stepCount: number;
}

/** A text as the thread made it a Corpus, with the recipe's schedule length for it. */
export interface TextInfo extends CorpusInfo {
  epochs: number;
}

/** After every unit of a session's run (~100 ms). */
export interface SessionProgress {
  task: 'session';
  state: 'running';
  steps: number;
  chars: number;
  skipped: number;
  epoch: number;
  trainChars: number;
  /** Seconds the session has trained (in this thread). */
  seconds: number;
  /** Mean training loss of this unit's applied steps (NaN if none). */
  loss: number;
  /** The last validation loss, or null. */
  valLoss: number | null;
  charsPerSecond: number;
  learningRate: number;
  /** Seconds until the run ends (its steps or seconds; without them, the schedule's end), or null. */
  eta: number | null;
  /** Curve points this unit made. */
  train: CurvePoint[];
  val: CurvePoint[];
  /** Both curves again, when the session thinned them. */
  history?: { train: CurvePoint[]; val: CurvePoint[] };
  /** The thread's wasm memory. */
  memoryBytes: number;
}

/** After every unit of a fit (~100 ms of batches). */
export interface FitProgress {
  task: 'fit';
  state: 'running';
  epoch: number;
  epochs: number;
  /** The last batch taken, in its epoch; batches per epoch. */
  batch: number;
  batches: number;
  /** Mean loss of the epoch's applied batches so far. */
  loss: number;
  /** The last completed epoch's validation loss, or null. */
  valLoss: number | null;
  samplesPerSecond: number;
  seconds: number;
  eta: number;
  /** Epochs completed in this unit, with their logs. */
  ended: (EpochLogs & { epoch: number })[];
}

export interface TrainingEvent<T> extends Event {
  readonly detail: T;
}

export interface TrainingWorkerEvents {
  progress: TrainingEvent<SessionProgress | FitProgress>;
  /** A live sample of a session's run: Session.sample(). */
  sample: TrainingEvent<{ text: string; steps: number; chars: number }>;
  state: TrainingEvent<{ state: 'idle' | 'running' | 'paused' }>;
}

/** A session's run ended. */
export interface RunResult {
  reason: 'steps' | 'seconds' | 'cancelled';
  /** Steps and seconds of this run. */
  steps: number;
  seconds: number;
  progress: { chars: number; steps: number; skipped: number };
}

/** A text for the thread: a string, or a Corpus (its text and name; the thread cleans it again). */
export type TrainingText = string | { text: string; name?: string };

/**
 * A Session, or a fit, trained on another thread: a Web Worker in browsers, worker_threads in
 * Node.js (the script is training-thread.js, beside lstm.js; bundlers find it). The thread
 * works in units (~100 ms of training, ~40 ms of generation) and answers requests between
 * them, so pause(), resume() and cancel() are answered when the unit under way ends: within
 * 100 ms plus one step, plus the validation pass when one falls due in that unit. Errors
 * arrive as LstmError with their name, code and message; a failure of the thread itself as
 * code WORKER; requests after dispose() as DISPOSED. Node.js is kept alive only while a
 * request (a run, a generation) is pending.
 *
 *   const worker = await TrainingWorker.create();
 *   worker.addEventListener('progress', (e) => show(e.detail.loss, e.detail.eta));
 *   await worker.createSession(new Corpus(text, { name: 'shakespeare.txt' }), { hiddenSize: 256 });
 *   const run = worker.train({ steps: 2000 });   // resolves when the run ends
 *   await worker.pause(); await worker.resume();
 *   const bytes = await worker.save();            // any time
 *   await run;
 *   worker.dispose();
 */
export class TrainingWorker extends EventTarget {
  private constructor();
  /** Start the thread and load the wasm module there (init options: default, every core
   * where shared memory exists). */
  static create(options?: { init?: InitOptions }): Promise<TrainingWorker>;
  /** buildInfo() of the thread's module. */
  readonly buildInfo: BuildInfo;
  readonly state: 'idle' | 'running' | 'paused';
  readonly disposed: boolean;

  addEventListener<K extends keyof TrainingWorkerEvents>(type: K, listener: (event: TrainingWorkerEvents[K]) => void,
    options?: boolean | { once?: boolean; signal?: AbortSignal }): void;
  addEventListener(type: string, listener: ((event: Event) => void) | null, options?: boolean | { once?: boolean; signal?: AbortSignal }): void;
  removeEventListener<K extends keyof TrainingWorkerEvents>(type: K, listener: (event: TrainingWorkerEvents[K]) => void): void;
  removeEventListener(type: string, listener: ((event: Event) => void) | null): void;

  /** The text as the thread cleans it, and the recipe's epochs for it. */
  describeText(text: TrainingText): Promise<TextInfo>;
  /** Session.create on the thread; what it held is freed once the new one is made. */
  createSession(text: TrainingText, settings?: Partial<SessionSettings>): Promise<SessionInfo>;
  /** Session.open on the thread. */
  openSession(bytes: Uint8Array | ArrayBuffer): Promise<SessionInfo>;
  /** Session.attach: LstmError TOKEN_RANGE (characters the model lacks) or TOO_SMALL. */
  attach(text: TrainingText): Promise<SessionInfo>;
  /** Session.configure; a run under way takes the settings at its next unit. */
  configure(settings: Partial<Omit<TrainingSettings, 'validationChars'>>): Promise<SessionInfo>;
  /** Session.estimate(settings, text) with text, else the session's estimate(settings). */
  estimate(settings?: Partial<SessionSettings>, text?: { vocabSize: number; chars?: number }): Promise<SessionEstimate>;
  info(): Promise<SessionInfo | ModelInfo | null>;
  /** Free what the thread holds (not during a run). */
  discard(): Promise<null>;

  /** A Model (Model.create) on the thread, for fit. */
  createModel(options: ModelOptions): Promise<ModelInfo>;
  loadModel(bytes: Uint8Array | ArrayBuffer): Promise<ModelInfo>;

  /** Train the session: `steps` more steps, or `seconds` of training, or until cancel().
   * 'progress' after every unit; 'sample' every sampleEvery seconds (default 4, 0: none).
   * Resolves when the run ends; rejects with the failed step's LstmError (the model is as it
   * was before that step). One run at a time. */
  train(options?: { steps?: number; seconds?: number; sampleEvery?: number }): Promise<RunResult>;
  /** Model.fit on the thread's model (the same batches and history as fit); 'progress' after
   * every unit. Options are data: no onEpochEnd, onBatchEnd or schedule function. */
  fit(x: Sequences, y: Targets, options?: Omit<FitOptions, 'onEpochEnd' | 'onBatchEnd' | 'schedule'> & { schedule?: Exclude<Schedule, Function> }): Promise<FitResult>;
  /** Stop taking steps until resume(); resolves once the thread has stopped. */
  pause(): Promise<{ state: 'idle' | 'paused' }>;
  resume(): Promise<{ state: 'idle' | 'running' }>;
  /** End the run: train() resolves with reason 'cancelled', fit() with stopped: true. */
  cancel(): Promise<{ state: 'idle' }>;

  /** The file now (Session.save, or Model.save), even during a run. */
  save(): Promise<Uint8Array>;
  /** The model now, as a Model on the calling thread (loaded from save()'s bytes). */
  model(): Promise<Model>;
  /** Generated text in pieces as the thread writes them (the model's vocabulary; training
   * waits meanwhile). Leaving the loop early stops it. */
  generate(options?: Omit<GenerateOptions, 'vocab'>): AsyncIterableIterator<string>;

  /** End the thread; pending requests reject with DISPOSED. Safe to call twice. */
  dispose(): void;
  [Symbol.dispose](): void;
}
