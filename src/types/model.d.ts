// types/model.d.ts - the Model class, its options and configuration, memory estimates, batches and tensors.
import type { Vocabulary, TokenStream, TextDataset, Sequences, Targets } from './data.js';
import type { GenerateOptions, GenerateSamplesOptions, Trace, TraceOptions, TfjsModelJson, TfjsArtifacts, TfjsWeightData, FromTfjsOptions, ToTfjsResult } from './generation.js';
import type { OptimizerOptions, StepGuardOptions, FitOptions, FitAsyncOptions, FitResult, TrainStats, SkipReason, TrainingStats } from './training.js';

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
