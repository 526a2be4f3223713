// cell_features.js - which cells of a character model track something simple about the text
// (Karpathy, Johnson and Fei-Fei, "Visualizing and Understanding Recurrent Networks", 2015):
// features of each character of a passage, and every cell's activation correlated with each.
// Pure functions on plain arrays (no DOM, no library): the page's snapshot worker runs them,
// and tests/look_inside_features.test.mjs checks them on a text whose answer is known.

/** The features, in the order the page lists them. Each describes the character just read
 * (position t of the passage), which is what the state after step t has seen. */
export const FEATURES = Object.freeze([
  { id: 'quote', label: 'inside quotes' },
  { id: 'paren', label: 'inside parentheses' },
  { id: 'column', label: 'position in the line' },
  { id: 'wordStart', label: 'start of a word' },
  { id: 'newline', label: 'after a newline' },
  { id: 'capital', label: 'in a capitalised word' },
]);

const isWordChar = (ch) => /[\p{L}\p{N}]/u.test(ch);
const isUpper = (ch) => /\p{Lu}/u.test(ch);

/**
 * Every feature of every character of `chars` (an array of characters: code points, not
 * UTF-16 units), as { [id]: Float64Array(chars.length) }:
 * - quote: 1 from an opening double quote to the character before its closing one (straight
 *   quotes alternate; “ opens and ” closes), else 0;
 * - paren: 1 from '(' to the character before the matching ')', else 0 (nesting counted);
 * - column: the character's position in its line, 0 for the first;
 * - wordStart: 1 for a letter or digit that does not follow one;
 * - newline: 1 for a newline (the state then has just seen a line end);
 * - capital: 1 for every character of a word that begins with a capital letter.
 */
export function textFeatures(chars) {
  const T = chars.length;
  const f = Object.fromEntries(FEATURES.map(({ id }) => [id, new Float64Array(T)]));
  let inQuote = false;
  let depth = 0;
  let column = 0;
  let capitalWord = false;
  for (let t = 0; t < T; t++) {
    const ch = chars[t];
    if (ch === '"') inQuote = !inQuote;
    else if (ch === '“') inQuote = true;
    else if (ch === '”') inQuote = false;
    // a closing quote is outside already: it ends the quotation
    f.quote[t] = inQuote ? 1 : 0;
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    f.paren[t] = depth > 0 ? 1 : 0;
    f.column[t] = column;
    column = ch === '\n' ? 0 : column + 1;
    const word = isWordChar(ch);
    const start = word && (t === 0 || !isWordChar(chars[t - 1]));
    f.wordStart[t] = start ? 1 : 0;
    f.newline[t] = ch === '\n' ? 1 : 0;
    if (start) capitalWord = isUpper(ch);
    f.capital[t] = word && capitalWord ? 1 : 0;
  }
  return f;
}

/** Correlations of cells with features, over a passage read in pieces (a trace each): the
 * features are centred on the whole passage once, then each piece's activations add to running
 * sums. */
export class CellCorrelations {
  /** `features`: { [id]: array over the whole passage } (textFeatures). */
  constructor(features) {
    this.ids = Object.keys(features);
    this.sums = new Map(); // a series' key -> { width, sum, sumSq, cross: per feature }
    // centred, so that a cell's covariance with a feature is a plain sum of products
    this.centred = this.ids.map((id) => {
      const x = features[id];
      const n = x.length;
      let mean = 0;
      for (let t = 0; t < n; t++) mean += x[t];
      mean /= n;
      const c = new Float64Array(n);
      let ss = 0;
      for (let t = 0; t < n; t++) { c[t] = x[t] - mean; ss += c[t] * c[t]; }
      return { c, sd: Math.sqrt(ss / n) };
    });
  }

  /** Add the steps of one series (`key`: a unit's c or h) read from passage position `start`:
   * `values` steps x width, step-major (value j of step t at t * width + j). */
  add(key, values, width, start) {
    if (!this.sums.has(key)) {
      this.sums.set(key, { width, steps: 0, sum: new Float64Array(width), sumSq: new Float64Array(width), cross: this.ids.map(() => new Float64Array(width)) });
    }
    const s = this.sums.get(key);
    const T = values.length / width;
    s.steps += T;
    for (let t = 0; t < T; t++) {
      const row = t * width;
      for (let j = 0; j < width; j++) {
        const v = values[row + j];
        s.sum[j] += v;
        s.sumSq[j] += v * v;
      }
      for (let q = 0; q < this.ids.length; q++) {
        const w = this.centred[q].c[start + t];
        if (w === 0) continue;
        const acc = s.cross[q];
        for (let j = 0; j < width; j++) acc[j] += values[row + j] * w;
      }
    }
  }

  /** Pearson's r of each cell of series `key` with each feature, { [id]: Float64Array(width) };
   * NaN where the cell or the feature does not vary. The series must have covered the passage. */
  of(key) {
    const { width, steps: T, sum, sumSq, cross } = this.sums.get(key);
    const out = {};
    this.ids.forEach((id, q) => {
      const r = new Float64Array(width);
      for (let j = 0; j < width; j++) {
        const mean = sum[j] / T;
        const sd = Math.sqrt(Math.max(0, sumSq[j] / T - mean * mean));
        // below 1e-6 a cell is constant up to float32 rounding: no correlation to speak of
        r[j] = sd > 1e-6 && this.centred[q].sd > 0 ? cross[q][j] / T / (sd * this.centred[q].sd) : NaN;
      }
      out[id] = r;
    });
    return out;
  }
}

/**
 * Pearson's correlation of every cell of `values` (steps x width, step-major) with each
 * feature (arrays over the same steps): { [featureId]: Float64Array(width) }, NaN where the
 * cell or the feature does not vary.
 */
export function correlations(values, width, features) {
  const stats = new CellCorrelations(features);
  stats.add('cells', values, width, 0);
  return stats.of('cells');
}

/**
 * The most interpretable cells of a passage (`chars`, an array of characters) read in
 * `pieces` ([{ start, units: [{ layer, width, c, h }] }], c null for a GRU; the pieces cover
 * the passage in order): for each feature the `perFeature` cells (any layer, c or h) most
 * correlated with it, either sign, a cell (layer, index) listed once, under the feature it
 * follows best; sorted by |r|, at most `limit`. Returns [{ layer, index, state: 'c' | 'h',
 * feature, label, r }].
 */
export function rankCells(chars, pieces, { perFeature = 2, limit = 12 } = {}) {
  const stats = new CellCorrelations(textFeatures(chars));
  const series = new Map(); // key -> { layer, state }
  for (const { start, units } of pieces) {
    for (const { layer, width, c, h } of units) {
      for (const [state, values] of [['c', c], ['h', h]]) {
        if (!values) continue;
        const key = `${layer}:${state}`;
        series.set(key, { layer, state });
        stats.add(key, values, width, start);
      }
    }
  }
  const all = [];
  for (const [key, { layer, state }] of series) {
    const r = stats.of(key);
    for (const { id } of FEATURES) {
      r[id].forEach((value, index) => { if (Number.isFinite(value)) all.push({ layer, index, state, feature: id, r: value }); });
    }
  }
  all.sort((a, b) => Math.abs(b.r) - Math.abs(a.r));
  // each cell's best feature (c or h): a cell is listed under that one only
  const best = new Map();
  for (const item of all) {
    const key = `${item.layer}:${item.index}`;
    if (!best.has(key)) best.set(key, item);
  }
  const label = Object.fromEntries(FEATURES.map(({ id, label: l }) => [id, l]));
  const picked = [];
  for (const { id } of FEATURES) {
    let n = 0;
    for (const item of best.values()) {
      if (n === perFeature) break;
      if (item.feature !== id) continue;
      picked.push({ ...item, label: label[id] });
      n++;
    }
  }
  return picked.sort((a, b) => Math.abs(b.r) - Math.abs(a.r)).slice(0, limit);
}
