// step_guard.js - the bad-step policy of a model (src/step_guard.c) from JavaScript: its
// settings checked and set, read back, and the training statistics it keeps. `core` is the
// model's handle ({ wasm, ptr, check }), as generate.js and trace.js take it.

import { SKIP_REASONS, STEP_GUARD, TRAINING_STATS, limits } from './abi.js';
import { checkInt, checkNumber, checkOptions } from './checks.js';

/** Model.stepGuard: { maxSkips, skipIfLossAbove }. */
export function stepGuard(core) {
  const w = core.wasm;
  return w.scratch([STEP_GUARD.size], (g) => {
    core.check(w.x.lstm_get_step_guard(core.ptr, g), 'stepGuard');
    const { maxSkips, lossFactor } = w.readStruct(STEP_GUARD, g);
    return { maxSkips, skipIfLossAbove: lossFactor };
  });
}

/** Model.setStepGuard: unset fields keep their current values. */
export function setStepGuard(core, options = {}) {
  checkOptions('setStepGuard', options, ['maxSkips', 'skipIfLossAbove']);
  const cur = stepGuard(core);
  const maxSkips = checkInt('maxSkips', options.maxSkips ?? cur.maxSkips, 1, limits.maxSkips);
  const lossFactor = options.skipIfLossAbove ?? cur.skipIfLossAbove;
  if (lossFactor !== 0) checkNumber('skipIfLossAbove', lossFactor, 1, 1e6, { minOpen: true });
  const w = core.wasm;
  w.scratch([STEP_GUARD.size], (g) => {
    w.writeStruct(STEP_GUARD, g, { maxSkips, lossFactor });
    core.check(w.x.lstm_set_step_guard(core.ptr, g), 'setStepGuard');
  });
}

/** Model.trainingStats. */
export function trainingStats(core) {
  const w = core.wasm;
  return w.scratch([TRAINING_STATS.size], (o) => {
    core.check(w.x.lstm_get_training_stats(core.ptr, o), 'trainingStats');
    const s = w.readStruct(TRAINING_STATS, o);
    return {
      steps: s.steps, skipped: s.skipped, skipStreak: s.skipStreak,
      lastSkipReason: SKIP_REASONS[s.lastReason], lossMean: s.lossMean,
    };
  });
}
