// messages.js - the library's errors (LstmError codes) in the page's words, and the page's own
// check that a model is small enough to train here.

/** A library message ("the text is too small: ...") as a sentence. */
const sentence = (message) => `${message[0].toUpperCase()}${message.slice(1)}${/[.!?]$/.test(message) ? '' : '.'}`;

/** An Error whose message is what the page shows for e. */
export function pageError(e) {
  if (e?.code === 'OUT_OF_MEMORY') {
    return new Error(`Out of memory: ${e.message}. Choose a smaller model (hidden size, layers) or a smaller batch size or sequence length.`);
  }
  if (['BAD_TEXT', 'TOO_SMALL', 'INVALID_ARGUMENT'].includes(e?.code)) return new Error(sentence(e.message));
  if (e?.code === 'NON_FINITE') return new Error(`Training stopped: ${e.message.replace(/^trainSteps: /, '')}. The model is kept as it was before those steps.`);
  return e;
}

/** Why a model file cannot be loaded, as the page says it. */
export function loadError(e) {
  if (e.code === 'OUT_OF_MEMORY') return pageError(e);
  if (e.code === 'NOT_TEXT_MODEL') return new Error('This model has no character vocabulary, so it is not a character-level language model the demo can use.');
  const why = {
    BAD_MAGIC: 'it is not a model file saved by this demo or by lstm-wasm',
    TRUNCATED: 'the file is incomplete',
    CHECKSUM: 'the file is damaged (checksum mismatch)',
    UNSUPPORTED_VERSION: 'it was saved by an incompatible version of lstm-wasm',
  }[e.code];
  return new Error(why ? `This file cannot be loaded: ${why}.` : `This file cannot be loaded: ${e.message}`);
}

/** Why the model cannot continue on the chosen text (Session.attach's TOKEN_RANGE or
 * TOO_SMALL), or null for another error. */
export function attachProblem(e) {
  if (e.code === 'TOKEN_RANGE') return `${sentence(e.message)} Use the text it was trained on, or start a new model for this text.`;
  if (e.code === 'TOO_SMALL') return sentence(e.message);
  return null;
}

// A laptop core does ~3e10 flops/s in wasm SIMD. Pause can only answer between steps, so a
// step must stay short: beyond ~5 s the page refuses to train.
const FLOPS_PER_SECOND = 3e10;
const MAX_STEP_SECONDS = 5;

/** Seconds one training step of this estimate (Session.estimate) takes here, about. */
export const stepSeconds = (estimate) => estimate.stepFlops / FLOPS_PER_SECOND;

/** Refuse settings whose steps would keep Pause waiting. */
export function checkCost(estimate, settings) {
  const seconds = stepSeconds(estimate);
  if (seconds > MAX_STEP_SECONDS) {
    throw new Error(`This is too big to train interactively in a browser: one training step (batch ${settings.batchSize} × sequence ${settings.seqLength}, ${estimate.parameters.toLocaleString('en-US')} parameters) would take about ${Math.round(seconds)} s, and Pause can only act between steps. Choose a smaller hidden size, fewer layers, or a smaller batch or sequence length.`);
  }
}

/** A character as the page shows it in a list. */
export const showChar = (ch) => (ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === ' ' ? '␠' : ch);
