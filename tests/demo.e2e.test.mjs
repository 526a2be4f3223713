// demo.e2e.test.mjs - the demo page end to end, in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; never a downloaded browser).
//
// Builds the site into a temporary folder (tools/build-demo.mjs, from dist/), serves it on a
// free localhost port as `make demo` does (tools/serve-demo.mjs: cross-origin isolated, so the
// training worker runs on 2 threads, and every resource still loads under COEP), then,
// through the page's own controls: rejects
// a too-small Chinese text with a readable error, trains a tiny model on a small English
// text, sees the chart update and the loss fall, pauses (within a second), generates text,
// downloads the model, saves it in IndexedDB, reloads the page, loads the file, gets the
// same text for the same seed, and continues training from where it stopped; then opens a
// model trained by the command line, with its curves and settings, and continues that too.
// Writes build/screenshots/demo-training.png mid-training, for reviewers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoBrowser, noChromium, ready as pageReady } from './demo_page.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCREENSHOT = path.join(ROOT, 'build/screenshots/demo-training.png');

/** A small deterministic English-like text (~40 kB): enough structure to learn fast. */
function smallCorpus() {
  const subjects = ['the cat', 'a dog', 'the old man', 'my sister', 'the bird', 'a small child', 'the teacher'];
  const verbs = ['sat on', 'looked at', 'ran to', 'walked past', 'sang to', 'waited for'];
  const objects = ['the mat', 'the red door', 'a green tree', 'the river', 'the house', 'an open window'];
  const ends = ['.', '.', '.', '!', ', and then it rained.'];
  let s = 12345;
  const pick = (list) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return list[(s >>> 16) % list.length];
  };
  const lines = [];
  let text = '';
  while (text.length < 40_000) {
    const sentence = `${pick(subjects)} ${pick(verbs)} ${pick(objects)}${pick(ends)}`;
    lines.push(sentence[0].toUpperCase() + sentence.slice(1));
    if (lines.length === 4) {
      text += `${lines.join(' ')}\n`;
      lines.length = 0;
    }
  }
  return text;
}

test('demo page: train, watch, pause, generate, download, reload, load, same text, continue', { skip: noChromium, timeout: 120_000 }, async () => {
  const browser = await demoBrowser();
  const { tmp } = browser;
  try {
    const opened = await browser.open(await browser.serve());
    const { page, demo, waitFor, errors: pageErrors } = opened;
    const ready = () => pageReady(opened);

    await ready();
    const build = await demo(() => window.lstmDemo.build);
    assert.equal(build.simd, true, 'Chromium has WebAssembly SIMD: the SIMD build is used');
    assert.match(await page.textContent('#build'), /SIMD/);
    // make demo's headers: the page is cross-origin isolated, so the worker has both cores
    assert.equal(await demo(() => crossOriginIsolated), true);
    assert.equal(build.threads, 2);
    assert.equal(await page.textContent('#threads'), '2 threads');
    assert.equal(await demo(() => window.lstmDemo.corpus.source), 'default', 'the built-in corpus is loaded at start');

    // Any script works: Chinese text gives a vocabulary of its distinct characters ...
    await page.click('#corpus-tab-user');
    const poem = '床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n';
    await page.fill('#corpus-text', poem.repeat(3));
    await waitFor((n) => window.lstmDemo.corpus?.source === 'user' && window.lstmDemo.corpus.chars === n, [...poem].length * 3);
    assert.equal(await page.textContent('#corpus-vocab'), `${new Set(poem).size} symbols`);
    // ... and a text too small for the settings is refused with a readable message.
    await page.fill('#layers', '1');
    await page.fill('#hidden', '32');
    await page.fill('#seq', '32');
    await page.fill('#batch', '8');
    await page.fill('#dropout', '0');
    await page.fill('#lr', '0.005');
    await page.fill('#epochs', '1000');
    await page.click('#train');
    await page.waitForSelector('.notice.error >> text=/too small/');
    assert.equal(await demo(() => window.lstmDemo.model?.pretrained), true, 'no model was made: the page keeps the pretrained model');
    await page.click('.notice.error .close');

    // Train a tiny model on a small English text.
    const text = smallCorpus();
    await page.fill('#corpus-text', text);
    await waitFor((n) => window.lstmDemo.corpus?.chars === n && !window.lstmDemo.busy, text.length);
    assert.equal(await page.textContent('#param-count'), (4 * 32 * (new Set(text).size + 32) + 8 * 32 + new Set(text).size * 33).toLocaleString('en-US'));
    const drawsBefore = Number(await page.getAttribute('#chart', 'data-draws'));
    await page.click('#train');
    await waitFor(() => window.lstmDemo.state === 'running');

    // The loss falls: the end of the training curve well below its start (about ln(vocabulary
    // size) = 3.4) and below 1.5 nats, where words form; the validation loss falls too.
    await waitFor(() => {
      const { train, val } = window.lstmDemo.history;
      if (train.length < 12 || val.length < 3) return false;
      const head = train.slice(0, 3).reduce((a, p) => a + p[1], 0) / 3;
      const tail = train.slice(-3).reduce((a, p) => a + p[1], 0) / 3;
      return tail < Math.min(head - 0.8, 1.5) && val.at(-1)[1] < val[0][1] - 0.8 && window.lstmDemo.sample;
    }, null, 30_000);
    const points = Number(await page.getAttribute('#chart', 'data-points'));
    const draws = Number(await page.getAttribute('#chart', 'data-draws'));
    assert.ok(points >= 15 && draws > drawsBefore + 3, `the chart was redrawn with the new points (${points} points, ${draws} draws)`);
    assert.match(await page.textContent('#stat-speed'), /chars\/s/);
    assert.notEqual(await page.textContent('#stat-val'), '–');
    assert.notEqual(await page.textContent('#sample'), '');
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Pause responds within a second, and training really stops.
    const t0 = Date.now();
    await page.click('#pause');
    await waitFor(() => window.lstmDemo.state === 'paused', null, 2000);
    const pauseMs = Date.now() - t0;
    assert.ok(pauseMs < 1000, `paused in ${pauseMs} ms`);
    const charsAtPause = await demo(() => window.lstmDemo.progress.chars);
    await page.waitForTimeout(400);
    assert.equal(await demo(() => window.lstmDemo.progress.chars), charsAtPause, 'no training after pause');

    // Generate with a fixed seed.
    const generateText = async () => {
      const before = await demo(() => window.lstmDemo.generations);
      await page.fill('#gen-prompt', 'The cat ');
      await page.fill('#gen-length', '300');
      await page.fill('#gen-temperature', '0.8');
      await page.fill('#gen-topk', '0');
      await page.fill('#gen-topp', '0.95');
      await page.fill('#gen-seed', '7');
      await page.click('#generate');
      await waitFor((n) => window.lstmDemo.generations > n, before);
      return demo(() => window.lstmDemo.generated);
    };
    const generated = await generateText();
    assert.equal([...generated].length, 300);
    assert.match(generated, /\b(the|a|to|sat|on)\b/i, `a trained model writes words: ${JSON.stringify(generated.slice(0, 80))}`);

    // Download the model, and keep a copy in the browser's storage.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const modelFile = path.join(tmp, download.suggestedFilename());
    await download.saveAs(modelFile);
    assert.match(download.suggestedFilename(), /\.lstm$/);
    assert.equal(readFileSync(modelFile).subarray(0, 8).toString('latin1'), 'LSTMWASM');
    await page.click('#save-browser');
    await page.waitForSelector('#saved-list button[data-action="load"]');

    // A fresh page: the saved copy is listed; the downloaded file loads and generates the
    // same text for the same seed.
    await page.reload();
    await ready();
    await page.waitForSelector('#saved-list button[data-action="load"]');
    assert.equal(await demo(() => window.lstmDemo.model?.pretrained), true, 'a fresh page opens on the pretrained model');
    await page.setInputFiles('#load-file', modelFile);
    await waitFor(() => window.lstmDemo.model && !window.lstmDemo.busy && window.lstmDemo.state === 'stopped');
    assert.equal(await demo(() => window.lstmDemo.progress.chars), charsAtPause, 'the progress is restored');
    assert.ok(await demo(() => window.lstmDemo.history.train.length) >= 12, 'the loss history is restored');
    assert.equal(await page.inputValue('#hidden'), '32', 'the settings are restored');
    // The model's own text is not in the file: the page asks for it.
    await page.waitForSelector('.notice.info >> text=/paste or drop the text this model was trained on/');
    assert.equal(await generateText(), generated, 'same model, same seed: same text');

    // Continue training on the same text: it resumes from the saved position.
    await page.click('#corpus-tab-user');
    await page.fill('#corpus-text', text);
    await waitFor((n) => window.lstmDemo.corpus?.chars === n && window.lstmDemo.corpus.attached && !window.lstmDemo.busy, text.length);
    await page.click('#resume');
    await waitFor((c) => window.lstmDemo.state === 'running' && window.lstmDemo.progress.chars > c, charsAtPause);
    await page.click('#stop');
    await waitFor(() => window.lstmDemo.state === 'stopped');

    // A model trained by the command line on the same text opens with its curves and settings
    // (the same training session: one metadata format) and continues on the text in the page.
    writeFileSync(path.join(tmp, 'small.txt'), text);
    const cliModel = path.join(tmp, 'from-cli.lstm');
    const bin = path.join(ROOT, 'bin/lstm-wasm.mjs');
    const trained = spawnSync(process.execPath, [bin, 'train', path.join(tmp, 'small.txt'), '--hidden', '24', '--layers', '1',
      '--seq', '32', '--batch', '8', '--steps', '80', '--out', cliModel, '--quiet'], { encoding: 'utf8' });
    assert.equal(trained.status, 0, trained.stderr);
    const saved = JSON.parse(spawnSync(process.execPath, [bin, 'info', cliModel, '--json'], { encoding: 'utf8' }).stdout).metadata;
    await page.setInputFiles('#load-file', cliModel);
    await waitFor((n) => window.lstmDemo.model?.config.hiddenSize === 24 && !window.lstmDemo.busy && window.lstmDemo.progress?.chars === n, 80 * 256);
    assert.deepEqual(await demo(() => window.lstmDemo.history), { train: saved.history.train, val: saved.history.val }, 'the command line\'s curves');
    assert.equal(await page.inputValue('#hidden'), '24');
    assert.equal(await page.inputValue('#batch'), '8');
    assert.equal(await page.inputValue('#epochs'), String(saved.settings.epochs));
    await waitFor(() => window.lstmDemo.corpus.attached);
    await page.click('#resume');
    await waitFor((c) => window.lstmDemo.state === 'running' && window.lstmDemo.progress.chars > c, 80 * 256);
    await page.click('#stop');
    await waitFor(() => window.lstmDemo.state === 'stopped');

    // An unreadable model file gives a message, and the model in use stays.
    const junk = path.join(tmp, 'not-a-model.lstm');
    (await import('node:fs')).writeFileSync(junk, 'hello, this is not a model');
    await page.setInputFiles('#load-file', junk);
    await page.waitForSelector('.notice.error >> text=/cannot be loaded/');
    assert.ok(await demo(() => window.lstmDemo.model !== null), 'the trained model is kept');

    assert.deepEqual(pageErrors, [], 'no uncaught errors on the page');
    assert.deepEqual(opened.failed, [], 'every resource loads under Cross-Origin-Embedder-Policy: require-corp');
  } finally {
    await browser.close();
  }
});
