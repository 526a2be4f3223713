// types.test.mjs - dist/lstm.d.ts as users compile it: the packed package, installed offline into
// a fresh app, type-checks with strict and skipLibCheck false under ES2020, ES2022 and ESNext
// (each target's default lib, and libs with disposables), nodenext and bundler resolution, with
// and without @types/node; `using` where the lib has disposables. Only compiles (the package
// test runs a compiled example).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
// @types/node is not installed into the app: the configs that want it read the project's copy
// (a dev dependency of vite and tfjs), so they are skipped where it is absent.
const TYPE_ROOTS = path.join(ROOT, 'node_modules/@types');
const noNodeTypes = existsSync(path.join(TYPE_ROOTS, 'node/package.json')) ? false
  : `${TYPE_ROOTS}/node is absent (npm install restores it)`;

const tmp = mkdtempSync(path.join(tmpdir(), 'lstm-types-'));
const app = path.join(tmp, 'app');

// Child processes get a clean npm environment (no npm_* variables from an outer `npm test`).
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
Object.assign(env, { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: app, env, encoding: 'utf8', timeout: 60000, ...opts });
  if (r.error) throw r.error;
  return r;
}
function ok(r, what) {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

// The public API in a form every config accepts (no `using`).
const API_TS = `import { Model, Vocabulary, TextDataset, LstmError, type TrainStats } from 'lstm-wasm';

const text = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
const vocab: Vocabulary = Vocabulary.fromText(text);
const data = new TextDataset(text, vocab, { validationFraction: 0.1 });
const model: Model = await Model.create({ vocabSize: vocab.size, hiddenSize: 16, seed: 1 });
const stats: TrainStats = model.trainSteps(data, { steps: 4, seqLength: 16, batchSize: 4 });
const sample: string = model.generate(vocab, { prompt: 'the ', length: 20, temperature: 0.8, seed: 1 });
let code = '';
try {
  model.step(vocab.size + 1);
} catch (e) {
  if (e instanceof LstmError) code = e.code;
}
// @ts-expect-error generate returns a string (the declarations are read, not \`any\`)
const n: number = model.generate(vocab, { length: 3 });
model[Symbol.dispose]();
model.dispose();
data.dispose();
console.log(stats.loss.toFixed(3), sample, code, n);
`;

// Explicit resource management, for a lib that has disposables.
const USING_TS = `import { Model, Vocabulary } from 'lstm-wasm';

const vocab = Vocabulary.fromText('abc ');
using model = await Model.create({ vocabSize: vocab.size, hiddenSize: 8 });
console.log(model.generate(vocab, { length: 5 }));
`;

const NODENEXT = { module: 'nodenext', moduleResolution: 'nodenext' };
const BUNDLER = { module: 'esnext', moduleResolution: 'bundler' };
const NODE_TYPES = { types: ['node'], typeRoots: [TYPE_ROOTS] };
// name, compiler options beyond strict/skipLibCheck, and whether `using` compiles there
const CONFIGS = [
  ['es2020-nodenext', { target: 'es2020', ...NODENEXT }, false],
  ['es2022-nodenext', { target: 'es2022', ...NODENEXT }, false],
  ['esnext-nodenext', { target: 'esnext', ...NODENEXT }, true],  // esnext's default lib has disposables
  ['es2020-bundler', { target: 'es2020', ...BUNDLER }, false],
  ['es2022-bundler', { target: 'es2022', ...BUNDLER }, false],
  ['esnext-bundler', { target: 'esnext', ...BUNDLER }, true],
  ['es2022-nodenext-lib-disposable', { target: 'es2022', ...NODENEXT, lib: ['es2022', 'dom', 'esnext.disposable'] }, true],
  ['es2020-bundler-lib-esnext', { target: 'es2020', ...BUNDLER, lib: ['esnext', 'dom'] }, true],
  ['es2022-nodenext-types-node', { target: 'es2022', ...NODENEXT, ...NODE_TYPES }, true],
  // Symbol.dispose declared by the lib, the package and (@types/node 20.x) @types/node: they merge
  ['es2020-bundler-types-node-lib-disposable',
    { target: 'es2020', ...BUNDLER, ...NODE_TYPES, lib: ['es2020', 'esnext.disposable'] }, true],
];

before(() => {
  const packed = ok(run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT }), 'npm pack');
  const tarball = path.join(tmp, JSON.parse(packed.stdout)[0].filename);
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'lstm-wasm-types', private: true, type: 'module' }));
  ok(run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball]), 'npm install of the tarball');
  writeFileSync(path.join(app, 'api.ts'), API_TS);
  writeFileSync(path.join(app, 'using.ts'), USING_TS);
  console.log(`  ${ok(run(process.execPath, [TSC, '--version']), 'tsc --version').stdout.trim()}`);
});
after(() => rmSync(tmp, { recursive: true, force: true, maxRetries: 3 }));

for (const [name, options, using] of CONFIGS) {
  const skip = options.types ? noNodeTypes : false;
  test(`tsc ${name}${using ? ' (with using)' : ''}: no errors`, { skip }, () => {
    const config = `tsconfig.${name}.json`;
    writeFileSync(path.join(app, config), JSON.stringify({
      compilerOptions: { ...options, strict: true, skipLibCheck: false, noEmit: true },
      files: using ? ['api.ts', 'using.ts'] : ['api.ts'],
    }, null, 2));
    const r = run(process.execPath, [TSC, '-p', config]);
    assert.equal(r.status, 0, `tsc -p ${config} (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  });
}
