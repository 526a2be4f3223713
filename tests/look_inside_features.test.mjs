// look_inside_features.test.mjs - the demo's cell ranking (web/cell_features.js) on examples
// whose answer is known: the features of a short text character by character, correlations
// against a direct computation, and a constructed "model" whose cells follow known features
// (plus noise) among cells of pure noise: the ranking must find each planted cell, with its
// feature, state (c or h), layer, index and sign, and nothing else above them, whether the
// passage comes in one piece or in several.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURES, correlations, rankCells, textFeatures } from '../web/cell_features.js';

test('textFeatures: each feature of each character of a short text', () => {
  const text = 'He said "Hi (to) Ann"\nok “Yes” now';
  const chars = [...text];
  const f = textFeatures(chars);
  // the positions where each indicator is 1 (H0 e1 _2 s3 a4 i5 d6 _7 "8 H9 i10 _11 (12 t13 o14
  // )15 _16 A17 n18 n19 "20 \n21 o22 k23 _24 “25 Y26 e27 s28 ”29 _30 n31 o32 w33)
  const ones = (id) => Array.from(f[id]).flatMap((v, t) => (v === 1 ? [t] : []));
  const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  assert.equal(chars.length, 34);
  assert.deepEqual(ones('quote'), [...range(8, 19), ...range(25, 28)], 'an opening quote is inside, a closing one outside');
  assert.deepEqual(ones('paren'), range(12, 14));
  assert.deepEqual(ones('wordStart'), [0, 3, 9, 13, 17, 22, 26, 31]);
  assert.deepEqual(ones('newline'), [21]);
  assert.deepEqual(ones('capital'), [0, 1, 9, 10, 17, 18, 19, 26, 27, 28]);
  assert.deepEqual(Array.from(f.column), [...range(0, 21), ...range(0, 11)]);
  assert.deepEqual(Object.keys(f), FEATURES.map((x) => x.id));
});

test('correlations: Pearson\'s r per cell, NaN for a cell or feature that does not vary', () => {
  const T = 50;
  const feature = Float64Array.from({ length: T }, (_, t) => Math.sin(t / 3) + (t % 7 === 0 ? 1 : 0));
  const constant = new Float64Array(T).fill(2);
  // 4 cells: the feature scaled and shifted, its negative, a constant, something else
  const other = Array.from({ length: T }, (_, t) => Math.cos(t * 1.7));
  const values = new Float32Array(T * 4);
  for (let t = 0; t < T; t++) values.set([3 * feature[t] + 1, -feature[t], 0.5, other[t]], t * 4);
  const r = correlations(values, 4, { feature, constant });
  // direct: r = cov / (sd sd) in float64 on the float32 values
  const pearson = (x, y) => {
    const mx = x.reduce((a, b) => a + b, 0) / x.length;
    const my = y.reduce((a, b) => a + b, 0) / y.length;
    let sxy = 0; let sxx = 0; let syy = 0;
    for (let i = 0; i < x.length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ** 2; syy += (y[i] - my) ** 2; }
    return sxy / Math.sqrt(sxx * syy);
  };
  const cell = (j) => Array.from({ length: T }, (_, t) => values[t * 4 + j]);
  // 1e-6: float32 values, sums in float64 by two formulas
  for (const j of [0, 1, 3]) assert.ok(Math.abs(r.feature[j] - pearson(cell(j), Array.from(feature))) < 1e-6, `cell ${j}`);
  assert.ok(Math.abs(r.feature[0] - 1) < 1e-6);
  assert.ok(Math.abs(r.feature[1] + 1) < 1e-6);
  assert.ok(Number.isNaN(r.feature[2]), 'a constant cell');
  assert.ok(r.constant.every(Number.isNaN), 'a constant feature');
});

/** A text with every feature: quotes, parentheses, capitals, lines of varied length. */
function constructedText() {
  const words = ['the', 'river', 'Boston', 'said', 'a', 'house', 'Mary', 'went', 'up', 'old', 'Court', 'of'];
  let s = 7;
  const rand = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32; };
  let text = '';
  while (text.length < 3000) {
    const n = 3 + Math.floor(rand() * 12);
    const line = [];
    for (let i = 0; i < n; i++) line.push(words[Math.floor(rand() * words.length)]);
    let sentence = line.join(' ');
    const k = rand();
    if (k < 0.3) sentence = sentence.replace(/ (\w+ \w+ \w+)/, ' "$1"');
    else if (k < 0.5) sentence = sentence.replace(/ (\w+ \w+)/, ' ($1)');
    text += `${sentence}.\n`;
  }
  return [...text];
}

test('rankCells finds the planted cells, each with its feature, state, layer, index and sign', () => {
  const chars = constructedText();
  const T = chars.length;
  const f = textFeatures(chars);
  const W = 10;
  let s = 99;
  const noise = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
  // two layers of 10 cells, c and h, all noise but for these (noise sd ~0.29 under signals of 1)
  const planted = [
    { layer: 1, index: 3, state: 'c', feature: 'quote', sign: 1, scale: 1.5 },
    { layer: 0, index: 5, state: 'h', feature: 'column', sign: -1, scale: 1 / 40 },
    { layer: 0, index: 2, state: 'c', feature: 'paren', sign: 1, scale: 1 },
    { layer: 1, index: 6, state: 'h', feature: 'wordStart', sign: 1, scale: 1 },
    { layer: 0, index: 7, state: 'c', feature: 'newline', sign: -1, scale: 2 },
    { layer: 1, index: 0, state: 'h', feature: 'capital', sign: 1, scale: 1 },
  ];
  const units = [0, 1].map((layer) => {
    const unit = { layer, width: W, c: new Float32Array(T * W), h: new Float32Array(T * W) };
    for (const state of ['c', 'h']) {
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < W; j++) {
          const p = planted.find((x) => x.layer === layer && x.index === j && x.state === state);
          unit[state][t * W + j] = 0.3 * noise() + (p ? p.sign * p.scale * f[p.feature][t] : 0);
        }
      }
    }
    return unit;
  });
  const ranking = rankCells(chars, [{ start: 0, units }], { perFeature: 2, limit: 12 });
  console.log(ranking.map((x) => `L${x.layer}#${x.index}${x.state} ${x.feature} ${x.r.toFixed(2)}`).join(', '));
  for (const p of planted) {
    const found = ranking.find((x) => x.layer === p.layer && x.index === p.index);
    assert.ok(found, `${p.feature}: cell ${p.layer}/${p.index} is listed`);
    assert.equal(found.feature, p.feature);
    assert.equal(found.state, p.state);
    assert.equal(Math.sign(found.r), p.sign);
    assert.ok(Math.abs(found.r) > 0.7, `${p.feature}: r = ${found.r}`);
    assert.equal(found.label, FEATURES.find((x) => x.id === p.feature).label);
  }
  // the planted cells first, then noise cells at |r| well below theirs; each cell once
  const plantedFirst = ranking.slice(0, planted.length);
  assert.ok(plantedFirst.every((x) => planted.some((p) => p.layer === x.layer && p.index === x.index)));
  for (const x of ranking.slice(planted.length)) assert.ok(Math.abs(x.r) < 0.2, `a noise cell at r = ${x.r}`);
  const keys = ranking.map((x) => `${x.layer}:${x.index}`);
  assert.equal(new Set(keys).size, keys.length, 'no cell twice');
  assert.ok(ranking.length <= 12);
  for (let i = 1; i < ranking.length; i++) assert.ok(Math.abs(ranking[i - 1].r) >= Math.abs(ranking[i].r), 'sorted by |r|');

  // The passage read in three pieces (the page traces a long passage piece by piece): the same
  // cells and correlations, up to the order of the float64 sums (1e-12).
  const cuts = [0, 1000, 2345, T];
  const pieces = cuts.slice(0, -1).map((start, i) => ({
    start,
    units: units.map((u) => ({ ...u, c: u.c.subarray(start * W, cuts[i + 1] * W), h: u.h.subarray(start * W, cuts[i + 1] * W) })),
  }));
  const inPieces = rankCells(chars, pieces, { perFeature: 2, limit: 12 });
  assert.deepEqual(inPieces.map(({ r, ...x }) => x), ranking.map(({ r, ...x }) => x));
  inPieces.forEach((x, i) => assert.ok(Math.abs(x.r - ranking[i].r) < 1e-12, `${x.r} vs ${ranking[i].r}`));
});

test('rankCells reads a GRU\'s units (h only) and skips a feature the passage lacks', () => {
  const chars = [...'no quotes or brackets here\njust words\n'.repeat(20)];
  const T = chars.length;
  const f = textFeatures(chars);
  const h = new Float32Array(T * 2);
  for (let t = 0; t < T; t++) h.set([f.wordStart[t], Math.sin(t)], t * 2);
  const ranking = rankCells(chars, [{ start: 0, units: [{ layer: 0, width: 2, c: null, h }] }]);
  assert.equal(ranking[0].feature, 'wordStart');
  assert.equal(ranking[0].state, 'h');
  assert.ok(Math.abs(ranking[0].r - 1) < 1e-6);
  assert.ok(ranking.every((x) => x.feature !== 'quote' && x.feature !== 'paren'), 'no feature that never varies');
});
