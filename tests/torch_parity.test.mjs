// torch_parity.test.mjs - forward outputs, loss and every gradient against PyTorch nn.LSTM
// (fixtures from tools/make_torch_fixtures.py, computed in float64 from float32 weights).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Model } from '../dist/lstm.js';
import { assertMatchesTorch, builds } from './helpers.mjs';

const FIXTURES = ['torch_lstm_tokens.json', 'torch_lstm_dense.json', 'torch_lstm_tokens_1layer.json'];
const load = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

for (const build of await builds()) {
  for (const name of FIXTURES) {
    test(`${build.name}: ${name} matches PyTorch`, async () => {
      const f = load(name);
      const dense = f.mode === 'dense';
      const model = await Model.create({
        ...(dense ? { inputSize: f.input_size, outputSize: f.output_size } : { vocabSize: f.input_size, outputSize: f.output_size }),
        hiddenSize: f.hidden_size, layers: f.num_layers, wasm: build.wasm,
      });
      try {
        assert.equal(model.parameterCount, f.params.length);
        model.setParameters(Float32Array.from(f.params));
        const batch = { batch: f.batch, steps: f.steps, targets: f.targets, ...(dense ? { inputs: f.inputs } : { tokens: f.tokens }) };
        const { loss, gradients, inputGradients } = model.computeGradients(batch);
        assert.ok(Math.abs(loss - f.loss) < 1e-5, `loss ${loss} vs torch ${f.loss}`);
        const g = assertMatchesTorch(gradients, f.grads, 'gradient');
        const extra = dense ? `, input grads ${assertMatchesTorch(inputGradients, f.input_grads, 'input gradient').toExponential(1)}` : '';
        // logits through the step-by-step inference path, one sequence at a time
        const V = f.output_size; const X = f.input_size;
        const logits = new Float32Array(f.batch * f.steps * V);
        for (let b = 0; b < f.batch; b++) {
          model.resetInference();
          for (let t = 0; t < f.steps; t++) {
            const i = b * f.steps + t;
            const out = dense ? model.step(f.inputs.slice(i * X, (i + 1) * X)) : model.step(f.tokens[i]);
            logits.set(out, i * V);
          }
        }
        const lg = assertMatchesTorch(logits, f.logits, 'logit');
        console.log(`  ${build.name} ${name}: |loss diff| ${Math.abs(loss - f.loss).toExponential(1)}, grads max abs diff ${g.toExponential(1)}, logits ${lg.toExponential(1)}${extra}`);
      } finally {
        model.dispose();
      }
    });
  }
}
