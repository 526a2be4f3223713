// optimizers.test.mjs - SGD (with and without momentum), RMSprop, Adam and AdamW, each with
// decoupled weight decay where the case has it and with global-norm clipping or without, against
// torch.optim over 6 steps of fixed gradients (tests/fixtures/optim_torch.json, made by
// tools/make_optim_fixtures.py). Not a test of backward: the gradients go in through applyGradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Model } from '../dist/lstm.js';
import { builds, compare } from './helpers.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const fx = JSON.parse(readFileSync(new URL('./fixtures/optim_torch.json', import.meta.url), 'utf8'));

// Both sides compute in float32 with the same formulas in a different order (torch divides
// sqrt(v) by sqrt(1 - b2^t) and lr by 1 - b1^t, we divide v and m; torch scales clipped
// gradients by clip/(norm + 1e-6), we by clip/norm): each ends within 1.1e-7 of the float64
// formulas (the fixture's float64_max_diff, measured by the script) on parameters below 0.8 in
// magnitude (a float32 ulp there is 6e-8). 1e-6 leaves ~4x room over the two sides' sum and is
// still 5000x below the smallest effect of a wrong formula: dropping Adam's bias correction,
// clipping each tensor by its own norm, eps inside RMSprop's sqrt, coupled decay and damped
// momentum (v = m*v + (1-m)*g), each built into a copy of the core, moved some parameter by
// 5e-3 or more at the first step they affect, and failed every case they apply to.
const ATOL = 1e-6;

// the fixture writes torch shapes ([8] for a vector), tensors() rows and cols (cols 1 for a vector)
const asRowsCols = ({ name, shape }) => ({ name, rows: shape[0], cols: shape.length === 2 ? shape[1] : 1 });
const l2 = (xs) => Math.sqrt(xs.reduce((s, v) => s + v * v, 0));

test('the fixture can tell the cases apart: clipping acts on some steps and not on others, and changes the result', () => {
  const clip = fx.clip_norm;
  const norms = fx.gradients.map((g) => l2(Float32Array.from(g)));
  norms.forEach((n, i) => assert.ok(Math.abs(n - fx.grad_norms[i]) <= 1e-12 * n, `step ${i + 1}: norm ${n} vs ${fx.grad_norms[i]}`));
  const clipped = norms.filter((n) => n > clip).length;
  assert.ok(clipped >= 2 && norms.length - clipped >= 2, `clipped steps: ${clipped} of ${norms.length}`);
  assert.ok(norms.every((n) => Math.abs(n / clip - 1) > 0.1), 'no gradient norm near the clipping threshold');
  const byName = Object.fromEntries(fx.cases.map((c) => [c.name, c]));
  for (const c of fx.cases.filter((k) => k.optimizer.clipNorm > 0)) {
    const other = byName[c.name.replace(/_clip$/, '')];
    const d = compare(c.params.flat(), other.params.flat(), 0, 0).maxAbs;
    assert.ok(d > 1000 * ATOL, `${c.name}: clipping moves parameters by only ${d}`);
  }
  console.log(`  gradient norms ${norms.map((n) => n.toFixed(2)).join(', ')} (clip ${clip}); ${fx.cases.length} cases, torch ${fx.torch_version}`);
});

for (const build of await builds()) {
  for (const c of fx.cases) {
    test(`${build.name}: ${c.name} matches torch.optim step by step`, async () => {
      const model = await Model.create({ ...fx.model, seed: 1, wasm: build.wasm });
      try {
        const tensors = model.tensors();
        assert.deepEqual(tensors.map(({ name, rows, cols }) => ({ name, rows, cols })), fx.tensors.map(asRowsCols));
        assert.equal(model.parameterCount, fx.initial.length);
        model.setParameters(Float32Array.from(fx.initial));
        model.setOptimizer(c.optimizer);
        let worst = 0;
        fx.gradients.forEach((g, i) => {
          const r = model.applyGradients(Float32Array.from(g));
          assert.deepEqual(r, { skipped: false, reason: 'none' }, `step ${i + 1}`);
          assert.equal(model.stepCount, i + 1);
          const expected = Float32Array.from(c.params[i]);
          const got = model.parameters();
          const cmp = compare(got, expected, ATOL, 0);
          if (cmp.firstBad >= 0) {
            const at = cmp.firstBad;
            const t = tensors.findLast((k) => k.offset <= at);
            assert.fail(`${c.name} step ${i + 1}: ${t.name}[${at - t.offset}] is ${got[at]}, torch ${expected[at]} ` +
              `(|diff| ${Math.abs(got[at] - expected[at]).toExponential(2)} > ${ATOL.toExponential(0)}; max over the step ${cmp.maxAbs.toExponential(2)})`);
          }
          worst = Math.max(worst, cmp.maxAbs);
        });
        console.log(`  ${build.name} ${c.name}: max |param - torch| over ${fx.gradients.length} steps ${worst.toExponential(1)} ` +
          `(tolerance ${ATOL.toExponential(0)}; torch vs float64 ${c.float64_max_diff.toExponential(1)})`);
      } finally {
        model.dispose();
      }
    });
  }
}

const PYTHON = process.env.LSTM_TORCH_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const torchMissing = probe.status === 0 ? false
  : `PyTorch is not importable from ${PYTHON} (make test installs python3-torch); cannot regenerate optim_torch.json`;

test('the committed fixture reproduces (make_optim_fixtures.py --check, float tolerance)', { skip: torchMissing }, () => {
  const r = spawnSync(PYTHON, ['tools/make_optim_fixtures.py', '--check'], {
    cwd: ROOT, encoding: 'utf8', timeout: 120000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /reproduces/);
  console.log(`  ${r.stdout.trim()}`);
});
