// errors.js - the library's error classes, and the one function that turns a C status into one.

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
