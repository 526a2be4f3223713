// keras.test.mjs - Keras files through tools/keras_to_tfjs.py and then the one importer
// (Model.fromTfjs): the .h5 (Keras 2) and .keras (Keras 3) fixtures that
// tools/keras_fixtures.py writes with h5py in Keras's layouts (written by us, not by Keras:
// no TensorFlow or Keras here) give the outputs of the TF.js fixtures they hold, in both
// builds; Keras 3's hard_sigmoid and files that are not models are refused with a reason.
// Needs /usr/bin/python3 with h5py (Debian's python3-h5py); skipped, saying so, without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model } from '../dist/lstm.js';
import { builds } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.join(ROOT, 'tests', 'fixtures');
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'tools', 'keras_to_tfjs.py');
const KERAS = JSON.parse(readFileSync(path.join(FIXTURES, 'keras_fixtures.json'), 'utf8'));
const TFJS = new Map(JSON.parse(readFileSync(path.join(FIXTURES, 'tfjs_fixtures.json'), 'utf8')).cases.map((c) => [c.name, c]));
// as tests/tfjs.test.mjs: float32 here and in TF.js, sums in other orders (measured <= 5e-7)
const ATOL = 1e-5;

const probe = spawnSync(PYTHON, ['-c', 'import h5py, numpy'], { encoding: 'utf8' });
const noH5py = probe.status === 0 ? false : `${PYTHON} cannot import h5py (apt-get install python3-h5py): the Keras converter is not run`;
if (noH5py) console.log(`  skipped: ${noH5py}`);

const convert = (file, out) => spawnSync(PYTHON, [SCRIPT, file, '--out', out], { encoding: 'utf8' });

test('Keras .h5 and .keras files convert and import with the outputs of the models they hold (both builds)', { skip: noH5py }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lstm-keras-'));
  try {
    const BUILDS = await builds();
    for (const k of KERAS.cases) {
      const out = path.join(dir, k.file);
      const r = convert(path.join(FIXTURES, k.file), out);
      if (k.refused) {
        assert.equal(r.status, 2, `${k.file}: ${r.stdout}${r.stderr}`);
        assert.ok(r.stderr.includes(k.refused), `${k.file}: ${r.stderr}`);
        console.log(`  ${k.file}: refused (${k.refused})`);
        continue;
      }
      assert.equal(r.status, 0, `${k.file}: ${r.stderr}`);
      const json = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8'));
      assert.equal(json.modelTopology.keras_version, k.kerasVersion);
      const weights = readFileSync(path.join(out, 'weights.bin'));
      const c = TFJS.get(k.source);
      const diffs = [];
      for (const { name, wasm } of BUILDS) {
        const model = await Model.fromTfjs(json, weights, { wasm });
        try {
          for (const [key, value] of Object.entries(c.expect)) {
            assert.equal(model.config[key], typeof value === 'number' ? Math.fround(value) : value, `${k.file}: config.${key}`);
          }
          const got = model.predict(c.inputs).flatMap((o) => Array.from(o));
          assert.equal(got.length, c.outputs.length);
          let max = 0;
          got.forEach((v, i) => {
            const d = Math.abs(v - c.outputs[i]);
            assert.ok(d <= ATOL, `${k.file} (${name}): output ${i} is ${v}, expected ${c.outputs[i]}`);
            max = Math.max(max, d);
          });
          diffs.push(`${name} ${max.toExponential(1)}`);
        } finally {
          model.dispose();
        }
      }
      console.log(`  ${k.file.padEnd(38)} ${diffs.join('  ')}  (${k.source})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a converted Keras file goes through lstm-wasm import-tfjs', { skip: noH5py }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lstm-keras-cli-'));
  try {
    assert.equal(convert(path.join(FIXTURES, 'keras_v3_gru_embedding_2layer.keras'), path.join(dir, 'm')).status, 0);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/lstm-wasm.mjs'), 'import-tfjs', path.join(dir, 'm/model.json'), '--out', path.join(dir, 'm.lstm')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /GRU 2 x 4, 8 tokens in, 8 out \(softmax\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keras_to_tfjs.py refuses files that are not Keras models, with a reason', { skip: noH5py }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lstm-keras-bad-'));
  try {
    writeFileSync(path.join(dir, 'text.h5'), 'not a model');
    // a weights-only file (save_weights): model_weights without model_config
    const made = spawnSync(PYTHON, ['-c', `import h5py; f = h5py.File(${JSON.stringify(path.join(dir, 'weights.h5'))}, 'w'); f.create_group('model_weights'); f.close()`], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    for (const [file, status, message] of [
      ['text.h5', 1, /is neither a \.keras zip nor an HDF5 \.h5 file/],
      ['weights.h5', 2, /has no model_config: a weights-only file/],
      ['missing.keras', 1, /no such file/],
    ]) {
      const r = convert(path.join(dir, file), path.join(dir, 'out'));
      assert.equal(r.status, status, `${file}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
