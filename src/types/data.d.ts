// types/data.d.ts - text and data: Vocabulary, TokenStream, TextDataset, Corpus, the Sequences and Targets of fit, slidingWindows.

export class Vocabulary {
  constructor(codePoints: Iterable<number>);
  /** Sorted distinct Unicode code points of the text. */
  static fromText(text: string): Vocabulary;
  readonly codePoints: Uint32Array;
  readonly size: number;
  encode(text: string, options?: { unknown?: 'error' | 'skip' }): Int32Array;
  decode(ids: Iterable<number>): string;
  has(char: string): boolean;
  toJSON(): number[];
}

/** Token ids, copied into the wasm heap once on first use. */
export class TokenStream {
  constructor(ids: Int32Array | ArrayLike<number>);
  readonly ids: Int32Array;
  readonly length: number;
  dispose(): void;
  [Symbol.dispose](): void;
}

export class TextDataset {
  constructor(text: string, vocab: Vocabulary, options?: { validationFraction?: number });
  readonly vocab: Vocabulary;
  readonly train: TokenStream;
  readonly validation: TokenStream;
  dispose(): void;
  [Symbol.dispose](): void;
}

/** Samples for fit / evaluate / predict: one sequence per sample, lengths may differ.
 * Token models: ids. Dense models: steps (arrays of inputSize numbers, or numbers when
 * inputSize is 1), or one flat array of length*inputSize numbers. */
export type Sequences = ArrayLike<ArrayLike<number> | ArrayLike<ArrayLike<number>>>;
/** Targets: per sample a class id or outputSize numbers (returnSequences false), or one
 * such target per step (returnSequences true). */
export type Targets = ArrayLike<number | ArrayLike<number> | ArrayLike<ArrayLike<number>>>;

export interface WindowedSeries {
  train: { x: Float32Array[]; y: Float32Array[] };
  validation: { x: Float32Array[]; y: Float32Array[] };
  test: { x: Float32Array[]; y: Float32Array[] };
  inputSize: number;
  outputSize: number;
  window: number;
  horizon: number;
  /** Per feature, of the training part only. */
  mean: number[];
  std: number[];
  denormalize(values: ArrayLike<number>): Float64Array;
}

/** Sliding windows over a series (numbers, or arrays of equal width), split in order. */
export function slidingWindows(series: ArrayLike<number> | ArrayLike<ArrayLike<number>>, options: {
  window: number; horizon?: number; split?: [number, number, number]; normalize?: boolean;
}): WindowedSeries;

/** A text made ready for char-rnn training, cleaned as every shell cleans it: a byte-order
 * mark dropped, CRLF and CR made LF; lone UTF-16 surrogates and empty texts are refused
 * (LstmError code 'BAD_TEXT'). */
export class Corpus {
  constructor(text: string, options?: { name?: string });
  /** The cleaned text. */
  readonly text: string;
  /** Given by the caller (a file name, "Brown corpus"...); saved in the metadata. */
  readonly name: string;
  /** Unicode code points. */
  readonly chars: number;
  /** FNV-1a of the cleaned text's UTF-16 units, 8 hex digits: "the same text" or not. */
  readonly fingerprint: string;
  readonly vocab: Vocabulary;
  /** Characters of this text that `vocab` lacks. */
  unknownChars(vocab: Vocabulary): string[];
  describe(): CorpusInfo;
}

export interface CorpusInfo {
  name: string;
  chars: number;
  /** null for a file converted from a format that kept another kind of fingerprint. */
  fingerprint: string | null;
  vocabSize: number;
}
