// types/session.d.ts - the char-rnn training Session, its settings, reports and saved metadata.
import type { Corpus, CorpusInfo } from './data.js';
import type { GenerateOptions } from './generation.js';
import type { MemoryEstimate, ModelOptions, Model } from './model.js';

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
