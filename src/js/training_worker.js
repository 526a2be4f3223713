// training_worker.js - TrainingWorker: a Session, or a fit, trained on another thread (a Web
// Worker in browsers, worker_threads in Node), so that the caller's thread never blocks. This
// is the caller's side: requests as promises, progress as events, errors as LstmError. The
// other side is training-thread.js.

import { STATUS } from './abi.js';
import { checkOptions } from './checks.js';
import { LstmError, errorFromData } from './errors.js';
import { isNode } from './event_loop.js';
import { Model } from './model.js';
import { nodeWorkerArgv } from './threads.js';

/** An event of a TrainingWorker: `detail` is what the thread reported. */
class TrainingEvent extends Event {
  constructor(type, detail) {
    super(type);
    this.detail = detail;
  }
}

// Start the thread. Both calls name the script in the literal form bundlers recognise, so
// that they emit it and rewrite the URL.
async function startThread(receive, fail) {
  if (isNode) {
    const { Worker } = await import(/* @vite-ignore */ 'node:worker_threads');
    const worker = new Worker(new URL('./training-thread.js', import.meta.url), { execArgv: nodeWorkerArgv() });
    worker.on('message', receive);
    worker.on('error', (e) => fail(`${e.name}: ${e.message}`));
    worker.on('exit', (code) => fail(`the thread exited (code ${code})`));
    return { post: (m, transfer) => worker.postMessage(m, transfer), end: () => worker.terminate(), keepAlive: (on) => (on ? worker.ref() : worker.unref()) };
  }
  const worker = new Worker(new URL('./training-thread.js', import.meta.url), { type: 'module' });
  worker.onmessage = (e) => receive(e.data);
  worker.onerror = (e) => {
    e.preventDefault?.();
    fail(e.message || 'the thread\'s script could not be loaded (is training-thread.js served beside lstm.js?)');
  };
  worker.onmessageerror = () => fail('a message from the thread could not be read');
  return { post: (m, transfer) => worker.postMessage(m, transfer), end: () => worker.terminate(), keepAlive: () => {} };
}

/** A text argument: a string, or anything with a string `text` and maybe a `name` (a Corpus). */
function textArgs(what, text) {
  if (typeof text === 'string') return { text };
  if (typeof text?.text === 'string') return { text: text.text, name: text.name === undefined ? undefined : String(text.name) };
  throw new LstmError(`TrainingWorker.${what}: the text must be a string or a Corpus ({ text, name })`);
}

/** Options that go to the thread: data only (a function cannot be sent). */
function portable(what, options) {
  for (const [key, value] of Object.entries(checkOptions(`TrainingWorker.${what}`, options, Object.keys(options ?? {})))) {
    if (typeof value === 'function') {
      throw new LstmError(`TrainingWorker.${what}: ${key} is a function, which cannot be sent to another thread (listen to the 'progress' events instead${key === 'schedule' ? '; a schedule may be { type: \'step\' | \'cosine\', ... }' : ''})`);
    }
  }
  return options ?? {};
}

const bytesOf = (what, bytes) => {
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (bytes instanceof Uint8Array) return bytes;
  throw new LstmError(`TrainingWorker.${what}: bytes must be a Uint8Array or ArrayBuffer`);
};

/** Made by TrainingWorker.create (the thread starts asynchronously). */
export class TrainingWorker extends EventTarget {
  #thread = null;
  #pending = new Map(); // id -> { resolve, reject, chunk }
  #nextId = 1;
  #state = 'idle';
  #failure = null;      // the LstmError every request gets once the thread is gone
  #info = null;         // buildInfo() of the thread's module

  /** Start a thread and load the wasm module in it; `init`: its init() options (default:
   * every core where shared memory exists). Resolves once it is ready. */
  static async create(options = {}) {
    const { init = {} } = checkOptions('TrainingWorker.create', options, ['init']);
    const worker = new TrainingWorker();
    worker.#thread = await startThread((m) => worker.#receive(m), (why) => worker.#fail(why));
    try {
      worker.#info = await worker.#request('init', { options: threadInit(init) });
    } catch (e) {
      worker.dispose();
      throw e;
    }
    return worker;
  }

  /** The build the thread runs: buildInfo() there ({ simd, kernels, threads, threadsReason, memoryBytes }). */
  get buildInfo() { return { ...this.#info }; }
  /** 'idle' (no run), 'running' or 'paused'. */
  get state() { return this.#state; }
  get disposed() { return this.#failure?.code === 'DISPOSED'; }

  #request(type, args = {}, { chunk, transfer = [] } = {}) {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, chunk });
      this.#thread.keepAlive(true);
      try {
        this.#thread.post({ id, type, ...args }, transfer);
      } catch (e) {
        // structured clone refused something (a function in an array, a class instance...)
        this.#settle(id, new LstmError(`TrainingWorker.${type}: the arguments cannot be sent to another thread (${e.message})`));
      }
    });
  }

  #receive(m) {
    if (m.event) {
      if (m.event === 'state') this.#state = m.detail.state;
      this.dispatchEvent(new TrainingEvent(m.event, m.detail));
      return;
    }
    const p = this.#pending.get(m.id);
    if (!p) return;
    if ('chunk' in m) { p.chunk?.(m.chunk); return; }
    this.#settle(m.id, m.error ? errorFromData(m.error) : null, m.result);
  }

  #settle(id, error, result) {
    const p = this.#pending.get(id);
    this.#pending.delete(id);
    // Node.js may exit while nothing is asked of the thread
    if (this.#pending.size === 0) this.#thread?.keepAlive(false);
    if (error) p.reject(error);
    else p.resolve(result);
  }

  #fail(why, code = 'WORKER') {
    if (this.#failure) return;
    this.#failure = new LstmError(code === 'DISPOSED' ? why : `TrainingWorker: ${why}`, code, STATUS.STATE);
    this.#state = 'idle';
    for (const id of [...this.#pending.keys()]) this.#settle(id, this.#failure);
  }

  // ---- the text and the session ----

  /** What a text is as the thread cleans it ({ name, chars, fingerprint, vocabSize }) and the
   * recipe's schedule length for it (epochs). The thread keeps it for the next call that
   * names the same text. */
  describeText(text) { return this.#try('describeText', () => textArgs('describeText', text)); }

  /** A new Session (Session.create) on this text; what the thread held is freed once it is made. */
  createSession(text, settings = {}) {
    return this.#try('createSession', () => ({ ...textArgs('createSession', text), settings: portable('createSession', settings) }));
  }

  /** Continue a saved model (Session.open). */
  openSession(bytes) {
    return this.#try('openSession', () => ({ bytes: bytesOf('openSession', bytes) }));
  }

  /** Train on this text from now on (Session.attach: TOKEN_RANGE, TOO_SMALL). */
  attach(text) { return this.#try('attach', () => textArgs('attach', text)); }

  /** Change training settings (Session.configure); a run under way takes them at its next unit. */
  configure(settings) { return this.#try('configure', () => ({ settings: portable('configure', settings) })); }

  /** Session.estimate(settings, text) with `text` ({ vocabSize, chars }), else the session's estimate(settings). */
  estimate(settings = {}, text) { return this.#try('estimate', () => ({ settings: portable('estimate', settings), text })); }

  /** What the thread holds now: a session's or a model's description, or null. */
  info() { return this.#request('info'); }

  /** Free what the thread holds (not during a run). */
  discard() { return this.#request('discard'); }

  // ---- a model for fit ----

  /** A new Model (Model.create options) for fit. */
  createModel(options) { return this.#try('createModel', () => ({ options: portable('createModel', options) })); }

  /** A saved Model for fit. */
  loadModel(bytes) { return this.#try('loadModel', () => ({ bytes: bytesOf('loadModel', bytes) })); }

  // ---- runs ----

  /**
   * Train the session: `steps` steps, or for `seconds` of training, or until cancel()
   * (without either). 'progress' after every unit (~100 ms), 'sample' every `sampleEvery`
   * seconds (default 4; 0: none). Resolves when the run ends: { reason: 'steps' | 'seconds' |
   * 'cancelled', steps, seconds, progress }; rejects with the step's LstmError.
   */
  train(options = {}) {
    return this.#try('train', () => {
      const { steps, seconds, sampleEvery } = checkOptions('TrainingWorker.train', options, ['steps', 'seconds', 'sampleEvery']);
      for (const [k, v] of Object.entries({ steps, seconds, sampleEvery })) {
        if (v !== undefined && !(typeof v === 'number' && v >= 0 && (k !== 'steps' || Number.isInteger(v) || v === Infinity))) {
          throw new LstmError(`TrainingWorker.train: ${k} must be a ${k === 'steps' ? 'whole ' : ''}number >= 0, got ${String(v)}`);
        }
      }
      return { steps, seconds, sampleEvery };
    });
  }

  /** Model.fit on the thread's model, batch by batch; 'progress' after every unit. Resolves
   * with fit's result (stopped: true after cancel()). Options are data: no onEpochEnd or
   * onBatchEnd (listen to 'progress'), no schedule function. */
  fit(x, y, options = {}) {
    return this.#try('fit', () => ({ x, y, options: portable('fit', options) }));
  }

  /** Pause the run: resolves once the thread has stopped taking steps ({ state }). */
  pause() { return this.#request('pause'); }
  /** Resume a paused run. */
  resume() { return this.#request('resume'); }
  /** End the run (its promise resolves with reason 'cancelled', or fit's stopped: true). */
  cancel() { return this.#request('cancel'); }

  // ---- results ----

  /** The saved file of the session (Session.save: model, training state, metadata) or of
   * the model, now, even while training. */
  save() { return this.#request('save'); }

  /** The model as a Model on the calling thread, loaded from save()'s bytes. Dispose it. */
  async model() { return Model.load(await this.save()); }

  /**
   * Text generated by the thread's model (Model.generateChars options, but vocab: the
   * model's own), streamed: an async iterator of pieces, as the thread writes them. Training
   * waits meanwhile. Leaving the loop early (break, return()) stops it.
   */
  generate(options = {}) {
    const pieces = [];
    let wake = () => {};
    let end = null; // { error } once the request settled
    const id = this.#nextId; // the id of the request made now
    const request = this.#try('generate', () => {
      if (options?.vocab !== undefined) throw new LstmError('TrainingWorker.generate: the model\'s own vocabulary is used (no vocab option)');
      return { options: portable('generate', options) };
    }, (text) => { pieces.push(text); wake(); });
    request.then(() => { end = {}; wake(); }, (error) => { end = { error }; wake(); });
    const cancel = () => (end ? null : this.#request('cancelGenerate', { target: id }).catch(() => null));
    return {
      [Symbol.asyncIterator]() { return this; },
      async next() {
        while (!pieces.length && !end) await new Promise((resolve) => { wake = resolve; });
        if (pieces.length) return { value: pieces.shift(), done: false };
        if (end.error) throw end.error;
        return { value: undefined, done: true };
      },
      async return() {
        await cancel();
        return { value: undefined, done: true };
      },
    };
  }

  // A request whose arguments are checked here first: a bad one rejects, it does not throw.
  #try(type, args, chunk) {
    try {
      return this.#request(type, args(), { chunk });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** End the thread: what it held is gone, pending requests reject with LstmError DISPOSED.
   * Safe to call twice; Node.js is not kept alive by it afterwards. */
  dispose() {
    if (this.disposed) return;
    this.#fail('the TrainingWorker was disposed', 'DISPOSED');
    this.#thread?.end();
  }

  [Symbol.dispose]() { this.dispose(); }
}

// init() options as the thread needs them: a wasmUrl absolute (the thread's own location is
// another file).
function threadInit(options) {
  const o = checkOptions('TrainingWorker.create: init', options, ['simd', 'threads', 'wasmUrl', 'wasmBinary']);
  if (o.wasmUrl === undefined) return o;
  const base = typeof location !== 'undefined' ? location.href : import.meta.url;
  return { ...o, wasmUrl: new URL(String(o.wasmUrl), base).href };
}
