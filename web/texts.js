// texts.js - the texts the page trains on: the built-in corpus (downloaded once) and the
// visitor's (pasted, or read from a file), as the worker cleans and describes them, and whether
// the model continues on them.

import { fmtBytes } from './format.js';
import { attachProblem, pageError } from './messages.js';

const MODEL_MAGIC = 'LSTMWASM'; // the first bytes of a saved model (see src/serialize.c)
const MAX_TEXT_BYTES = 32 * 1024 * 1024;

let worker = null;
let app = null;
let chosen = null;   // the text chosen: { text, name }, what the worker trains on
let builtIn = null;  // the built-in corpus once downloaded: { text, name, fingerprint }

/** Give this module the worker and the page's state (app.state, app.model). */
export function initTexts(trainingWorker, state) {
  worker = trainingWorker;
  app = state;
}

/** The text chosen last ({ text, name }), or null. */
export const chosenText = () => chosen;

/** Was a model (its metadata's corpus) trained on the built-in corpus? */
export const isBuiltIn = (corpus) => !!corpus?.fingerprint && corpus.fingerprint === builtIn?.fingerprint;

let download = null;  // the built-in corpus's text, once fetched

/** Start downloading the built-in corpus (at most once); resolves to its text. */
export function prefetchBuiltIn() {
  download ??= (async () => {
    let response;
    try {
      response = await fetch(new URL('./corpus/brown.txt', import.meta.url));
    } catch {
      throw new Error('The built-in corpus could not be downloaded (network error).');
    }
    if (!response.ok) throw new Error(`The built-in corpus could not be downloaded (HTTP ${response.status}). Was the demo built with tools/build-demo.mjs?`);
    return response.text();
  })();
  // a failure is reported by builtInCorpus, and the next call tries again
  download.catch(() => { download = null; });
  return download;
}

export async function builtInCorpus() {
  if (!builtIn) {
    const text = await prefetchBuiltIn();
    builtIn = { text, name: 'Brown corpus', fingerprint: (await worker.describeText({ text, name: 'Brown corpus' })).fingerprint };
  }
  return builtIn;
}

/** Choose the text to train on: the worker describes it ({ name, chars, vocabSize,
 * fingerprint, epochs: the recipe's for it }) and, with a model, the model continues on it
 * if it can ({ attached, problem }). */
export async function choose({ text, name }, source) {
  if (app.state === 'running') throw new Error('Pause training before changing the text.');
  const info = await worker.describeText({ text, name }).catch((e) => { throw pageError(e); });
  chosen = { text, name };
  // the pretrained model continues on its own text only: the visitor's starts a fine-tuning run
  if (app.model?.pretrained && source === 'user') return { source, ...info, attached: false, problem: null };
  return { source, ...info, ...(app.model ? await attachChosen() : { attached: true }) };
}

/** Give the session the chosen text, if the model can continue on it: only if the text uses
 * no character outside its vocabulary (and is long enough for the settings). */
export async function attachChosen() {
  if (!chosen) return { attached: false };
  try {
    const s = await worker.attach(chosen);
    return { attached: true, trainChars: s.trainChars, problem: null };
  } catch (e) {
    const problem = attachProblem(e);
    if (!problem) throw e;
    return { attached: false, problem };
  }
}

/** Does a file hold a saved model (its first bytes)? */
export const isModelFile = (bytes) => new TextDecoder().decode(bytes.subarray(0, 8)) === MODEL_MAGIC;

/** A file's bytes as text to train on, or an Error the page shows: too big, not UTF-8, binary. */
export function fileText(bytes, name) {
  if (bytes.length > MAX_TEXT_BYTES) throw new Error(`“${name}” is ${fmtBytes(bytes.length)}; the demo takes texts up to ${fmtBytes(MAX_TEXT_BYTES)}.`);
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`“${name}” is not UTF-8 text. Save it as plain UTF-8 text (.txt) and try again.`);
  }
  if (text.includes('\0')) throw new Error(`“${name}” looks like a binary file, not text.`);
  return text;
}
