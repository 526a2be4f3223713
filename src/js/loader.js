// loader.js - finds, loads and instantiates the SIMD (or scalar) wasm build once, and gives
// the rest of the library its heap: typed views, allocation, structs and C strings.
//
// It must sit next to lstm-simd.wasm and lstm-scalar.wasm: it names them relative to its own
// import.meta.url.

import { STATUS, limits, readStruct, writeStruct } from './abi.js';
import { checkInt, checkOptions } from './checks.js';
import { LstmError, LstmOutOfMemoryError, statusError } from './errors.js';
import { isNode } from './event_loop.js';
import { availableThreads, mayBlock, startThreads } from './threads.js';

// The smallest module that uses a SIMD instruction (i8x16.popcnt): validates only with SIMD.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1,
  0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** True when this JavaScript engine supports WebAssembly 128-bit SIMD. */
export function simdSupported() {
  try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

async function fetchBytes(url) {
  if (isNode && url.protocol === 'file:') {
    // a computed specifier, so that bundlers for the browser do not try to resolve node:fs
    const fsName = 'node:fs/promises';
    const fs = await import(/* @vite-ignore */ fsName);
    return fs.readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new LstmError(`cannot fetch ${url}: HTTP ${response.status}`, 'LOAD');
  return response.arrayBuffer();
}

let loading = null;
let loadedWith = null; // the options the module was loaded with

/**
 * Load the wasm module (once). Options: `simd` (true/false to force a build), `threads` (how
 * many threads run the large matrix products; default: every core where shared memory is
 * available, i.e. in Node.js and on cross-origin isolated pages; 1 elsewhere, with the reason
 * in buildInfo()), `wasmUrl` (URL or string of the .wasm to use), `wasmBinary` (its bytes).
 * Without options the SIMD build is used where supported and the scalar build elsewhere,
 * found next to this file; with threads, the SIMD threads build.
 * Once loaded, a call with options that would load something else is refused rather than
 * ignored: they belong in the first call, before any Model.create or Model.load.
 */
export function init(options = {}) {
  try {
    checkInitOptions(options);
  } catch (e) {
    return Promise.reject(e);
  }
  if (!loading) {
    loadedWith = options;
    loading = instantiate(options).catch((e) => { loading = null; loadedWith = null; throw e; });
    return loading;
  }
  const asked = Object.keys(options).filter((k) => options[k] !== undefined);
  if (asked.length === 0) return loading;
  return loading.then((wasm) => {
    // a URL may be a new object or a string naming the same file: compare what it names
    const url = (u) => (u === undefined ? undefined : String(u));
    const same = asked.every((k) => (k === 'simd' ? options.simd === wasm.simd
      : k === 'threads' ? options.threads === wasm.threads
        : k === 'wasmUrl' ? url(options.wasmUrl) === url(loadedWith.wasmUrl) : options[k] === loadedWith[k]));
    if (!same) {
      throw statusError(STATUS.STATE, `init: the module is already loaded (the ${wasm.simd ? 'SIMD' : 'scalar'} build), so ${asked.join(', ')} cannot apply; pass them to the first init(), before any Model.create or Model.load`);
    }
    return wasm;
  });
}

function checkInitOptions(options) {
  checkOptions('init', options, ['simd', 'threads', 'wasmUrl', 'wasmBinary']);
  if (options.threads !== undefined) checkInt('threads', options.threads, 1, limits.maxThreads);
}

async function instantiate(options) {
  checkInitOptions(options);
  const simd = options.simd ?? simdSupported();
  if (simd && !simdSupported()) throw new LstmError('this engine has no WebAssembly SIMD', 'LOAD');
  const { available, reason } = await availableThreads();
  if (options.threads > 1 && available < 2) throw new LstmError(`init: threads ${options.threads} cannot run here: ${reason}`, 'LOAD');
  if (options.threads > 1 && !simd) throw new LstmError('init: threads need the SIMD build (the threads build has SIMD)', 'LOAD');
  const threads = simd ? options.threads ?? available : 1;
  let bytes = options.wasmBinary;
  if (!bytes) {
    const url = options.wasmUrl
      ? new URL(options.wasmUrl, typeof location !== 'undefined' ? location.href : import.meta.url)
      // Literal `new URL('./x.wasm', import.meta.url)` expressions, not one with a computed
      // name: bundlers (Vite, webpack 5, Parcel) recognise only this exact form, and then
      // emit the file and rewrite the URL.
      : threads > 1 ? new URL('./lstm-simd-threads.wasm', import.meta.url)
        : simd ? new URL('./lstm-simd.wasm', import.meta.url) : new URL('./lstm-scalar.wasm', import.meta.url);
    bytes = await fetchBytes(url);
  }
  const module = await WebAssembly.compile(bytes);
  // the threads build imports its memory: one shared memory for every thread's instance
  const shared = WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
  const memory = shared ? new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true }) : null;
  const instance = await WebAssembly.instantiate(module, {
    env: { memory, emscripten_notify_memory_growth() { /* views are made per access */ } },
  });
  const wasm = new Wasm(instance.exports, simd, memory);
  instance.exports._initialize();
  wasm.threads = 1;
  wasm.threadsReason = !simd ? 'the scalar build has one thread' : options.threads === 1 ? 'init({ threads: 1 })' : reason;
  if (shared && threads > 1) {
    await startThreads(threads, module, memory, instance.exports, (n) => wasm.malloc(n));
    const status = instance.exports.lstm_set_threads(threads, mayBlock() ? 1 : 0);
    if (status !== STATUS.OK) throw statusError(status, `init: cannot use ${threads} threads`);
    wasm.threads = threads;
  } else if (!shared && threads > 1) {
    wasm.threadsReason = 'this build (wasmUrl/wasmBinary) has no shared memory';
  }
  return wasm;
}

/** The loaded module: heap access and calls with status checks. Internal.
 * Rules kept by every user of it: no typed-array view of the heap survives a call that may
 * grow memory; results are copied out; temporary blocks are freed in `finally` (scratch);
 * pointers are read as unsigned (>>> 0). */
class Wasm {
  constructor(exports, simd, memory) {
    this.x = exports;
    this.memory = memory ?? exports.memory; // imported by the threads build
    this.kernels = this.utf8(exports.lstm_kernels_name());
    this.simd = simd && this.kernels.startsWith('wasmsimd');
  }

  get buffer() { return this.memory.buffer; }
  u8(ptr, n) { return new Uint8Array(this.buffer, ptr >>> 0, n); }
  i32(ptr, n) { return new Int32Array(this.buffer, ptr >>> 0, n); }
  u32(ptr, n) { return new Uint32Array(this.buffer, ptr >>> 0, n); }
  f32(ptr, n) { return new Float32Array(this.buffer, ptr >>> 0, n); }
  f64(ptr, n) { return new Float64Array(this.buffer, ptr >>> 0, n); }

  /** A struct of abi.js's `layout` at ptr, as a plain object. */
  readStruct(layout, ptr) { return readStruct(layout, this.buffer, ptr); }
  writeStruct(layout, ptr, values) { writeStruct(layout, this.buffer, ptr, values); }

  utf8(ptr) {
    const heap = new Uint8Array(this.buffer);
    let end = ptr >>> 0;
    while (heap[end] !== 0) end++;
    // a copy: TextDecoder refuses views of shared memory (the threads build's)
    return new TextDecoder().decode(heap.slice(ptr >>> 0, end));
  }

  malloc(bytes) {
    const ptr = this.x.malloc(Math.max(bytes, 1)) >>> 0;
    if (ptr === 0) throw new LstmOutOfMemoryError(`cannot allocate ${bytes} bytes in the wasm heap`);
    return ptr;
  }

  free(ptr) { if (ptr) this.x.free(ptr); }

  /** Run fn with temporary heap blocks of the given byte sizes, freed afterwards. */
  scratch(sizes, fn) {
    const ptrs = [];
    try {
      for (const n of sizes) ptrs.push(this.malloc(n));
      return fn(...ptrs);
    } finally {
      for (const p of ptrs) this.free(p);
    }
  }

  /** Copy a typed array into a new heap block; the caller frees it. */
  copyIn(array) {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const ptr = this.malloc(bytes.length);
    this.u8(ptr, bytes.length).set(bytes);
    return ptr;
  }
}

/** The module, loaded with the default options unless init() was called first. */
export async function wasmInstance() { return init(); }

/** Information about the loaded build: { simd, kernels, threads, threadsReason (what allows
 * them, or why there is one), memoryBytes }. */
export async function buildInfo() {
  const w = await wasmInstance();
  return { simd: w.simd, kernels: w.kernels, threads: w.threads, threadsReason: w.threadsReason, memoryBytes: w.buffer.byteLength };
}

/** @internal for tests: the raw module (kernel checks, heap size). */
export async function _internals(options) {
  return options ? instantiate(options) : wasmInstance();
}
