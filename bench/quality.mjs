// quality.mjs - how low the validation loss gets in a fixed time: trains on tinyshakespeare
// with the demo's schedule (cosine decay to 10% over `epochs`, then flat) and prints the full
// validation loss at the marks (minutes of training time; evaluation time is not counted).
//   node bench/quality.mjs [--minutes 15] [--marks 2,5,15] [--hidden 192] [--layers 2]
//     [--seq 64] [--batch 16] [--lr 3e-3] [--dropout 0.1] [--epochs 3] [--chunk-ms 120]
import { readFileSync } from 'node:fs';
import { Model, Vocabulary, TextDataset } from '../dist/lstm.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const s = {
  minutes: opt('minutes', 15), hidden: opt('hidden', 192), layers: opt('layers', 2), seq: opt('seq', 64),
  batch: opt('batch', 16), lr: opt('lr', 3e-3), dropout: opt('dropout', 0.1), epochs: opt('epochs', 3),
};
const marks = (args.includes('--marks') ? args[args.indexOf('--marks') + 1] : '2,5,15').split(',').map(Number);
const text = readFileSync(new URL('../../shared/data/tinyshakespeare.txt', import.meta.url), 'utf8');
const vocab = Vocabulary.fromText(text);
const data = new TextDataset(text, vocab, { validationFraction: 0.1 });
const model = await Model.create({ vocabSize: vocab.size, hiddenSize: s.hidden, layers: s.layers, dropout: s.dropout, seed: 1 });
model.setOptimizer({ type: 'adam', learningRate: s.lr, clipNorm: 5 });
console.log(JSON.stringify(s));
let trained = 0; let chars = 0; let next = 0;
const planned = s.epochs * data.train.length;
while (trained < s.minutes * 60) {
  const t = Math.min(1, chars / planned);
  model.setOptimizer({ learningRate: s.lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * t))) });
  const r = model.trainSteps(data, { steps: 4, seqLength: s.seq, batchSize: s.batch });
  trained += r.seconds; chars += r.tokens;
  if (next < marks.length && trained >= marks[next] * 60) {
    const val = model.evaluate(data.validation);
    console.log(`${marks[next]} min: validation ${val.toFixed(4)} nats/char (${(val / Math.LN2).toFixed(3)} bits), ${chars} chars, ${(chars / trained).toFixed(0)} chars/s, train loss ${r.loss.toFixed(3)}`);
    next++;
  }
}
console.log(model.generate(vocab, { prompt: 'ROMEO:', length: 300, temperature: 0.8, seed: 7 }));
