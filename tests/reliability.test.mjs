// reliability.test.mjs - long use keeps the heaps flat; non-finite inputs and hostile text
// are rejected cleanly. (Non-finite training steps: bad_steps.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Model, Vocabulary, TextDataset, TokenStream, _internals } from '../dist/lstm.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

test('creating, training, saving, loading and disposing 2000 models keeps both heaps flat', async () => {
  const wasm = await _internals();
  const vocab = Vocabulary.fromText('abcdefgh ');
  const stream = new TokenStream(vocab.encode('abc defg hab cdef gha bcd efgh '.repeat(20)));
  const cycle = async (i) => {
    const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 8 + (i % 5), layers: 1 + (i % 2), seed: i, dropout: i % 3 ? 0 : 0.2, wasm });
    model.setVocabulary(vocab);
    model.trainSteps(stream, { steps: 2, seqLength: 8, batchSize: 4 });
    const again = await Model.load(model.save(), { wasm });
    again.generate({ length: 8, seed: i });
    model.dispose();
    again.dispose();
  };
  for (let i = 0; i < 100; i++) await cycle(i); // warm up: allocator and JIT settle
  gc();
  const heap0 = wasm.x.lstm_allocated_bytes();
  const mem0 = wasm.buffer.byteLength;
  const js0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < 2000; i++) await cycle(i);
  gc();
  const heap1 = wasm.x.lstm_allocated_bytes();
  const js1 = process.memoryUsage().heapUsed;
  console.log(`  wasm live bytes ${heap0} -> ${heap1}, wasm memory ${mem0} -> ${wasm.buffer.byteLength}, JS heap ${(js0 / 1e6).toFixed(1)} -> ${(js1 / 1e6).toFixed(1)} MB`);
  assert.equal(heap1, heap0, 'wasm allocations leaked');
  assert.equal(wasm.buffer.byteLength, mem0, 'wasm memory grew');
  assert.ok(js1 - js0 < 10e6, `JS heap grew by ${js1 - js0} bytes`);
  stream.dispose();
});

test('dense inputs with NaN or Infinity are rejected', async () => {
  const model = await Model.create({ inputSize: 2, outputSize: 3, hiddenSize: 4 });
  try {
    for (const bad of [NaN, Infinity, -Infinity]) {
      assert.throws(() => model.trainBatch({ batch: 1, steps: 2, inputs: [0, 1, bad, 0], targets: [0, 1] }), /inputs\[2\] is not finite/);
      assert.throws(() => model.step([bad, 0]), /input\[0\] is not finite/);
    }
    assert.ok(Number.isFinite(model.trainBatch({ batch: 1, steps: 2, inputs: [0, 1, 1, 0], targets: [0, 1] })));
  } finally {
    model.dispose();
  }
});

test('hostile text: lone surrogates are refused; invalid UTF-8 decodes to U+FFFD (documented)', () => {
  assert.throws(() => Vocabulary.fromText('ab\uD800cd'), /not a Unicode scalar value/);
  const decoded = new TextDecoder().decode(Uint8Array.of(0x61, 0xff, 0x62, 0xc3));
  assert.equal(decoded, 'a\uFFFDb\uFFFD');
  const vocab = Vocabulary.fromText(decoded);
  assert.ok(vocab.has('\uFFFD'));
  // one character is not enough to train on; a text shorter than one sequence is refused with numbers
  assert.throws(() => new TextDataset('x', Vocabulary.fromText('x')), /at least 2/);
});
