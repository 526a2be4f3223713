// lstm_reference.mjs - an independent float64 forward pass and loss of lstm-wasm models, written
// from the equations in include/lstm.h. It is not the library: it imports nothing from src/ or
// dist/ and shares no code with them, so a test that agrees with it checks the core's formulas.
//
// Written for reading, not speed: one sequence at a time, one step at a time, plain loops.
// Padding needs no special case here: each sequence runs over its own valid steps only (the
// core's padded steps come after them, so they reach no valid output).
//
//   const ref = fromModel(model);            // { config, tensors: Map name -> Float64Array }
//   referenceOutputs(ref, batch);            // what model.predictBatch(batch) returns
//   referenceLoss(ref, batch);               // what model.evaluateBatch(batch).loss returns

const sigmoid = (x) => 1 / (1 + Math.exp(-x));
// TF.js's hardSigmoid (and Keras 2's): clip(0.2 x + 0.5, 0, 1)
const hardSigmoid = (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5));
const relu = (x) => (x > 0 ? x : 0);

/** Gate rows per unit of H: LSTM i, f, g, o (4); CIFG i, g, o (3); GRU r, z, n (3). */
function gateCount(config) {
  return config.cell === 'gru' || config.cifg ? 3 : 4;
}

/** The width of h: proj_size, or H without a projection. */
function stateSize(config) {
  return config.projSize > 0 ? config.projSize : config.hiddenSize;
}

/** The parameter tensors in arena order, [name, rows, cols], as include/lstm.h lays them out. */
export function expectedTensors(config) {
  const H = config.hiddenSize;
  const G = gateCount(config) * H;
  const S = stateSize(config);
  const D = config.bidirectional ? 2 : 1;
  const list = [];
  for (let l = 0; l < config.layers; l++) {
    const X = l === 0 ? config.inputSize : D * S; // inputSize is the vocabulary for token models
    for (const sfx of D === 2 ? ['', '_reverse'] : ['']) {
      list.push([`weight_ih_l${l}${sfx}`, G, X], [`weight_hh_l${l}${sfx}`, G, S],
        [`bias_ih_l${l}${sfx}`, G, 1], [`bias_hh_l${l}${sfx}`, G, 1]);
      if (config.peephole) list.push([`peephole_l${l}${sfx}`, config.cifg ? 2 : 3, H]);
      if (config.projSize > 0) list.push([`weight_hr_l${l}${sfx}`, config.projSize, H]);
      if (config.layerNorm) list.push([`layer_norm_gates_l${l}${sfx}`, 2, 4 * H], [`layer_norm_cell_l${l}${sfx}`, 2, H]);
    }
  }
  list.push(['out.weight', config.outputSize, D * S], ['out.bias', config.outputSize, 1]);
  return list;
}

/**
 * The description of a model through its public API only: config, and each tensor as a
 * float64 copy. Throws if the model's layout differs from the header's (names, order, shapes,
 * offsets back to back): the reference reads tensors by name, so a layout it does not expect
 * would otherwise go unnoticed.
 */
export function fromModel(model) {
  const config = model.config;
  const params = model.parameters();
  const infos = model.tensors();
  const want = expectedTensors(config);
  const got = infos.map((t) => [t.name, t.rows, t.cols]);
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`tensor layout differs from include/lstm.h:\n  got  ${JSON.stringify(got)}\n  want ${JSON.stringify(want)}`);
  }
  const tensors = new Map();
  let offset = 0;
  for (const t of infos) {
    if (t.offset !== offset) throw new Error(`${t.name} at offset ${t.offset}, expected ${offset}`);
    tensors.set(t.name, Float64Array.from(params.subarray(t.offset, t.offset + t.rows * t.cols)));
    offset += t.rows * t.cols;
  }
  if (offset !== params.length) throw new Error(`tensors cover ${offset} of ${params.length} parameters`);
  return { config, tensors };
}

/** y = W x for W (rows, cols) row-major; x is a vector, or { token } for a one-hot input
 * (the column W[:, token]). */
function matVec(W, rows, cols, x) {
  const y = new Float64Array(rows);
  if (x.token !== undefined) {
    for (let r = 0; r < rows; r++) y[r] = W[r * cols + x.token];
    return y;
  }
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < cols; k++) s += W[r * cols + k] * x[k];
    y[r] = s;
  }
  return y;
}

/** (v - mean) / sqrt(var + 1e-5) * gain + bias over v's n values (biased variance, PyTorch's
 * LayerNorm); gain and bias are read at gain[g0 + j] and bias[b0 + j]. */
function layerNorm(v, gain, g0, bias, b0) {
  const n = v.length;
  let mean = 0;
  for (let j = 0; j < n; j++) mean += v[j];
  mean /= n;
  let variance = 0;
  for (let j = 0; j < n; j++) variance += (v[j] - mean) ** 2;
  variance /= n;
  const rstd = 1 / Math.sqrt(variance + 1e-5);
  return v.map((x, j) => gain[g0 + j] * (x - mean) * rstd + bias[b0 + j]);
}

/**
 * One unit (one direction of layer l, tensor suffix sfx) over the input steps xs, from a zero
 * state. Returns h after each step (S values each).
 */
function runUnit(ref, l, sfx, xs) {
  const { config, tensors } = ref;
  const H = config.hiddenSize;
  const S = stateSize(config);
  const G = gateCount(config) * H;
  const X = l === 0 ? config.inputSize : (config.bidirectional ? 2 : 1) * S;
  const get = (name) => tensors.get(`${name}_l${l}${sfx}`);
  const Wih = get('weight_ih');
  const Whh = get('weight_hh');
  const bih = get('bias_ih');
  const bhh = get('bias_hh');
  const act = config.activation === 'relu' ? relu : Math.tanh;
  const gate = config.recurrentActivation === 'hardSigmoid' ? hardSigmoid : sigmoid;
  let h = new Float64Array(S);
  let c = new Float64Array(H);
  const out = [];
  for (const x of xs) {
    const wx = matVec(Wih, G, X, x);
    const wh = matVec(Whh, G, S, h);
    if (config.cell === 'gru') {
      // rows r, z, n; the reset gate multiplies the recurrent product including b_hn, or with
      // resetAfter false (Keras' reset_after=False) h before W_hn: W_hn (r * h) + b_hn
      const next = new Float64Array(H);
      const r = new Float64Array(H);
      for (let j = 0; j < H; j++) r[j] = gate(wx[j] + bih[j] + wh[j] + bhh[j]);
      const whn = config.resetAfter === false
        ? matVec(Whh.subarray(2 * H * S), H, S, h.map((v, j) => r[j] * v)) : null;
      for (let j = 0; j < H; j++) {
        const z = gate(wx[H + j] + bih[H + j] + wh[H + j] + bhh[H + j]);
        const n = act(wx[2 * H + j] + bih[2 * H + j] + (whn ? whn[j] + bhh[2 * H + j] : r[j] * (wh[2 * H + j] + bhh[2 * H + j])));
        next[j] = (1 - z) * n + z * h[j];
      }
      h = next;
      out.push(h);
      continue;
    }
    // LSTM: rows i, f, g, o, or with CIFG i, g, o (f = 1 - i)
    let a = new Float64Array(G);
    for (let r = 0; r < G; r++) a[r] = bih[r] + bhh[r] + wx[r] + wh[r];
    if (config.layerNorm) {
      // each gate block normalised over its H units: gains in row 0, biases in row 1 of (2, 4H)
      const lg = get('layer_norm_gates');
      const y = new Float64Array(G);
      for (let k = 0; k < 4; k++) y.set(layerNorm(a.subarray(k * H, (k + 1) * H), lg, k * H, lg, G + k * H), k * H);
      a = y;
    }
    const cifg = config.cifg;
    const [ai, af, ag, ao] = cifg ? [0, -1, H, 2 * H] : [0, H, 2 * H, 3 * H];
    const peep = config.peephole ? get('peephole') : null; // rows i, f, o (CIFG: i, o), each H
    const [pi, pf, po] = cifg ? [0, -1, H] : [0, H, 2 * H];
    const cNew = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const i = gate(a[ai + j] + (peep ? peep[pi + j] * c[j] : 0)); // i sees c_{t-1}
      const f = cifg ? 1 - i : gate(a[af + j] + (peep ? peep[pf + j] * c[j] : 0));
      const g = act(a[ag + j]);
      cNew[j] = f * c[j] + i * g;
    }
    if (config.layerNorm) {
      const lc = get('layer_norm_cell');
      c = layerNorm(cNew, lc, 0, lc, H); // the normalised cell is the state
    } else {
      c = cNew;
    }
    const m = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const o = gate(a[ao + j] + (peep ? peep[po + j] * c[j] : 0)); // o sees c_t
      m[j] = o * act(c[j]);
    }
    h = config.projSize > 0 ? matVec(get('weight_hr'), S, H, m) : m;
    out.push(h);
  }
  return out;
}

/** The layer inputs of sequence b over its valid steps: { token } or a Float64Array each. */
function sequenceInputs(ref, batch, b, len) {
  const { config } = ref;
  const T = batch.steps;
  const xs = [];
  for (let t = 0; t < len; t++) {
    if (!config.dense) xs.push({ token: batch.tokens[b * T + t] });
    else xs.push(Float64Array.from(batch.inputs.slice((b * T + t) * config.inputSize, (b * T + t + 1) * config.inputSize)));
  }
  return xs;
}

/** The top layer's output at each valid step of sequence b: [h_fwd(t), h_rev(t)] when
 * bidirectional, where the reverse unit reads steps len-1 .. 0. */
function topOutputs(ref, batch, b, len) {
  const { config } = ref;
  let xs = sequenceInputs(ref, batch, b, len);
  for (let l = 0; l < config.layers; l++) {
    const fwd = runUnit(ref, l, '', xs);
    if (!config.bidirectional) {
      xs = fwd;
      continue;
    }
    const rev = runUnit(ref, l, '_reverse', xs.slice().reverse()).reverse(); // rev[t]: state after reading len-1 .. t
    xs = fwd.map((hf, t) => {
      const both = new Float64Array(hf.length * 2);
      both.set(hf, 0);
      both.set(rev[t], hf.length);
      return both;
    });
  }
  return xs;
}

/** The head's V pre-softmax values of one layer output. */
function head(ref, top) {
  const { config, tensors } = ref;
  const V = config.outputSize;
  const y = matVec(tensors.get('out.weight'), V, top.length, top);
  const b = tensors.get('out.bias');
  for (let j = 0; j < V; j++) y[j] += b[j];
  return y;
}

/**
 * Every scored row of the batch: { b, t, row, logits } with row its batch-first index
 * (b*T + t, or b with returnSequences false); padded steps are not scored.
 */
function scoredRows(ref, batch) {
  const { config } = ref;
  const B = batch.batch;
  const T = batch.steps;
  const rows = [];
  for (let b = 0; b < B; b++) {
    const len = batch.lengths ? batch.lengths[b] : T;
    const top = topOutputs(ref, batch, b, len);
    if (config.returnSequences) {
      for (let t = 0; t < len; t++) rows.push({ b, t, row: b * T + t, logits: head(ref, top[t]) });
      continue;
    }
    // the last valid step; bidirectional: each direction's final state, [h_fwd(len-1), h_rev(0)]
    let last = top[len - 1];
    if (config.bidirectional) {
      const half = last.length / 2;
      last = Float64Array.from(last);
      last.set(top[0].subarray(half), half);
    }
    rows.push({ b, t: len - 1, row: b, logits: head(ref, last) });
  }
  return rows;
}

/** log(sum(exp(z))), shifted by the max so exp cannot overflow. */
function logSumExp(z) {
  const top = Math.max(...z);
  let s = 0;
  for (const v of z) s += Math.exp(v - top);
  return top + Math.log(s);
}

/**
 * What lstm_predict returns for the batch: softmax probabilities or mse values, batch-first,
 * (B, T, V), or (B, V) with returnSequences false; padded steps are zeros.
 * batch: { batch, steps, tokens | inputs, lengths? }.
 */
export function referenceOutputs(ref, batch) {
  const { config } = ref;
  const V = config.outputSize;
  const out = new Float64Array(batch.batch * (config.returnSequences ? batch.steps : 1) * V);
  for (const { row, logits } of scoredRows(ref, batch)) {
    if (config.head === 'softmax') {
      const lse = logSumExp(logits);
      out.set(logits.map((z) => Math.exp(z - lse)), row * V);
    } else {
      out.set(logits, row * V);
    }
  }
  return out;
}

/**
 * The batch's loss as lstm_evaluate_batch defines it, from a zero state: softmax, mean
 * cross-entropy (nats) over the scored rows against batch.targets; mse, mean of the squared
 * errors over the scored rows and the V outputs against batch.targetValues.
 */
export function referenceLoss(ref, batch) {
  const { config } = ref;
  const V = config.outputSize;
  const rows = scoredRows(ref, batch);
  let sum = 0;
  for (const { row, logits } of rows) {
    if (config.head === 'softmax') {
      sum += logSumExp(logits) - logits[batch.targets[row]];
    } else {
      for (let j = 0; j < V; j++) sum += (logits[j] - batch.targetValues[row * V + j]) ** 2;
    }
  }
  return config.head === 'softmax' ? sum / rows.length : sum / (rows.length * V);
}
