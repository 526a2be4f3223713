// demo_quality.mjs - the demo page's default settings, measured in headless Chromium: trains
// on a corpus through the page's own controls and, at each mark (minutes of the page's
// training clock), downloads the model and evaluates it in Node on the full validation part
// (the same 10% split the page makes). Also reports the page's speed, its live sample, and a
// screenshot at the first mark. --start pretrained: "Continue from the pretrained model" (a
// visitor's text only) instead of "Train" from scratch.
//   node bench/demo_quality.mjs [--corpus brown | FILE] [--marks 2,5,15] [--start scratch | pretrained]
// Default: tinyshakespeare (../shared/data/tinyshakespeare.txt), marks 2,5,15, from scratch.
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Model, TextDataset } from '../dist/lstm.js';
import { buildDemo } from '../tools/build-demo.mjs';
import { startServer } from '../tools/serve-demo.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const corpusArg = arg('--corpus', path.resolve(ROOT, '../shared/data/tinyshakespeare.txt'));
const marks = arg('--marks', '2,5,15').split(',').map(Number);
const start = arg('--start', 'scratch');
if (!['scratch', 'pretrained'].includes(start) || (start === 'pretrained' && corpusArg === 'brown')) {
  throw new Error('--start must be scratch, or pretrained with a --corpus FILE (the pretrained model knows the Brown corpus)');
}

const { chromium } = await import('playwright-core');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lstm-demo-quality-'));
const site = path.join(tmp, 'web');
await buildDemo({ outDir: site });
const server = await startServer({ root: site, port: 0 });
const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
  executablePath: '/usr/bin/chromium', headless: true, acceptDownloads: true, viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => window.lstmDemo && !window.lstmDemo.busy && window.lstmDemo.corpus?.chars > 0, null, { timeout: 60_000 });
  let text;
  if (corpusArg === 'brown') {
    text = readFileSync(path.join(site, 'corpus/brown.txt'), 'utf8');
  } else {
    text = readFileSync(corpusArg, 'utf8');
    await page.click('#corpus-tab-user');
    // as a visitor would: choose the file (a 1 MB paste is slow to type into a textarea)
    await page.setInputFiles('#corpus-file', corpusArg);
    await page.waitForFunction((n) => window.lstmDemo.corpus?.source === 'user' && window.lstmDemo.corpus.chars === n && !window.lstmDemo.busy, [...text].length, { timeout: 60_000 });
  }
  const settings = await page.evaluate(() => Object.fromEntries(['layers', 'hidden', 'dropout', 'seq', 'batch', 'optimizer', 'lr', 'schedule', 'epochs', 'clip'].map((id) => [id, document.getElementById(id).value])));
  console.log(`corpus ${corpusArg === 'brown' ? 'Brown (built-in default)' : corpusArg}: ${[...text].length} chars; page defaults ${JSON.stringify(settings)}`);
  console.log(`start: ${start === 'pretrained' ? 'continue from the pretrained model' : 'a new model'}`);
  await page.click(start === 'pretrained' ? '#finetune' : '#train');
  await page.waitForFunction(() => window.lstmDemo.state === 'running', null, { timeout: 60_000 });
  for (const [i, mark] of marks.entries()) {
    await page.waitForFunction((s) => window.lstmDemo.progress?.seconds >= s, mark * 60, { timeout: (mark * 60 + 600) * 1000, polling: 500 });
    const pageState = await page.evaluate(() => ({ progress: window.lstmDemo.progress, val: window.lstmDemo.history.val.at(-1), sample: window.lstmDemo.sample,
      speed: document.getElementById('stat-speed').textContent }));
    if (i === 0) {
      mkdirSync(path.join(ROOT, 'build/screenshots'), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, `build/screenshots/demo-${mark}min.png`), fullPage: true });
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = path.join(tmp, `model-${mark}.lstm`);
    await download.saveAs(file);
    const model = await Model.load(readFileSync(file));
    // the model's own ids: a fine-tuned model keeps the pretrained model's vocabulary order
    const data = new TextDataset(text, model.vocabulary, { validationFraction: 0.1 });
    const val = model.evaluate(data.validation, { batchSize: 16, seqLength: 128 });
    data.dispose();
    model.dispose();
    console.log(`${mark} min: full validation ${val.toFixed(4)} nats/char (${(val / Math.LN2).toFixed(3)} bits); page: ${pageState.progress.chars} chars, ${pageState.speed}, curve ${pageState.val?.[1]?.toFixed(3)}`);
    if (i === 0) console.log(`  live sample: ${JSON.stringify(String(pageState.sample?.text ?? pageState.sample).slice(0, 300))}`);
  }
} finally {
  await context.close();
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
}
