// inference.js - the inference state as bytes (lstm_infer_state_* in include/lstm.h): Model's
// inferenceState and restoreInferenceState. `core` is the model's handle ({ wasm, ptr, check }).

import { LstmError } from './errors.js';

/** Model.inferenceState: each layer's h and c, the pending logits, the tokens read and the
 * sampler's random state, as versioned, checksummed bytes. */
export function inferenceState(core) {
  const w = core.wasm;
  const size = w.scratch([4], (s) => {
    core.check(w.x.lstm_infer_state_size(core.ptr, s), 'inferenceState');
    return w.u32(s, 1)[0];
  });
  return w.scratch([size, 4], (buf, written) => {
    core.check(w.x.lstm_infer_state_save(core.ptr, buf, size, written), 'inferenceState');
    return w.u8(buf, size).slice();
  });
}

/** Model.restoreInferenceState: bytes from inferenceState() of a model of the same shape; the
 * core checks them whole before changing anything. */
export function restoreInferenceState(core, bytes) {
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  if (!(bytes instanceof Uint8Array)) throw new LstmError(`restoreInferenceState needs the Uint8Array inferenceState() returned, got ${bytes === null ? 'null' : typeof bytes}`);
  const w = core.wasm;
  w.scratch([bytes.length], (buf) => {
    w.u8(buf, bytes.length).set(bytes);
    core.check(w.x.lstm_infer_state_load(core.ptr, buf, bytes.length), 'restoreInferenceState');
  });
}
