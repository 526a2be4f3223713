// convert.test.mjs - PyTorch weights in and out (tools/torch_convert.py).
//
// Always: the committed fixtures (tests/fixtures/convert_*, made by
// tools/make_convert_fixtures.py with PyTorch) load in both wasm builds and give PyTorch's
// float32 logits (format version 2: convert_regression an MSE head at the last step,
// convert_bigru_dense a bidirectional nn.GRU, convert_bilstm_proj_embedding an embedding folded
// into a bidirectional nn.LSTM with proj_size). Where PyTorch is importable (Debian
// python3-torch, /usr/bin/python3, or $LSTM_TORCH_PYTHON; `make test` installs it): the
// fixtures reproduce (floats within a tolerance: BLAS builds differ in the last bits), nn.RNN and lstm-wasm variants without a PyTorch module are rejected with a clear
// message, and models trained here (a char LSTM; a bidirectional GRU regression), exported by
// the converter, give the same outputs in PyTorch and re-import bit-identically
// (tools/check_export_torch.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model, Vocabulary, TextDataset } from '../dist/lstm.js';
import { builds, compare, rng, softmaxRows } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = ['convert_embedding', 'convert_onehot', 'convert_dense', 'convert_regression', 'convert_bigru_dense', 'convert_bilstm_proj_embedding'];
const fixture = (name, ext) => readFileSync(path.join(ROOT, 'tests/fixtures', `${name}.${ext}`), ext === 'json' ? 'utf8' : undefined);

// float32 here against float32 in PyTorch, summed in different orders (and the embedding
// folded in float64): measured differences are <= 1.2e-7 on logits of order 1.
const ATOL = 2e-5;
const RTOL = 1e-4;

/** Outputs of a fixture's sequences through predictBatch (whole sequences: what a
 * bidirectional model needs): probabilities for the softmax head, values for mse. */
function batchOutputs(model, f) {
  const { batch, steps } = f;
  return model.predictBatch(f.tokens ? { batch, steps, tokens: f.tokens.flat() } : { batch, steps, inputs: f.inputs });
}

/** Logits of every sequence of a fixture, each from a zero state, through model.step. */
function stepLogits(model, f) {
  const V = f.output_size;
  const out = new Float32Array(f.batch * f.steps * V);
  const X = f.inputs ? f.inputs.length / (f.batch * f.steps) : 0;
  for (let b = 0; b < f.batch; b++) {
    model.resetInference();
    for (let t = 0; t < f.steps; t++) {
      const i = b * f.steps + t;
      out.set(f.tokens ? model.step(f.tokens[b][t]) : model.step(f.inputs.slice(i * X, (i + 1) * X)), i * V);
    }
  }
  return out;
}

for (const build of await builds()) {
  for (const name of FIXTURES) {
    test(`${build.name}: ${name}.lstm (converted from PyTorch) gives PyTorch's logits`, async (t) => {
      const f = JSON.parse(fixture(name, 'json'));
      let model;
      try {
        model = await Model.load(fixture(name, 'lstm'), { wasm: build.wasm });
      } catch (e) {
        // convert_regression is format version 2 (MSE head, last step only)
        if (e.code === 'UNSUPPORTED_VERSION' && f.head === 'mse') return t.skip(`this build reads format version 1 only: ${e.message}`);
        throw e;
      }
      try {
        if ('head' in model.config) assert.equal(model.config.head, f.head);
        if ('returnSequences' in model.config) assert.equal(model.config.returnSequences, !f.last_step_only);
        assert.equal(model.config.outputSize, f.output_size);
        assert.equal(model.config.dense, !f.tokens);
        if (f.vocab) {
          assert.deepEqual(model.vocabulary.decode([...Array(model.vocabulary.size).keys()]), f.vocab.join(''));
          assert.equal(model.config.vocabSize, f.vocab.length);
        }
        // one-directional models step by step; bidirectional ones read whole sequences, and
        // predict gives probabilities: compare them with the softmax of PyTorch's logits
        const bi = model.config.bidirectional;
        const logits = bi ? batchOutputs(model, f) : stepLogits(model, f);
        const want = bi && f.head === 'softmax' ? softmaxRows(f.logits, f.output_size) : f.logits;
        const c = compare(logits, want, ATOL, RTOL);
        assert.equal(c.firstBad, -1, `output ${c.firstBad}: ${logits[c.firstBad]} vs torch ${want[c.firstBad]}`);
        if (f.vocab && !bi) {
          const text = model.generate({ prompt: f.vocab[1], length: 20, seed: 3 });
          assert.equal([...text].length, 20);
          assert.ok([...text].every((ch) => f.vocab.includes(ch)));
        }
        assert.equal(model.metadata.converter, 'tools/torch_convert.py');
        console.log(`  ${build.name} ${name}: max |${bi ? 'probability' : 'logit'} diff| vs PyTorch float32 ${c.maxAbs.toExponential(2)} over ${logits.length} outputs`);
      } finally {
        model.dispose();
      }
    });
  }
}

// ---- with PyTorch ----

const PYTHON = process.env.LSTM_TORCH_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const torchMissing = probe.status === 0 ? false
  : `PyTorch is not importable from ${PYTHON}; run /usr/bin/python3 tools/check_export_torch.py where python3-torch is installed`;

const py = (args, opts = {}) => spawnSync(PYTHON, args, {
  cwd: ROOT, encoding: 'utf8', timeout: 60000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, ...opts,
});

test('the committed fixtures reproduce (make_convert_fixtures.py --check: floats within a tolerance)', { skip: torchMissing }, () => {
  const r = py(['tools/make_convert_fixtures.py', '--check']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /fixtures reproduce \(floats within rtol/);
});

test('the converter rejects nn.RNN, lstm-wasm variants PyTorch lacks, and bad files with a clear message', { skip: torchMissing }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lstm-convert-'));
  try {
    // lstm-wasm models that no PyTorch module computes: from-lstm refuses them
    for (const [name, options] of [['peephole', { peephole: true }], ['layernorm', { layerNorm: true }], ['relu', { activation: 'relu' }],
      ['hard', { recurrentActivation: 'hardSigmoid' }], ['before', { cell: 'gru', resetAfter: false }]]) {
      const m = await Model.create({ vocabSize: 5, hiddenSize: 4, ...options });
      writeFileSync(path.join(dir, `${name}.lstm`), m.save());
      if (name === 'relu') writeFileSync(path.join(dir, 'int8.lstm'), m.save({ quantize: 'int8' }));
      m.dispose();
    }
    // One Python process (torch loads in ~1 s): make the files, then run the converter's
    // main() on each as the command line does, collecting exit status and stderr.
    const r = py(['-c', `
import contextlib, io, json, sys, torch
sys.path.insert(0, 'tools')
import torch_convert
d = sys.argv[1]
class Gru(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.embedding = torch.nn.Embedding(10, 4); s.gru = torch.nn.GRU(4, 8, 2, batch_first=True); s.out = torch.nn.Linear(8, 10)
torch.save(Gru().state_dict(), d + '/gru.pt')
torch.save({'rnn.' + k: v for k, v in torch.nn.RNN(10, 8).state_dict().items()} | {'out.weight': torch.zeros(10, 8), 'out.bias': torch.zeros(10)}, d + '/rnn.pt')
torch.save({'lstm.' + k: v for k, v in torch.nn.LSTM(10, 8, bidirectional=True).state_dict().items()} | {'out.weight': torch.zeros(10, 8)}, d + '/bi_head.pt')
open(d + '/bad.pt', 'wb').write(b'not a torch file')
out = {}
for f in ['rnn.pt', 'bi_head.pt', 'bad.pt', 'missing.pt', 'gru.pt']:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = torch_convert.main(['to-lstm', d + '/' + f, '-o', d + '/' + f + '.lstm'])
    out[f] = [status, err.getvalue()]
for f in ['peephole.lstm', 'layernorm.lstm', 'relu.lstm', 'hard.lstm', 'before.lstm', 'int8.lstm']:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = torch_convert.main(['from-lstm', d + '/' + f, '-o', d + '/x.pt'])
    out[f] = [status, err.getvalue()]
print(json.dumps(out))
`, dir]);
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout);
    const cases = [
      ['rnn.pt', 2, /nn\.RNN, which is not supported/],
      ['bi_head.pt', 2, /no output head found: expected an nn\.Linear\(16, V\)/],
      ['bad.pt', 1, /torch\.load failed/],
      ['missing.pt', 1, /no such file/],
      ['peephole.lstm', 2, /uses peephole weights, which no PyTorch module computes/],
      ['layernorm.lstm', 2, /uses layer normalisation, which no PyTorch module computes/],
      ['relu.lstm', 2, /uses the relu activation, which no PyTorch module computes/],
      ['hard.lstm', 2, /uses hard-sigmoid gates, which no PyTorch module computes/],
      ['int8.lstm', 2, /an int8 \(quantised\) file: its float weights are gone/],
      ['before.lstm', 2, /uses a GRU reset gate applied before its recurrent product, which no PyTorch/],
    ];
    for (const [file, status, message] of cases) {
      const [got, stderr] = results[file];
      assert.equal(got, status, `${file}: exit ${got}\n${stderr}`);
      assert.match(stderr, message, file);
      assert.match(stderr, /^torch_convert\.py: error: /);
    }
    for (const f of ['rnn.pt.lstm', 'bi_head.pt.lstm', 'bad.pt.lstm', 'x.pt']) {
      assert.throws(() => readFileSync(path.join(dir, f)), /ENOENT/, `no output is written on failure (${f})`);
    }
    console.log(`  ${results['rnn.pt'][1].trim()}\n  ${results['peephole.lstm'][1].trim()}`);
    // an embedded 2-layer nn.GRU converts (the embedding folded into weight_ih_l0) and loads
    assert.equal(results['gru.pt'][0], 0, results['gru.pt'][1]);
    const gru = await Model.load(readFileSync(path.join(dir, 'gru.pt.lstm')));
    try {
      assert.equal(gru.config.cell, 'gru');
      assert.equal(gru.config.vocabSize, 10);
      const [w] = gru.tensors();
      assert.deepEqual([w.name, w.rows, w.cols], ['weight_ih_l0', 24, 10]); // (3H, V): the folded embedding
    } finally {
      gru.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Save `model` (disposing it) and what it computed (`expected`: batch, steps, output_size,
 * tokens or inputs, logits) in a temp dir, run tools/check_export_torch.py on them and assert
 * it passed with a bit-identical re-import for each of `embeddings`. Returns its RESULT. */
function checkExport(model, expected, embeddings) {
  const dir = mkdtempSync(path.join(tmpdir(), 'lstm-export-'));
  try {
    writeFileSync(path.join(dir, 'model.lstm'), model.save()); // with training state
    writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(expected));
    model.dispose();
    const r = py(['tools/check_export_torch.py', path.join(dir, 'model.lstm'), path.join(dir, 'expected.json')]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const result = JSON.parse(r.stdout.match(/^RESULT (.*)$/m)[1]);
    assert.equal(result.ok, true);
    for (const e of embeddings) {
      assert.match(r.stdout, new RegExp(`re-import \\(embedding ${e}\\): config, vocabulary and \\d+ parameters bit-identical`));
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a model trained here, exported with the converter, gives the same logits in PyTorch', { skip: torchMissing }, async () => {
  const text = 'A LSTM trained in WebAssembly, checked in PyTorch. Ünïcödé too: ✓\n'.repeat(60);
  const vocab = Vocabulary.fromText(text);
  const data = new TextDataset(text, vocab, { validationFraction: 0 });
  const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 24, layers: 2, seed: 9, dropout: 0.1, forgetBias: 1 });
  model.trainSteps(data, { steps: 40, seqLength: 24, batchSize: 6, optimizer: { type: 'adam', learningRate: 5e-3 } });
  data.dispose();
  const tokens = [Array.from(vocab.encode('WebAssembly, checked')), Array.from(vocab.encode('Ünïcödé too: ✓\nA LST'))];
  const f = { batch: 2, steps: tokens[0].length, output_size: vocab.size, tokens };
  f.logits = Array.from(stepLogits(model, f));
  const result = checkExport(model, f, ['none', 'identity']);
  console.log(`  export: max |logit diff| in PyTorch: one-hot ${result.max_abs_diff.none.toExponential(2)}, identity embedding ${result.max_abs_diff.identity.toExponential(2)}`);
});

test('a bidirectional GRU regression trained here gives the same outputs in PyTorch and re-imports bit-identically', { skip: torchMissing }, async () => {
  const r = rng(17);
  const x = Array.from({ length: 24 }, () => Array.from({ length: 7 }, () => [2 * r() - 1, 2 * r() - 1]));
  const y = x.map((s) => s.map((step, t) => [step[0] + (s[t + 1]?.[1] ?? 0), -step[1]]));
  const model = await Model.create({ inputSize: 2, outputSize: 2, hiddenSize: 6, layers: 2, cell: 'gru', bidirectional: true, head: 'mse', recurrentDropout: 0.1, seed: 4 });
  model.fit(x, y, { epochs: 3, batchSize: 8 });
  const f = { batch: 2, steps: 7, output_size: 2, inputs: x.slice(0, 2).flat(2) };
  f.logits = Array.from(batchOutputs(model, f)); // the mse head's outputs are its values
  const result = checkExport(model, f, ['none']);
  console.log(`  bidirectional GRU export: max |output diff| in PyTorch ${result.max_abs_diff.none.toExponential(2)}`);
});
