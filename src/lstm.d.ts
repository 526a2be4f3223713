// lstm.d.ts - type declarations of the lstm-wasm JavaScript API (src/js/index.js, shipped as dist/lstm.js):
// this entry declares the errors, init, buildInfo and limits, and re-exports the rest from types/*.d.ts.

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

// The rest of the API, by topic.
export * from './types/data.js';
export * from './types/model.js';
export * from './types/training.js';
export * from './types/generation.js';
export * from './types/session.js';
export * from './types/training_worker.js';
