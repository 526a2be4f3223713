// look_inside.js - the Look inside card: a passage of validation text read by a snapshot of
// the model (the training worker's file, traced by snapshot_worker.js), coloured by one cell's
// activation or by the probability the model gave each character; the cells that track simple
// features of the text (cell_features.js), ranked; the top 5 predictions at any character,
// by mouse or keyboard. The page's thread only draws, a slice of the passage per frame.

import { fmtInt } from './format.js';
import { showChar } from './messages.js';
import { inspect } from './snapshot.js';

const $ = (id) => document.getElementById(id);
// The passage shown, and the validation text the cells are ranked over (quotes and parentheses
// are rare: a few pairs in 10,000 characters of the Brown corpus).
const SHOWN_CHARS = 2500;
const ANALYSED_CHARS = 10_000;
// Characters drawn or recoloured per animation frame: 2,500 spans at once cost a frame of
// 100-200 ms on a loaded 2-core machine; 100 a frame (each line a block: only it is laid out
// again) keep the page painting at 30-60 frames a second and draw the passage in ~0.5 s.
const SLICE = 100;
// a diverging palette (ColorBrewer RdBu's middle): negative blue, zero white, positive red
const NEGATIVE = [67, 147, 195];
const POSITIVE = [214, 96, 77];
const SURPRISED = [232, 120, 30];

let deps = null;    // { app, worker(): the TrainingWorker, snapshotText(): { source: { text, name }, label } }
let view = null;    // the traced passage and what is shown of it
let state = 'closed';  // closed | computing | ready | failed
let runs = 0;       // a newer snapshot wins over an older one still computing
let paints = 0;     // a newer colouring pass ends an older one

const nextFrame = () => new Promise((resolve) => { requestAnimationFrame(() => resolve()); });

/** Give the card the page's state and its ways to the training worker and the text. */
export function initLookInside(dependencies) {
  deps = dependencies;
  $('inside-open').onclick = toggle;
  $('inside-refresh').onclick = () => refresh();
  $('inside-controls').addEventListener('change', () => { if (view) pickCell(readCell(), { mode: modeChosen() }); });
  $('inside-cells').onclick = (e) => {
    const b = e.target.closest('button[data-rank]');
    if (b) pickCell(view.ranking[Number(b.dataset.rank)], { mode: 'cell' });
  };
  const text = $('inside-text');
  text.addEventListener('mouseover', (e) => { const s = e.target.closest('[data-t]'); if (s) activate(Number(s.dataset.t)); });
  text.addEventListener('keydown', onKey);
  text.addEventListener('focus', () => { if (view && view.active < 0) activate(0); });
}

/** What the end-to-end test and the console see. */
export const lookInside = {
  get state() { return state; },
  get ranking() { return view?.ranking ?? null; },
  get cell() { return view ? { ...view.cell } : null; },
  get mode() { return view?.mode ?? null; },
  get steps() { return view?.chars.length ?? 0; },
  get active() { return view?.active ?? -1; },
  get predictions() { return view && view.active >= 0 ? predictionsAt(view.active) : null; },
};

/** Enable the card when there is a model to look at. */
export function renderLookInside(hasModel) {
  $('inside-open').disabled = !hasModel;
  $('inside-refresh').disabled = !hasModel || state === 'computing';
}

/** The page's model was replaced (a new, loaded or fine-tuned one): an open card looks at the
 * new one, a closed one will when opened. */
export function modelReplaced() {
  if (!$('inside-panel').hidden) refresh();
  else view = null;
}

async function toggle() {
  const open = $('inside-panel').hidden;
  $('inside-panel').hidden = !open;
  $('inside-open').setAttribute('aria-expanded', String(open));
  $('inside-open').textContent = open ? 'Close' : 'Look inside';
  if (!open) return;
  if (!view) await refresh();
}

/** Take a snapshot of the model as trained so far and trace the passage through it. */
async function refresh() {
  const run = ++runs;
  state = 'computing';
  renderLookInside(true);
  $('inside-meta').textContent = 'Taking a snapshot of the model and reading the passage with it…';
  try {
    const { app } = deps;
    const seen = app.progress?.chars ?? app.model?.progress?.chars ?? 0;
    const { source, label } = await deps.snapshotText();
    const bytes = await deps.worker().save();
    const fraction = app.model?.settings?.validationFraction ?? 0.1;
    const r = await inspect(bytes, source, { shown: SHOWN_CHARS, analysed: ANALYSED_CHARS, fraction });
    if (run !== runs) return;
    if (!(await show(r, { seen, textName: label }, run))) return;
    state = 'ready';
  } catch (e) {
    if (run !== runs) return;
    state = 'failed';
    $('inside-meta').textContent = `The model could not be read: ${e.message}.`;
  }
  renderLookInside(true);
}

/** Show a traced passage; false if a newer snapshot took over meanwhile. */
async function show(r, { seen, textName }, run) {
  const keep = view && view.config.layers === r.config.layers && view.config.hiddenSize === r.config.hiddenSize ? view.cell : null;
  const mode = view?.mode ?? 'cell';
  view = { ...r, vocabChars: r.vocabulary.map((cp) => String.fromCodePoint(cp)), active: -1, mode, cell: null, values: null, spans: [], colourOf: () => '' };
  $('inside-meta').textContent = `${fmtInt(r.chars.length)} characters from the validation part of ${textName}, read by the model as trained so far (${fmtInt(seen)} characters seen); the cells are ranked over the first ${fmtInt(r.analysed)}. “Refresh” takes a new snapshot.`;
  // the layer and cell fields, for this model's shape
  const layer = $('inside-layer');
  layer.replaceChildren(...r.units.map((u) => new Option(String(u.layer + 1), String(u.layer))));
  $('inside-index').max = String(r.config.hiddenSize - 1);
  $('inside-state').querySelector('option[value="c"]').disabled = r.config.cell === 'gru';
  renderRanking();
  pickCell(keep ?? r.ranking[0] ?? { layer: 0, index: 0, state: r.config.cell === 'gru' ? 'h' : 'c' }, { mode });
  return renderPassage(run);
}

function renderRanking() {
  const list = $('inside-cells');
  if (!view.ranking.length) {
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'No cell varies with these features here.' }));
    return;
  }
  list.replaceChildren(...view.ranking.map((x, i) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.rank = String(i);
    b.innerHTML = '<span class="cell-id"></span><span class="cell-feature"></span><span class="cell-r"></span>';
    b.children[0].textContent = `layer ${x.layer + 1} · cell ${x.index} (${x.state})`;
    b.children[1].textContent = x.label;
    b.children[2].textContent = `r = ${x.r >= 0 ? '+' : '−'}${Math.abs(x.r).toFixed(2)}`;
    b.setAttribute('aria-label', `Layer ${x.layer + 1}, cell ${x.index}, ${x.state === 'c' ? 'cell state' : 'output'}: ${x.r >= 0 ? 'higher' : 'lower'} ${x.label}, correlation ${x.r.toFixed(2)}`);
    li.append(b);
    return li;
  }));
}

const ESCAPE = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' };

/** The passage's characters as spans, a slice per frame, each coloured as it comes (by the
 * colouring chosen then); false if a newer snapshot took over meanwhile. Each line of the text
 * is a block of its own: appending to one lays out that line, not the whole passage again. */
async function renderPassage(run) {
  const box = $('inside-text');
  box.replaceChildren();
  box.removeAttribute('aria-activedescendant');
  $('inside-predictions').replaceChildren();
  view.spans = [];
  const T = view.chars.length;
  let line = null;
  for (let start = 0; start < T; start += SLICE) {
    if (start > 0) {
      await nextFrame();
      if (run !== runs) return false;
    }
    const end = Math.min(T, start + SLICE);
    let html = '';
    const flush = () => {
      if (!line) {
        line = document.createElement('div');
        line.className = 'line';
        line.setAttribute('role', 'none');
        box.append(line);
      }
      line.insertAdjacentHTML('beforeend', html);
      html = '';
    };
    for (let t = start; t < end; t++) {
      const ch = view.chars[t];
      const label = ch === '\n' ? ' aria-label="newline"' : ch === ' ' ? ' aria-label="space"' : '';
      html += `<span id="ic-${t}" data-t="${t}" role="option"${label} style="background:${view.colourOf(t)}">${ch === '\n' ? '↵' : ESCAPE[ch] ?? ch}</span>`;
      if (ch === '\n') {
        flush();
        line = null;
      }
    }
    if (html) flush();
    for (let t = start; t < end; t++) view.spans.push(document.getElementById(`ic-${t}`));
  }
  return true;
}

const modeChosen = () => document.querySelector('input[name="inside-mode"]:checked').value;

function readCell() {
  const layer = Number($('inside-layer').value);
  const max = view.config.hiddenSize - 1;
  const index = Math.min(max, Math.max(0, Math.round(Number($('inside-index').value) || 0)));
  return { layer, index, state: $('inside-state').value };
}

/** Colour the passage by a cell ({ layer, index, state }) or by surprise. */
function pickCell({ layer, index, state: which }, { mode }) {
  view.cell = { layer, index, state: which === 'c' && view.config.cell === 'gru' ? 'h' : which };
  view.mode = mode;
  $('inside-layer').value = String(layer);
  $('inside-index').value = String(index);
  $('inside-state').value = view.cell.state;
  document.querySelector(`input[name="inside-mode"][value="${mode}"]`).checked = true;
  for (const b of $('inside-cells').querySelectorAll('button[data-rank]')) {
    const x = view.ranking[Number(b.dataset.rank)];
    b.setAttribute('aria-pressed', String(mode === 'cell' && x.layer === layer && x.index === index && x.state === view.cell.state));
  }
  colour();
  if (view.active >= 0) activate(view.active);
}

/** The chosen cell's value at each step, and the largest magnitude (the palette's ends). */
function cellValues() {
  const { layer, index, state: which } = view.cell;
  const unit = view.units.find((u) => u.layer === layer);
  const values = unit[which] ?? unit.h;
  const T = view.chars.length;
  const out = new Float32Array(T);
  let max = 0;
  for (let t = 0; t < T; t++) {
    out[t] = values[t * unit.width + index];
    max = Math.max(max, Math.abs(out[t]));
  }
  return { values: out, max: max || 1 };
}

const mix = (to, a) => `rgb(${to.map((c) => Math.round(255 + (c - 255) * a)).join(',')})`;

/** The colouring chosen (a cell, or surprise) as view.colourOf(t), and its legend. */
function prepareColours() {
  if (view.mode === 'surprise') {
    view.colourOf = (t) => (Number.isNaN(view.surprise[t]) ? 'transparent' : mix(SURPRISED, 1 - view.surprise[t]));
    $('inside-legend').innerHTML = '<span>the model gave the character: 100 %</span><span class="ramp surprise"></span><span>0 % (surprised)</span>';
    return;
  }
  const { values, max } = cellValues();
  view.values = values;
  view.colourOf = (t) => (values[t] >= 0 ? mix(POSITIVE, values[t] / max) : mix(NEGATIVE, -values[t] / max));
  const { layer, index, state: which } = view.cell;
  $('inside-legend').innerHTML = `<span>−${max.toFixed(2)}</span><span class="ramp diverging"></span><span>+${max.toFixed(2)}</span><span class="legend-name"></span>`;
  $('inside-legend').lastChild.textContent = `layer ${layer + 1} · cell ${index} · ${which === 'c' ? 'cell state c' : 'output h'}`;
}

/** Recolour the passage, a slice per frame (a newer pass ends this one). */
async function colour() {
  prepareColours();
  const paint = ++paints;
  const spans = view.spans;
  for (let start = 0; start < spans.length; start += SLICE) {
    if (start > 0) {
      await nextFrame();
      if (paint !== paints) return;
    }
    for (let t = start; t < Math.min(spans.length, start + SLICE); t++) spans[t].style.background = view.colourOf(t);
  }
}

/** The top predictions after reading character t, and the character that came. */
function predictionsAt(t) {
  const k = view.top;
  const list = [];
  for (let i = 0; i < k; i++) list.push({ char: view.vocabChars[view.topIds[t * k + i]], p: view.topProbs[t * k + i] });
  const next = t + 1 < view.chars.length ? { char: view.chars[t + 1], p: view.surprise[t + 1] } : null;
  return { after: view.chars[t], position: t, list, next };
}

const pct = (p) => `${(100 * p).toFixed(p >= 0.1 ? 0 : 1)} %`;

/** Make character t the one shown (hover or keyboard). */
function activate(t) {
  const box = $('inside-text');
  const before = box.querySelector('.active');
  before?.classList.remove('active');
  before?.removeAttribute('aria-selected');
  view.active = t;
  const span = $(`ic-${t}`);
  span.classList.add('active');
  span.setAttribute('aria-selected', 'true');
  box.setAttribute('aria-activedescendant', span.id);
  const { after, list, next } = predictionsAt(t);
  const panel = $('inside-predictions');
  const head = document.createElement('p');
  const value = view.mode === 'cell' ? `; cell value ${view.values[t].toFixed(3)}` : '';
  head.textContent = `After “${showChar(after)}” (character ${fmtInt(t + 1)} of ${fmtInt(view.chars.length)}${value}) the model expected:`;
  const ol = document.createElement('ol');
  ol.className = 'top5';
  for (const { char, p } of list) {
    const li = document.createElement('li');
    li.innerHTML = '<span class="top-char"></span><span class="top-bar"><span></span></span><span class="top-p"></span>';
    li.children[0].textContent = showChar(char);
    li.children[1].firstChild.style.width = `${Math.max(1, 100 * p)}%`;
    li.children[2].textContent = pct(p);
    if (next && char === next.char) li.classList.add('actual');
    ol.append(li);
  }
  const tail = document.createElement('p');
  tail.className = 'hint';
  tail.textContent = next ? `What came: “${showChar(next.char)}”, given ${pct(next.p)}.` : 'The end of the passage.';
  panel.replaceChildren(head, ol, tail);
}

function onKey(e) {
  if (!view) return;
  const T = view.chars.length;
  const t = view.active < 0 ? 0 : view.active;
  const lineStart = (i) => { let s = i; while (s > 0 && view.chars[s - 1] !== '\n') s--; return s; };
  let next = null;
  switch (e.key) {
    case 'ArrowRight': next = t + 1; break;
    case 'ArrowLeft': next = t - 1; break;
    case 'Home': next = e.ctrlKey ? 0 : lineStart(t); break;
    case 'End': {
      let s = t;
      while (!e.ctrlKey && s < T - 1 && view.chars[s] !== '\n') s++;
      next = e.ctrlKey ? T - 1 : s;
      break;
    }
    case 'PageDown': next = t + 100; break;
    case 'PageUp': next = t - 100; break;
    case 'ArrowDown': {
      // the same column of the next line (a paragraph is one line here)
      let s = t;
      while (s < T - 1 && view.chars[s] !== '\n') s++;
      next = Math.min(T - 1, s + 1 + (t - lineStart(t)));
      break;
    }
    case 'ArrowUp': {
      const start = lineStart(t);
      next = start === 0 ? 0 : Math.min(start - 1, lineStart(start - 1) + (t - start));
      break;
    }
    default: return;
  }
  e.preventDefault();
  next = Math.max(0, Math.min(T - 1, next));
  activate(next);
  $(`ic-${next}`).scrollIntoView({ block: 'nearest' });
}
