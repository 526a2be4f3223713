// snapshot_worker.js - the page's second worker, for work on model files away from the page's
// thread and from the training worker (which keeps training meanwhile): a snapshot traced for
// the Look inside panel (activations, each step's top 5, the surprise, the ranked cells),
// several samples written as one batch, and the pretrained model extended to a text's symbols
// for fine-tuning. Requests { id, type, ... } get { id, result } or { id, error: { message, code } }.

import { Corpus, Model, init } from './lib/lstm.js';
import { rankCells } from './cell_features.js';

const TOP = 5;                 // predictions kept per step
let text = null;               // the page's text: { key, corpus } (cleaned as the session cleans it)

/** The text a request names: sent once, then named by its key. */
function textOf(request) {
  if (request.text !== undefined) text = { key: request.textKey, corpus: new Corpus(request.text, { name: request.textName }) };
  if (text?.key !== request.textKey) throw new Error('the text this request names was never sent');
  return text.corpus;
}

/** `chars` characters of the validation part of the text (its last `fraction`, where the
 * session validates), from the start of a line, without symbols the model lacks. */
function passageOf(corpus, vocab, chars, fraction) {
  const all = corpus.text;
  // walk back from the end over code points: the validation part is the last floor(n f) of them
  let start = all.length;
  for (let n = Math.floor(corpus.chars * fraction); n > 0; n--) start -= all.codePointAt(start - 2) > 0xffff ? 2 : 1;
  // from the start of a line (not an empty one), where one comes soon
  const lineStart = all.indexOf('\n', start);
  if (lineStart >= 0 && lineStart < start + 2000) {
    let at = lineStart;
    while (all[at] === '\n') at++;
    if (at < all.length) start = at;
  }
  const out = [];
  for (const ch of all.slice(start, start + 4 * chars)) {
    if (vocab.has(ch)) out.push(ch);
    if (out.length === chars) break;
  }
  return out;
}

/** [start, end) pieces of about `size` characters covering `chars`, each (but the first)
 * starting just after a newline when one is near. */
function cutAtLines(chars, size) {
  const cuts = [];
  let start = 0;
  while (start < chars.length) {
    let end = Math.min(chars.length, start + size);
    if (end < chars.length) {
      const nl = chars.lastIndexOf('\n', end - 1);
      if (nl > start + size / 2) end = nl + 1;
    }
    cuts.push([start, end]);
    start = end;
  }
  return cuts;
}

/** The k most likely of each step's distribution: ids and probabilities, step-major. */
function topK(probabilities, steps, V, k) {
  const ids = new Int32Array(steps * k);
  const probs = new Float32Array(steps * k);
  for (let t = 0; t < steps; t++) {
    const row = t * V;
    const best = [];
    for (let v = 0; v < V; v++) {
      const p = probabilities[row + v];
      if (best.length < k || p > best[best.length - 1][1]) {
        best.push([v, p]);
        best.sort((a, b) => b[1] - a[1]);
        if (best.length > k) best.pop();
      }
    }
    best.forEach(([v, p], i) => { ids[t * k + i] = v; probs[t * k + i] = p; });
  }
  return { ids, probs };
}

const handlers = {
  async init() {
    // one thread: the training worker has the cores
    await init({ threads: 1 });
    return null;
  },

  /** Trace `analysed` characters of validation text through a snapshot (model bytes), in
   * pieces of about `shown` that start at line starts (each trace starts from a zero state, as
   * a line start nearly is; a trace keeps h, c and the gates of every cell at every step, 9 KB a
   * character for a 2 x 192 model, so 10,000 at once would take 92 MB): the cells are ranked over
   * all of it, the first piece is shown. */
  async inspect({ bytes, shown, analysed, fraction, ...request }) {
    const model = await Model.load(bytes);
    try {
      const vocab = model.vocabulary;
      const passage = passageOf(textOf(request), vocab, analysed, fraction);
      if (passage.length < 2) throw new Error('the text has too few characters this model knows');
      const pieces = [];
      let first = null;
      for (const [start, end] of cutAtLines(passage, shown)) {
        const trace = model.trace(passage.slice(start, end).join(''), { probabilities: start === 0 });
        const units = trace.layers.filter((u) => u.direction === 'forward')
          // with a projection h is narrower than c: only c is ranked then
          .map((u) => ({ layer: u.layer, width: u.hiddenSize, c: u.c, h: u.hSize === u.hiddenSize ? u.h : null }));
        pieces.push({ start, units });
        if (start === 0) first = { trace, units };
      }
      const ranking = rankCells(passage, pieces);
      const { trace, units } = first;
      const V = model.config.outputSize;
      const T = trace.steps;
      // the probability the model gave each character, read before it (none for the first)
      const surprise = new Float32Array(T).fill(NaN);
      for (let t = 1; t < T; t++) surprise[t] = trace.probabilities[(t - 1) * V + trace.tokens[t]];
      const top = topK(trace.probabilities, T, V, TOP);
      const result = {
        chars: passage.slice(0, T), analysed: passage.length, vocabulary: Array.from(vocab.codePoints), top: TOP, topIds: top.ids, topProbs: top.probs, surprise, ranking,
        units, config: { layers: model.config.layers, hiddenSize: model.config.hiddenSize, cell: model.config.cell },
      };
      const transfer = [top.ids.buffer, top.probs.buffer, surprise.buffer, ...units.flatMap((u) => [u.c?.buffer, u.h?.buffer].filter(Boolean))];
      return { result, transfer };
    } finally {
      model.dispose();
    }
  },

  /** Several samples (Model.generate's n: one batch through the matrix kernels) written by
   * the model in `bytes`: the TrainingWorker streams one sample at a time. */
  async samples({ bytes, options }) {
    const model = await Model.load(bytes);
    try {
      return { result: model.generate(options) };
    } finally {
      model.dispose();
    }
  },

  /** The pretrained model (bytes) with the text's new symbols added, as a new training run:
   * its session metadata becomes a note of where it came from, so the session starts at step
   * 0 with the recipe's schedule for the new text. */
  async extend({ bytes, ...request }) {
    const corpus = textOf(request);
    const model = await Model.load(bytes);
    let extended;
    try {
      extended = await model.extendVocabulary(corpus.vocab);
      const meta = model.metadata ?? {};
      extended.metadata = {
        pretrained: { corpus: meta.corpus ?? null, progress: meta.progress ?? null, valLoss: meta.history?.val?.at(-1)?.[1] ?? null },
      };
      const added = Array.from(extended.vocabulary.codePoints.subarray(model.vocabulary.size), (cp) => String.fromCodePoint(cp));
      const file = extended.save();
      return { result: { bytes: file, added }, transfer: [file.buffer] };
    } finally {
      model.dispose();
      extended?.dispose();
    }
  },
};

self.onmessage = async ({ data: { id, type, ...args } }) => {
  try {
    const { result = null, transfer = [] } = (await handlers[type](args)) ?? {};
    self.postMessage({ id, result }, transfer);
  } catch (e) {
    self.postMessage({ id, error: { message: e.message, code: e.code ?? null } });
  }
};
