// run.mjs - `make bench`: training and generation speed of lstm-wasm (SIMD and scalar builds,
// Node and Chromium) beside TensorFlow.js (wasm backend) and PyTorch (native, 1 thread) on the
// same workloads, GFLOP/s, GEMM kernel GFLOP/s, and peak memory against its formula.
//
//   node bench/run.mjs [--quick] [--repeats N] [--no-tfjs] [--no-torch] [--no-browser] [--json FILE]
//
// The machine is shared and noisy: every figure is a median of repeats with its spread, and
// ratios are only taken between figures of the same run.
import { readFileSync, existsSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model, Vocabulary, TextDataset, _internals } from '../dist/lstm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const QUICK = flag('--quick');
const REPEATS = Number(option('--repeats', QUICK ? 1 : 3));
const SECONDS = QUICK ? 1.5 : 4;
const GEN_CHARS = 2000;
const CORPUS = path.resolve(ROOT, option('--data', '../shared/data/tinyshakespeare.txt'));
const log = (...a) => console.error('[bench]', ...a);

// W1: char-rnn's default; W2: a larger model. G1/G2 generate with the same shapes.
const WORKLOADS = {
  W1: { hidden: 128, layers: 2, seq: 50, batch: 50 },
  W2: { hidden: 512, layers: 2, seq: 64, batch: 32 },
};
const V = 65;

/** forward FLOPs per character: sum over layers of 2*4H*(X+H), plus the head 2*H*V */
function forwardFlops({ hidden: H, layers: L }) {
  let f = 2 * H * V;
  for (let l = 0; l < L; l++) f += 2 * 4 * H * ((l === 0 ? V : H) + H);
  return f;
}

/** Bytes the C core allocates for a token model at (B, T): the formula of the README. */
function memoryFormula({ hidden: H, layers: L, seq: T, batch: B }, dropout = 0) {
  const X0 = V; const R = B * T; const G = 4 * H;
  let P = 0;
  for (let l = 0; l < L; l++) P += G * ((l === 0 ? X0 : H) + H) + 2 * G;
  P += V * (H + 1);
  const parameters = 4 * P; // params, grads, Adam m and v
  const embed = X0 * G; // transposed W_ih of layer 0
  const perLayer = 2 * (R + B) * H + G * R + H * R + (dropout > 0 ? 2 * H * R : 0);
  const shared = 2 * L * B * H + 2 * R + R * V + G * R + R * H + B * H + G + G * R + H * R + H * G +
    Math.max(X0, H) * G + X0 * G;
  const carry = 2 * L * B * H;
  const inference = 2 * L * H + G + H + 2 * V + 2 * V;
  return 4 * (parameters + embed + L * perLayer + shared + carry + inference);
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const spread = (xs) => (xs.length > 1 ? `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}` : '');

async function measureOurs(simd, text) {
  const results = {};
  const vocab = Vocabulary.fromText(text);
  for (const [name, w] of Object.entries(WORKLOADS)) {
    // a fresh module per workload, so its heap measures this model alone
    const wasm = await _internals({ simd });
    const before = wasm.x.lstm_allocated_bytes();
    const data = new TextDataset(text, vocab, { validationFraction: 0.1 });
    const model = await Model.create({ vocabSize: V, hiddenSize: w.hidden, layers: w.layers, seed: 1, wasm });
    const opts = { seqLength: w.seq, batchSize: w.batch, optimizer: { type: 'adam', learningRate: 2e-3 }, clipNorm: 5 };
    const warm = model.trainSteps(data, { ...opts, steps: 1 });
    const heap = wasm.x.lstm_allocated_bytes() - before - data.train.length * 4; // minus the token stream
    const stepSeconds = warm.seconds;
    const steps = Math.max(1, Math.round(SECONDS / Math.max(stepSeconds, 1e-3)));
    const repeats = !simd && name === 'W2' && !QUICK ? 2 : REPEATS;
    const runs = [];
    let lastLoss = warm.loss;
    for (let r = 0; r < repeats; r++) {
      const s = model.trainSteps(data, { ...opts, steps });
      runs.push(s.tokensPerSecond);
      lastLoss = s.losses[s.losses.length - 1];
    }
    results[name] = { chars_per_s: median(runs), runs, steps_per_run: steps, loss_last: lastLoss, heap_bytes: heap, formula_bytes: memoryFormula(w) };
    log(`${simd ? 'simd' : 'scalar'} ${name}: ${Math.round(median(runs))} chars/s (${runs.map(Math.round).join(', ')}), loss ${lastLoss.toFixed(3)}`);
    // generation with the same shape, on the briefly trained model
    const g = `G${name.slice(1)}`;
    const gen = [];
    model.generate(vocab, { length: 50, seed: 1 });
    for (let r = 0; r < REPEATS; r++) {
      const t0 = performance.now();
      const out = model.generate(vocab, { prompt: '\n', length: GEN_CHARS, temperature: 1, seed: r + 1, chunk: 256 });
      gen.push(out.length / ((performance.now() - t0) / 1000));
    }
    results[g] = { chars_per_s: median(gen), runs: gen };
    log(`${simd ? 'simd' : 'scalar'} ${g}: ${Math.round(median(gen))} chars/s`);
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

function torchAvailable() {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0;
}

async function measureBrowser(text) {
  if (!existsSync('/usr/bin/chromium')) { log('chromium not installed; browser figure left out'); return null; }
  const { chromium } = await import('playwright-core');
  const { startServer } = await import('../tools/serve-demo.mjs');
  const server = await startServer({ root: ROOT, port: 0 });
  const profile = mkdtempSync(path.join(os.tmpdir(), 'lstm-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}bench/browser.html`);
    const w = WORKLOADS.W1;
    const result = await page.evaluate(async ({ text, w, seconds, repeats }) => window.runW1(text, w, seconds, repeats),
      { text, w, seconds: SECONDS, repeats: REPEATS });
    log(`chromium W1: ${Math.round(result.chars_per_s)} chars/s (${result.runs.map(Math.round).join(', ')}), simd ${result.simd}`);
    return result;
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// ---- run everything ----

if (!existsSync(CORPUS)) {
  console.error(`bench: corpus ${CORPUS} not found (expected ../shared/data/tinyshakespeare.txt beside the clone)`);
  process.exit(1);
}
const text = readFileSync(CORPUS, 'utf8');
const report = { machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, node ${process.version}`, date: new Date().toISOString(), quick: QUICK };
report.simd = await measureOurs(true, text);
report.scalar = await measureOurs(false, text);
if (!flag('--no-browser')) report.browser = await measureBrowser(text).catch((e) => { log(`browser run failed: ${e.message}`); return null; });
report.gemm = child(process.execPath, ['bench/gemm_bench.mjs', '--seconds', QUICK ? '0.3' : '1'], 'gemm kernels', 300);
if (!flag('--no-tfjs')) {
  const wl = QUICK ? 'W1,G1' : 'W1,W2,G1,G2';
  report.tfjs = child(process.execPath, ['bench/tfjs_bench.mjs', '--workloads', wl, '--seconds', String(QUICK ? 3 : 6), '--repeats', String(REPEATS), '--gen-chars', String(GEN_CHARS)], 'TensorFlow.js', 1800);
}
if (!flag('--no-torch')) {
  if (torchAvailable()) {
    report.torch = child('/usr/bin/python3', ['bench/torch_bench.py', '--seconds', String(QUICK ? 2 : 5), '--repeats', String(REPEATS), '--gen-chars', String(GEN_CHARS)], 'PyTorch', 900);
  } else {
    log('PyTorch (Debian python3-torch) not installed; its column is left out');
  }
}

// ---- print ----

const fmt = (x) => (x == null ? '-' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const ratio = (a, b) => (a != null && b != null ? `${(a / b).toFixed(1)}x` : '-');
const rows = [];
for (const name of ['W1', 'W2', 'G1', 'G2']) {
  const ours = report.simd[name]?.chars_per_s;
  const scalar = report.scalar[name]?.chars_per_s;
  const tfjs = report.tfjs?.results?.[name]?.chars_per_s;
  const torch = report.torch?.results?.[name]?.chars_per_s;
  rows.push([name, `${fmt(ours)} (${spread(report.simd[name].runs)})`, fmt(scalar), fmt(tfjs), fmt(torch),
    ratio(ours, tfjs), ratio(ours, torch), ratio(ours, scalar)]);
}
console.log(`\nlstm-wasm benchmark - ${report.machine}${QUICK ? ' (quick)' : ''}`);
console.log('chars/s, medians of repeats (spread); training: Adam, clip 5; generation: 2000 chars, batch 1, temperature 1\n');
const header = ['workload', 'ours SIMD (spread)', 'ours scalar', 'TF.js wasm', 'PyTorch 1 thr', 'SIMD/TF.js', 'SIMD/PyTorch', 'SIMD/scalar'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => `| ${r.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
if (report.browser) console.log(`\nChromium (headless, ${report.browser.simd ? 'SIMD' : 'scalar'} build), W1 training: ${fmt(report.browser.chars_per_s)} chars/s (${spread(report.browser.runs)}); Node: ${fmt(report.simd.W1.chars_per_s)}`);

console.log('\nachieved GFLOP/s (training = 3 x forward FLOPs; forward per char = sum_l 2*4H*(X+H) + 2*H*V)');
for (const name of ['W1', 'W2']) {
  const f = forwardFlops(WORKLOADS[name]);
  const g = (x) => (x ? (3 * f * x / 1e9).toFixed(1) : '-');
  console.log(`  ${name}: ${(f / 1e6).toFixed(2)} MFLOP/char forward; ours SIMD ${g(report.simd[name].chars_per_s)}, scalar ${g(report.scalar[name].chars_per_s)}, TF.js ${g(report.tfjs?.results?.[name]?.chars_per_s)}, PyTorch ${g(report.torch?.results?.[name]?.chars_per_s)} GFLOP/s`);
}
if (report.gemm) {
  console.log(`\nGEMM kernels on W2 shapes (${report.gemm.kernels}):`);
  for (const r of report.gemm.results) console.log(`  ${r.name.padEnd(42)} ${r.kernel} ${r.M}x${r.N}x${r.K}: ${r.gflops.toFixed(1)} GFLOP/s`);
}

console.log('\npeak wasm heap in live allocations (after the first step) against the formula');
console.log('  4 bytes x (4P [params, grads, Adam m, v] + X0*4H [embedding table] + activations kept for BPTT + backward scratch)');
let memoryOk = true;
for (const name of ['W1', 'W2']) {
  const r = report.simd[name];
  const dev = (r.heap_bytes - r.formula_bytes) / r.formula_bytes;
  const ok = Math.abs(dev) < 0.02;
  memoryOk &&= ok;
  console.log(`  ${name}: measured ${(r.heap_bytes / 2 ** 20).toFixed(1)} MiB, formula ${(r.formula_bytes / 2 ** 20).toFixed(1)} MiB (${(dev * 100).toFixed(2)}%) ${ok ? 'ok' : 'MISMATCH'}`);
}
if (flag('--json')) writeFileSync(option('--json'), JSON.stringify(report, null, 2));
if (!memoryOk) process.exitCode = 1;
