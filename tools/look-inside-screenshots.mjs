// look-inside-screenshots.mjs - the figures of the demo's Look inside panel for docs/demo.md
// (issue 14's note), taken in headless Chromium through the page's own controls:
//   docs/images/look-inside-pretrained.png        the pretrained model, as the page opens
//   docs/images/look-inside-shakespeare-5min.png  a new model after 5 minutes of training on
//                                                  tinyshakespeare with the page's defaults
// and, for each, the ranked cells (layer, index, state, feature, r) printed as a table.
//   node tools/look-inside-screenshots.mjs [--minutes 5] [--corpus FILE] [--only pretrained|trained]
// Needs ../shared/data/tinyshakespeare.txt for the second figure (or --corpus).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoBrowser, ready } from '../tests/demo_page.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const minutes = Number(arg('--minutes', '5'));
const corpus = path.resolve(arg('--corpus', path.join(ROOT, '../shared/data/tinyshakespeare.txt')));
const only = arg('--only', null);
const OUT = path.join(ROOT, 'docs/images');

/** Open Look inside, show the top-ranked cell and the predictions at a character it lights
 * up, and save the card as a PNG (made small by pngquant, where it is installed). */
async function shoot({ page, demo, waitFor }, file) {
  await page.click('#inside-open');
  await waitFor(() => window.lstmDemo.inside.state === 'ready', null, 60_000);
  const ranking = await demo(() => window.lstmDemo.inside.ranking);
  await page.locator('#inside-cells button').first().click();
  // hover where the chosen cell is strongest in the first part of the passage
  const t = await demo(() => {
    const spans = [...document.querySelectorAll('#inside-text span')].slice(0, 600);
    const strength = (s) => { const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(s.style.background); return m ? 765 - Number(m[1]) - Number(m[2]) - Number(m[3]) : 0; };
    return Number(spans.reduce((a, b) => (strength(b) > strength(a) ? b : a)).dataset.t);
  });
  await page.hover(`#ic-${t}`);
  await waitFor((i) => window.lstmDemo.inside.active === i, t);
  await page.locator('#inside-card').screenshot({ path: file });
  try {
    // 64 colours: the palette's steps stay visible, the file shrinks ~3x
    execFileSync('pngquant', ['64', '--force', '--skip-if-larger', '--output', file, file]);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    console.log('(pngquant is absent: the PNG is kept as Chromium wrote it)');
  }
  console.log(`${path.relative(ROOT, file)}: ${(statSync(file).size / 1024).toFixed(0)} KiB`);
  console.log('| layer | cell | value | tracks | r |\n|---|---|---|---|---|');
  for (const x of ranking) console.log(`| ${x.layer + 1} | ${x.index} | ${x.state} | ${x.label} | ${x.r >= 0 ? '+' : '−'}${Math.abs(x.r).toFixed(2)} |`);
  return ranking;
}

mkdirSync(OUT, { recursive: true });
const browser = await demoBrowser();
try {
  const url = await browser.serve();
  if (only !== 'trained') {
    const opened = await browser.open(url);
    await ready(opened);
    console.log('the pretrained model, as the page opens:');
    await shoot(opened, path.join(OUT, 'look-inside-pretrained.png'));
    await opened.page.close();
  }
  if (only !== 'pretrained') {
    const opened = await browser.open(url);
    const { page, demo, waitFor } = opened;
    await ready(opened);
    const text = readFileSync(corpus, 'utf8');
    await page.click('#corpus-tab-user');
    await page.setInputFiles('#corpus-file', corpus);
    await waitFor((n) => window.lstmDemo.corpus?.source === 'user' && window.lstmDemo.corpus.chars === n && !window.lstmDemo.busy, [...text].length, 60_000);
    await page.click('#train');
    await waitFor(() => window.lstmDemo.state === 'running', null, 60_000);
    await waitFor((s) => window.lstmDemo.progress?.seconds >= s, minutes * 60, (minutes * 60 + 600) * 1000);
    const p = await demo(() => ({ ...window.lstmDemo.progress, val: window.lstmDemo.history.val.at(-1)?.[1] }));
    console.log(`${path.basename(corpus)} after ${minutes} min of training from scratch (page defaults): ${p.chars} chars, ${Math.round(p.charsPerSecond)} chars/s, validation ${p.val?.toFixed(3)} (the page's slice); training goes on while the panel computes:`);
    await shoot(opened, path.join(OUT, `look-inside-shakespeare-${minutes}min.png`));
  }
} finally {
  await browser.close();
}
