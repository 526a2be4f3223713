// corpus.js - a text made ready for char-rnn training: cleaned the one way every shell cleans
// it (so the same file gives the same vocabulary everywhere), with its vocabulary, size and
// fingerprint. It holds the text only: encoding it for a model is the Session's job.

import { LstmError } from './errors.js';
import { Vocabulary } from './text.js';

/** A UTF-16 surrogate without its pair: text that no file or vocabulary can hold. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The text as it is trained on: a byte-order mark and Windows or old Mac line ends would only
 * add useless symbols to the vocabulary, so they go; lone UTF-16 surrogates (broken
 * characters) and empty texts are refused with LstmError code BAD_TEXT. */
function cleanText(text) {
  if (typeof text !== 'string') throw new LstmError('the text must be a string', 'BAD_TEXT');
  const clean = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (clean.trim().length === 0) throw new LstmError('the text is empty', 'BAD_TEXT');
  const bad = LONE_SURROGATE.exec(clean);
  if (bad) throw new LstmError(`the text contains a broken character (a lone UTF-16 surrogate) at offset ${bad.index}`, 'BAD_TEXT');
  return clean;
}

/** FNV-1a over the UTF-16 units, as 8 hex digits: tells "the same text" from "another text"
 * in a model's metadata (not a security hash). The demo's first files used it too. */
function fingerprint(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function countCodePoints(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++; // count each surrogate pair once
  }
  return n;
}

/** A cleaned text with its name (given by the caller: a file name, "Brown corpus"...). */
export class Corpus {
  constructor(text, options = {}) {
    const { name = 'text' } = options;
    this.text = cleanText(text);
    this.name = String(name);
    this.chars = countCodePoints(this.text);
    this.fingerprint = fingerprint(this.text);
    this.vocab = Vocabulary.fromText(this.text);
  }

  /** The characters of this text that `vocab` lacks (a model with that vocabulary cannot
   * train on it), in code point order. */
  unknownChars(vocab) {
    return this.vocab.toJSON().filter((cp) => !vocab.index.has(cp)).map((cp) => String.fromCodePoint(cp));
  }

  /** What a model's metadata says about the text it was trained on. */
  describe() {
    return { name: this.name, chars: this.chars, fingerprint: this.fingerprint, vocabSize: this.vocab.size };
  }
}
