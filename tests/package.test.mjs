// package.test.mjs - the npm package as a user gets it: `npm pack`, installed from the tarball
// into a fresh app (offline, no toolchain), then the README's examples run as written: Node
// ESM and CommonJS, the command line through npx, a typed example compiled with TypeScript,
// a Vite-built app (main thread, Web Worker, a custom wasmUrl) and a plain page in headless
// Chromium, plus the Vite dev server. README blocks are found by the
// `<!-- example: NAME -->` comment that precedes them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, mkdirSync, copyFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM) ? false
  : `${CHROMIUM} is absent (apt-get install chromium); CI installs it, so these checks run there`;
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
// dist/lstm.js is src/js/index.js; the modules it imports must ship beside it, every one
const JS_MODULES = readdirSync(path.join(ROOT, 'src/js')).filter((f) => f.endsWith('.js'))
  .map((f) => (f === 'index.js' ? 'dist/lstm.js' : `dist/${f}`));
// the command line is bin/lstm-wasm.mjs and a module per command in bin/cli/
const CLI_MODULES = readdirSync(path.join(ROOT, 'bin/cli')).filter((f) => f.endsWith('.mjs')).map((f) => `bin/cli/${f}`);
// the declarations: dist/lstm.d.ts and the files it re-exports from dist/types/, every one
const TYPE_FILES = ['dist/lstm.d.ts', ...readdirSync(path.join(ROOT, 'src/types')).filter((f) => f.endsWith('.d.ts')).map((f) => `dist/types/${f}`)];
const EXPECTED_FILES = ['README.md', 'bin/lstm-wasm.mjs', ...CLI_MODULES, 'dist/lstm-scalar.wasm', 'dist/lstm-simd.wasm', 'dist/lstm-simd-threads.wasm',
  ...TYPE_FILES, ...JS_MODULES, 'package.json', ...(existsSync(path.join(ROOT, 'LICENSE')) ? ['LICENSE'] : [])];

const tmp = mkdtempSync(path.join(tmpdir(), 'lstm-package-'));
const app = path.join(tmp, 'app');
const at = (...p) => path.join(app, ...p);

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

/** The README's example blocks, by name. */
function readmeExamples() {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = new Map();
  for (const m of readme.matchAll(/<!-- example: (\S+) -->\s*\n```[\w-]*\n([\s\S]*?)\n```/g)) blocks.set(m[1], `${m[2]}\n`);
  return blocks;
}
let examples;
function example(name) {
  const code = examples.get(name);
  assert.ok(code, `README.md has no example "${name}" (a fenced block preceded by <!-- example: ${name} -->)`);
  return code;
}

function corpusText() {
  const shakespeare = path.join(ROOT, '..', 'shared', 'data', 'tinyshakespeare.txt');
  if (existsSync(shakespeare)) return readFileSync(shakespeare, 'utf8').slice(0, 60000);
  let s = '';
  for (let i = 0; s.length < 60000; i++) s += `The ${['king', 'queen', 'night', 'sword'][i % 4]} speaks, and line ${i} follows.\n`;
  return s;
}

let packInfo;
before(async () => {
  examples = readmeExamples();
  const packed = ok(run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT }), 'npm pack');
  packInfo = JSON.parse(packed.stdout)[0];
  mkdirSync(app);
  writeFileSync(at('package.json'), JSON.stringify({ name: 'lstm-wasm-app', private: true, type: 'module' }, null, 2));
  ok(run('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(tmp, packInfo.filename)]), 'npm install of the tarball');
  writeFileSync(at('corpus.txt'), corpusText());
});


test('npm pack: dist, bin, README and nothing else; installs with no toolchain', () => {
  const files = packInfo.files.map((f) => f.path).sort();
  assert.deepEqual(files, [...EXPECTED_FILES].sort());
  const installed = JSON.parse(readFileSync(at('node_modules/lstm-wasm/package.json'), 'utf8'));
  assert.equal(installed.version, PKG.version);
  for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(installed.scripts?.[s], undefined, `no ${s} script`);
  assert.deepEqual(installed.dependencies ?? {}, {}, 'no runtime dependencies');
  assert.ok(existsSync(at('node_modules/.bin/lstm-wasm')), 'the bin is linked');
  assert.ok(readdirSync(at('node_modules/lstm-wasm')).every((f) => ['dist', 'bin', 'README.md', 'package.json', 'LICENSE'].includes(f)));
  // a guard against shipping junk: three wasm builds (~200 kB packed), the JS modules with
  // TrainingWorker's thread, the types and the README are ~310 kB; a stray file would pass 350
  assert.ok(packInfo.size < 350_000, `packed size ${packInfo.size}`);
  console.log(`  ${packInfo.filename}: ${(packInfo.size / 1000).toFixed(1)} kB packed, ${(packInfo.unpackedSize / 1000).toFixed(1)} kB unpacked, ${files.length} files`);
});

test('Node: the README examples (ESM train.mjs, CommonJS sample.cjs), require() and a custom wasmUrl', () => {
  writeFileSync(at('train.mjs'), example('node/train.mjs'));
  writeFileSync(at('sample.cjs'), example('node/sample.cjs'));
  const trained = ok(run(process.execPath, ['train.mjs']), 'node train.mjs');
  const lines = trained.stdout.match(/^step \d+: loss \d\.\d{3}, validation \d\.\d{3}$/gm);
  assert.deepEqual(lines?.map((l) => l.split(':')[0]), ['step 10', 'step 20', 'step 30', 'step 40'], trained.stdout);
  assert.equal([...trained.stdout.slice(trained.stdout.indexOf(lines[3]) + lines[3].length + 1)].length, 201, '200 generated characters');
  assert.ok(statSync(at('model.lstm')).size > 1000);
  const sampled = ok(run(process.execPath, ['sample.cjs']), 'node sample.cjs');
  assert.equal([...sampled.stdout].length, 201, sampled.stdout);

  // require(esm): Node 20.19+, 22.12+ and 23+ load the package synchronously; older ones refuse
  const [major, minor] = process.versions.node.split('.').map(Number);
  const requireWorks = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23;
  const req = run(process.execPath, ['-e', "const { Model, init } = require('lstm-wasm'); console.log(typeof Model.create, typeof init)"]);
  if (requireWorks) assert.equal(ok(req, 'require').stdout.trim(), 'function function');
  else assert.match(req.stderr, /ERR_REQUIRE_ESM/);

  // init({ wasmUrl }) in Node: a file URL (or path string relative to the module) of either build
  mkdirSync(at('custom'));
  copyFileSync(at('node_modules/lstm-wasm/dist/lstm-scalar.wasm'), at('custom/plain.wasm'));
  const custom = ok(run(process.execPath, ['--input-type=module', '-e', `
    import { init, buildInfo, Model } from 'lstm-wasm';
    await init({ wasmUrl: new URL('./custom/plain.wasm', 'file://${app}/'), simd: false });
    const m = await Model.create({ vocabSize: 4, hiddenSize: 8 });
    console.log(JSON.stringify({ ...(await buildInfo()), simd: m.simd }));`]), 'custom wasmUrl');
  assert.equal(JSON.parse(custom.stdout).simd, false);
});

test('command line: the README commands run through npx from the installed package', () => {
  const dir = at('cli');  // its own directory: the Node example above wrote a model.lstm too
  mkdirSync(dir);
  copyFileSync(at('corpus.txt'), path.join(dir, 'corpus.txt'));
  writeFileSync(path.join(dir, 'cli.sh'), example('cli.sh'));
  const r = ok(run('bash', ['-e', 'cli.sh'], { cwd: dir, env: { ...env, npm_config_offline: 'true' } }), 'README cli.sh');
  assert.match(r.stdout, /^trained 100 steps \(100 in all\) in .* chars\/s; loss \d\.\d+ nats\/char \(\d\.\d+ bits\), val loss \d\.\d+ nats\/char \(\d\.\d+ bits\); saved model\.lstm/m);
  assert.match(r.stdout, /^The /m);
  assert.match(r.stdout, /hidden size +128\n +layers +2\n/);
  assert.match(r.stdout, /training +100 steps/);
  assert.match(r.stderr, /saved at step 100/);
});

test('TypeScript: the typed example compiles (nodenext and bundler resolution) and runs', () => {
  const dir = at('typed');
  mkdirSync(dir);
  for (const f of ['example.ts', 'tsconfig.json', 'tsconfig.bundler.json']) copyFileSync(path.join(ROOT, 'tests/typed-example', f), path.join(dir, f));
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  ok(run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir }), 'tsc (nodenext)');
  ok(run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], { cwd: dir }), 'tsc (bundler)');
  const out = ok(run(process.execPath, ['build/example.js'], { cwd: dir }), 'compiled example').stdout;
  assert.match(out, /^simd (true|false), hidden 32, tensors 6, logits \d+, loss \d\.\d{3}, validation \d\.\d{3}, copy \d\.\d{3}, error INVALID_ARGUMENT, streamed 5, generated 20, session 20 steps 20 saved true, worker 20 steps same file true$/m);
});

// ---- browsers ----

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
function serve(root) {
  const server = createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const target = file.endsWith('/') ? path.join(file, 'index.html') : file;
    if (!target.startsWith(root) || !existsSync(target) || statSync(target).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': MIME[path.extname(target)] ?? 'application/octet-stream' });
    res.end(readFileSync(target));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }),  // no waiting on keep-alive
  })));
}

let browser = null;
async function openPage(url) {
  if (!browser) {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: CHROMIUM, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }
  const page = await browser.newPage();
  const log = { errors: [], wasm: [] };
  page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon/.test(m.location()?.url ?? '')) log.errors.push(`console: ${m.text()}`); });
  const onResponse = (r) => { if (r.url().endsWith('.wasm')) log.wasm.push(`${r.status()} ${new URL(r.url()).pathname}`); };
  browser.on('response', onResponse);  // the context sees the workers' requests too
  page.once('close', () => browser.off('response', onResponse));
  await page.goto(url);
  return { page, log };
}
after(async () => {
  await browser?.close();  // first: Chromium writes into its profile under tmp until it exits
  rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
});

const text = (page, selector, pattern) => page.waitForFunction(
  ([s, p]) => new RegExp(p, 's').test(document.querySelector(s)?.textContent ?? ''), [selector, pattern.source], { timeout: 30000, polling: 50 });

test('a plain web page imports the installed package (README example) in Chromium', { skip: noBrowser }, async () => {
  writeFileSync(at('index.html'), example('browser/index.html'));
  const server = await serve(app);
  try {
    const { page, log } = await openPage(`${server.url}/index.html`);
    await text(page, '#out', /^loss \d\.\d\d\n.{60}$/);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.wasm, ['200 /node_modules/lstm-wasm/dist/lstm-simd.wasm']);
    await page.close();
  } finally {
    await server.close();
  }
});

test('Vite: the README app builds with no configuration; main thread, Web Worker, TrainingWorker and a custom wasmUrl work in Chromium (and under the dev server)', { skip: noBrowser }, async () => {
  const vite = await import('vite');
  const dir = at('vite');
  mkdirSync(path.join(dir, 'public/static'), { recursive: true });
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html>\n<pre id="out"></pre><script type="module" src="./main.js"></script>\n');
  writeFileSync(path.join(dir, 'main.js'), example('bundler/main.js'));
  writeFileSync(path.join(dir, 'worker.js'), example('bundler/worker.js'));
  // a second page: the README's init({ wasmUrl }) with the files copied to public/static/
  writeFileSync(path.join(dir, 'custom.html'), '<!doctype html>\n<pre id="out"></pre><script type="module" src="./custom.js"></script>\n');
  writeFileSync(path.join(dir, 'custom.js'), `${example('bundler/custom-url.js')}
import { Model, Vocabulary } from 'lstm-wasm';
const vocab = Vocabulary.fromText('abc ');
const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 8 });
document.querySelector('#out').textContent = \`custom: \${model.generate(vocab, { length: 10 })}\`;
`);
  for (const f of ['lstm-simd.wasm', 'lstm-scalar.wasm']) copyFileSync(at('node_modules/lstm-wasm/dist', f), path.join(dir, 'public/static', f));
  // a third page: the README's TrainingWorker, whose thread's script Vite must find and emit
  writeFileSync(path.join(dir, 'trainer.html'), '<!doctype html>\n<pre id="out"></pre><script type="module" src="./training-worker.js"></script>\n');
  writeFileSync(path.join(dir, 'training-worker.js'), example('bundler/training-worker.js'));
  const trained = /^step 60: loss \d\.\d\d, \d+ chars\/s\n.{60}\n\d+ bytes$/;

  const outDir = path.join(dir, 'dist');
  await vite.build({
    root: dir, configFile: false, logLevel: 'warn',
    build: { outDir, rollupOptions: { input: { main: path.join(dir, 'index.html'), custom: path.join(dir, 'custom.html'), trainer: path.join(dir, 'trainer.html') } } },
  });
  const assets = readdirSync(path.join(outDir, 'assets'));
  const why = 'loader.js must name each build in a literal new URL(\'./lstm-simd.wasm\', import.meta.url), the form bundlers recognise';
  assert.ok(assets.some((f) => /^lstm-simd-[\w-]+\.wasm$/.test(f)), `Vite did not emit lstm-simd.wasm (${why}); assets: ${assets.join(' ')}`);
  assert.ok(assets.some((f) => /^lstm-scalar-[\w-]+\.wasm$/.test(f)), `Vite did not emit lstm-scalar.wasm (${why})`);

  const server = await serve(outDir);
  try {
    const main = await openPage(`${server.url}/`);
    await text(main.page, '#out', /^.{60}\nworker: loss \d\.\d\d, .{60}$/);
    assert.deepEqual(main.log.errors, []);
    assert.equal(main.log.wasm.length, 2, `one fetch by the page, one by the worker: ${main.log.wasm}`);
    for (const w of main.log.wasm) assert.match(w, /^200 \/assets\/lstm-simd-[\w-]+\.wasm$/);
    await main.page.close();

    const custom = await openPage(`${server.url}/custom.html`);
    await text(custom.page, '#out', /^custom: .{10}$/);
    assert.deepEqual(custom.log.errors, []);
    assert.deepEqual(custom.log.wasm, ['200 /static/lstm-simd.wasm']);
    await custom.page.close();

    const trainer = await openPage(`${server.url}/trainer.html`);
    await text(trainer.page, '#out', trained);
    assert.deepEqual(trainer.log.errors, []);
    assert.equal(trainer.log.wasm.length, 1, `one fetch, by the TrainingWorker's thread: ${trainer.log.wasm}`);
    assert.match(trainer.log.wasm[0], /^200 \/assets\/lstm-simd-[\w-]+\.wasm$/);
    await trainer.page.close();
  } finally {
    await server.close();
  }

  const dev = await vite.createServer({ root: dir, configFile: false, logLevel: 'error', server: { host: '127.0.0.1', port: 0 } });
  await dev.listen();
  try {
    const { page, log } = await openPage(dev.resolvedUrls.local[0]);
    await text(page, '#out', /^.{60}\nworker: loss \d\.\d\d, .{60}$/);
    assert.deepEqual(log.errors, []);
    assert.ok(log.wasm.length === 2 && log.wasm.every((w) => w.startsWith('200 ')), `dev server wasm: ${log.wasm}`);
    await page.close();
    const trainer = await openPage(`${dev.resolvedUrls.local[0]}trainer.html`);
    await text(trainer.page, '#out', trained);
    assert.deepEqual(trainer.log.errors, []);
    await trainer.page.close();
  } finally {
    await dev.close();
  }
});
