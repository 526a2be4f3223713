// pretrained_demo.e2e.test.mjs - the demo's pretrained model and Look inside panel in headless
// Chromium (issue 14), through the page's own controls, as make demo serves it:
// - the page opens on the pretrained model (web/pretrained/brown.lstm) and writes English-like
//   text within 2 s of the navigation's start, before any training; the Generate card's stop
//   strings, repetition penalty and samples (n) reach the library;
// - "Continue from the pretrained model" fine-tunes it for 20 s on a pasted text with
//   characters it has never seen: they are added (Model.extendVocabulary, on the page's second
//   worker) and the run starts from what the pretrained model knows (its first validation loss
//   far below a fresh model's ln V);
// - Look inside, opened while that training runs: a snapshot traced off the page's thread, no
//   animation frame more than 100 ms after the last meanwhile; a cell picked from the ranked
//   list colours the text; a character hovered, and one reached by the keyboard, show the top 5
//   predictions; surprise shading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoBrowser, noChromium, ready } from './demo_page.mjs';

const FIRST_TEXT_MS = 2000;
const FRAME_GAP_MS = 100;
const FINE_TUNE_SECONDS = 20;

/** ~40k characters of English with characters the Brown corpus lacks (accents, dashes, curly
 * quotes, an ellipsis): deterministic. */
function accentedText() {
  const people = ['Zoë', 'René', 'Inés', 'the naïve chef', 'my fiancée', 'the old señor', 'Chloé'];
  const verbs = ['ordered', 'made', 'forgot', 'loved', 'criticised', 'photographed'];
  const things = ['a crème brûlée', 'the café au lait', 'a jalapeño soufflé', 'the piñata', 'an über-sweet éclair', 'the rosé'];
  const tails = ['.', '!', ' — twice.', '… again.', ', said “the critic”.'];
  let s = 2024;
  const pick = (list) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return list[(s >>> 16) % list.length];
  };
  let text = '';
  while (text.length < 40_000) {
    const line = [];
    for (let i = 0; i < 3; i++) {
      const sentence = `${pick(people)} ${pick(verbs)} ${pick(things)}${pick(tails)}`;
      line.push(sentence[0].toUpperCase() + sentence.slice(1));
    }
    text += `${line.join(' ')}\n`;
  }
  return text;
}

/** Gaps between animation frames in the page while `action` runs. */
async function frameGaps(demo, action) {
  await demo(() => {
    const r = { gaps: [], on: true, last: performance.now() };
    const frame = (now) => {
      r.gaps.push(now - r.last);
      r.last = now;
      if (r.on) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    window.frameRecorder = r;
  });
  await action();
  return demo(() => {
    const r = window.frameRecorder;
    r.on = false;
    return { count: r.gaps.length, max: Math.max(...r.gaps) };
  });
}

test('demo: text at once from the pretrained model, fine-tuned on a text with new characters, and a look inside', { skip: noChromium, timeout: 180_000 }, async () => {
  const browser = await demoBrowser();
  try {
    const opened = await browser.open(await browser.serve());
    const { page, demo, waitFor } = opened;

    // Text at once: Generate works before any training, within 2 s of the page's start.
    await waitFor(() => window.lstmDemo?.model && !document.getElementById('generate').disabled, null, 10_000);
    await page.fill('#gen-length', '200');
    await page.click('#generate');
    await waitFor(() => document.getElementById('gen-text').textContent.length > 0, null, 10_000);
    const firstTextMs = await demo(() => performance.now());
    await waitFor(() => window.lstmDemo.generations === 1);
    const pretrained = await demo(() => ({ model: window.lstmDemo.model, text: window.lstmDemo.generated }));
    console.log(`  first generated text ${firstTextMs.toFixed(0)} ms after the navigation started: ${JSON.stringify(pretrained.text.slice(0, 70))}`);
    assert.ok(firstTextMs < FIRST_TEXT_MS, `first text after ${firstTextMs.toFixed(0)} ms`);
    assert.equal(pretrained.model.pretrained, true);
    assert.equal(pretrained.model.progress.chars > 0, true, 'the pretrained model has been trained');
    assert.equal([...pretrained.text].length, 200);
    const words = pretrained.text.match(/\b(the|of|and|to|in|a|was|he|that|for|is|it)\b/g) ?? [];
    assert.ok(words.length >= 4, `English words in ${JSON.stringify(pretrained.text)}`);
    await ready(opened);

    // The Generate card's stop strings, repetition penalty and samples reach the library: a
    // stop at a space ends the text before its first space; sample 1 of a batch of 3 is the
    // single sample of the same seed.
    const generateWith = async (fields) => {
      const before = await demo(() => window.lstmDemo.generations);
      for (const [id, value] of Object.entries(fields)) await page.fill(`#${id}`, value);
      await page.click('#generate');
      await waitFor((n) => window.lstmDemo.generations > n, before, 20_000);
      return demo(() => window.lstmDemo.generated);
    };
    const stopped = await generateWith({ 'gen-length': '200', 'gen-stop': ' ', 'gen-penalty': '1.2', 'gen-seed': '5' });
    assert.ok(!stopped.includes(' ') && [...stopped].length < 200, `stopped at the first space: ${JSON.stringify(stopped)}`);
    assert.match(await page.textContent('#gen-meta'), /a stop string came.*repetition penalty 1\.2, stop at " "/);
    const single = await generateWith({ 'gen-length': '60', 'gen-stop': '', 'gen-penalty': '1', 'gen-n': '1' });
    await generateWith({ 'gen-n': '3' });
    const batch = await page.$$eval('#gen-text', ([out]) => {
      const texts = [];
      for (const node of out.childNodes) if (node.nodeType === Node.TEXT_NODE) texts.push(node.textContent);
      return { texts, heads: [...out.querySelectorAll('.sample-head')].map((h) => h.textContent) };
    });
    assert.deepEqual(batch.heads, ['sample 1 · seed 5', 'sample 2 · seed 6', 'sample 3 · seed 7']);
    assert.equal(batch.texts[0], single, 'sample 1 of the batch is the single sample of its seed');
    assert.notEqual(batch.texts[1], batch.texts[0]);
    await page.fill('#gen-n', '1');

    // Fine-tune on a pasted text with characters the pretrained model has never seen.
    const text = accentedText();
    const known = new Set(pretrained.model.vocabulary.map((cp) => String.fromCodePoint(cp)));
    const unknown = [...new Set(text)].filter((c) => !known.has(c)).sort();
    assert.ok(unknown.length >= 8, `the text has characters the model lacks: ${unknown.join('')}`);
    await page.click('#corpus-tab-user');
    await page.fill('#corpus-text', text);
    await waitFor((n) => window.lstmDemo.corpus?.source === 'user' && window.lstmDemo.corpus.chars === n && !window.lstmDemo.busy, [...text].length);
    assert.equal(await page.isVisible('#finetune'), true);
    assert.equal(await page.isVisible('#resume'), false, 'the pretrained model does not continue its own run on this text');
    await page.click('#finetune');
    await waitFor(() => window.lstmDemo.state === 'running', null, 30_000);
    const notice = await page.textContent('.notice.info[data-key="finetune"]');
    assert.match(notice, new RegExp(`${unknown.length} characters it had never seen added`));
    const tuned = await demo(() => window.lstmDemo.model);
    assert.equal(tuned.pretrained, false);
    assert.equal(tuned.config.hiddenSize, pretrained.model.config.hiddenSize);
    assert.equal(tuned.vocabulary.length, pretrained.model.vocabulary.length + unknown.length);
    assert.deepEqual(tuned.vocabulary.slice(0, pretrained.model.vocabulary.length), pretrained.model.vocabulary, 'the old symbols keep their ids');
    await waitFor((s) => window.lstmDemo.progress?.seconds >= s, FINE_TUNE_SECONDS, (FINE_TUNE_SECONDS + 30) * 1000);
    const run = await demo(() => ({ progress: window.lstmDemo.progress, history: window.lstmDemo.history }));
    const firstVal = run.history.val[0][1];
    const lastVal = run.history.val.at(-1)[1];
    console.log(`  fine-tuned ${run.progress.seconds.toFixed(1)} s (${run.progress.steps} steps, ${Math.round(run.progress.charsPerSecond)} chars/s): validation ${firstVal.toFixed(3)} -> ${lastVal.toFixed(3)} nats/char (a fresh model starts near ln ${tuned.vocabulary.length} = ${Math.log(tuned.vocabulary.length).toFixed(2)})`);
    assert.equal(run.progress.chars, run.progress.steps * 16 * 64, 'a new run, counted from 0');
    assert.ok(firstVal < Math.log(tuned.vocabulary.length) - 1, 'the run starts from what the pretrained model knows');
    assert.ok(lastVal < firstVal - 0.3, 'and learns the new text');

    // Look inside, on a snapshot, while training goes on.
    const frames = await frameGaps(demo, async () => {
      await page.click('#inside-open');
      await waitFor(() => window.lstmDemo.inside.state === 'ready', null, 30_000);
    });
    const inside = await demo(() => ({ ranking: window.lstmDemo.inside.ranking, steps: window.lstmDemo.inside.steps, state: window.lstmDemo.state }));
    console.log(`  look inside: ${inside.steps} characters traced while training (${frames.count} frames, largest gap ${frames.max.toFixed(1)} ms); cells: ${inside.ranking.slice(0, 4).map((x) => `L${x.layer + 1}#${x.index}${x.state} ${x.feature} ${x.r.toFixed(2)}`).join(', ')}`);
    assert.equal(inside.state, 'running', 'training went on meanwhile');
    assert.ok(frames.max < FRAME_GAP_MS, `largest gap between animation frames ${frames.max.toFixed(1)} ms`);
    assert.ok(inside.steps >= 1000, 'a passage of validation text');
    assert.ok(inside.ranking.length >= 4);
    assert.equal(await page.locator('#inside-cells button').count(), inside.ranking.length);

    // Pick the second cell of the ranked list: the text is coloured by it.
    await page.locator('#inside-cells button').nth(1).click();
    const picked = inside.ranking[1];
    assert.deepEqual(await demo(() => window.lstmDemo.inside.cell), { layer: picked.layer, index: picked.index, state: picked.state });
    assert.equal(await page.getAttribute('#inside-cells li:nth-child(2) button', 'aria-pressed'), 'true');
    assert.equal(await page.inputValue('#inside-index'), String(picked.index));
    const colours = await demo(() => new Set([...document.querySelectorAll('#inside-text span')].map((s) => s.style.background)).size);
    assert.ok(colours > 20, `the passage is coloured by the cell (${colours} colours)`);

    // Hover a character: its top 5 next-character predictions.
    await page.hover('#ic-40');
    await waitFor(() => window.lstmDemo.inside.active === 40);
    const shown = await page.$$eval('#inside-predictions .top5 li', (items) => items.map((li) => [li.querySelector('.top-char').textContent, li.querySelector('.top-p').textContent]));
    const hovered = await demo(() => window.lstmDemo.inside.predictions);
    console.log(`  after ${JSON.stringify(hovered.after)}: ${shown.map(([c, p]) => `${c} ${p}`).join(', ')}; came ${JSON.stringify(hovered.next.char)} at ${(100 * hovered.next.p).toFixed(1)} %`);
    assert.equal(shown.length, 5);
    const probs = hovered.list.map((x) => x.p);
    assert.ok(probs.every((p, i) => p > 0 && (i === 0 || p <= probs[i - 1])), 'five predictions, most likely first');
    assert.ok(probs.reduce((a, b) => a + b, 0) <= 1 + 1e-6);

    // By keyboard: focus the text, move right.
    await page.focus('#inside-text');
    await page.keyboard.press('ArrowRight');
    await waitFor(() => window.lstmDemo.inside.active === 41);
    assert.equal(await page.getAttribute('#inside-text', 'aria-activedescendant'), 'ic-41');
    assert.match(await page.textContent('#inside-predictions'), /character 42 of/);

    // Surprise: each character shaded by the probability it was given.
    await page.check('input[name="inside-mode"][value="surprise"]');
    await waitFor(() => window.lstmDemo.inside.mode === 'surprise');
    assert.match(await page.textContent('#inside-legend'), /surprised/);

    await page.click('#pause');
    await waitFor(() => window.lstmDemo.state === 'paused');
    assert.deepEqual(opened.errors, [], 'no uncaught errors on the page');
    assert.deepEqual(opened.failed, [], 'every resource loads');
  } finally {
    await browser.close();
  }
});
