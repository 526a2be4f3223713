// snapshot.js - the page's side of snapshot_worker.js (started on first use): a model file
// traced for the Look inside panel, several samples written by it, or the pretrained model
// extended to a text's symbols.

let worker = null;
let ready = null;
let nextId = 1;
const pending = new Map();
const textKeys = new WeakMap();   // the page's text objects ({ text, name }) -> a key
let sentText = null;              // the key of the text the worker holds
let nextKey = 1;

function start() {
  worker = new Worker(new URL('./snapshot_worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = ({ data: { id, result, error } }) => {
    const p = pending.get(id);
    pending.delete(id);
    if (error) p.reject(Object.assign(new Error(error.message), { code: error.code }));
    else p.resolve(result);
  };
  worker.onerror = (e) => {
    e.preventDefault?.();
    const failure = new Error(`the page's second worker could not start (${e.message || 'snapshot_worker.js did not load'})`);
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  ready = request('init');
}

function request(type, args = {}, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...args }, transfer);
  });
}

// A request about a text: the text itself crosses only when the worker does not hold it yet.
async function withText(type, args, source, transfer) {
  if (!worker) start();
  await ready;
  if (!textKeys.has(source)) textKeys.set(source, nextKey++);
  const textKey = textKeys.get(source);
  const text = sentText === textKey ? {} : { text: source.text, textName: source.name };
  sentText = textKey;
  try {
    return await request(type, { ...args, textKey, ...text }, transfer);
  } catch (e) {
    sentText = null; // whatever failed, the next request sends the text again
    throw e;
  }
}

/** Trace `analysed` characters of the validation part (the last `fraction`) of `source`
 * ({ text, name }) through the model in `bytes` (transferred): the cells ranked over all of
 * them, the first ~`shown` traced for showing. */
export const inspect = (bytes, source, { shown, analysed, fraction }) => withText('inspect', { bytes, shown, analysed, fraction }, source, [bytes.buffer]);

/** The pretrained model (bytes, copied) with the symbols of `source` it lacks: { bytes, added }. */
export function extendPretrained(bytes, source) {
  const copy = bytes.slice(); // the caller keeps its bytes; the copy goes over whole
  return withText('extend', { bytes: copy }, source, [copy.buffer]);
}

/** Model.generate with `n` on the model in `bytes` (transferred): the n texts. */
export async function samples(bytes, options) {
  if (!worker) start();
  await ready;
  return request('samples', { bytes, options }, [bytes.buffer]);
}
