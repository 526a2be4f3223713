// gemm_bench.mjs - GFLOP/s of the matrix kernels on the calls a W2 training step (2-layer
// LSTM, hidden 512, batch 32, seq 64, V 65) and a W2 generation step make (src/unit.c,
// src/network.c), on one thread, and the measured peak of 128-bit multiply + add: the better
// of a GEMM's bare inner loop (lstm_bench_peak) and the kernel on operands that stay in L1.
// Each figure is the fastest of many calls: on a shared machine the fastest call is the one
// nothing else interrupted, which is what the kernel can do (the median is in the JSON).
// Prints a table, and JSON on the last line. Usage: node bench/gemm_bench.mjs [--simd|--scalar] [--seconds S]
import { _internals } from '../dist/lstm.js';

const args = process.argv.slice(2);
const simd = !args.includes('--scalar');
const seconds = Number(args[args.indexOf('--seconds') + 1]) || 0.5;
// the test build (build/test/, `make test` makes it) has the kernel entry point
const w = await _internals({ simd, threads: 1, wasmUrl: new URL(`../build/test/lstm-${simd ? 'simd' : 'scalar'}.wasm`, import.meta.url) });
const ids = Object.fromEntries(w.utf8(w.x.lstm_kernel_names()).split(',').filter(Boolean).map((n, i) => [n, i]));
// [name, trans (A read as (K, M)^T), M, N, K, calls per training step, packed per call]: the
// products of a W2 step, all through gemm_panels. A weight is packed once per batch (forward)
// or per unit (backward), so its products are timed alone; a weight gradient's operand is
// packed for its one product, so that packing is timed with it.
const SHAPES = [
  ['input product, layer 1 (X.W_ih^T)', 0, 2048, 2048, 512, 1, false],
  ['recurrent product (h.W_hh^T)', 0, 32, 2048, 512, 128, false],
  ['recurrent backward (dG.W_hh)', 0, 32, 512, 2048, 126, false],
  ['weight gradient (dG^T.H)', 1, 2048, 512, 2048, 3, true],
  ['input backward (dG.W_ih)', 0, 2048, 512, 2048, 1, true],
  ['head forward (top.W_out^T)', 0, 2048, 65, 512, 1, false],
  ['head weight gradient (dlogits^T.top)', 1, 65, 512, 2048, 1, true],
  ['head input gradient (dlogits.W_out)', 0, 2048, 512, 65, 1, true],
  ['generation matvec (h.W^T)', 0, 1, 2048, 512, 0, false],
];
const width8 = (n) => (n + 7) & ~7;

function bench(trans, M, N, K, packEachCall = false) {
  const pa = w.malloc(M * K * 4); const pb = w.malloc(N * K * 4); const pp = w.malloc(K * width8(N) * 4);
  const pc = w.malloc(M * N * 4); const pd = w.malloc(12); const pdp = w.malloc(12); const pi = w.malloc(16); const pip = w.malloc(16);
  const po = w.malloc(8);
  try {
    const fill = (p, n) => { const v = w.f32(p, n); for (let i = 0; i < n; i++) v[i] = ((i * 7919) % 1000) / 1000 - 0.5; };
    fill(pa, M * K); fill(pb, N * K); w.f32(pc, M * N).fill(0);
    w.i32(pdp, 3).set([K, N, 0]); w.i32(pip, 4).set([0, 0, 0, 0]);
    const pack = () => w.x.lstm_kernel_run(1, ids.pack_panels, pdp, pb, 0, pp, pip, po);
    pack();
    w.i32(pd, 3).set([M, N, K]); w.i32(pi, 4).set([trans, width8(N), 0, 0]);
    const product = () => w.x.lstm_kernel_run(1, ids.gemm_panels, pd, pa, pp, pc, pi, po);
    const run = packEachCall ? () => { pack(); product(); } : product;
    run();
    return fastest(run, 2 * M * N * K);
  } finally {
    for (const p of [pa, pb, pp, pc, pd, pdp, pi, pip, po]) w.free(p);
  }
}

/** GFLOP/s of `run` (flops a call): { best, median } over the calls of `seconds`. */
function fastest(run, flops) {
  const times = [];
  const end = performance.now() + seconds * 1000;
  do {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  } while (performance.now() < end || times.length < 3);
  times.sort((a, b) => a - b);
  const rate = (ms) => flops / (ms / 1000) / 1e9;
  return { best: rate(times[0]), median: rate(times[Math.floor(times.length / 2)]) };
}

/** The best multiply-add rate measured here: a GEMM's bare inner loop (96 FLOPs an
 * iteration, lstm_bench_peak), or the product kernel on a 64 x 64 x 256 problem in L1. */
function peak() {
  const n = 1e5;
  const loop = w.x.lstm_bench_peak ? fastest(() => w.x.lstm_bench_peak(n), n * 96).best : 0;
  return Math.max(loop, bench(0, 64, 64, 256).best);
}

const results = [];
let flops = 0; let time = 0;
const peakGflops = simd ? peak() : NaN;
console.log(`GEMM kernels, ${w.kernels} build, fastest call of ${seconds} s (median in the JSON); measured peak ${peakGflops.toFixed(1)} GFLOP/s`);
for (const [name, trans, M, N, K, calls, packed] of SHAPES) {
  const { best: gflops, median } = bench(trans, M, N, K, packed);
  const kernel = packed ? 'pack+panels' : 'panels';
  results.push({ name, kernel, M, N, K, gflops, median_gflops: median });
  flops += 2 * M * N * K * calls; time += (2 * M * N * K * calls) / (gflops * 1e9);
  console.log(`  ${name.padEnd(42)} ${kernel} ${String(M).padStart(5)} x ${String(N).padStart(5)} x ${String(K).padStart(5)}  ${gflops.toFixed(1).padStart(6)} GFLOP/s`);
}
console.log(`  weighted by a W2 training step: ${(flops / time / 1e9).toFixed(1)} GFLOP/s`);
console.log(JSON.stringify({ kernels: w.kernels, peak_gflops: peakGflops, results, w2_step_gflops: flops / time / 1e9 }));
