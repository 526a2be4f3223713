// sampling.test.mjs - the sampler's distribution (temperature, top-k, top-p, argmax, ties) from seeded
// draws through the public API, against a float64 reference of the rules in include/lstm.h (lstm_sampling).
// A model whose output weight is zero has logits equal to its output bias at every step, so each
// generated token is an independent draw from one known distribution; the test counts them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model, Vocabulary } from '../dist/lstm.js';
import { builds } from './helpers.mjs';

const all = await builds();

// Sixteen tokens whose logits fall by 0.3 per rank (each token ~0.74 times as likely as the one
// above it at temperature 1), placed on the ids in a scrambled order (rank r -> id (7r + 3) mod 16)
// so that a sampler which loses track of ids while sorting draws the wrong tokens.
const V = 16;
const byRank = Array.from({ length: V }, (_, r) => 3.0 - 0.3 * r);
const LOGITS = new Float32Array(V);
byRank.forEach((z, r) => { LOGITS[(7 * r + 3) % V] = z; });
const VOCAB = new Vocabulary(Array.from({ length: V }, (_, i) => 97 + i)); // 'a'..'p'

// Ties: the two most likely tokens (ids 3 and 10) share a logit, and so do the third and fourth
// (ids 1 and 8), which sit on the top-k 3 boundary: the lower id ranks first in both.
const TIED = Float32Array.from(LOGITS);
TIED[10] = TIED[3];
TIED[8] = TIED[1];

// Draws per case (~0.1 s each): the least likely token kept at a top-p boundary (0.035) is still
// drawn ~1700 times, and the subtlest mistake (e under top-p 0.9, moving 8% of the draws to the top
// token) scores ~20 times the bound. The statistic of a right sampler does not grow with N.
const N = 50000;

// ---- the reference: the documented rules, in float64 ----

/** exp((z - max) / T) per token: unnormalised weights; `times` applies T the wrong way round. */
function tempered(z, T, times = false) {
  const zt = Array.from(z, (v) => (times ? v * T : v / T));
  const top = Math.max(...zt);
  return zt.map((v) => Math.exp(v - top)); // subtract the max: exp() overflows above 709
}

/** Token ids from most to least likely, ties by lower id. */
const ranked = (w) => w.map((_, i) => i).sort((a, b) => w[b] - w[a] || a - b);
const massOf = (w, order, n) => order.slice(0, n).reduce((s, i) => s + w[i], 0);

/**
 * The distribution a sampler following include/lstm.h draws from: temperature (0 = argmax),
 * then top-k, then top-p over what top-k left (renormalised), then renormalised.
 * `mistake` instead gives the distribution of one of the wrong samplers listed in MISTAKES.
 * Returns { q: probabilities by id, kept: ids kept, margin: for top-p, how far the renormalised
 * cumulative mass on either side of the cut is from p (float32 rounding is ~1e-7 of it) }.
 */
function distribution(z, { temperature = 1, topK = 0, topP = 1 }, mistake = null) {
  const q = new Float64Array(z.length);
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < z.length; i++) if (z[i] > z[best]) best = i; // first maximum: lowest id
    q[best] = 1;
    return { q, kept: [best], margin: Infinity };
  }
  const w = tempered(z, temperature, mistake === 'c');
  const order = ranked(w);
  let n = topK > 0 && topK < z.length ? topK : z.length;
  if (mistake === 'd' && n < z.length) n += 1;
  let margin = Infinity;
  if (topP > 0 && topP < 1) {
    const mass = mistake === 'a' ? massOf(w, order, z.length) : massOf(w, order, n);
    let cut = 0; let acc = 0;
    // the smallest prefix whose mass reaches p; mistake b stops one token before reaching it
    while (cut < n && acc < topP * mass) {
      if (mistake === 'b' && acc + w[order[cut]] >= topP * mass) break;
      acc += w[order[cut++]];
    }
    if (cut > 0) margin = Math.min(acc / mass - topP, topP - (acc - w[order[cut - 1]]) / mass);
    n = cut;
  }
  const kept = massOf(w, order, n);
  // mistake e: u * total instead of u * kept; the draws past the kept mass fall back to the top token
  const norm = mistake === 'e' ? massOf(w, order, z.length) : kept;
  for (const i of order.slice(0, n)) q[i] = w[i] / norm;
  q[order[0]] += 1 - kept / norm;
  return { q, kept: order.slice(0, n), margin };
}

// Wrong samplers the test must catch. Each case below names the ones it tells apart from the right
// sampler, and checks that their distributions fit its draws far worse than the bound allows.
const MISTAKES = {
  a: 'top-p over the full distribution instead of what top-k kept',
  b: 'top-p keeping one token too few (stopping before the mass reaches p)',
  c: 'temperature multiplying the logits instead of dividing them',
  d: 'top-k keeping k + 1 tokens',
  e: 'no renormalisation (drawing u * total over the kept tokens)',
};

// ---- the statistic ----

const MIN_EXPECTED = 20; // draws per cell; the chi-square law approximates the multinomial only
// with enough draws in each cell (5 is the textbook floor; 20, as this far in the tail it matters)

/** Pearson's chi-square of `counts` against probabilities `q` over N draws, on the tokens q
 * keeps; tokens expected fewer than MIN_EXPECTED times are pooled into one cell. A draw of a
 * token q excludes makes it Infinity. Returns { stat, df }. */
function chiSquare(counts, q, N) {
  const cells = [];
  const pool = { observed: 0, expected: 0 };
  let outside = 0;
  for (let i = 0; i < q.length; i++) {
    if (q[i] === 0) {
      outside += counts[i];
      continue;
    }
    const cell = { observed: counts[i], expected: N * q[i] };
    if (cell.expected < MIN_EXPECTED) { pool.observed += cell.observed; pool.expected += cell.expected; } else cells.push(cell);
  }
  if (pool.expected > 0) {
    cells.sort((x, y) => x.expected - y.expected);
    if (pool.expected < MIN_EXPECTED && cells.length > 0) { // too small alone: join the smallest cell
      pool.observed += cells[0].observed;
      pool.expected += cells.shift().expected;
    }
    cells.push(pool);
  }
  const stat = outside > 0 ? Infinity : cells.reduce((s, c) => s + (c.observed - c.expected) ** 2 / c.expected, 0);
  return { stat, df: cells.length - 1 };
}

const Z_UPPER_1E6 = 4.753424308822899; // the standard normal's upper 1e-6 point

/** The value a chi-square variable with df degrees of freedom exceeds with probability 1e-6,
 * by Wilson-Hilferty: (X / df)^(1/3) is close to normal, mean 1 - 2/(9 df), variance 2/(9 df).
 * This far in the tail it errs high: the exact probability beyond it is 1.6e-7 at df 1 and
 * 2.7e-7 (df 2) to 7.6e-7 (df 20) (checked below), so a correct sampler fails a case with
 * probability below 1e-6 whatever the seed, while every mistake scores hundreds of times more. */
function chiSquareBound(df) {
  const a = 2 / (9 * df);
  return df * (1 - a + Z_UPPER_1E6 * Math.sqrt(a)) ** 3;
}

test('chiSquareBound: the exact tail beyond it is between 1e-7 and 1e-6 (even df: a finite sum)', () => {
  for (let df = 2; df <= 30; df += 2) {
    // P(X > x) = exp(-x/2) sum_{j < df/2} (x/2)^j / j! for even df
    const x = chiSquareBound(df);
    let term = Math.exp(-x / 2); let tail = 0;
    for (let j = 0; j < df / 2; j++) { tail += term; term *= x / 2 / (j + 1); }
    assert.ok(tail > 1e-7 && tail < 1e-6, `df ${df}: bound ${x}, exact tail ${tail}`);
  }
  // df 1: X = Z^2, so the exact 1e-6 point is 4.8916^2 (the normal's upper 5e-7 point, squared)
  const exact1 = 4.8916 ** 2;
  assert.ok(chiSquareBound(1) > exact1 && chiSquareBound(1) < 1.2 * exact1, `df 1: ${chiSquareBound(1)} vs exact ${exact1}`);
});

// ---- the cases ----

const CASES = [
  { name: 'temperature 1', sampling: { temperature: 1 }, catches: [] },
  { name: 'temperature 0.5', sampling: { temperature: 0.5 }, catches: ['c'] },
  { name: 'temperature 2', sampling: { temperature: 2 }, catches: ['c'] },
  { name: 'top-k 3', sampling: { topK: 3 }, catches: ['d', 'e'] },
  { name: 'top-k 5', sampling: { topK: 5 }, catches: ['d', 'e'] },
  // cumulative mass 0.885 after 7 tokens, 0.917 after 8: the cut is inside the list
  { name: 'top-p 0.9', sampling: { topP: 0.9 }, catches: ['b', 'e'] },
  // the top 6 hold 0.842 of the full mass, so p applied to the full distribution keeps all 6;
  // renormalised to the top 6, 5 tokens already hold 0.931 >= 0.9 and the 6th is dropped
  { name: 'top-k 6 + top-p 0.9', sampling: { topK: 6, topP: 0.9 }, catches: ['a', 'b', 'd', 'e'] },
  // softmax(z / 0.7): 4 tokens hold 0.821 >= 0.75, 3 hold 0.724
  { name: 'temperature 0.7 + top-p 0.75', sampling: { temperature: 0.7, topP: 0.75 }, catches: ['b', 'c', 'e'] },
  // ids 1 and 8 tie for third: top-k 3 keeps id 1, never id 8
  { name: 'ties: top-k 3 with a tie on the boundary', logits: TIED, sampling: { topK: 3 }, catches: ['d', 'e'] },
];

test('every mistake is told apart by some case', () => {
  for (const m of Object.keys(MISTAKES)) assert.ok(CASES.some((c) => c.catches.includes(m)), `mistake ${m}: ${MISTAKES[m]}`);
});

/** A token model whose logits are `logits` at every step: out.weight 0, out.bias = logits. */
async function fixedLogitModel(logits, wasm) {
  const model = await Model.create({ vocabSize: V, hiddenSize: 4, layers: 1, seed: 3, wasm });
  const params = model.parameters();
  const t = Object.fromEntries(model.tensors().map((x) => [x.name, x]));
  assert.equal(t['out.weight'].size, V * 4);
  assert.equal(t['out.bias'].size, V);
  params.fill(0, t['out.weight'].offset, t['out.weight'].offset + t['out.weight'].size);
  params.set(logits, t['out.bias'].offset);
  model.setParameters(params);
  // the logits really are the bias whatever the state: exactly, after several steps
  model.resetInference();
  for (const token of [0, 5, 15, 7]) assert.deepEqual(model.step(token), Float32Array.from(logits));
  return model;
}

/** Counts per id of `N` tokens generated with `sampling` and `seed`. */
function draw(model, sampling, seed, n = N) {
  const text = model.generate({ vocab: VOCAB, prompt: 'a', length: n, seed, chunk: 4096, ...sampling });
  const counts = new Float64Array(V);
  for (const ch of text) counts[VOCAB.index.get(ch.codePointAt(0))]++;
  assert.equal(counts.reduce((s, c) => s + c, 0), n);
  return counts;
}

const FAR = 10; // a mistake must score at least this many times the bound against the same draws

/** The three checks of every case: (1) nothing outside the kept set, ever; (2) goodness of fit
 * on the kept set (bound: p = 1e-6 for a right sampler, any seed); (3) the draws tell the right
 * distribution from each wrong one the case is meant to catch. */
function assertDraws(name, counts, kept, { stat, df, bound }, wrong, mistakes) {
  for (let i = 0; i < V; i++) {
    if (!kept.includes(i)) assert.equal(counts[i], 0, `${name}: token ${i} is not kept but was drawn ${counts[i]} times`);
  }
  assert.ok(stat < bound, `${name}: chi-square ${stat} >= ${bound} (df ${df}); counts ${counts.join(' ')}`);
  for (const [m, wrongStat] of wrong) {
    assert.ok(wrongStat > FAR * bound, `${name}: mistake ${m} (${mistakes[m]}) scores only ${wrongStat} against bound ${bound}`);
  }
}

for (const build of all) {
  CASES.forEach((c, index) => {
    test(`${build.name}: ${c.name} draws from the documented distribution`, async () => {
      const logits = c.logits ?? LOGITS;
      const { q, kept, margin } = distribution(logits, c.sampling);
      // the case is well posed: the top-p cut is nowhere near where float32 rounding could move it
      assert.ok(margin > 5e-3, `${c.name}: the top-p boundary is only ${margin} from p`);
      const model = await fixedLogitModel(logits, build.wasm);
      try {
        const counts = draw(model, c.sampling, 1000 + index);
        const outside = counts.reduce((n, k, i) => (kept.includes(i) ? n : n + k), 0);
        const { stat, df } = chiSquare(counts, q, N);
        const bound = chiSquareBound(df);
        const wrong = c.catches.map((m) => [m, chiSquare(counts, distribution(logits, c.sampling, m).q, N).stat]);
        console.log(`  ${build.name} ${c.name}: kept ${kept.length}, ${outside} draws outside them, chi-square ${stat.toFixed(2)}, df ${df}, bound ${bound.toFixed(2)}`
          + (wrong.length ? `; mistakes against the same draws: ${wrong.map(([m, w]) => `${m} ${w.toFixed(0)}`).join(', ')}` : ''));
        assertDraws(c.name, counts, kept, { stat, df, bound }, wrong, MISTAKES);
      } finally {
        model.dispose();
      }
    });
  });

  test(`${build.name}: temperature 0 is the argmax every time, ties to the lower id, whatever top-k and top-p`, async () => {
    for (const [logits, best] of [[LOGITS, 3], [TIED, 3]]) {
      assert.deepEqual(distribution(logits, { temperature: 0 }).kept, [best]);
      const model = await fixedLogitModel(logits, build.wasm);
      try {
        for (const sampling of [{ temperature: 0 }, { temperature: 0, topK: 5, topP: 0.5 }]) {
          const counts = draw(model, sampling, 7, 2000);
          assert.equal(counts[best], 2000, `${JSON.stringify(sampling)}: argmax ${best} drawn ${counts[best]} of 2000 times`);
        }
      } finally {
        model.dispose();
      }
    }
    console.log(`  ${build.name} temperature 0: 2000 of 2000 draws were the argmax (id 3), with and without a tie`);
  });
}

// ---- the repetition penalty (include/lstm.h, lstm_sampling): every token read since the
// reset, the prompt's included, has its logit z made z / p if z > 0, else z * p, before
// temperature, top-k and top-p. Each sample of a batch (generate's n) reads the prompt and then
// draws its first token from the penalised distribution: 50 batches of 1000 one-token samples. ----

// The prompt's tokens, by rank: two with positive logits (ranks 0 and 2: 3.0, 2.4) and two
// with negative ones (ranks 12 and 14: -0.6, -1.2).
const READ = [0, 2, 12, 14].map((r) => (7 * r + 3) % V);
const PROMPT = String.fromCodePoint(...READ.map((id) => 97 + id));

/** The logits after the penalty, or one of the mistakes below. */
function penalised(z, penalty, mistake = null) {
  return Array.from(z, (v, i) => {
    if (!READ.includes(i) || mistake === 'h') return v;
    if (mistake === 'f') return v / penalty; // always divide: raises a negative logit
    if (mistake === 'g') return v - Math.log(penalty); // subtract log p
    return v > 0 ? v / penalty : v * penalty;
  });
}

const PENALTY_MISTAKES = {
  f: 'dividing every logit read, negative ones too (which raises them)',
  g: 'subtracting log(penalty) instead of dividing or multiplying',
  h: 'leaving the prompt\'s tokens alone (only generated ones penalised)',
  i: 'applying top-k before the penalty',
};

/** The documented distribution, or a mistake's: penalty, then distribution() (temperature, top-k, top-p). */
function penaltyDistribution(z, sampling, mistake = null) {
  const { repetitionPenalty, ...rest } = sampling;
  if (mistake !== 'i') return distribution(Float32Array.from(penalised(z, repetitionPenalty, mistake)), rest);
  // top-k chosen on the unpenalised logits, then the penalty over what it kept
  const kept = distribution(z, { topK: rest.topK }).kept;
  const zp = penalised(z, repetitionPenalty).map((v, i) => (kept.includes(i) ? v : -Infinity));
  return distribution(Float32Array.from(zp), { ...rest, topK: 0 });
}

const PENALTY_CASES = [
  // p 1.5: ranks 0 and 2 fall to 2.0 and 1.6, ranks 12 and 14 to -0.9 and -1.8
  { name: 'penalty 1.5', sampling: { repetitionPenalty: 1.5 }, catches: ['g', 'h'] },
  { name: 'penalty 1.5, temperature 0.7', sampling: { repetitionPenalty: 1.5, temperature: 0.7 }, catches: ['g', 'h'] },
  // flatter: the negative logits read (ranks 12 and 14) are drawn often enough to tell z * p
  // from z / p (-0.9 and -1.8 against -0.4 and -0.8, halved by the temperature)
  { name: 'penalty 2, temperature 2', sampling: { repetitionPenalty: 2, temperature: 2 }, catches: ['f', 'g', 'h'] },
  // p 3: the top 5 after the penalty are ranks 1, 3, 4, 5, 6; before it 0..4
  { name: 'penalty 3 + top-k 5', sampling: { repetitionPenalty: 3, topK: 5 }, catches: ['g', 'h', 'i'] },
  { name: 'penalty 0.6 (favours what was read) + top-p 0.8', sampling: { repetitionPenalty: 0.6, topP: 0.8 }, catches: ['g', 'h'] },
];

test('every penalty mistake is told apart by some case', () => {
  for (const m of Object.keys(PENALTY_MISTAKES)) assert.ok(PENALTY_CASES.some((c) => c.catches.includes(m)), `mistake ${m}: ${PENALTY_MISTAKES[m]}`);
});

for (const build of all) {
  PENALTY_CASES.forEach((c, index) => {
    test(`${build.name}: ${c.name}: the first token read after the prompt follows the penalised distribution`, async () => {
      const { q, kept, margin } = penaltyDistribution(LOGITS, c.sampling);
      assert.ok(margin > 5e-3, `${c.name}: the top-p boundary is only ${margin} from p`);
      const model = await fixedLogitModel(LOGITS, build.wasm);
      try {
        const counts = new Float64Array(V);
        for (let b = 0; b < N / 1000; b++) {
          const texts = model.generate({ vocab: VOCAB, prompt: PROMPT, length: 1, n: 1000, seed: 7000 + 100000 * index + 1000 * b, ...c.sampling });
          for (const t of texts) counts[VOCAB.index.get(t.codePointAt(0))]++;
        }
        const { stat, df } = chiSquare(counts, q, N);
        const bound = chiSquareBound(df);
        const wrong = c.catches.map((m) => [m, chiSquare(counts, penaltyDistribution(LOGITS, c.sampling, m).q, N).stat]);
        // the tokens read, one by one: observed against the formula's probability
        const read = READ.map((id) => `${String.fromCodePoint(97 + id)} ${(counts[id] / N).toFixed(4)}/${q[id].toFixed(4)}`).join(', ');
        console.log(`  ${build.name} ${c.name}: chi-square ${stat.toFixed(2)}, df ${df}, bound ${bound.toFixed(2)}; read tokens observed/expected ${read}; mistakes ${wrong.map(([m, w]) => `${m} ${w.toFixed(0)}`).join(', ')}`);
        assertDraws(c.name, counts, kept, { stat, df, bound }, wrong, PENALTY_MISTAKES);
      } finally {
        model.dispose();
      }
    });
  });
}
