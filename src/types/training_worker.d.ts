// types/training_worker.d.ts - TrainingWorker (a Session or a fit on another thread), its events, progress and results.
import type { Sequences, Targets, CorpusInfo } from './data.js';
import type { GenerateOptions } from './generation.js';
import type { ModelOptions, ModelConfig, Model } from './model.js';
import type { TrainingSettings, SessionSettings, CurvePoint, SessionEstimate } from './session.js';
import type { Schedule, FitOptions, EpochLogs, FitResult } from './training.js';
import type { InitOptions, BuildInfo } from '../lstm.js';

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
