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
const KERNELS = { nt: ids.gemm_nt, nn: ids.gemm_nn, tn: ids.gemm_tn };
// [name, kernel, M, N, K, calls per training step]
const SHAPES = [
  ['input product, layer 1 (X.W_ih^T)', 'nt', 2048, 2048, 512, 1],
  ['recurrent product (h.W_hh^T)', 'nt', 32, 2048, 512, 128],
  ['recurrent backward (dG.W_hh, W_hh^T)', 'nt', 32, 512, 2048, 126],
  ['weight gradient (dG^T.H, both transposed)', 'nt', 2048, 512, 2048, 3],
  ['input backward (dG.W_ih, W_ih^T)', 'nt', 2048, 512, 2048, 1],
  ['head forward', 'nt', 2048, 65, 512, 1],
  ['head weight gradient', 'tn', 65, 512, 2048, 1],
  ['head input gradient', 'nn', 2048, 512, 65, 1],
  ['generation matvec (h.W^T)', 'nt', 1, 2048, 512, 0],
];

function bench(kernel, M, N, K) {
  const sizes = { nt: [M * K, N * K], nn: [M * K, K * N], tn: [K * M, K * N] }[kernel];
  const pa = w.malloc(sizes[0] * 4); const pb = w.malloc(sizes[1] * 4); const pc = w.malloc(M * N * 4);
  const pd = w.malloc(12); const po = w.malloc(8);
  try {
    const fill = (p, n) => { const v = w.f32(p, n); for (let i = 0; i < n; i++) v[i] = ((i * 7919) % 1000) / 1000 - 0.5; };
    fill(pa, sizes[0]); fill(pb, sizes[1]); w.f32(pc, M * N).fill(0);
    w.i32(pd, 3).set([M, N, K]);
    const run = () => w.x.lstm_kernel_run(1, KERNELS[kernel], pd, pa, pb, pc, 0, po);
    run();
    return fastest(run, 2 * M * N * K);
  } finally {
    for (const p of [pa, pb, pc, pd, po]) w.free(p);
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
  return Math.max(loop, ...Object.keys(KERNELS).map((k) => bench(k, 64, 64, 256).best));
}

const results = [];
let flops = 0; let time = 0;
const peakGflops = simd ? peak() : NaN;
console.log(`GEMM kernels, ${w.kernels} build, fastest call of ${seconds} s (median in the JSON); measured peak ${peakGflops.toFixed(1)} GFLOP/s`);
for (const [name, kernel, M, N, K, calls] of SHAPES) {
  const { best: gflops, median } = bench(kernel, M, N, K);
  results.push({ name, kernel, M, N, K, gflops, median_gflops: median });
  flops += 2 * M * N * K * calls; time += (2 * M * N * K * calls) / (gflops * 1e9);
  console.log(`  ${name.padEnd(42)} ${kernel} ${String(M).padStart(5)} x ${String(N).padStart(5)} x ${String(K).padStart(5)}  ${gflops.toFixed(1).padStart(6)} GFLOP/s`);
}
console.log(`  weighted by a W2 training step: ${(flops / time / 1e9).toFixed(1)} GFLOP/s`);
console.log(JSON.stringify({ kernels: w.kernels, peak_gflops: peakGflops, results, w2_step_gflops: flops / time / 1e9 }));
