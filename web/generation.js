// generation.js - the Generate card: its options read and checked, the request sent, and the
// text streamed in as the worker writes it. Shares the page's state (app) and render().

import { limits } from './lib/lstm.js'; // the library's limits only: the model lives in worker.js
import { fmtInt } from './format.js';
import { notify } from './notices.js';
import { call, newId } from './worker_client.js';

const $ = (id) => document.getElementById(id);
let app;
let render;

/** Give the card the page's state and its render(). */
export function initGeneration(state, renderPage) {
  app = state;
  render = renderPage;
}

/** Start a generation with the card's options, or stop the one in progress. */
export async function generate() {
  if (app.gen) {
    await call('cancelGenerate');
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
  const genId = newId();
  app.gen = { genId, options, t0: performance.now() };
  $('gen-prompt-echo').textContent = options.prompt;
  $('gen-text').textContent = '';
  $('gen-meta').textContent = app.state === 'running' ? 'Generating (training waits meanwhile)…' : 'Generating…';
  render();
  try {
    await call('generate', { genId, options });
  } catch (e) {
    app.gen = null;
    $('gen-meta').textContent = '';
    notify('error', e.message);
    render();
  }
}

/** The worker's generation events. */
export const generationEvents = {
  'gen-chunk'(m) {
    if (app.gen?.genId !== m.genId) return;
    $('gen-text').append(document.createTextNode(m.text));
    const out = $('gen-output');
    out.scrollTop = out.scrollHeight;
  },

  'gen-done'(m) {
    if (app.gen?.genId !== m.genId) return;
    const g = app.gen;
    app.gen = null;
    app.genCount++;
    $('gen-output').dataset.done = String(app.genCount);
    if (!m.cancelled) {
      $('gen-meta').textContent = `${fmtInt(m.chars)} characters in ${m.seconds.toFixed(2)} s · seed ${g.options.seed}, temperature ${g.options.temperature}, top-k ${g.options.topK || 'off'}, top-p ${g.options.topP < 1 ? g.options.topP : 'off'}`;
    } else {
      $('gen-meta').textContent = 'Stopped.';
    }
    render();
  },

  'gen-error'(m) {
    if (app.gen?.genId !== m.genId) return;
    app.gen = null;
    notify('error', `Generation failed: ${m.error.message}`);
    render();
  },
};
