// checks.js - argument checks, so that a bad value is refused with its name before it reaches C.

import { LstmError } from './errors.js';

export function checkInt(name, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LstmError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** A value that must be one of a list of names. */
export function checkChoice(name, value, names) {
  if (!names.includes(value)) throw new LstmError(`${name} must be ${names.map((n) => `'${n}'`).join(' or ')}, got ${String(value)}`);
  return value;
}

export function checkNumber(name, value, min, max, { minOpen = false, maxOpen = false } = {}) {
  const ok = typeof value === 'number' && Number.isFinite(value) &&
    (minOpen ? value > min : value >= min) && (maxOpen ? value < max : value <= max);
  if (!ok) {
    throw new LstmError(`${name} must be a number in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}, got ${String(value)}`);
  }
  return value;
}

// No truthy coercion: a string 'false' is a mistake to report, not a true.
export function checkBoolean(name, value) {
  if (typeof value !== 'boolean') throw new LstmError(`${name} must be true or false, got ${String(value)}`);
  return value;
}

/** The options object itself ({} when undefined); an unknown key is refused, naming the known. */
export function checkOptions(name, options, allowed) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new LstmError(`${name} must be an object`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new LstmError(`${name}: unknown option "${key}" (known: ${allowed.join(', ')})`);
    }
  }
  return options;
}

/** An array or typed array (not a DataView): what samples, steps and series may be. */
export const isSequence = (a) => Array.isArray(a) || (ArrayBuffer.isView(a) && !(a instanceof DataView));
