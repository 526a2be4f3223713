// soak.mjs - a long run (default one hour) that keeps creating, training, saving, loading and
// disposing models, and one long-lived model training throughout, printing the wasm heap
// (live bytes and memory size) and the JS heap once a minute. Not part of `make test`.
//   node bench/soak.mjs [--minutes 60]
import { Model, Vocabulary, TokenStream, _internals } from '../dist/lstm.js';

const args = process.argv.slice(2);
const minutes = Number(args[args.indexOf('--minutes') + 1]) || 60;
const wasm = await _internals();
const vocab = Vocabulary.fromText('abcdefghijklmnopqrstuvwxyz .,\n');
const text = Array.from({ length: 200000 }, (_, i) => vocab.decode([(i * 7 + (i >> 5)) % vocab.size])).join('');
const stream = new TokenStream(vocab.encode(text));
const longLived = await Model.create({ vocabSize: vocab.size, hiddenSize: 64, layers: 2, seed: 1, dropout: 0.1, wasm });
longLived.setVocabulary(vocab);

const t0 = Date.now();
let cycles = 0;
let nextReport = 0;
console.log('minute  cycles  live-wasm-bytes  wasm-memory-bytes  js-heap-MB  long-lived-loss');
while (Date.now() - t0 < minutes * 60e3) {
  const m = await Model.create({ vocabSize: vocab.size, hiddenSize: 16 + (cycles % 17), layers: 1 + (cycles % 3), seed: cycles, wasm });
  m.trainSteps(stream, { steps: 2, seqLength: 16 + (cycles % 9), batchSize: 4 + (cycles % 5) });
  const again = await Model.load(m.save(), { wasm });
  again.generate({ vocab, length: 20, seed: cycles });
  m.dispose();
  again.dispose();
  // a task model of another kind each cycle (cells, bidirectional, projection, heads), fit on
  // sequences of varying lengths, predicted, saved and loaded
  const task = await Model.create({ inputSize: 3, outputSize: 2, hiddenSize: 8 + (cycles % 5), layers: 1 + (cycles % 2),
    cell: cycles % 3 === 1 ? 'gru' : 'lstm', bidirectional: cycles % 2 === 0, projSize: cycles % 3 === 2 ? 4 : 0,
    head: cycles % 4 < 2 ? 'mse' : 'softmax', returnSequences: cycles % 5 !== 0, seed: cycles, wasm });
  const xs = Array.from({ length: 12 }, (_, i) => Array.from({ length: 3 + ((i + cycles) % 6) }, (_, t) => [Math.sin(i + t), Math.cos(t), (i * t) % 3 - 1]));
  const target = (t) => (task.config.head === 'mse' ? [Math.sin(t), 0.5] : t % 2);
  const ys = xs.map((seq) => (task.config.returnSequences ? seq.map((_, t) => target(t)) : target(seq.length)));
  task.fit(xs, ys, { epochs: 1, batchSize: 5 });
  const taskAgain = await Model.load(task.save(), { wasm });
  taskAgain.predict(xs.slice(0, 4));
  task.dispose();
  taskAgain.dispose();
  const s = longLived.trainSteps(stream, { steps: 1, seqLength: 32, batchSize: 16 });
  cycles++;
  if (Date.now() - t0 >= nextReport) {
    console.log(`${String(Math.round((Date.now() - t0) / 60e3)).padStart(6)}  ${String(cycles).padStart(6)}  ${String(wasm.x.lstm_allocated_bytes()).padStart(15)}  ${String(wasm.buffer.byteLength).padStart(17)}  ${(process.memoryUsage().heapUsed / 1e6).toFixed(1).padStart(10)}  ${s.loss.toFixed(3).padStart(15)}`);
    nextReport += 60e3;
  }
}
longLived.dispose();
stream.dispose();
