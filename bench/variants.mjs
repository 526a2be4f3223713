// variants.mjs - training speed of each cell variant, head and masking against the plain
// LSTM of the same size (W1: 2x128, batch 50 x 50 steps; W2: 2x512, batch 32 x 64), token
// inputs over 65 symbols, Adam, one trainBatch per step. The machine is shared and noisy:
// every round measures each variant briefly, one after the other, and the reported ratio is
// the median over rounds of (variant / plain LSTM of the same round).
//
//   node bench/variants.mjs [--seconds S] [--rounds N] [--only W1|W2] [--match TEXT]
// (--match: only the variants whose name contains TEXT, beside the plain LSTM)
import { Model } from '../dist/lstm.js';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const SECONDS = Number(option('--seconds', 0.5));
const ROUNDS = Number(option('--rounds', 9));
const ONLY = option('--only', null);
const MATCH = option('--match', null);
const V = 65;
const SHAPES = { W1: { H: 128, L: 2, T: 50, B: 50 }, W2: { H: 512, L: 2, T: 64, B: 32 } };
const ALL_VARIANTS = {
  'lstm (plain)': {},
  gru: { cell: 'gru' },
  'lstm, softmax at last step': { returnSequences: false },
  'lstm, mse head every step': { head: 'mse' },
  'lstm, mse head at last step': { head: 'mse', returnSequences: false },
  'lstm, masked (lengths 25..50)': { masked: true },
  'gru, mse head at last step': { cell: 'gru', head: 'mse', returnSequences: false },
  'lstm, dropout 0.25 between layers': { dropout: 0.25 },
  'lstm, recurrent dropout 0.25': { recurrentDropout: 0.25 },
  'gru, recurrent dropout 0.25': { cell: 'gru', recurrentDropout: 0.25 },
  'lstm, peephole': { peephole: true },
  'lstm, cifg': { cifg: true },
  'lstm, relu activation': { activation: 'relu' },
  'gru, relu activation': { cell: 'gru', activation: 'relu' },
  'lstm, projection to H/4': { proj: 4 },
  'lstm, layer norm': { layerNorm: true },
  // bidirectional: hiddenSize per direction, so twice the recurrent work and a 2H-wide head
  'lstm, bidirectional': { bidirectional: true },
  'lstm, bidirectional, softmax at last step': { bidirectional: true, returnSequences: false },
  'gru, bidirectional': { cell: 'gru', bidirectional: true },
};

const VARIANTS = Object.fromEntries(Object.entries(ALL_VARIANTS)
  .filter(([name]) => !MATCH || name === 'lstm (plain)' || name.includes(MATCH)));

let seed = 1;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };

async function setup(shape, variant) {
  const { masked, proj, ...options } = variant;
  if (proj) options.projSize = shape.H / proj;
  const model = await Model.create({ vocabSize: V, hiddenSize: shape.H, layers: shape.L, seed: 1, ...options });
  const { B, T } = shape;
  const batch = { batch: B, steps: T, tokens: Int32Array.from({ length: B * T }, () => Math.floor(rand() * V)) };
  const rows = model.config.returnSequences ? B * T : B;
  if (model.config.head === 'mse') batch.targetValues = Float32Array.from({ length: rows * V }, () => rand());
  else batch.targets = Int32Array.from({ length: rows }, () => Math.floor(rand() * V));
  if (masked) batch.lengths = Int32Array.from({ length: B }, () => Math.ceil(T / 2 + rand() * T / 2));
  model.trainBatch(batch); // sizes the workspace
  return { model, batch, start: model.parameters() };
}

function measure({ model, batch, start }) {
  let steps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    try {
      model.trainBatch(batch);
    } catch (e) {
      // the relu LSTM's unbounded cell can blow up on this random batch at W2 (the step is
      // refused as NON_FINITE); start again from its initial parameters and keep timing
      if (e.code !== 'NON_FINITE') throw e;
      model.setParameters(start);
      model.resetState();
    }
    steps++;
  }
  return (steps * batch.batch * batch.steps) / ((performance.now() - t0) / 1000); // sequence steps per second
}

for (const [shapeName, shape] of Object.entries(SHAPES)) {
  if (ONLY && ONLY !== shapeName) continue;
  const runs = {};
  const made = {};
  for (const [name, variant] of Object.entries(VARIANTS)) made[name] = await setup(shape, variant);
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of Object.keys(VARIANTS)) (runs[name] ??= []).push(measure(made[name]));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const base = runs['lstm (plain)'];
  console.log(`\n${shapeName} (${shape.L}x${shape.H}, batch ${shape.B} x ${shape.T} steps): training steps/s, medians of ${ROUNDS} rounds`);
  console.log('| variant | steps/s | relative to plain LSTM (median, range) |\n|---|---|---|');
  for (const name of Object.keys(VARIANTS)) {
    const ratios = runs[name].map((v, i) => v / base[i]);
    console.log(`| ${name} | ${Math.round(median(runs[name])).toLocaleString('en')} | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}) |`);
  }
  for (const m of Object.values(made)) m.model.dispose();
}
