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

/**
 * Pearson's correlation of every cell of `values` (steps x width, step-major: value j of
 * step t at t * width + j) with each feature; NaN where the cell or the feature does not vary
 * over the passage. Returns { [featureId]: Float64Array(width) }. One pass over the values.
 */
export function correlations(values, width, features) {
  const T = values.length / width;
  const ids = Object.keys(features);
  // the features centred, so that a cell's covariance with one is a plain sum of products
  const centred = ids.map((id) => {
    const x = features[id];
    let mean = 0;
    for (let t = 0; t < T; t++) mean += x[t];
    mean /= T;
    const c = new Float64Array(T);
    let ss = 0;
    for (let t = 0; t < T; t++) { c[t] = x[t] - mean; ss += c[t] * c[t]; }
    return { c, sd: Math.sqrt(ss / T) };
  });
  const sum = new Float64Array(width);
  const sumSq = new Float64Array(width);
  const cross = ids.map(() => new Float64Array(width));
  for (let t = 0; t < T; t++) {
    const row = t * width;
    for (let j = 0; j < width; j++) {
      const v = values[row + j];
      sum[j] += v;
      sumSq[j] += v * v;
    }
    for (let q = 0; q < ids.length; q++) {
      const w = centred[q].c[t];
      if (w === 0) continue;
      const acc = cross[q];
      for (let j = 0; j < width; j++) acc[j] += values[row + j] * w;
    }
  }
  const out = {};
  ids.forEach((id, q) => {
    const r = new Float64Array(width);
    for (let j = 0; j < width; j++) {
      const mean = sum[j] / T;
      const sd = Math.sqrt(Math.max(0, sumSq[j] / T - mean * mean));
      // below 1e-6 a cell is constant up to float32 rounding: no correlation to speak of
      r[j] = sd > 1e-6 && centred[q].sd > 0 ? cross[q][j] / T / (sd * centred[q].sd) : NaN;
    }
    out[id] = r;
  });
  return out;
}

/**
 * The most interpretable cells: for each feature the `perFeature` cells (any layer, c or h)
 * most correlated with it, either sign, a cell (layer, index) listed once, under the feature
 * it follows best; sorted by |r|, at most `limit`. `units`: [{ layer, width, c, h }] (c null
 * for a GRU). Returns [{ layer, index, state: 'c' | 'h', feature, label, r }].
 */
export function rankCells(units, chars, { perFeature = 2, limit = 12 } = {}) {
  const features = textFeatures(chars);
  const all = [];
  for (const { layer, width, c, h } of units) {
    for (const [state, values] of [['c', c], ['h', h]]) {
      if (!values) continue;
      const r = correlations(values, width, features);
      for (const { id } of FEATURES) {
        r[id].forEach((value, index) => { if (Number.isFinite(value)) all.push({ layer, index, state, feature: id, r: value }); });
      }
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
