// worker_client.js - the page's side of the training worker's protocol (web/worker.js):
// requests with one reply each, and the unrequested events it sends.
//
//   call(type, args, transfer) -> Promise of the reply's result (or its error, as an Error
//   with the worker's code); onEvents({ progress(m), state(m), ... }); newId() for ids the
//   page gives out itself (a generation's).

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 1;
let events = {};
let onFailure = () => {};

/** A fresh id, unique among requests and generations. */
export const newId = () => nextId++;

/** Send a request to the worker; resolves with its result, rejects with its error. */
export function call(type, args = {}, transfer = []) {
  const id = newId();
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...args }, transfer);
  });
}

/** Handlers for the worker's events, by kind; `failed(message)` if the worker cannot start. */
export function onEvents(handlers, failed) {
  events = handlers;
  onFailure = failed;
}

worker.onmessage = ({ data: m }) => {
  if (m.kind === 'reply') {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) {
      const e = new Error(m.error.message);
      e.code = m.error.code;
      p?.reject(e);
    } else {
      p?.resolve(m.result);
    }
    return;
  }
  events[m.kind]?.(m);
};

worker.onerror = (e) => {
  e.preventDefault?.();
  onFailure(e.message || 'module worker failed to load');
};
