// texts.js - the texts the page trains on: the built-in corpus (downloaded once) and the
// visitor's, as the worker cleans and describes them, and whether the model continues on them.

import { attachProblem, pageError } from './messages.js';

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

export async function builtInCorpus() {
  if (!builtIn) {
    let response;
    try {
      response = await fetch(new URL('./corpus/brown.txt', import.meta.url));
    } catch {
      throw new Error('The built-in corpus could not be downloaded (network error).');
    }
    if (!response.ok) throw new Error(`The built-in corpus could not be downloaded (HTTP ${response.status}). Was the demo built with tools/build-demo.mjs?`);
    const text = await response.text();
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
