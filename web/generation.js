// generation.js - the Generate card: its options read and checked, and the text streamed in as
// the TrainingWorker writes it. Shares the page's state (app) and render().

import { limits } from './lib/lstm.js'; // the library's limits only: the model is in the worker
import { fmtInt } from './format.js';
import { pageError, showChar } from './messages.js';
import { notify } from './notices.js';

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
    await app.gen.pieces.return();
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
  };
  const bad = [['length', 1, 100000, true], ['temperature', 0, 100], ['topK', 0, limits.maxVocab, true], ['topP', 0, 1], ['seed', 0, limits.maxSeed, true]]
    .find(([k, min, max, int]) => !(Number.isFinite(options[k]) && options[k] >= min && options[k] <= max && (!int || Number.isInteger(options[k]))));
  if (bad) { notify('error', `Generation: ${bad[0]} must be ${bad[3] ? 'a whole number' : 'a number'} from ${bad[1]} to ${bad[2]}.`); return; }
  const known = new Set(app.model.vocabulary);
  const unknown = [...new Set([...options.prompt].filter((ch) => !known.has(ch.codePointAt(0))))];
  if (unknown.length) {
    notify('error', `The prompt has character${unknown.length > 1 ? 's' : ''} the model has never seen: ${unknown.slice(0, 8).map((c) => `“${showChar(c)}”`).join(' ')}.`);
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
    app.gen = null;
    $('gen-meta').textContent = '';
    notify('error', `Generation failed: ${pageError(e).message}`);
    render();
    return;
  }
  app.gen = null;
  app.genCount++;
  $('gen-output').dataset.done = String(app.genCount);
  // a new model (or a loaded one) also ends a generation
  if (g.cancelled || chars < options.length) {
    $('gen-meta').textContent = 'Stopped.';
  } else {
    const seconds = (performance.now() - g.t0) / 1000;
    $('gen-meta').textContent = `${fmtInt(chars)} characters in ${seconds.toFixed(2)} s · seed ${options.seed}, temperature ${options.temperature}, top-k ${options.topK || 'off'}, top-p ${options.topP < 1 ? options.topP : 'off'}`;
  }
  render();
}
