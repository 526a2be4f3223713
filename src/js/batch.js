// batch.js - a batch object ({ batch, steps, tokens | inputs, targets | targetValues, lengths })
// checked against a model's config and copied into the wasm heap as an lstm_batch.

import { BATCH, limits } from './abi.js';
import { checkInt, checkOptions } from './checks.js';
import { LstmError } from './errors.js';

/** Check batch b for a model with `config`, copy it into scratch heap blocks and return
 * fn(pointer to the lstm_batch); the blocks are freed afterwards. Targets are left out (and
 * not required) without needTargets. `what` names the call in messages. */
export function withBatch(wasm, config, what, b, fn, needTargets = true) {
  checkOptions(what, b, ['batch', 'steps', 'tokens', 'inputs', 'targets', 'targetValues', 'lengths']);
  const B = checkInt(`${what}: batch`, b.batch, 1, limits.maxBatch);
  const T = checkInt(`${what}: steps`, b.steps, 1, limits.maxSteps);
  const n = B * T;
  const { dense, inputSize, head, returnSequences, outputSize } = config;
  const rows = returnSequences ? n : B;
  const rowsName = returnSequences ? 'batch*steps' : 'batch';
  const asInt = (name, a, count, countName) => {
    if (!a || a.length !== count) throw new LstmError(`${what}: ${name} must have ${countName} = ${count} entries, got ${a?.length}`);
    return a instanceof Int32Array ? a : Int32Array.from(a);
  };
  let targets = null;
  let values = null;
  if (needTargets && head === 'mse') {
    if (b.targets !== undefined) throw new LstmError(`${what}: an mse model takes targetValues, not targets`);
    const count = rows * outputSize;
    if (!b.targetValues || b.targetValues.length !== count) {
      throw new LstmError(`${what}: targetValues must have ${rowsName}*outputSize = ${count} values, got ${b.targetValues?.length}`);
    }
    values = b.targetValues instanceof Float32Array ? b.targetValues : Float32Array.from(b.targetValues);
  } else if (needTargets) {
    if (b.targetValues !== undefined) throw new LstmError(`${what}: a softmax model takes targets (class ids), not targetValues`);
    targets = asInt('targets', b.targets, rows, rowsName);
  }
  let input;
  if (dense) {
    if (!b.inputs || b.inputs.length !== n * inputSize) {
      throw new LstmError(`${what}: inputs must have batch*steps*inputSize = ${n * inputSize} values, got ${b.inputs?.length}`);
    }
    input = b.inputs instanceof Float32Array ? b.inputs : Float32Array.from(b.inputs);
  } else {
    input = asInt('tokens', b.tokens, n, 'batch*steps');
  }
  let lengths = null;
  if (b.lengths != null) {
    lengths = asInt('lengths', b.lengths, B, 'batch');
    lengths.forEach((len, i) => {
      if (len < 1 || len > T) throw new LstmError(`${what}: lengths[${i}] = ${len} is outside [1, ${T}]`);
    });
  }
  const size = (a) => (a ? a.byteLength : 0);
  const copy = (ptr, a) => { if (a) wasm.u8(ptr, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)); };
  return wasm.scratch([BATCH.size, input.byteLength, size(targets), size(values), size(lengths)], (desc, inp, tgt, val, len) => {
    copy(inp, input);
    copy(tgt, targets);
    copy(val, values);
    copy(len, lengths);
    wasm.writeStruct(BATCH, desc, {
      batch: B, steps: T, tokens: dense ? 0 : inp, inputs: dense ? inp : 0,
      targets: targets ? tgt : 0, targetValues: values ? val : 0, lengths: lengths ? len : 0,
    });
    return fn(desc);
  });
}
