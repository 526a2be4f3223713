// run.mjs - `make bench`: training and generation speed of lstm-wasm (SIMD on 1 and on every
// thread, scalar; Node and Chromium) beside TensorFlow.js (wasm backend) and PyTorch (native,
// 1 thread and every thread) on the same workloads, in one run; GFLOP/s of the matrix products
// against the measured SIMD peak; memory against Model.estimate. One table, and JSON.
//
//   node bench/run.mjs [--quick] [--repeats N] [--no-tfjs] [--no-torch] [--no-browser] [--json FILE]
//
// The machine is shared and noisy: every figure is a median of repeats with its spread, and
// ratios are only taken between figures of the same run.
import { readFileSync, existsSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model, Vocabulary, TextDataset, _internals } from '../dist/lstm.js';
import { startServer } from '../tools/serve-demo.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const QUICK = flag('--quick');
const REPEATS = Number(option('--repeats', QUICK ? 1 : 3));
const SECONDS = QUICK ? 1.5 : 4;
const GEN_CHARS = 2000;
const CORPUS = path.resolve(ROOT, option('--data', '../shared/data/tinyshakespeare.txt'));
const CORES = os.availableParallelism?.() ?? os.cpus().length;
const JSON_OUT = option('--json', path.join(ROOT, 'build/bench/latest.json'));
const log = (...a) => console.error('[bench]', ...a);

// W1: char-rnn's default; W2: a larger model. G1/G2 generate with the same shapes.
const WORKLOADS = {
  W1: { hidden: 128, layers: 2, seq: 50, batch: 50 },
  W2: { hidden: 512, layers: 2, seq: 64, batch: 32 },
};
const V = 65;
// the targets of issue 13, as [workload, column, floor, what]; a floor that is a function
// reads the printed table, keyed by workload and then column
const TARGETS = [
  ['W2', 'simd1', 2000, 'W2 >= 2,000 chars/s on one thread'],
  ['W1', 'simd1', 26000, 'W1 >= 26,000 chars/s on one thread'],
  ['G2', 'simd1', 3000, 'G2 >= 3,000 chars/s'],
  ['W1', 'simdN', (t) => t.W1?.torch1, 'W1 on every thread >= PyTorch 1 thread'],
  ['W1', 'simdN', (t) => 0.8 * (t.W1?.torchN ?? NaN), 'W1 on every thread >= 0.8 x PyTorch on every thread'],
  ['W2', 'simdN', (t) => t.W2?.torch1, 'W2 on every thread >= PyTorch 1 thread'],
  ['G1', 'simd1', (t) => 5 * (t.G1?.torch1 ?? NaN), 'G1 >= 5 x PyTorch 1 thread'],
];

/** Forward FLOPs per character of the products: sum over layers of 2*4H*(X+H) (layer 0's
 * input is a column gather, no product), plus the head 2*H*V; training does 3 times that. */
function forwardFlops({ hidden: H, layers: L }) {
  let f = 2 * H * V;
  for (let l = 0; l < L; l++) f += 2 * 4 * H * ((l === 0 ? 0 : H) + H);
  return f;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

/** chars/s of REPEATS generations of GEN_CHARS characters, batch 1, temperature 1. */
function generationRates(model, vocab) {
  const rates = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    const out = model.generate(vocab, { prompt: '\n', length: GEN_CHARS, temperature: 1, seed: r + 1, chunk: 256 });
    rates.push(out.length / ((performance.now() - t0) / 1000));
  }
  return rates;
}

/** Our four workloads on one build: { simd, threads } picks it; int8: generation also from the
 * model saved as an int8 file. */
async function measureOurs(name, buildOptions, text, { int8 = false } = {}) {
  const results = {};
  const vocab = Vocabulary.fromText(text);
  for (const [wname, w] of Object.entries(WORKLOADS)) {
    // a fresh module per workload, so its heap measures this model alone
    const wasm = await _internals(buildOptions);
    const data = new TextDataset(text, vocab, { validationFraction: 0.1 });
    data.train.heap(wasm); // the token stream's copy is not the model's
    const before = wasm.x.lstm_allocated_bytes();
    const options = { vocabSize: V, hiddenSize: w.hidden, layers: w.layers, seed: 1 };
    const model = await Model.create({ ...options, wasm });
    const opts = { seqLength: w.seq, batchSize: w.batch, optimizer: { type: 'adam', learningRate: 2e-3 }, clipNorm: 5 };
    const warm = model.trainSteps(data, { ...opts, steps: 1 });
    model.generate(vocab, { length: 1, seed: 1 });
    const heap = wasm.x.lstm_allocated_bytes() - before;
    const estimate = await Model.estimate({ ...options, wasm }, { batchSize: w.batch, seqLength: w.seq, optimizer: 'adam' });
    const steps = Math.max(1, Math.round(SECONDS / Math.max(warm.seconds, 1e-3)));
    const repeats = name === 'scalar' && wname === 'W2' && !QUICK ? 2 : REPEATS;
    const runs = [];
    for (let r = 0; r < repeats; r++) runs.push(model.trainSteps(data, { ...opts, steps }).tokensPerSecond);
    results[wname] = { chars_per_s: median(runs), runs, heap_bytes: heap, estimate_bytes: estimate.totalBytes };
    log(`${name} ${wname}: ${Math.round(median(runs))} chars/s (${runs.map(Math.round).join(', ')})`);
    const g = `G${wname.slice(1)}`;
    const gen = generationRates(model, vocab);
    results[g] = { chars_per_s: median(gen), runs: gen };
    log(`${name} ${g}: ${Math.round(median(gen))} chars/s`);
    if (int8) { // the same model as an int8 file (issue 15), generating in the same run
      const bytes = model.save({ trainingState: false });
      const int8Bytes = model.save({ quantize: 'int8' });
      const q = await Model.load(int8Bytes, { wasm });
      const qgen = generationRates(q, vocab);
      results[`${g}-int8`] = { chars_per_s: median(qgen), runs: qgen, float_bytes: bytes.length, int8_bytes: int8Bytes.length };
      log(`${name} ${g} int8: ${Math.round(median(qgen))} chars/s`);
      q.dispose();
    }
    model.dispose();
    data.dispose();
  }
  return results;
}

/** Run a child benchmark and parse the JSON object on its last stdout line. */
function child(cmd, argv, what, timeoutS) {
  log(`${what}: ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', timeout: timeoutS * 1000, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) { log(`${what} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}); left out`); return null; }
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    log(`${what}: no JSON on the last line; left out`);
    return null;
  }
}

async function measureBrowser(text) {
  if (!existsSync('/usr/bin/chromium')) { log('chromium not installed; browser figures left out'); return null; }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'lstm-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const results = {};
  try {
    for (const isolated of [false, true]) {
      // the repository served as is, with or without the headers that give a page shared memory
      const server = await startServer({ root: ROOT, port: 0, isolated });
      try {
        const page = await context.newPage();
        await page.goto(`${server.url}bench/browser.html`);
        const r = await page.evaluate(async ({ text, workloads, seconds, repeats }) => window.runAll(text, workloads, seconds, repeats),
          { text, workloads: WORKLOADS, seconds: SECONDS, repeats: REPEATS });
        results[isolated ? 'isolated' : 'plain'] = r;
        log(`chromium ${isolated ? 'cross-origin isolated' : 'plain'} (${r.threads} thread${r.threads > 1 ? 's' : ''}): ` +
          Object.entries(r.workloads).map(([k, v]) => `${k} ${Math.round(v.chars_per_s)}`).join(', '));
        await page.close();
      } finally {
        await server.close();
      }
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return results;
}

function torchAvailable() {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
}

// ---- run everything ----

if (!existsSync(CORPUS)) {
  console.error(`bench: corpus ${CORPUS} not found (expected ../shared/data/tinyshakespeare.txt beside the clone)`);
  process.exit(1);
}
const text = readFileSync(CORPUS, 'utf8');
const report = {
  machine: `${os.cpus()[0].model}, ${CORES} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  date: new Date().toISOString(), quick: QUICK, threads: CORES,
};
report.simd1 = await measureOurs('simd, 1 thread', { simd: true, threads: 1 }, text, { int8: true });
report.simdN = await measureOurs(`simd, ${CORES} threads`, { simd: true, threads: CORES }, text);
report.scalar = await measureOurs('scalar', { simd: false }, text);
if (!flag('--no-browser')) report.browser = await measureBrowser(text).catch((e) => { log(`browser run failed: ${e.message}`); return null; });
report.gemm = child(process.execPath, ['bench/gemm_bench.mjs', '--seconds', QUICK ? '0.3' : '1'], 'GEMM kernels', 300);
if (!flag('--no-tfjs')) {
  const wl = QUICK ? 'W1,G1' : 'W1,W2,G1,G2';
  report.tfjs = child(process.execPath, ['bench/tfjs_bench.mjs', '--workloads', wl, '--seconds', String(QUICK ? 3 : 6), '--repeats', String(REPEATS), '--gen-chars', String(GEN_CHARS)], 'TensorFlow.js', 1800);
}
if (!flag('--no-torch')) {
  if (torchAvailable()) {
    for (const [key, n] of [['torch1', 1], ['torchN', CORES]]) {
      report[`${key}_raw`] = child('/usr/bin/python3', ['bench/torch_bench.py', '--threads', String(n), '--seconds', String(QUICK ? 2 : 5), '--repeats', String(REPEATS), '--gen-chars', String(GEN_CHARS)], `PyTorch, ${n} thread${n > 1 ? 's' : ''}`, 900);
    }
  } else {
    log('PyTorch (Debian python3-torch) not installed; its columns are left out');
  }
}

// ---- print ----

const figure = (col, name) => {
  if (col === 'tfjs') return report.tfjs?.results?.[name]?.chars_per_s;
  if (col === 'torch1' || col === 'torchN') return report[`${col}_raw`]?.results?.[name]?.chars_per_s;
  return report[col]?.[name]?.chars_per_s;
};
const fmt = (x) => (x == null || Number.isNaN(x) ? '-' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const ratio = (a, b) => (a != null && b != null ? `${(a / b).toFixed(2)}x` : '-');
const blas = report.torch1_raw?.blas ?? 'PyTorch';
const columns = [
  ['simd1', 'ours SIMD, 1 thr'], ['simdN', `ours SIMD, ${CORES} thr`], ['scalar', 'ours scalar'], ['tfjs', 'TF.js wasm'],
  ['torch1', `PyTorch 1 thr`], ['torchN', `PyTorch ${CORES} thr`],
];
const header = ['workload', ...columns.map(([, t]) => t), `${CORES} thr / 1`, '1 thr / PyTorch 1', `${CORES} thr / PyTorch ${CORES}`, 'SIMD / TF.js'];
const rows = ['W1', 'W2', 'G1', 'G2'].map((name) => {
  const f = Object.fromEntries(columns.map(([c]) => [c, figure(c, name)]));
  report.table ??= {};
  report.table[name] = f;
  return [name, ...columns.map(([c]) => fmt(f[c])), ratio(f.simdN, f.simd1), ratio(f.simd1, f.torch1), ratio(f.simdN, f.torchN), ratio(f.simd1, f.tfjs)];
});
console.log(`\nlstm-wasm benchmark - ${report.machine}${QUICK ? ' (quick)' : ''}`);
console.log(`chars/s, medians of ${REPEATS} (spreads in the JSON); training: Adam, clip 5; generation: ${GEN_CHARS} chars, batch 1, temperature 1; PyTorch with ${blas}\n`);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => `| ${r.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));

if (report.browser) {
  console.log('\nChromium (headless):');
  for (const [k, r] of Object.entries(report.browser)) {
    console.log(`  ${k === 'isolated' ? 'cross-origin isolated' : 'plain static server'}: ${r.threads} thread(s), ${Object.entries(r.workloads).map(([w, v]) => `${w} ${fmt(v.chars_per_s)}`).join(', ')} chars/s`);
  }
}

console.log('\ntargets (issue 13):');
report.targets = TARGETS.map(([name, col, floor, what]) => {
  const value = figure(col, name);
  const need = typeof floor === 'function' ? floor(report.table) : floor;
  const met = value >= need;
  const by = need ? ((value / need - 1) * 100).toFixed(0) : '?';
  console.log(`  ${met ? 'met   ' : 'missed'} ${what}: ${fmt(value)} against ${fmt(need)} (${by > 0 ? '+' : ''}${by}%)`);
  return { what, value, need, met };
});
// PyTorch's threads over its one thread tell whether the other cores were free in this run
const slower = ['W1', 'W2', 'G1'].filter((w) => report.table[w]?.torchN < report.table[w]?.torch1);
if (slower.length && CORES > 1) {
  report.cores_busy = slower;
  console.log(`  note: PyTorch ran slower on ${CORES} threads than on 1 (${slower.join(', ')}): the other cores were not free in this run, so the targets against PyTorch's ${CORES} threads say little`);
}

console.log('\nint8 files (issue 15: generation >= 1.3x float32 on the G2 shape, in this run; files >= 3.5x smaller):');
for (const g of ['G1', 'G2']) {
  const f = report.simd1[g], q = report.simd1[`${g}-int8`];
  if (!q) continue;
  console.log(`  ${g}: float32 ${fmt(f.chars_per_s)}, int8 ${fmt(q.chars_per_s)} chars/s (${ratio(q.chars_per_s, f.chars_per_s)}); file ${(q.float_bytes / 2 ** 20).toFixed(2)} MiB -> ${(q.int8_bytes / 2 ** 20).toFixed(2)} MiB (${ratio(q.float_bytes, q.int8_bytes)} smaller)`);
}

console.log('\nachieved GFLOP/s of the products (training = 3 x forward; forward per char = sum over layers of 2*4H*(X+H), layer 0 without X, + 2*H*V)');
for (const name of ['W1', 'W2']) {
  const f = forwardFlops(WORKLOADS[name]);
  const g = (x) => (x ? (3 * f * x / 1e9).toFixed(1) : '-');
  console.log(`  ${name}: ${(f / 1e6).toFixed(2)} MFLOP/char forward; ours 1 thread ${g(figure('simd1', name))}, ${CORES} threads ${g(figure('simdN', name))}, TF.js ${g(figure('tfjs', name))}, PyTorch 1 thread ${g(figure('torch1', name))} GFLOP/s`);
}
if (report.gemm) {
  console.log(`\nGEMM kernels on the W2 shapes (${report.gemm.kernels}, 1 thread); measured 128-bit multiply-add peak ${report.gemm.peak_gflops.toFixed(1)} GFLOP/s:`);
  for (const r of report.gemm.results) {
    console.log(`  ${r.name.padEnd(42)} ${r.kernel} ${`${r.M}x${r.N}x${r.K}`.padEnd(15)} ${r.gflops.toFixed(1).padStart(5)} GFLOP/s  ${(100 * r.gflops / report.gemm.peak_gflops).toFixed(0).padStart(3)}% of peak`);
  }
}

console.log('\nmemory: the wasm heap after the first step and a generation, against Model.estimate (the core\'s own layout)');
let memoryOk = true;
for (const name of ['W1', 'W2']) {
  const r = report.simd1[name];
  const dev = (r.heap_bytes - r.estimate_bytes) / r.estimate_bytes;
  const ok = Math.abs(dev) < 0.01;
  memoryOk &&= ok;
  console.log(`  ${name}: heap ${(r.heap_bytes / 2 ** 20).toFixed(2)} MiB, estimate ${(r.estimate_bytes / 2 ** 20).toFixed(2)} MiB (${(dev * 100).toFixed(2)}%) ${ok ? 'within 1%' : 'MORE THAN 1% OFF'}`);
}
console.log(`  each extra thread: a 256 KiB stack in the shared heap, and a worker with its own instance of the module (its code, not its memory)`);

mkdirSync(path.dirname(JSON_OUT), { recursive: true });
writeFileSync(JSON_OUT, JSON.stringify(report, null, 2));
console.log(`\nJSON: ${path.relative(process.cwd(), JSON_OUT)}`);
if (!memoryOk) process.exitCode = 1;
