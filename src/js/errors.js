// errors.js - the library's error classes, the one function that turns a C status into one, and
// errors as plain data for the way across a thread (TrainingWorker).

import { STATUS, STATUS_NAMES } from './abi.js';

/** Every failure of this library is an LstmError; `code` names the cause. */
export class LstmError extends Error {
  constructor(message, code = 'INVALID_ARGUMENT', status = STATUS.INVALID_ARGUMENT) {
    super(message);
    this.name = 'LstmError';
    this.code = code;
    this.status = status;
  }
}

/** An allocation failed (the wasm heap could not grow); the model is unchanged. */
export class LstmOutOfMemoryError extends LstmError {
  constructor(message) {
    super(message, 'OUT_OF_MEMORY', STATUS.OUT_OF_MEMORY);
    this.name = 'LstmOutOfMemoryError';
  }
}

/** The error for an lstm_status, named by its code (a status this build does not know keeps
 * its number: STATUS_12). */
export function statusError(status, message) {
  const code = STATUS_NAMES[status] ?? `STATUS_${status}`;
  return status === STATUS.OUT_OF_MEMORY ? new LstmOutOfMemoryError(message) : new LstmError(message, code, status);
}

/** An error as plain data, to cross a thread boundary (postMessage keeps no class): an
 * LstmError's name, code, message and status; any other error as an LstmError of code WORKER
 * naming what it was. */
export function errorData(e) {
  if (e instanceof LstmError) return { name: e.name, code: e.code, message: e.message, status: e.status };
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { name: 'LstmError', code: 'WORKER', message: what, status: STATUS.STATE };
}

/** The error errorData described, as an LstmError again (LstmOutOfMemoryError for
 * OUT_OF_MEMORY) with its name, code, message and status. */
export function errorFromData({ name, code, message, status }) {
  const e = code === 'OUT_OF_MEMORY' ? new LstmOutOfMemoryError(message) : new LstmError(message, code, status);
  e.name = name;
  return e;
}
