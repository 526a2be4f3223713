// demo_training.e2e.test.mjs - the demo page's training in headless Chromium, against the
// other shells of the one training session:
// - the same text, settings, seed and step count give the same file, byte for byte, from the
//   command line (lstm-wasm train --steps), from TrainingWorker in Node.js, and from the page
//   (its own controls, ?steps=N to stop there) served with make demo's cross-origin isolation
//   headers (2 threads: the page shows 2) and without them (1 thread, and the page says why):
//   a bit-exactness test of the threads build in the browser;
// - the page's main thread stays responsive while the default model trains on the default
//   corpus: no requestAnimationFrame gap over 100 ms in ~10 s (the largest is printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrainingWorker } from '../dist/lstm.js';
import { demoBrowser, noChromium, ready } from './demo_page.mjs';
import { sampleText } from './helpers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// session.test.mjs's run: 40k characters of tinyshakespeare, 2 x 48, batch 8 x 32, 100 steps
// (six learning-rate periods, ~15 validations, six curve points), the recipe for the rest.
const TEXT = await sampleText(40_000); // or the Brown corpus's, without ../shared
const STEPS = 100;
const FRAME_GAP_MS = 100;

const sameBytes = (a, b, what) => assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${what}: ${a.length} vs ${b.length} bytes, not identical`);

/** Train on the page through its controls: corpus.txt chosen as a file, the form's model and
 * batch set, Train, until ?steps= stops it; then Download. Returns the file's bytes and what
 * the page showed. */
async function trainOnPage(browser, url, corpusFile) {
  const opened = await browser.open(`${url}?steps=${STEPS}`);
  const { page, demo, waitFor } = opened;
  try {
    await ready(opened);
    await page.click('#corpus-tab-user');
    await page.setInputFiles('#corpus-file', corpusFile);
    await waitFor((n) => window.lstmDemo.corpus?.source === 'user' && window.lstmDemo.corpus.chars === n && !window.lstmDemo.busy, TEXT.length);
    for (const [id, value] of [['layers', '2'], ['hidden', '48'], ['seq', '32'], ['batch', '8']]) await page.fill(`#${id}`, value);
    await page.click('#train');
    await waitFor((n) => window.lstmDemo.state === 'stopped' && window.lstmDemo.progress?.steps === n, STEPS, 60_000);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const bytes = readFileSync(await download.path());
    const shown = {
      isolated: await demo(() => crossOriginIsolated),
      threads: await page.textContent('#threads'),
      reason: await page.isVisible('#threads-reason') ? await page.textContent('#threads-reason') : null,
      build: await demo(() => window.lstmDemo.build),
      corpus: await page.textContent('#corpus-status'),
    };
    assert.deepEqual(opened.errors, [], 'no uncaught errors on the page');
    assert.deepEqual(opened.failed, [], 'every resource loads');
    return { bytes, shown };
  } finally {
    await page.close();
  }
}

test(`the same file from the command line, TrainingWorker in Node.js, and the page on 2 threads and on 1 (${STEPS} steps)`, { skip: noChromium, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lstm-same-file-'));
  const browser = await demoBrowser();
  try {
    const corpusFile = path.join(dir, 'corpus.txt');
    writeFileSync(corpusFile, TEXT);
    // (a) the command line
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'bin/lstm-wasm.mjs'), 'train', 'corpus.txt', '--hidden', '48', '--layers', '2',
      '--seq', '32', '--batch', '8', '--steps', String(STEPS), '--out', 'cli.lstm', '--quiet'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(cli.status, 0, cli.stderr);
    const fromCli = readFileSync(path.join(dir, 'cli.lstm'));
    // (b) TrainingWorker in Node.js
    const worker = await TrainingWorker.create();
    let fromWorker;
    try {
      await worker.createSession({ text: TEXT, name: 'corpus.txt' }, { hiddenSize: 48, layers: 2, seqLength: 32, batchSize: 8 });
      await worker.train({ steps: STEPS });
      fromWorker = await worker.save();
    } finally {
      worker.dispose();
    }
    sameBytes(fromWorker, fromCli, 'TrainingWorker in Node.js vs lstm-wasm train');
    // (c) the page, as make demo serves it (cross-origin isolated), and behind a plain server
    const isolated = await trainOnPage(browser, await browser.serve({ isolated: true }), corpusFile);
    const plain = await trainOnPage(browser, await browser.serve({ isolated: false }), corpusFile);
    console.log(`  ${fromCli.length} bytes each; page with the headers: ${isolated.shown.threads} (${isolated.shown.build.kernels}); without: ${plain.shown.threads} (${plain.shown.build.kernels}): "${plain.shown.reason}"`);
    assert.equal(isolated.shown.isolated, true);
    assert.equal(isolated.shown.threads, '2 threads', 'the page shows 2 threads');
    assert.equal(isolated.shown.build.kernels, 'wasmsimd-threads');
    assert.equal(isolated.shown.reason, null);
    assert.equal(plain.shown.isolated, false);
    assert.equal(plain.shown.threads, '1 thread');
    assert.equal(plain.shown.build.kernels, 'wasmsimd');
    assert.match(plain.shown.reason, /^One thread: the page is not cross-origin isolated \(it needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp\)/);
    assert.equal(isolated.shown.corpus, 'Using “corpus.txt”.');
    sameBytes(isolated.bytes, plain.bytes, 'the page on 2 threads vs on 1 thread');
    sameBytes(isolated.bytes, fromCli, 'the page vs lstm-wasm train');
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`the page's main thread stays responsive while training: no animation frame more than ${FRAME_GAP_MS} ms after the last`, { skip: noChromium, timeout: 120_000 }, async () => {
  const browser = await demoBrowser();
  try {
    const opened = await browser.open(await browser.serve());
    const { page, demo, waitFor } = opened;
    await ready(opened);
    // the page's defaults: 2 x 192 on the built-in Brown corpus, on both cores
    await page.click('#train');
    await waitFor(() => window.lstmDemo.state === 'running' && window.lstmDemo.progress?.steps > 0, null, 30_000);
    const before = await demo(() => window.lstmDemo.progress.steps);
    // the gaps between animation frames over 10 s, measured in the page
    const frames = await demo(() => new Promise((resolve) => {
      const gaps = [];
      let last = performance.now();
      const t0 = last;
      const frame = (now) => {
        gaps.push(now - last);
        last = now;
        if (now - t0 < 10_000) requestAnimationFrame(frame);
        else resolve({ count: gaps.length, max: Math.max(...gaps), over50: gaps.filter((g) => g > 50).length, seconds: (now - t0) / 1000 });
      };
      requestAnimationFrame(frame);
    }));
    const after = await demo(() => ({ steps: window.lstmDemo.progress.steps, state: window.lstmDemo.state, samples: window.lstmDemo.sample.length }));
    // Pause answers when the worker's unit under way ends: ~100 ms, at least a step, and a
    // validation when one falls due (the recipe sizes it to ~0.3 s for this model)
    const t0 = Date.now();
    await page.click('#pause');
    await waitFor(() => window.lstmDemo.state === 'paused');
    const pauseMs = Date.now() - t0;
    console.log(`  ${frames.count} frames in ${frames.seconds.toFixed(1)} s of training (steps ${before} -> ${after.steps}); largest gap ${frames.max.toFixed(1)} ms, ${frames.over50} over 50 ms; paused in ${pauseMs} ms`);
    assert.ok(pauseMs < 1000, `paused in ${pauseMs} ms`);
    assert.equal(after.state, 'running');
    assert.ok(after.steps > before + 10, 'training went on meanwhile');
    assert.ok(frames.count > 300, `${frames.count} frames in 10 s`);
    assert.ok(frames.max < FRAME_GAP_MS, `largest gap between animation frames ${frames.max.toFixed(1)} ms`);
    assert.deepEqual(opened.errors, []);
  } finally {
    await browser.close();
  }
});
