// text.js - text as model input: a character vocabulary, token streams in the wasm heap, and a
// text split into training and validation streams.

import { STATUS } from './abi.js';
import { checkNumber, checkOptions } from './checks.js';
import { LstmError, statusError } from './errors.js';

/** A character vocabulary over Unicode code points (not UTF-16 units, not bytes). */
export class Vocabulary {
  /** @param {Iterable<number>} codePoints distinct code points, in id order */
  constructor(codePoints) {
    this.codePoints = Uint32Array.from(codePoints);
    this.index = new Map();
    this.codePoints.forEach((cp, i) => {
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new LstmError(`vocabulary entry ${i} is not a Unicode scalar value: ${cp}`);
      }
      if (this.index.has(cp)) throw new LstmError(`vocabulary has code point ${cp} twice`);
      this.index.set(cp, i);
    });
    if (this.codePoints.length === 0) throw new LstmError('vocabulary is empty');
  }

  /** The sorted distinct code points of a text. Lone surrogates are rejected. */
  static fromText(text) {
    if (typeof text !== 'string') throw new LstmError('text must be a string');
    if (text.length === 0) throw new LstmError('text is empty: no vocabulary can be built');
    const set = new Set();
    for (const ch of text) set.add(ch.codePointAt(0));
    return new Vocabulary([...set].sort((a, b) => a - b));
  }

  get size() { return this.codePoints.length; }

  /** Text to ids. Unknown characters throw, or with { unknown: 'skip' } are dropped. */
  encode(text, options = {}) {
    const { unknown = 'error' } = checkOptions('encode', options, ['unknown']);
    if (unknown !== 'error' && unknown !== 'skip') throw new LstmError(`encode: unknown must be 'error' or 'skip', got ${String(unknown)}`);
    if (typeof text !== 'string') throw new LstmError('text must be a string');
    const ids = new Int32Array(text.length);
    let n = 0;
    let offset = 0;
    for (const ch of text) {
      const cp = ch.codePointAt(0);
      const id = this.index.get(cp);
      if (id === undefined) {
        if (unknown !== 'skip') {
          throw statusError(STATUS.TOKEN_RANGE, `character ${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) at offset ${offset} is not in the vocabulary`);
        }
      } else {
        ids[n++] = id;
      }
      offset += ch.length;
    }
    return ids.slice(0, n);
  }

  decode(ids) {
    let out = '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.size) {
        throw statusError(STATUS.TOKEN_RANGE, `token ${id} is outside [0, ${this.size})`);
      }
      out += String.fromCodePoint(this.codePoints[id]);
    }
    return out;
  }

  has(ch) { return this.index.has(ch.codePointAt(0)); }
  toJSON() { return Array.from(this.codePoints); }
}

/** A sequence of token ids, copied into the wasm heap once on first use. */
export class TokenStream {
  constructor(ids) {
    this.ids = ids instanceof Int32Array ? ids : Int32Array.from(ids);
    this.ptr = 0;
    this.wasm = null;
  }

  get length() { return this.ids.length; }

  /** @internal the heap copy (made once). */
  heap(wasm) {
    if (!this.ptr) {
      this.ptr = wasm.copyIn(this.ids);
      this.wasm = wasm;
    }
    return this.ptr;
  }

  dispose() {
    if (this.ptr) this.wasm.free(this.ptr);
    this.ptr = 0;
  }

  [Symbol.dispose]() { this.dispose(); }
}

/** A text encoded with a vocabulary and split, in order, into training and validation parts. */
export class TextDataset {
  constructor(text, vocab, options = {}) {
    const { validationFraction = 0.1 } = checkOptions('TextDataset', options, ['validationFraction']);
    if (!(vocab instanceof Vocabulary)) throw new LstmError('vocab must be a Vocabulary');
    checkNumber('validationFraction', validationFraction, 0, 0.9);
    this.vocab = vocab;
    const ids = vocab.encode(text);
    if (ids.length < 2) throw new LstmError(`text has ${ids.length} characters; at least 2 are needed to train`);
    const nVal = Math.floor(ids.length * validationFraction);
    this.train = new TokenStream(ids.subarray(0, ids.length - nVal));
    this.validation = new TokenStream(ids.subarray(ids.length - nVal));
  }

  dispose() { this.train.dispose(); this.validation.dispose(); }
  [Symbol.dispose]() { this.dispose(); }
}
