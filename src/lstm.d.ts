// lstm.d.ts - type declarations of the lstm-wasm JavaScript API (src/lstm.js).

/** Every failure of the library. `code` names the cause. */
export class LstmError extends Error {
  readonly code: 'INVALID_ARGUMENT' | 'OUT_OF_MEMORY' | 'BAD_MAGIC' | 'UNSUPPORTED_VERSION' | 'TRUNCATED'
    | 'CHECKSUM' | 'CORRUPT' | 'NON_FINITE' | 'TOKEN_RANGE' | 'BUFFER_TOO_SMALL' | 'STATE' | 'DISPOSED'
    | 'LOAD' | string;
  /** The C status code (lstm_status), 1..11. */
  readonly status: number;
}

/** An allocation in the wasm heap failed; the model is unchanged. */
export class LstmOutOfMemoryError extends LstmError {}

export interface InitOptions {
  /** Force the SIMD (true) or scalar (false) build; default: SIMD where supported. */
  simd?: boolean;
  /** Where to fetch the .wasm from (default: next to lstm.js). */
  wasmUrl?: string | URL;
  /** The .wasm bytes themselves. */
  wasmBinary?: ArrayBuffer | Uint8Array;
}

/** Load the module once (optional: the first Model.create/load does it with defaults). */
export function init(options?: InitOptions): Promise<unknown>;
export function simdSupported(): boolean;
export function buildInfo(): Promise<{ simd: boolean; kernels: string; memoryBytes: number }>;

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
  /** Added to the forget-gate bias at initialisation. */
  forgetBias?: number;
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
  targets: Int32Array | ArrayLike<number>;
}

export interface TrainStats {
  steps: number;
  loss: number;
  losses: Float32Array;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

export interface GenerateOptions {
  vocab?: Vocabulary;
  prompt?: string;
  length?: number;
  /** 0 = argmax. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Tokens generated per call into wasm (default 16). */
  chunk?: number;
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

  readonly config: ModelConfig;
  readonly disposed: boolean;
  readonly parameterCount: number;
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

  setOptimizer(options: OptimizerOptions): void;
  resetState(): void;
  trainBatch(batch: Batch): number;
  computeLoss(batch: Batch): number;
  computeGradients(batch: Batch): { loss: number; gradients: Float32Array; inputGradients?: Float32Array };
  trainSteps(data: TextDataset | TokenStream, options?: {
    steps?: number; seqLength?: number; batchSize?: number;
    optimizer?: OptimizerOptions; clipNorm?: number; learningRate?: number;
  }): TrainStats;
  evaluate(data: TextDataset | TokenStream, options?: { batchSize?: number; seqLength?: number }): number;

  resetInference(): void;
  step(input: number | ArrayLike<number>): Float32Array;
  generateChars(options?: GenerateOptions): Generator<string, void, unknown>;
  generate(vocab: Vocabulary, options?: GenerateOptions): string;
  generate(options?: GenerateOptions): string;
  generateStream(vocab: Vocabulary, options?: GenerateOptions): AsyncGenerator<string, void, unknown>;
  generateStream(options?: GenerateOptions): AsyncGenerator<string, void, unknown>;

  save(options?: { trainingState?: boolean }): Uint8Array;
  dispose(): void;
  [Symbol.dispose](): void;
}
