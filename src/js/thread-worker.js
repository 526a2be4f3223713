// thread-worker.js - one extra thread of the threads build (started by threads.js): the module
// instantiated on the shared memory with a stack of its own, running lstm_thread_main until the
// pool no longer counts it. It sends one message, when it is about to wait for work.

function run({ module, memory, index, epoch, stackTop }, ready) {
  const instance = new WebAssembly.Instance(module, { env: { memory, emscripten_notify_memory_growth() {} } });
  instance.exports.stackRestore(stackTop);
  ready();
  instance.exports.lstm_thread_main(index, epoch);
}

if (typeof process !== 'undefined' && process.versions?.node) {
  // no top-level await: bundlers emit workers as classic scripts
  import(/* @vite-ignore */ 'node:worker_threads').then(({ parentPort, workerData }) => {
    run(workerData, () => parentPort.postMessage('ready'));
    parentPort.close();
  });
} else {
  self.onmessage = (e) => {
    run(e.data, () => self.postMessage('ready'));
    self.close();
  };
}
