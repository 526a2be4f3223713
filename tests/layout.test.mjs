// layout.test.mjs - the Python tools' view of the parameter layout (tools/lstm_layout.py, which
// reads tools/lstm_layout.json) against the C table's (model.tensors()), for configs covering
// every option. Needs only plain Python 3 (no torch), so it never skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model } from '../dist/lstm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = 'python3'; // any Python 3: lstm_layout.py needs no packages
const python = (args, input) => spawnSync(PYTHON, args, {
  input, encoding: 'utf8', timeout: 60000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
});

// Each cell variant (the options valid together: layer norm is for the plain LSTM, the GRU has
// no peephole, CIFG or projection) in four shapes: tokens or dense inputs (one dense input
// wide, where (G, 1) input weights are a matrix and not a bias), 1 to 3 layers, one or two
// directions. Sizes differ so that no two dimensions coincide by accident.
const VARIANTS = [{}, { cell: 'gru' }, { peephole: true }, { cifg: true }, { peephole: true, cifg: true },
  { projSize: 3 }, { layerNorm: true }, { peephole: true, projSize: 2 }, { cifg: true, projSize: 4, activation: 'relu' }];
const SHAPES = [
  { vocabSize: 7, hiddenSize: 5, layers: 1 },
  { inputSize: 1, outputSize: 3, hiddenSize: 6, layers: 2, bidirectional: true },
  { vocabSize: 4, outputSize: 4, hiddenSize: 9, layers: 3, bidirectional: true },
  { inputSize: 11, outputSize: 2, hiddenSize: 8, layers: 2 },
];
const OPTIONS = VARIANTS.flatMap((v) => SHAPES.map((s) => ({ ...s, ...v })));

/** Model.create's options in the model file's field names (what lstm_layout.py reads). */
function fileConfig(o) {
  return {
    input_vocab: o.vocabSize ?? 0, input_size: o.inputSize ?? 0, hidden_size: o.hiddenSize,
    num_layers: o.layers, output_size: o.outputSize ?? o.vocabSize, cell: o.cell === 'gru' ? 1 : 0,
    peephole: o.peephole ? 1 : 0, cifg: o.cifg ? 1 : 0, proj_size: o.projSize ?? 0,
    layer_norm: o.layerNorm ? 1 : 0, bidirectional: o.bidirectional ? 1 : 0,
  };
}

test(`tools/lstm_layout.py gives the C table's tensors for ${OPTIONS.length} configs`, async () => {
  const r = python([path.join(ROOT, 'tools/lstm_layout.py')], JSON.stringify(OPTIONS.map(fileConfig)));
  assert.equal(r.status, 0, `${PYTHON} tools/lstm_layout.py: ${r.error ?? ''}${r.stderr}`);
  const fromPython = JSON.parse(r.stdout);
  let tensorCount = 0;
  for (const [i, options] of OPTIONS.entries()) {
    const model = await Model.create(options);
    try {
      const want = model.tensors().map(({ name, offset, rows, cols }) => ({ name, offset, rows, cols }));
      assert.deepEqual(fromPython[i].tensors, want, JSON.stringify(options));
      assert.equal(fromPython[i].total, model.parameterCount, JSON.stringify(options));
      tensorCount += want.length;
    } finally {
      model.dispose();
    }
  }
  console.log(`  ${OPTIONS.length} configs, ${tensorCount} tensors: names, offsets, rows and cols equal`);
});

test('tools/lstm_layout.py without lstm_layout.json beside it names the missing file', () => {
  // a user who copies the module alone (to a machine without the repository)
  const dir = mkdtempSync(path.join(tmpdir(), 'lstm-layout-'));
  try {
    copyFileSync(path.join(ROOT, 'tools/lstm_layout.py'), path.join(dir, 'lstm_layout.py'));
    const r = python([path.join(dir, 'lstm_layout.py')], JSON.stringify([fileConfig(SHAPES[0])]));
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stderr.trim(), `lstm_layout.py: error: ${path.join(dir, 'lstm_layout.json')} is missing: `
      + "it holds the parameter layout lstm_layout.py reads. Copy it from lstm-wasm's tools/ beside lstm_layout.py "
      + '(it is written by `make layout`)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
