// cli.test.mjs - the command line (bin/lstm-wasm.mjs): train with progress, checkpoints,
// exact resume and Ctrl-C, the demo's recipe and options; sample; info; eval; errors and exit
// codes. (That its files equal the demo's Session's is tests/session.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model, TextDataset, TokenStream } from '../dist/lstm.js';
import { rng } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/lstm-wasm.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'lstm-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const at = (name) => path.join(dir, name);

// A made-up text of ~24k characters from a small word list (deterministic).
const words = 'the a of and to in is was that it for on with as his by at from her thou shall king lord my love night day sweet death'.split(' ');
const random = rng(7);
let corpus = '';
while (corpus.length < 24000) {
  corpus += words[Math.floor(random() * words.length)];
  corpus += random() < 0.1 ? '.\n' : random() < 0.1 ? ', ' : ' ';
}
writeFileSync(at('corpus.txt'), corpus);
const SMALL = ['--hidden', '32', '--layers', '1', '--seq', '16', '--batch', '8'];

function cli(args, opts = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 30000, ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const loadModel = (name) => Model.load(readFileSync(at(name)));
const tempFiles = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

test('help, version and usage errors', () => {
  const help = cli(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /train <corpus\.txt> --out model\.lstm/);
  assert.match(help.stdout, /sample <model\.lstm>/);
  assert.match(help.stdout, /info <model\.lstm>/);
  assert.match(help.stdout, /eval <model\.lstm> <text\.txt>/);
  assert.equal(cli([]).status, 2);
  assert.equal(cli(['--version']).stdout.trim(), JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  assert.match(help.stdout, /convert <model\.lstm> --out FILE/);
  for (const c of ['train', 'sample', 'info', 'eval', 'convert']) {
    const r = cli([c, '--help']);
    assert.equal(r.status, 0, c);
    assert.match(r.stdout, new RegExp(`Usage: lstm-wasm ${c}`));
  }
  // the README's quality table, reproduced from the command line
  assert.match(cli(['train', '--help']).stdout, /lstm-wasm train \.\.\/shared\/data\/tinyshakespeare\.txt --out shakespeare\.lstm --minutes 15 --report-at 2,5,15/);
});

test('train writes checkpoints on schedule and reports progress; info and sample read the model', async () => {
  const r = cli(['train', 'corpus.txt', ...SMALL, '--steps', '30', '--checkpoint-every', '10', '--out', 'model.lstm', '--progress', 'lines']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /step \d+\/30 +loss \d\.\d{3} +val (-|\d\.\d{3}) +[\d.]+k? chars\/s +ETA \d+s/);
  assert.match(r.stderr, /checkpoint at step 10: loss \d\.\d{4} nats\/char \(\d\.\d{4} bits\), val loss \d\.\d{4} nats\/char \(\d\.\d{4} bits\)/);
  assert.match(r.stderr, /checkpoint at step 20:/);
  assert.match(r.stderr, /saved at step 30:/);
  assert.match(r.stdout, /trained 30 steps .* chars\/s; loss \d\.\d+ nats\/char \(\d\.\d+ bits\), val loss \d\.\d+ nats\/char \(\d\.\d+ bits\); saved model\.lstm/);
  assert.deepEqual(tempFiles(), []);

  const model = await loadModel('model.lstm');
  assert.equal(model.stepCount, 30);
  assert.equal(model.config.hiddenSize, 32);
  assert.equal(model.vocabulary.size, new Set(corpus).size);
  // the session's metadata (src/js/session_file.js): settings, progress, curves at fixed positions
  const meta = model.metadata;
  assert.equal(meta.format, 'lstm-wasm-session');
  assert.equal(meta.settings.seqLength, 16);
  assert.deepEqual(meta.progress, { chars: 30 * 8 * 16, steps: 30, skipped: 0 });
  assert.deepEqual(meta.corpus, { name: 'corpus.txt', chars: corpus.length, fingerprint: meta.corpus.fingerprint, vocabSize: new Set(corpus).size });
  assert.equal(meta.history.val[0][0], 0, 'the curve starts with the untrained model');
  assert.ok(meta.history.val.length >= 2, JSON.stringify(meta.history));
  // a training point is the mean loss of ~4k characters (32 steps of 8 x 16): none yet, 30 pending
  assert.deepEqual([meta.history.train.length, meta.history.pending[1]], [0, 30]);
  model.dispose();

  const info = cli(['info', 'model.lstm']);
  assert.equal(info.status, 0, info.stderr);
  // version 3: a trained model's checkpoint carries the bad-step record
  for (const re of [/format version 3/, /with training state/, /hidden size +32/, /layers +1/, /parameters +[\d,]+ /,
    /vocabulary +\d+ characters: \\n ,\.abd/, /training +30 steps, data position [\d,]+, optimizer adam \(learning rate 0\.00299/,
    /settings +--seq 16 --batch 8 --optimizer adam --lr 0\.003 --schedule cosine --epochs 100 --clip 5 --val 0\.1/,
    /corpus +corpus\.txt, 24,\d{3} characters, \d+ distinct \(fingerprint [0-9a-f]{8}\)/, /progress +30 steps, 3,840 characters/,
    /last val +\d\.\d{4} nats\/char \(\d\.\d{4} bits\) validation, at [\d,]+ characters/]) {
    assert.match(info.stdout, re);
  }
  const json = JSON.parse(cli(['info', 'model.lstm', '--json']).stdout);
  assert.equal(json.config.hiddenSize, 32);
  assert.equal(json.parameters, 4 * 32 * (json.vocabulary.length + 32 + 2) + json.vocabulary.length * 33);
  assert.equal(json.training.steps, 30);
  assert.deepEqual(json.tensors.map((t) => t.name), ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'out.weight', 'out.bias']);

  const s1 = cli(['sample', 'model.lstm', '--prompt', 'the king', '--length', '120', '--temperature', '0.7', '--seed', '5']);
  assert.equal(s1.status, 0, s1.stderr);
  assert.ok(s1.stdout.startsWith('the king'));
  assert.equal([...s1.stdout].length, 8 + 120, 'prompt echoed, then exactly --length characters (no newline added on a pipe)');
  assert.equal(cli(['sample', 'model.lstm', '--prompt', 'the king', '--length', '120', '--temperature', '0.7', '--seed', '5']).stdout, s1.stdout);
  assert.notEqual(cli(['sample', 'model.lstm', '--prompt', 'the king', '--length', '120', '--temperature', '0.7', '--seed', '6']).stdout, s1.stdout);
  const greedy = cli(['sample', 'model.lstm', '--length', '50', '--temperature', '0', '--top-k', '3', '--top-p', '0.9']);
  assert.equal(greedy.status, 0, greedy.stderr);
  assert.equal([...greedy.stdout].length, 50);
});

test('the progress bar on a terminal: one line redrawn with \\r', () => {
  const r = cli(['train', 'corpus.txt', ...SMALL, '--steps', '12', '--out', 'bar.lstm', '--progress', 'bar']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\r *\d+\/12 \[█*░*\] +\d+%  loss \d\.\d{3}  val (-|\d\.\d{3})  [\d.]+k? chars\/s  ETA \d+s\x1b\[K/);
  assert.match(r.stderr, /12\/12 \[█{24}\] 100%/);
  const quiet = cli(['train', 'corpus.txt', ...SMALL, '--steps', '4', '--out', 'quiet.lstm', '--quiet']);
  assert.equal(quiet.status, 0);
  assert.equal(quiet.stderr, '');
});

test('--resume continues bit-exactly: 10 + 14 steps equal 24 steps in one run', async () => {
  const args = ['train', 'corpus.txt', ...SMALL, '--dropout', '0.2', '--seed', '3', '--quiet'];
  assert.equal(cli([...args, '--steps', '24', '--out', 'straight.lstm']).status, 0);
  assert.equal(cli([...args, '--steps', '10', '--out', 'split.lstm']).status, 0);
  const again = cli(['train', 'corpus.txt', '--resume', '--steps', '24', '--out', 'split.lstm', '--quiet']);
  assert.equal(again.status, 0, again.stderr);
  const [a, b] = [await loadModel('straight.lstm'), await loadModel('split.lstm')];
  assert.equal(b.stepCount, 24);
  assert.deepEqual(b.parameters(), a.parameters());
  assert.equal(b.streamPosition, a.streamPosition);
  assert.deepEqual(b.config, a.config);
  a.dispose();
  b.dispose();
  // the whole file: the metadata holds no clock, and the curve point under way is saved
  assert.ok(readFileSync(at('split.lstm')).equals(readFileSync(at('straight.lstm'))), 'the same bytes');
  const done = cli(['train', 'corpus.txt', '--resume', '--steps', '24', '--out', 'split.lstm']);
  assert.equal(done.status, 0);
  assert.match(done.stdout, /already taken 24 steps .*nothing to do/);
  // --epochs is the length of the cosine schedule, in passes over the training text; without
  // --steps or --minutes training stops where it ends
  const epoch = cli(['train', 'corpus.txt', ...SMALL, '--epochs', '0.5', '--val', '0', '--out', 'epoch.lstm', '--quiet']);
  assert.equal(epoch.status, 0, epoch.stderr);
  const m = await loadModel('epoch.lstm');
  assert.equal(m.metadata.settings.epochs, 0.5);
  assert.equal(m.stepCount, Math.ceil(0.5 * corpus.length / (8 * 16)));
  assert.deepEqual(m.metadata.history.val, [], '--val 0: no validation');
  m.dispose();
});

test('the demo\'s options: cells and variants, optimizer and schedule; eval in nats and bits', async () => {
  const run = (out, extra) => {
    const r = cli(['train', 'corpus.txt', ...SMALL, '--steps', '6', '--out', out, '--quiet', ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return loadModel(out);
  };
  const gru = await run('gru.lstm', ['--cell', 'gru', '--recurrent-dropout', '0.1', '--optimizer', 'rmsprop', '--schedule', 'constant']);
  assert.equal(gru.config.cell, 'gru');
  assert.equal(gru.config.recurrentDropout, Math.fround(0.1));
  assert.equal(gru.optimizer.type, 'rmsprop');
  assert.equal(gru.optimizer.learningRate, Math.fround(0.002), 'RMSprop\'s starting rate, constant');
  assert.equal(gru.metadata.settings.schedule, 'constant');
  gru.dispose();
  const variant = await run('variant.lstm', ['--peephole', '--cifg', '--proj-size', '16', '--dropout', '0']);
  assert.deepEqual([variant.config.peephole, variant.config.cifg, variant.config.projSize, variant.config.dropout], [true, true, 16, 0]);
  variant.dispose();
  const ln = await run('ln.lstm', ['--layer-norm', '--lr', '0.01', '--clip', '1']);
  assert.equal(ln.config.layerNorm, true);
  assert.equal(ln.optimizer.clipNorm, 1);
  // the cosine schedule: step 0's rate is the base rate, set again every 16 steps
  assert.equal(ln.optimizer.learningRate, Math.fround(0.01));
  ln.dispose();

  // eval: the validation part (the last 10 %, as training holds it out), or the whole text
  const r = cli(['eval', 'model.lstm', 'corpus.txt']);
  assert.equal(r.status, 0, r.stderr);
  const [, nats, bitsPerChar] = /: (\d\.\d{4}) nats\/char \((\d\.\d{4}) bits\)$/m.exec(r.stdout);
  assert.ok(Math.abs(Number(bitsPerChar) - Number(nats) / Math.LN2) < 1e-3, r.stdout);
  assert.match(r.stdout, /model\.lstm on corpus\.txt \(its last 10%, the part training holds out, 2,400 characters\)/);
  const model = await loadModel('model.lstm');
  const data = new TextDataset(corpus, model.vocabulary, { validationFraction: 0.1 });
  const expected = model.evaluate(data.validation, { batchSize: 16, seqLength: 128 });
  const json = JSON.parse(cli(['eval', 'model.lstm', 'corpus.txt', '--json']).stdout);
  assert.equal(json.nats, expected);
  assert.equal(json.chars, data.validation.length);
  const whole = JSON.parse(cli(['eval', 'model.lstm', 'corpus.txt', '--part', 'text', '--json']).stdout);
  assert.equal(whole.nats, model.evaluate(new TokenStream(model.vocabulary.encode(corpus)), { batchSize: 16, seqLength: 128 }));
  assert.equal(whole.bits, whole.nats / Math.LN2);
  data.dispose();
  model.dispose();
});

test('convert: an int8 file (about 4x smaller, its loss measured before and after) and a float file without training state', async () => {
  const r = cli(['convert', 'model.lstm', '--out', 'q.lstm', '--quantize', 'int8', '--eval', 'corpus.txt', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.bytesAfter, readFileSync(at('q.lstm')).length);
  assert.ok(j.bytesBefore / j.bytesAfter > 3, `${j.bytesBefore} -> ${j.bytesAfter} bytes`);
  // the figures are what "lstm-wasm eval" says of each file
  const evalJson = (file) => JSON.parse(cli(['eval', file, 'corpus.txt', '--json']).stdout).nats;
  assert.equal(j.lossBefore, evalJson('model.lstm'));
  assert.equal(j.lossAfter, evalJson('q.lstm'));
  assert.ok(Math.abs(j.lossAfter - j.lossBefore) < 0.01 * j.lossBefore, `${j.lossBefore} -> ${j.lossAfter}`);
  const q = await loadModel('q.lstm');
  assert.equal(q.quantized, true);
  q.dispose();
  assert.match(cli(['info', 'q.lstm']).stdout, /format version 4, .*, int8 weights \(inference only\)/);

  assert.equal(cli(['convert', 'model.lstm', '--out', 'f.lstm']).status, 0);
  const [a, b] = [await loadModel('model.lstm'), await loadModel('f.lstm')];
  assert.equal(b.quantized, false);
  assert.ok(readFileSync(at('f.lstm')).length < readFileSync(at('model.lstm')).length / 2, 'no optimizer moments');
  assert.deepEqual(b.parameters(), a.parameters());
  a.dispose();
  b.dispose();

  const fails = [
    [['convert', 'q.lstm', '--out', 'back.lstm'], 1, /q\.lstm is already int8/],
    [['convert', 'model.lstm', '--out', 'q.lstm', '--quantize', 'int8'], 2, /q\.lstm exists: choose another --out, or --force/],
    [['convert', 'model.lstm', '--out', 'model.lstm'], 2, /--out must not be the input file/],
    [['convert', 'model.lstm', '--out', 'z.lstm', '--quantize', 'int4'], 2, /--quantize must be int8, none, got "int4"/],
    [['convert', 'model.lstm'], 2, /convert needs --out FILE/],
  ];
  for (const [args, status, message] of fails) {
    const f = cli(args);
    assert.equal(f.status, status, `${args.join(' ')}: ${f.stderr}`);
    assert.match(f.stderr, message);
  }
  assert.throws(() => readFileSync(at('back.lstm')), /ENOENT/);
  assert.throws(() => readFileSync(at('z.lstm')), /ENOENT/);
});

/** Start a training run; resolve when stderr matches `pattern`. */
function startTraining(out, extra, pattern) {
  const child = spawn(process.execPath, [BIN, 'train', 'corpus.txt', '--hidden', '48', '--layers', '2', '--seq', '16', '--batch', '8',
    '--steps', '1000000', '--out', out, '--progress', 'lines', ...extra], { cwd: dir });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  const ready = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (pattern.test(stderr)) resolve();
    });
    exited.then(() => reject(new Error(`exited before ${pattern}: ${stderr}`)));
  });
  return { child, ready, exited };
}

test('Ctrl-C saves a checkpoint and exits 130; SIGKILL leaves the last checkpoint intact', async () => {
  const run = startTraining('int.lstm', ['--checkpoint-every', '5'], /checkpoint at step 10:/);
  await run.ready;
  run.child.kill('SIGINT');
  const { code, stderr } = await run.exited;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /Ctrl-C: stopping after this chunk/);
  assert.match(stderr, /interrupted at step (\d+); int\.lstm is saved\. Continue with: lstm-wasm train corpus\.txt --out int\.lstm --resume --steps 1000000\n/);
  const stoppedAt = Number(/interrupted at step (\d+)/.exec(stderr)[1]);
  const m = await loadModel('int.lstm');
  assert.equal(m.stepCount, stoppedAt);
  m.dispose();

  // SIGKILL at an arbitrary moment, with checkpoints written back to back
  const kill = startTraining('kill.lstm', ['--checkpoint-every', '1'], /checkpoint at step 3:/);
  await kill.ready;
  await new Promise((r) => setTimeout(r, 137));
  kill.child.kill('SIGKILL');
  await kill.exited;
  const k = await loadModel('kill.lstm'); // complete and checksummed, whatever was in flight
  assert.ok(k.stepCount >= 3);
  k.dispose();
  for (const f of tempFiles()) rmSync(at(f)); // a killed writer may leave its hidden temporary file
});

test('errors: clear messages, exit 1 for files and models, 2 for the command line', () => {
  copyFileSync(at('model.lstm'), at('flipped.lstm'));
  const bytes = readFileSync(at('model.lstm'));
  const flipped = Buffer.from(bytes);
  flipped[200] ^= 1;
  writeFileSync(at('flipped.lstm'), flipped);
  writeFileSync(at('short.lstm'), bytes.subarray(0, bytes.length - 100));
  writeFileSync(at('tiny.txt'), 'hello there');
  const cases = [
    [['train', 'missing.txt', '--out', 'x.lstm'], 1, /cannot read corpus missing\.txt: no such file/],
    [['train', 'corpus.txt', '--out', 'no/such/dir/x.lstm'], 1, /cannot write no\/such\/dir\/x\.lstm: the directory .* does not exist/],
    // the demo's recipe: batch 16 x sequence 64 (the command line had 32 x 64 before)
    [['train', 'tiny.txt', '--out', 'x.lstm'], 1, /tiny\.txt: the text is too small: 10 characters to train on, 10 % of the 11 kept for validation, and batch 16 x sequence 64 needs at least 1,040/],
    [['train', 'corpus.txt', '--out', 'model.lstm'], 2, /model\.lstm exists: pass --resume to continue training it, or --force/],
    [['train', 'corpus.txt', '--resume', '--out', 'absent.lstm'], 1, /cannot resume: absent\.lstm does not exist/],
    [['train', 'corpus.txt', '--resume', '--hidden', '64', '--out', 'model.lstm'], 2, /--hidden 64 does not match the model being resumed \(32\)/],
    [['train', 'corpus.txt', '--hiden', '64', '--out', 'x.lstm'], 2, /unknown option --hiden \(did you mean --hidden\?\)/],
    [['train', 'corpus.txt', '--hidden', 'lots', '--out', 'x.lstm'], 2, /--hidden must be an integer in \[1, 4096\], got "lots"/],
    [['train', 'corpus.txt', '--lr', '0', '--out', 'x.lstm'], 2, /--lr must be a number in \(0, 1000\]/],
    [['train', 'corpus.txt', '--cell', 'rnn', '--out', 'x.lstm'], 2, /--cell must be lstm, gru, got "rnn"/],
    [['train', 'corpus.txt', '--report-at', '2,five', '--out', 'x.lstm'], 2, /--report-at must be minutes separated by commas/],
    [['train', 'corpus.txt', '--resume', '--cell', 'gru', '--out', 'model.lstm'], 2, /--cell gru does not match the model being resumed \(lstm\)/],
    [['eval', 'model.lstm'], 2, /eval takes a model file and a text file/],
    [['eval', 'model.lstm', 'corpus.txt', '--part', 'train'], 2, /--part must be validation, text/],
    [['eval', 'model.lstm', 'missing.txt'], 1, /cannot read corpus missing\.txt: no such file/],
    [['train', 'corpus.txt'], 2, /train needs --out FILE/],
    [['train'], 2, /train needs a corpus file/],
    [['sample', 'absent.lstm'], 1, /cannot read model absent\.lstm: no such file/],
    [['sample', 'flipped.lstm'], 1, /flipped\.lstm is not a valid lstm-wasm model \(CHECKSUM\): checksum mismatch/],
    [['info', 'short.lstm'], 1, /short\.lstm is not a valid lstm-wasm model \(TRUNCATED\)/],
    [['info', 'corpus.txt'], 1, /corpus\.txt is not a valid lstm-wasm model \(BAD_MAGIC\)/],
    [['sample', 'model.lstm', '--prompt', 'QUEEN:'], 2, /--prompt has characters the model does not know: "Q" "U" "E" "N" ":"/],
    [['sample', 'model.lstm', '--temperature', '-1'], 2, /--temperature needs a value/],
    [['sample', 'model.lstm', '--length', '1.5'], 2, /--length must be an integer/],
    [['info', 'model.lstm', 'model.lstm'], 2, /info takes one model file, got 2 arguments/],
    [['trian'], 2, /unknown command "trian" \(did you mean train\?\)/],
  ];
  for (const [args, status, message] of cases) {
    const r = cli(args);
    assert.equal(r.status, status, `${args.join(' ')}: exit ${r.status}, ${r.stderr}`);
    assert.match(r.stderr, /^lstm-wasm: /, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n {4}at /, 'no stack trace');
  }
  assert.ok(!existsSync(at('x.lstm')));
});

test('sample into a closed pipe stops quietly; a converted PyTorch model can be inspected and fine-tuned', async () => {
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" sample model.lstm --length 200000 --seed 1 | head -c 10`], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout.length, 10);
  assert.equal(r.stderr, '');

  copyFileSync(path.join(ROOT, 'tests/fixtures/convert_onehot.lstm'), at('torch.lstm'));
  const info = cli(['info', 'torch.lstm']);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /weights only/);
  assert.match(info.stdout, /converted +by tools\/torch_convert\.py from convert_onehot\.pt/);
  writeFileSync(at('abc.txt'), 'abc defgh\nhgf edcba\n'.repeat(20));
  const tune = cli(['train', 'abc.txt', '--resume', '--steps', '6', '--seq', '8', '--batch', '4', '--out', 'torch.lstm', '--quiet']);
  assert.equal(tune.status, 0, tune.stderr);
  const m = await loadModel('torch.lstm');
  assert.equal(m.stepCount, 6);
  assert.equal(m.metadata.converter, 'tools/torch_convert.py', 'the converter metadata is kept');
  m.dispose();
});
