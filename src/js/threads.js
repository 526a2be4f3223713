// threads.js - how many threads the threads build may use here, and starting them: each extra
// thread is a worker (a Web Worker, or worker_threads in Node) that instantiates the same
// module on the same shared memory and runs lstm_thread_main (src/threads.c).

import { isNode } from './event_loop.js';

const STACK_BYTES = 256 * 1024; // per extra thread: the kernels use a few KB

/** { available, reason }: the threads this environment can run, and why it is only one. */
export async function availableThreads() {
  const notIsolated = { available: 1, reason: 'the page is not cross-origin isolated (it needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so it has no shared memory' };
  // first: a browser hides SharedArrayBuffer from a page that is not isolated
  if (!isNode && globalThis.crossOriginIsolated === false) return notIsolated;
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    return { available: 1, reason: 'this engine has no SharedArrayBuffer' };
  }
  if (isNode) {
    const os = await import(/* @vite-ignore */ 'node:os');
    return { available: os.availableParallelism?.() ?? os.cpus().length, reason: 'Node.js worker_threads' };
  }
  if (globalThis.crossOriginIsolated !== true) return notIsolated;
  return { available: globalThis.navigator?.hardwareConcurrency ?? 1, reason: 'cross-origin isolated page' };
}

/** A Node.js worker's execArgv: the process's, less --input-type, which a worker refuses
 * (node --input-type=module -e ... would otherwise fail to start any). */
export const nodeWorkerArgv = () => process.execArgv.filter((a) => !a.startsWith('--input-type'));

/** May this thread block in memory.atomic.wait? A browser's main thread may not. */
export const mayBlock = () => isNode || typeof window === 'undefined';

/** Start threads 1..n-1 of the instantiated threads build `exports` (module, shared memory);
 * resolves once all of them wait for work. Workers do not keep Node.js running. */
export async function startThreads(n, module, memory, exports, malloc) {
  const epoch = exports.lstm_thread_epoch();
  const started = [];
  for (let index = 1; index < n; index++) {
    const stackTop = (malloc(STACK_BYTES) + STACK_BYTES) & ~15; // the stack grows down
    const data = { module, memory, index, epoch, stackTop };
    started.push(isNode ? nodeWorker(data) : webWorker(data));
  }
  await Promise.all(started);
}

async function nodeWorker(data) {
  const { Worker } = await import(/* @vite-ignore */ 'node:worker_threads');
  const worker = new Worker(new URL('./thread-worker.js', import.meta.url), { workerData: data, execArgv: nodeWorkerArgv() });
  worker.unref();
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

function webWorker(data) {
  const worker = new Worker(new URL('./thread-worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(`a thread of the threads build failed to start: ${e.message}`));
    worker.postMessage(data);
  });
}
