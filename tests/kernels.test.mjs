// kernels.test.mjs - every SIMD kernel against its scalar reference, on shapes below, at,
// above and at multiples of the vector width (4) and of the GEMM tile (4 x 8) and block (256).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simdSupported } from '../dist/lstm.js';
import { rng, testBuild } from './helpers.mjs';

// the kernel ids come from the one list in src/kernels.h, through the test build
const { w: testWasm, kernels } = simdSupported() ? await testBuild(true) : { kernels: {} };
const K = { SIGMOID: kernels.vec_sigmoid,
  TANH: kernels.vec_tanh, CELL_FORWARD: kernels.lstm_cell_forward, CELL_BACKWARD: kernels.lstm_cell_backward,
  SOFTMAX_XENT: kernels.softmax_xent, SUM_ROWS: kernels.sum_rows, SUM_SQUARES: kernels.sum_squares, SCALE: kernels.scale,
  SGD: kernels.sgd_update, RMSPROP: kernels.rmsprop_update, ADAM: kernels.adam_update, TRANSPOSE: kernels.transpose,
  QUANTIZE: kernels.quantize_i16, GEMM_Q8: kernels.gemm_nt_q8, PACK: kernels.pack_panels, PANELS: kernels.gemm_panels };
const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 33, 64, 67];

const skip = !simdSupported() && 'this engine has no wasm SIMD';

/** Run kernel `id` with table `impl` (0 scalar, 1 SIMD) on copies of the inputs. */
function run(w, impl, id, dims, a, b, cLen, cInit, ids) {
  const x = w.x;
  const alloc = (arr, n) => {
    const bytes = Math.max(n * 4, 4);
    const p = w.malloc(bytes);
    if (arr) new Uint8Array(w.buffer, p, arr.byteLength).set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    else new Uint8Array(w.buffer, p, bytes).fill(0);
    return p;
  };
  const pd = alloc(Int32Array.from([...dims, 0, 0, 0].slice(0, 3)), 3);
  const pa = alloc(a, a ? a.length : 1);
  const pb = alloc(b, b ? b.length : 1);
  const pc = alloc(cInit, cLen);
  const pi = alloc(ids, ids ? ids.length : 1);
  const po = w.malloc(8);
  try {
    assert.equal(x.lstm_kernel_run(impl, id, pd, pa, pb, pc, pi, po), 0);
    return { c: new Float32Array(w.buffer, pc, cLen).slice(), a: a ? new Float32Array(w.buffer, pa, a.length).slice() : null,
      out: new Float64Array(w.buffer, po, 1)[0] };
  } finally {
    for (const p of [pd, pa, pb, pc, pi, po]) w.free(p);
  }
}

const rand = (r, n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());

/** Same computation, two tables: report and bound the largest difference. */
function agree(name, scalar, simd, tol, scaleOf = () => 1) {
  let worst = 0;
  for (let i = 0; i < scalar.length; i++) {
    const d = Math.abs(scalar[i] - simd[i]) / scaleOf(i);
    if (!(d <= tol)) assert.fail(`${name}: element ${i}: scalar ${scalar[i]} simd ${simd[i]} (tolerance ${tol})`);
    worst = Math.max(worst, d);
  }
  return worst;
}

const width8 = (n) => (n + 7) & ~7;
const sameBits = (what, x, y) => {
  assert.equal(x.length, y.length, what);
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) assert.fail(`${what}: element ${i}: ${x[i]} vs ${y[i]}`);
};

/** B (K, N) packed by table `impl` (trans: B given as its transpose's rows), at columns j0.. */
function pack(w, impl, B, Kd, N, trans, j0 = 0) {
  return run(w, impl, K.PACK, [Kd, N, 0], B, null, Kd * (width8(N) + j0), null, Int32Array.from([trans, j0])).c;
}

test('gemm_panels: the packed layout, SIMD equal to scalar bit for bit, a row alone or a column range equal to the whole, float64 reference', { skip }, () => {
  const w = testWasm;
  const r = rng(11);
  let shapes = 0;
  let worst = 0;
  const cases = [[1, 1, 1], [1, 33, 70], [3, 5, 7], [4, 8, 256], [5, 9, 257], [7, 40, 64], [8, 31, 600], [67, 13, 255], [130, 17, 513], [2, 2048, 3]];
  for (const [M, N, Kd] of cases) for (const transA of [0, 1]) for (const transB of [0, 1]) {
    shapes++;
    const A = rand(r, M * Kd); const B = rand(r, Kd * N); const C0 = rand(r, M * N);
    const el = (k, j) => (transB ? B[j * Kd + k] : B[k * N + j]);
    const ael = (i, k) => (transA ? A[k * M + i] : A[i * Kd + k]);
    // the layout, written down independently, at column offsets 0 and 8
    for (const j0 of [0, 8]) {
      const ps = pack(w, 0, B, Kd, N, transB, j0); const pv = pack(w, 1, B, Kd, N, transB, j0);
      const ldp = width8(N) + j0;
      for (let k0 = 0; k0 < Kd; k0 += 256) {
        const kc = Math.min(256, Kd - k0);
        for (let j = 0; j < width8(N); j++) for (let k = 0; k < kc; k++) {
          const at = k0 * ldp + (j0 + (j & ~7)) * kc + k * 8 + (j & 7);
          const want = j < N ? el(k0 + k, j) : 0;
          if (!Object.is(ps[at], want) || !Object.is(pv[at], want)) assert.fail(`pack ${Kd}x${N} trans ${transB} j0 ${j0}: (${k0 + k}, ${j}) at ${at}: scalar ${ps[at]} simd ${pv[at]}, want ${want}`);
        }
      }
    }
    const P = pack(w, 0, B, Kd, N, transB);
    const ldp = width8(N);
    const product = (impl, a, m, n, j0, c0) => run(w, impl, K.PANELS, [m, n, Kd], a, P, m * n, c0, Int32Array.from([transA, ldp, j0])).c;
    const s = product(0, A, M, N, 0, C0); const v = product(1, A, M, N, 0, C0);
    sameBits(`gemm_panels ${M}x${N}x${Kd} transA ${transA} transB ${transB}: SIMD against scalar`, s, v);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) { // each element: c + a_0 b_0 + ... in float32, in order
      let e = C0[i * N + j];
      let bound = Math.abs(e);
      for (let k = 0; k < Kd; k++) { e += ael(i, k) * el(k, j); bound += Math.abs(ael(i, k) * el(k, j)); }
      const d = Math.abs(e - s[i * N + j]) / Math.max(1, bound);
      worst = Math.max(worst, d);
      if (!(d < 2e-7 * Kd)) assert.fail(`gemm_panels ${M}x${N}x${Kd} (${i}, ${j}): ${s[i * N + j]} against ${e} in float64`);
    }
    // the last row alone (as generation computes one), and columns 8.. through j0 (as a thread does)
    const i = M - 1;
    const row = transA ? Float32Array.from({ length: Kd }, (_, k) => A[k * M + i]) : A.slice(i * Kd, (i + 1) * Kd);
    for (const impl of [0, 1]) sameBits(`row ${i} alone (impl ${impl})`, product(impl, row, 1, N, 0, C0.slice(i * N, (i + 1) * N)), v.slice(i * N, (i + 1) * N));
    if (N > 8) {
      const cols = (c) => Float32Array.from({ length: M * (N - 8) }, (_, q) => c[Math.floor(q / (N - 8)) * N + 8 + (q % (N - 8))]);
      for (const impl of [0, 1]) {
        // the test entry's ldc is the call's N: the columns' own copy of C
        const part = run(w, impl, K.PANELS, [M, N - 8, Kd], A, P, M * (N - 8), cols(C0), Int32Array.from([transA, ldp, 8])).c;
        sameBits(`columns 8..${N} (impl ${impl})`, part, cols(v));
      }
    }
  }
  console.log(`  gemm_panels: ${shapes} shapes, bit-identical; max error against float64 ${worst.toExponential(2)} of the sum of |terms|`);
});

test('elementwise kernels and transpose: SIMD equals scalar bit for bit, including NaN', { skip }, async () => {
  const w = testWasm;
  const r = rng(2);
  for (const n of SIZES) {
    const x = rand(r, n, -30, 30);
    if (n > 2) { x[1] = NaN; x[2] = 100; }
    for (const id of [K.SIGMOID, K.TANH]) {
      const s = run(w, 0, id, [n], x, null, n).c;
      const v = run(w, 1, id, [n], x, null, n).c;
      for (let i = 0; i < n; i++) assert.ok(Object.is(s[i], v[i]), `kernel ${id} n=${n} i=${i}: ${s[i]} vs ${v[i]}`);
    }
  }
  for (const R of SIZES) for (const C of [1, 3, 4, 5, 8, 17, 33]) {
    const a = rand(r, R * C);
    const s = run(w, 0, K.TRANSPOSE, [R, C], a, null, R * C).c;
    const v = run(w, 1, K.TRANSPOSE, [R, C], a, null, R * C).c;
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) assert.equal(s[j * R + i], a[i * C + j], `scalar transpose ${R}x${C}`);
    agree(`transpose ${R}x${C}`, s, v, 0);
  }
  for (const [B, H] of [[1, 1], [2, 3], [3, 4], [2, 5], [4, 8], [1, 13], [5, 17]]) {
    const gates = rand(r, B * 4 * H, -4, 4); const cPrev = rand(r, B * H, -2, 2);
    const f1 = run(w, 0, K.CELL_FORWARD, [B, H], gates, cPrev, 7 * B * H).c;
    const f2 = run(w, 1, K.CELL_FORWARD, [B, H], gates, cPrev, 7 * B * H).c;
    agree(`cell forward ${B}x${H}`, f1, f2, 0);
    const acts = f1.slice(3 * B * H);
    const b = new Float32Array(3 * B * H);
    b.set(cPrev, 0); b.set(f1.subarray(B * H, 2 * B * H), B * H); b.set(rand(r, B * H), 2 * B * H);
    const c0 = new Float32Array(5 * B * H); c0.set(rand(r, B * H));
    const b1 = run(w, 0, K.CELL_BACKWARD, [B, H], acts, b, 5 * B * H, c0).c;
    const b2 = run(w, 1, K.CELL_BACKWARD, [B, H], acts, b, 5 * B * H, c0).c;
    agree(`cell backward ${B}x${H}`, b1, b2, 0);
  }
});

test('softmax cross-entropy, reductions and optimizer updates: SIMD equals scalar', { skip }, async () => {
  const w = testWasm;
  const r = rng(3);
  let worst = 0;
  for (const V of [1, 2, 3, 4, 5, 7, 8, 65, 67]) {
    const R = 3;
    const logits = rand(r, R * V, -10, 10);
    const targets = Int32Array.from({ length: R }, () => Math.floor(r() * V));
    const s = run(w, 0, K.SOFTMAX_XENT, [R, V], logits, Float32Array.of(0.5), 1, null, targets);
    const v = run(w, 1, K.SOFTMAX_XENT, [R, V], logits, Float32Array.of(0.5), 1, null, targets);
    // the sum of exps is added in another order: a few ulp
    assert.ok(Math.abs(s.out - v.out) <= 1e-5 * Math.abs(s.out) + 1e-6, `xent V=${V}: ${s.out} vs ${v.out}`);
    worst = Math.max(worst, agree(`dlogits V=${V}`, s.a, v.a, 1e-6));
  }
  for (const n of SIZES) {
    const x = rand(r, n);
    const s = run(w, 0, K.SUM_SQUARES, [n], x, null, 1).out;
    const v = run(w, 1, K.SUM_SQUARES, [n], x, null, 1).out;
    assert.ok(Math.abs(s - v) <= 1e-12 * n, `sum_squares n=${n}`);
    const rows = run(w, 0, K.SUM_ROWS, [3, n], rand(rng(n), 3 * n), null, n).c;
    const rowsV = run(w, 1, K.SUM_ROWS, [3, n], rand(rng(n), 3 * n), null, n).c;
    agree(`sum_rows n=${n}`, rows, rowsV, 0);
    const g = rand(r, n); const state = rand(r, 3 * n, 0, 1);
    const hyper = {
      [K.SGD]: [0.1, 0.9, 0.01],
      [K.RMSPROP]: [0.01, 0.99, 1e-8, 0.01],
      [K.ADAM]: [0.002, 0.9, 0.999, 1e-8, 0.01, 0.19, 0.002],
      [K.SCALE]: [0.7],
    };
    for (const id of [K.SGD, K.RMSPROP, K.ADAM, K.SCALE]) {
      const hs = Float32Array.from(hyper[id]);
      const a = run(w, 0, id, [n], g, hs, 3 * n, state).c;
      const b = run(w, 1, id, [n], g, hs, 3 * n, state).c;
      agree(`optimizer ${id} n=${n}`, a, b, 0);
    }
    // check only (dims[1] = 1): nothing is written, and whether every new value is finite is
    // reported; a 3e38 gradient overflows g^2 (rmsprop, adam), an infinite one everything
    for (const id of [K.SGD, K.RMSPROP, K.ADAM]) {
      const hs = Float32Array.from(hyper[id]);
      for (const impl of [0, 1]) {
        const fine = run(w, impl, id, [n, 1], g, hs, 3 * n, state);
        assert.equal(fine.out, 1, `optimizer ${id} impl ${impl} n=${n}: finite update reported non-finite`);
        agree(`check-only optimizer ${id} impl ${impl} n=${n} wrote`, fine.c, state, 0);
        const big = g.slice();
        big[n - 1] = id === K.SGD ? Infinity : 3e38; // the last element: the scalar tail when n % 4
        const bad = run(w, impl, id, [n, 1], big, hs, 3 * n, state);
        assert.equal(bad.out, 0, `optimizer ${id} impl ${impl} n=${n}: overflow not reported`);
        agree(`check-only optimizer ${id} impl ${impl} n=${n} wrote`, bad.c, state, 0);
      }
    }
  }
  console.log(`  softmax dlogits max difference ${worst.toExponential(2)}; updates and reductions identical`);
});

test('quantize_i16: a row with NaN or an infinity (in the SIMD body or the tail) gets scale NaN and zeros, in both tables, its products NaN; a row below 1e-30, zeros', { skip }, () => {
  const w = testWasm;
  const Kd = 11; // 8 in the SIMD body, 3 in the tail
  for (const [bad, at] of [[NaN, 2], [NaN, 9], [Infinity, 0], [-Infinity, 10], [NaN, 10]]) {
    const A = Float32Array.from({ length: 3 * Kd }, (_, i) => Math.sin(i) * 3);
    A[Kd + at] = bad; // row 1
    const words = Math.ceil(3 * Kd / 2);
    const [qs, qv] = [0, 1].map((impl) => run(w, impl, K.QUANTIZE, [3, 0, Kd], A, null, words + 3).c);
    sameBits(`quantize_i16 with ${bad} at ${at}`, qs, qv);
    const Q = new Int16Array(qs.buffer, 0, 3 * Kd);
    assert.ok(Number.isNaN(qs[words + 1]), `row 1's scale: ${qs[words + 1]}`);
    assert.ok(Q.slice(Kd, 2 * Kd).every((v) => v === 0), 'row 1 is zeros');
    assert.ok(Number.isFinite(qs[words]) && Number.isFinite(qs[words + 2]), 'the other rows keep their scales');
    const ids = new Int32Array(Math.ceil(3 * Kd / 2));
    new Int16Array(ids.buffer).set(Q);
    const bBytes = new Float32Array(Math.ceil(2 * Kd / 4));
    new Int8Array(bBytes.buffer).set(Int8Array.from({ length: 2 * Kd }, (_, i) => (i * 37) % 255 - 127));
    const scales = Float32Array.from([...qs.slice(words, words + 3), 0.01, 0.02]);
    for (const impl of [0, 1]) {
      const c = run(w, impl, K.GEMM_Q8, [3, 2, Kd], scales, bBytes, 6, null, ids).c;
      assert.ok(Number.isNaN(c[2]) && Number.isNaN(c[3]) && Number.isFinite(c[0]) && Number.isFinite(c[5]), `impl ${impl}: ${c}`);
    }
  }
  // a row so small that 32767 / max would overflow (a fuzzed file reached it): zeros, scale 1
  const tiny = Float32Array.from({ length: Kd }, (_, i) => (i % 3 - 1) * 1e-38);
  const [ts, tv] = [0, 1].map((impl) => run(w, impl, K.QUANTIZE, [1, 0, Kd], tiny, null, Math.ceil(Kd / 2) + 1).c);
  sameBits('quantize_i16 of a row of 1e-38', ts, tv);
  assert.ok(new Int16Array(ts.buffer, 0, Kd).every((v) => v === 0) && ts[Math.ceil(Kd / 2)] === 1, `${ts}`);
});

test('quantised kernels: SIMD equals scalar bit for bit, and both equal the float product within the rounding of int8', { skip }, async () => {
  const w = testWasm;
  const r = rng(21);
  let worstRel = 0;
  let shapes = 0;
  for (const M of [1, 2, 3, 5]) for (const N of [1, 3, 4, 9, 17]) for (const Kd of [1, 7, 15, 16, 17, 64, 255, 256, 257, 600]) {
    if ((M * 5 + N * 3 + Kd) % 2 !== 0) continue;
    shapes++;
    const A = rand(r, M * Kd, -2, 2);
    // rows of A quantised to int16: SIMD equals scalar, Q and scales
    const words = Math.ceil(M * Kd / 2);
    const qs = run(w, 0, K.QUANTIZE, [M, 0, Kd], A, null, words + M).c;
    const qv = run(w, 1, K.QUANTIZE, [M, 0, Kd], A, null, words + M).c;
    agree(`quantize_i16 ${M}x${Kd}`, new Int32Array(qs.buffer), new Int32Array(qv.buffer), 0);
    const Q = new Int16Array(qs.buffer, 0, M * Kd);
    const aScale = qs.slice(words, words + M);
    // int8 weights with a scale per row, as quantised files store them
    const Bq = Int8Array.from({ length: N * Kd }, () => Math.round(254 * r() - 127));
    const bScale = rand(r, N, 0.001, 0.02);
    const scales = Float32Array.from([...aScale, ...bScale]);
    const ids = new Int32Array(Math.ceil(M * Kd / 2));
    new Int16Array(ids.buffer).set(Q);
    const bBytes = new Float32Array(Math.ceil(N * Kd / 4));
    new Int8Array(bBytes.buffer).set(Bq);
    const cs = run(w, 0, K.GEMM_Q8, [M, N, Kd], scales, bBytes, M * N, null, ids).c;
    const cv = run(w, 1, K.GEMM_Q8, [M, N, Kd], scales, bBytes, M * N, null, ids).c;
    agree(`gemm_nt_q8 ${M}x${N}x${Kd}`, cs, cv, 0);
    // against the float product of A and the dequantised B: only A's int16 rounding differs
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let exact = 0; let size = 0;
      for (let k = 0; k < Kd; k++) { const p = A[i * Kd + k] * Bq[j * Kd + k] * bScale[j]; exact += p; size += Math.abs(p); }
      const rel = Math.abs(cs[i * N + j] - exact) / Math.max(size, 1e-30);
      worstRel = Math.max(worstRel, rel);
      // int16 rounding is at most half a step of max|a|/32767 per element: 1.5e-5 of the
      // sum of |products|, with float rounding of the block sums on top
      assert.ok(rel < 3e-5, `gemm_nt_q8 ${M}x${N}x${Kd} (${i}, ${j}): ${cs[i * N + j]} vs ${exact}`);
    }
  }
  console.log(`  ${shapes} shapes; quantised product vs float, worst relative to the sum of |products|: ${worstRel.toExponential(2)}`);
});
