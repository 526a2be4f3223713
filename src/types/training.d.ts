// types/training.d.ts - training options and results: optimizer, step guard, fit (options, logs, results), trainSteps stats.
import type { Sequences, Targets } from './data.js';

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
