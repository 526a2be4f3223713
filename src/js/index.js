// index.js - the entry point of lstm-wasm's JavaScript API, shipped as dist/lstm.js beside the
// modules it re-exports and the two wasm builds. Works unchanged in Node.js, browsers and workers.

export { LstmError, LstmOutOfMemoryError } from './errors.js';
export { limits } from './abi.js';
export { init, simdSupported, buildInfo, _internals } from './loader.js';
export { Vocabulary, TokenStream, TextDataset } from './text.js';
export { slidingWindows } from './series.js';
export { Model } from './model.js';
export { Corpus } from './corpus.js';
export { Session } from './session.js';
export { TrainingWorker } from './training_worker.js';
