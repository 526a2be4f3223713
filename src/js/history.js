// history.js - the loss curves of a training session: training loss (the mean of a fixed
// number of steps per point) and validation loss, each as [characters seen, loss] points,
// thinned by merging neighbours when long. Positions and contents depend only on the steps
// taken, never on how they were grouped into calls.

import { HISTORY_LIMIT } from './recipe.js';

/** Merge neighbouring points (mean loss at the later position): keeps long runs cheap to draw
 * and store. The last point keeps its position. */
export function halvePoints(points) {
  const out = [];
  for (let i = 0; i + 1 < points.length; i += 2) {
    out.push([points[i + 1][0], (points[i][1] + points[i + 1][1]) / 2]);
  }
  if (points.length % 2) out.push(points.at(-1));
  return out;
}

// Losses are stored to 6 decimals: the metadata stays small and reads the same everywhere.
const rounded = (x) => Math.round(x * 1e6) / 1e6;

/** [[chars, loss], ...] from saved metadata, keeping only well-formed points. */
export function points(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((p) => Array.isArray(p) && p.length === 2 && p.every(Number.isFinite)).map(([c, l]) => [c, l]);
}

export class TrainingHistory {
  /** @param saved { train, val, pending: [loss sum, applied steps] of the unfinished point } */
  constructor(saved = {}) {
    this.train = points(saved.train);
    this.val = points(saved.val);
    const p = saved.pending;
    this.pending = Array.isArray(p) && p.length === 2 && p.every(Number.isFinite) ? [p[0], p[1]] : [0, 0];
    this.halved = false; // set when a curve was thinned, for shells that mirror it
  }

  /** A step's loss (applied steps only); at a multiple of `every` steps, the pending mean
   * becomes a point at `chars`. Returns the point or null. */
  addStep(loss, applied, step, every, chars) {
    if (applied) this.pending = [this.pending[0] + loss, this.pending[1] + 1];
    if (step % every !== 0 || this.pending[1] === 0) return null;
    const point = [chars, rounded(this.pending[0] / this.pending[1])];
    this.pending = [0, 0];
    this.train.push(point);
    if (this.train.length > HISTORY_LIMIT) { this.train = halvePoints(this.train); this.halved = true; }
    return point;
  }

  addValidation(chars, loss) {
    const point = [chars, rounded(loss)];
    this.val.push(point);
    if (this.val.length > HISTORY_LIMIT) { this.val = halvePoints(this.val); this.halved = true; }
    return point;
  }

  /** Where the last validation was, or null. */
  get lastValidation() { return this.val.at(-1)?.[0] ?? null; }

  toJSON() { return { train: this.train, val: this.val, pending: this.pending }; }
}
