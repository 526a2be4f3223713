// memory.test.mjs - Model.estimate says what a model will take, before it is made: checked
// against the bytes the wasm heap really holds after the model trains and generates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model, TokenStream, _internals } from '../dist/lstm.js';

const CASES = [
  [{ vocabSize: 65, hiddenSize: 128, layers: 2, dropout: 0.2 }, { batchSize: 50, seqLength: 50, optimizer: 'adam' }],
  [{ vocabSize: 30, hiddenSize: 64, layers: 3, layerNorm: true }, { batchSize: 8, seqLength: 32, optimizer: 'sgd' }],
  [{ vocabSize: 40, hiddenSize: 48, projSize: 16, recurrentDropout: 0.1, peephole: true }, { batchSize: 16, seqLength: 20, optimizer: 'rmsprop' }],
  [{ inputSize: 7, outputSize: 3, hiddenSize: 24, layers: 2, cell: 'gru', bidirectional: true, head: 'mse' }, { batchSize: 12, seqLength: 9, optimizer: 'adam' }],
];

test('Model.estimate matches the heap a model takes once it has trained and generated', async () => {
  const wasm = await _internals();
  for (const [options, training] of CASES) {
    const estimate = await Model.estimate(options, training);
    const { batchSize: B, seqLength: T, optimizer } = training;
    const stream = options.vocabSize ? new TokenStream(Int32Array.from({ length: B * (T + 1) + 7 }, (_, i) => (i * 7) % options.vocabSize)) : null;
    if (stream) stream.heap(wasm); // its copy is not the model's
    const before = wasm.x.lstm_allocated_bytes();
    const model = await Model.create({ ...options, wasm });
    try {
      assert.equal(model.parameterCount, estimate.parameters);
      model.setOptimizer({ type: optimizer });
      if (stream) {
        model.trainSteps(stream, { steps: 1, seqLength: T, batchSize: B });
        model.resetInference();
        model.step(0);
      } else {
        const X = options.inputSize;
        model.trainBatch({ batch: B, steps: T, inputs: new Float32Array(B * T * X), targetValues: new Float32Array(B * T * options.outputSize) });
      }
      const used = wasm.x.lstm_allocated_bytes() - before;
      // beside the estimate: the lstm_model struct itself (its tensor table, ~20 KB) and the
      // allocator's headers (8-16 bytes for each of a dozen blocks)
      const slack = 32 * 1024 + 0.01 * estimate.totalBytes;
      console.log(`  ${JSON.stringify(options)}: estimate ${estimate.totalBytes} bytes, heap ${used} (${(100 * (used - estimate.totalBytes) / estimate.totalBytes).toFixed(2)}%)`);
      assert.ok(used >= estimate.totalBytes && used - estimate.totalBytes <= slack,
        `heap ${used} vs estimate ${estimate.totalBytes} (${JSON.stringify(estimate)})`);
    } finally {
      model.dispose();
      stream?.dispose();
    }
  }
  await assert.rejects(Model.estimate({ vocabSize: 10 }, { batchSize: 0 }), /batchSize must be an integer/);
  await assert.rejects(Model.estimate({ vocabSize: 10, hiddenSize: 8, projSize: 8 }), /proj_size must be 0 or in \[1, hidden_size - 1\]/);
});
