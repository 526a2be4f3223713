// inspect.mjs - the figures of issue 14's library half, measured in Node on the SIMD build:
// Model.trace of 10,000 characters of a 2 x 256 model, and 8 samples in one generate call
// (n: 8, a batch through the matrix kernels) against 8 single calls, for 2 x 256 and 2 x 512.
// Each figure is the median of `--repeat` runs with the range (the batch and the single calls
// timed alternately, and their ratio taken per round, so that the machine's other load, which
// comes and goes, weighs on both alike); run it on 1 thread and on every core (the default):
//
//   node bench/inspect.mjs [--threads N] [--repeat R] [--length L]
//
// Numbers only, no assertions: the machine's other load moves them (see docs/inspect.md).
import { parseArgs } from 'node:util';
import { Model, Vocabulary, buildInfo, init } from '../dist/lstm.js';

const { values } = parseArgs({ options: { threads: { type: 'string' }, repeat: { type: 'string' }, length: { type: 'string' } } });
await init(values.threads ? { threads: Number(values.threads) } : {});
const repeat = Number(values.repeat ?? 5);
const length = Number(values.length ?? 200);
const info = await buildInfo();

const text = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness; '.repeat(100).slice(0, 10000);
const vocab = Vocabulary.fromText(text);

function timed(fn) {
  const times = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] };
}
const range = (t) => `${t.median.toFixed(3)} s (${t.min.toFixed(3)}-${t.max.toFixed(3)})`;

console.log(`${info.kernels}, ${info.threads} thread(s), ${repeat} runs each`);
{
  const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 256, layers: 2, seed: 1 });
  model.setVocabulary(vocab);
  model.trace(text.slice(0, 500)); // warm up: the heap grown once
  const all = timed(() => model.trace(text));
  const probs = timed(() => model.trace(text, { layers: [] }));
  console.log(`trace, 10,000 characters, 2 x 256: ${range(all)}; probabilities only ${range(probs)}`);
  model.dispose();
}
for (const hiddenSize of [256, 512]) {
  const model = await Model.create({ vocabSize: vocab.size, hiddenSize, layers: 2, seed: 1 });
  model.setVocabulary(vocab);
  const options = { prompt: 'It was', length, temperature: 0.8, seed: 1 };
  model.generate({ ...options, length: 20, n: 8 });
  const rounds = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    model.generate({ ...options, n: 8 });
    const t1 = performance.now();
    for (let k = 0; k < 8; k++) model.generate({ ...options, seed: 1 + k });
    rounds.push({ batch: (t1 - t0) / 1000, singles: (performance.now() - t1) / 1000 });
  }
  const stats = (xs) => { xs.sort((a, b) => a - b); return { median: xs[Math.floor(xs.length / 2)], min: xs[0], max: xs[xs.length - 1] }; };
  const batch = stats(rounds.map((r) => r.batch));
  const singles = stats(rounds.map((r) => r.singles));
  const ratio = stats(rounds.map((r) => r.batch / r.singles));
  console.log(`8 samples of ${length} characters, 2 x ${hiddenSize}: one call (n: 8) ${range(batch)}, 8 calls ${range(singles)}: ` +
    `the batch takes ${ratio.median.toFixed(2)} of the time (rounds ${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)}; ${(1 / ratio.median).toFixed(1)}x faster)`);
  model.dispose();
}
