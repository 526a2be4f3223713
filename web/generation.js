// generation.js - the Generate card: its options read and checked, and the text streamed in as
// the TrainingWorker writes it; several samples (n) are written as one batch on a snapshot of
// the model, by the page's second worker (the TrainingWorker streams one). Shares the page's
// state (app) and render().

import { limits } from './lib/lstm.js'; // the library's limits only: the model is in the worker
import { fmtInt } from './format.js';
import { pageError, showChar } from './messages.js';
import { notify } from './notices.js';
import { samples } from './snapshot.js';

const $ = (id) => document.getElementById(id);
let app;
let worker;
let render;

/** Give the card the page's state, the TrainingWorker (a function: it starts later) and the
 * page's render(). */
export function initGeneration(state, getWorker, renderPage) {
  app = state;
  worker = getWorker;
  render = renderPage;
}

/** Start a generation with the card's options, or stop the one in progress. */
export async function generate() {
  if (app.gen) {
    app.gen.cancelled = true;
    await app.gen.pieces?.return();
    return;
  }
  const num = (id) => Number($(id).value);
  const options = {
    prompt: $('gen-prompt').value,
    length: num('gen-length'),
    temperature: num('gen-temperature'),
    topK: num('gen-topk'),
    topP: num('gen-topp'),
    seed: num('gen-seed'),
    repetitionPenalty: num('gen-penalty'),
  };
  const n = num('gen-n');
  const stop = stopStrings($('gen-stop').value);
  if (stop.length) options.stop = stop;
  const bad = [['length', 1, 100000, true], ['temperature', 0, 100], ['topK', 0, limits.maxVocab, true], ['topP', 0, 1], ['seed', 0, limits.maxSeed, true], ['repetitionPenalty', 0.01, 100], ['samples', 1, 16, true]]
    .find(([k, min, max, int]) => { const v = k === 'samples' ? n : options[k]; return !(Number.isFinite(v) && v >= min && v <= max && (!int || Number.isInteger(v))); });
  if (bad) { notify('error', `Generation: ${bad[0]} must be ${bad[3] ? 'a whole number' : 'a number'} from ${bad[1]} to ${bad[2]}.`); return; }
  const known = new Set(app.model.vocabulary);
  const unknown = [...new Set([...options.prompt].filter((ch) => !known.has(ch.codePointAt(0))))];
  if (unknown.length) {
    notify('error', `The prompt has character${unknown.length > 1 ? 's' : ''} the model has never seen: ${unknown.slice(0, 8).map((c) => `“${showChar(c)}”`).join(' ')}.`);
    return;
  }
  if (n > 1) {
    await generateSamples(options, n);
    return;
  }
  const g = { options, t0: performance.now(), pieces: worker().generate(options), cancelled: false };
  app.gen = g;
  $('gen-prompt-echo').textContent = options.prompt;
  $('gen-text').textContent = '';
  $('gen-meta').textContent = app.state === 'running' ? 'Generating (training waits meanwhile)…' : 'Generating…';
  render();
  let chars = 0;
  try {
    // the text streams in as the worker writes it
    for await (const piece of g.pieces) {
      $('gen-text').append(document.createTextNode(piece));
      chars += [...piece].length;
      const out = $('gen-output');
      out.scrollTop = out.scrollHeight;
    }
  } catch (e) {
    generationFailed(e);
    return;
  }
  app.gen = null;
  app.genCount++;
  $('gen-output').dataset.done = String(app.genCount);
  // a new model (or a loaded one) also ends a generation
  if (g.cancelled || (chars < options.length && !options.stop)) {
    $('gen-meta').textContent = 'Stopped.';
  } else {
    const seconds = (performance.now() - g.t0) / 1000;
    const stopped = chars < options.length ? ' (a stop string came)' : '';
    $('gen-meta').textContent = `${fmtInt(chars)} characters${stopped} in ${seconds.toFixed(2)} s · ${describe(options)}`;
  }
  render();
}

/** A generation that threw: said in the page's words, the panel free again. */
function generationFailed(e) {
  app.gen = null;
  $('gen-meta').textContent = '';
  notify('error', `Generation failed: ${pageError(e).message}`);
  render();
}

/** The options a text was written with, as the card says them. */
const describe = (o) => `seed ${o.seed}, temperature ${o.temperature}, top-k ${o.topK || 'off'}, top-p ${o.topP < 1 ? o.topP : 'off'}` +
  `${o.repetitionPenalty !== 1 ? `, repetition penalty ${o.repetitionPenalty}` : ''}${o.stop ? `, stop at ${o.stop.map((x) => JSON.stringify(x)).join(' or ')}` : ''}`;

/** The stop field's strings: | separates them; \n, \t, \| and \\ are a newline, a tab, a bar
 * and a backslash. */
function stopStrings(raw) {
  const list = [''];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '|') list.push('');
    else if (ch === '\\' && i + 1 < raw.length) list[list.length - 1] += { n: '\n', t: '\t' }[raw[++i]] ?? raw[i];
    else list[list.length - 1] += ch;
  }
  return list.filter((s) => s.length > 0);
}

/** n samples of the prompt in one batch (Model.generate's n) on a snapshot of the model: sample
 * k is what one sample with seed + k writes. Shown when all are written. */
async function generateSamples(options, n) {
  const g = { options, t0: performance.now(), pieces: null, cancelled: false };
  app.gen = g;
  $('gen-prompt-echo').textContent = '';
  $('gen-text').textContent = '';
  $('gen-meta').textContent = `Writing ${n} samples…`;
  render();
  let texts;
  try {
    texts = await samples(await worker().save(), { ...options, n });
  } catch (e) {
    generationFailed(e);
    return;
  }
  app.gen = null;
  if (g.cancelled) {
    $('gen-meta').textContent = 'Stopped.';
    render();
    return;
  }
  const out = $('gen-text');
  texts.forEach((text, k) => {
    const head = document.createElement('span');
    head.className = 'sample-head';
    head.textContent = `sample ${k + 1} · seed ${options.seed + k}`;
    const prompt = document.createElement('span');
    prompt.className = 'prompt';
    prompt.textContent = options.prompt;
    out.append(head, prompt, document.createTextNode(text));
  });
  app.genCount++;
  $('gen-output').dataset.done = String(app.genCount);
  const seconds = (performance.now() - g.t0) / 1000;
  $('gen-meta').textContent = `${n} samples, ${fmtInt(texts.reduce((a, t) => a + [...t].length, 0))} characters in ${seconds.toFixed(2)} s (one batch) · ${describe(options)}`;
  render();
}
