// abi.test.mjs - src/js/abi.js against include/lstm.h: the status names and the other enums, every
// struct's fields (order, names, types), the LSTM_MAX_* limits and the save flag, read from the
// header text; the offsets and sizes abi.js computes, against clang's wasm32 layout. Then the
// same check run on edited copies of the header (a config field added, a status added, a limit
// changed, ...), each of which it must report: a check that cannot fail proves nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as abi from '../src/js/abi.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HEADER = readFileSync(path.join(ROOT, 'include/lstm.h'), 'utf8');

// ---- reading the header ----

// An integer constant expression of the header: literals (u suffixes allowed), parentheses,
// shifts and arithmetic. BigInt, so that 1u << 31 stays positive.
function evalInt(expr) {
  const js = expr.trim().replace(/\b(\d+)[uU]?\b/g, '$1n');
  if (!/^[\dn\s()<>+*-]+$/.test(js)) throw new Error(`not an integer constant: ${expr}`);
  return Number(Function(`return (${js});`)());
}

const C_TYPES = { int32_t: 'i32', uint32_t: 'u32', float: 'f32', double: 'f64', uint64_t: 'u64' };

/** The enums, structs and #defines of a header text. */
function parseHeader(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/.*$/gm, '');
  const enums = new Map();
  for (const [, name, body] of code.matchAll(/typedef\s+enum\s+(\w+)\s*\{([^}]*)\}\s*\w+\s*;/g)) {
    let next = 0;
    enums.set(name, body.split(',').map((e) => e.trim()).filter(Boolean).map((e) => {
      const [, id, value] = e.match(/^(\w+)\s*(?:=\s*(.+))?$/s);
      next = value === undefined ? next : evalInt(value);
      return { id, value: next++ };
    }));
  }
  const structs = new Map();
  for (const [, name, body] of code.matchAll(/typedef\s+struct\s+(\w+)\s*\{([^}]*)\}\s*\w+\s*;/g)) {
    structs.set(name, body.split(';').map((d) => d.trim()).filter(Boolean).map((decl) => {
      const m = decl.match(/^(?:const\s+)?(\w+)\s*(\*?)\s*(\w+)\s*(?:\[(.+)\])?$/s);
      if (!m) throw new Error(`struct ${name}: cannot read the field "${decl}"`);
      const [, cType, pointer, field, length] = m;
      return {
        cName: field, cType: pointer ? `${cType} *` : cType,
        type: pointer ? 'ptr' : (C_TYPES[cType] ?? cType), length: length && evalInt(length),
      };
    }));
  }
  const defines = new Map();
  for (const [, name, value] of code.matchAll(/^#define\s+(LSTM_\w+)[ \t]+(.+)$/gm)) defines.set(name, value.trim());
  return { enums, structs, defines };
}

// snake_case or SCREAMING_CASE to the camelCase JS uses: last_step_only -> lastStepOnly.
const camel = (s) => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

// The JS side of each C enum, and the prefix its C names share.
const ENUMS = {
  lstm_head_type: ['LSTM_HEAD_', abi.HEAD_TYPES],
  lstm_cell_type: ['LSTM_CELL_', abi.CELL_TYPES],
  lstm_activation: ['LSTM_ACTIVATION_', abi.ACTIVATIONS],
  lstm_gate_activation: ['LSTM_GATE_', abi.GATE_ACTIVATIONS],
  lstm_optimizer_type: ['LSTM_OPTIMIZER_', abi.OPTIMIZER_TYPES],
  lstm_skip_reason: ['LSTM_SKIP_', abi.SKIP_REASONS],
};

/** Every difference between abi.js and a header text, as readable lines (none: they agree). */
function abiMismatches(text) {
  const { enums, structs, defines } = parseHeader(text);
  const problems = [];
  const differ = (what, js, c) => {
    if (JSON.stringify(js) !== JSON.stringify(c)) problems.push(`${what}: abi.js has ${JSON.stringify(js)}, lstm.h ${JSON.stringify(c)}`);
  };
  const enumValues = (name, prefix, convert) => {
    const entries = enums.get(name) ?? [];
    entries.forEach(({ id, value }, i) => { if (value !== i) problems.push(`${name}: ${id} = ${value}, not ${i}: JS indexes names by value`); });
    return entries.map(({ id }) => convert(id.replace(prefix, '')));
  };

  // lstm_status: LSTM_OK and LSTM_ERR_* keep their C spelling as LstmError codes
  differ('lstm_status', [...abi.STATUS_NAMES], enumValues('lstm_status', /^LSTM_(ERR_)?/, (s) => s));
  for (const name of enums.keys()) {
    if (name === 'lstm_status') continue;
    if (!ENUMS[name]) { problems.push(`enum ${name} has no JS side in abi.js`); continue; }
    differ(name, [...ENUMS[name][1]], enumValues(name, ENUMS[name][0], camel));
  }

  const jsStructs = new Map(abi.STRUCTS.map((s) => [s.cName, s]));
  for (const [name, fields] of structs) {
    if (name === 'lstm_message') {
      differ('lstm_message', [{ type: 'char', length: abi.MESSAGE_BYTES }], fields.map(({ type, length }) => ({ type, length })));
      continue;
    }
    const js = jsStructs.get(name);
    if (!js) { problems.push(`struct ${name} has no layout in abi.js`); continue; }
    differ(name, js.fields.map((f) => `${f.name}: ${f.type}`), fields.map((f) => `${camel(f.cName)}: ${f.type}`));
  }
  for (const name of jsStructs.keys()) if (!structs.has(name)) problems.push(`abi.js lays out ${name}, which lstm.h does not define`);

  // limits: LSTM_MAX_X is limits.maxX; maxSeed is the range of lstm_config.seed's type
  const cLimits = Object.fromEntries([...defines].filter(([n]) => n.startsWith('LSTM_MAX_'))
    .map(([n, v]) => [camel(n.slice('LSTM_'.length)), evalInt(v)]));
  const { maxSeed, ...jsLimits } = abi.limits;
  differ('LSTM_MAX_*', Object.entries(jsLimits).sort(), Object.entries(cLimits).sort());
  const seedType = structs.get('lstm_config')?.find((f) => f.cName === 'seed')?.type;
  if (seedType !== 'u32' || maxSeed !== 2 ** 32 - 1) problems.push(`limits.maxSeed ${maxSeed} is not the range of lstm_config.seed (${seedType})`);

  for (const [name, value] of [['LSTM_SAVE_TRAINING_STATE', abi.SAVE_TRAINING_STATE], ['LSTM_SAVE_INT8', abi.SAVE_INT8],
    ['LSTM_SAMPLES_CONTINUE', abi.SAMPLES_CONTINUE], ['LSTM_SAMPLES_KEEP_SAMPLER', abi.SAMPLES_KEEP_SAMPLER]]) {
    differ(name, value, defines.has(name) ? evalInt(defines.get(name)) : undefined);
  }
  return problems;
}

// ---- the checks ----

test('abi.js matches include/lstm.h: enums, struct fields, limits and flags', () => {
  assert.deepEqual(abiMismatches(HEADER), []);
  // the reader found what is there (a reader that finds nothing would agree with anything)
  const { enums, structs } = parseHeader(HEADER);
  assert.ok(enums.size >= 6 && structs.size >= 8 && structs.get('lstm_config').length >= 20,
    `read ${enums.size} enums, ${structs.size} structs, ${structs.get('lstm_config')?.length} config fields`);
  console.log(`  ${enums.size} enums, ${structs.size} structs and ${Object.keys(abi.limits).length} limits agree`);
});

test('struct offsets and sizes of abi.js are clang\'s for wasm32', (t) => {
  const { structs } = parseHeader(HEADER);
  const lines = ['#include <stddef.h>', '#include "lstm.h"'];
  for (const layout of abi.STRUCTS) {
    const fields = structs.get(layout.cName);
    layout.fields.forEach((f, i) => lines.push(`_Static_assert(offsetof(${layout.cName}, ${fields[i].cName}) == ${f.offset}, "${layout.cName}.${fields[i].cName} at ${f.offset}");`));
    lines.push(`_Static_assert(sizeof(${layout.cName}) == ${layout.size}, "sizeof(${layout.cName}) == ${layout.size}");`);
  }
  lines.push(`_Static_assert(sizeof(lstm_message) == ${abi.MESSAGE_BYTES}, "sizeof(lstm_message)");`);
  const r = spawnSync('clang', ['--target=wasm32', '-ffreestanding', '-fsyntax-only', `-I${path.join(ROOT, 'include')}`, '-x', 'c', '-'],
    { input: lines.join('\n'), encoding: 'utf8' });
  if (r.error?.code === 'ENOENT') { t.skip('clang is absent (make test installs it)'); return; }
  assert.equal(r.status, 0, `clang disagrees with abi.js:\n${r.stderr}`);
  console.log(`  ${lines.length - 2} offsets and sizes checked by clang --target=wasm32`);
});

test('the check fails when the header changes and abi.js does not', () => {
  // each edit of a copy of the header, and what the check must say about it
  const edits = [
    ['a config field added', (h) => h.replace(/(\n\} lstm_config;)/, '\n    int32_t new_option;$1'), /lstm_config:.*newOption: i32/],
    ['two config fields swapped', (h) => h.replace('int32_t peephole;', 'int32_t TMP;').replace('int32_t cifg;', 'int32_t peephole;').replace('int32_t TMP;', 'int32_t cifg;'), /lstm_config:/],
    ['a config field retyped', (h) => h.replace('float dropout;', 'double dropout;'), /lstm_config:.*dropout: f64/],
    ['a status added', (h) => h.replace('LSTM_ERR_STATE = 11', 'LSTM_ERR_STATE = 11,\n    LSTM_ERR_BUSY = 12'), /lstm_status:.*"BUSY"/],
    ['a status renumbered', (h) => h.replace('LSTM_ERR_STATE = 11', 'LSTM_ERR_STATE = 12'), /lstm_status: LSTM_ERR_STATE = 12/],
    ['a skip reason added', (h) => h.replace('LSTM_SKIP_LOSS_SPIKE = 4', 'LSTM_SKIP_LOSS_SPIKE = 4,\n    LSTM_SKIP_NEW = 5'), /lstm_skip_reason:/],
    ['an enum added', (h) => h.replace('typedef struct lstm_model', 'typedef enum lstm_mode { LSTM_MODE_A = 0 } lstm_mode;\ntypedef struct lstm_model'), /enum lstm_mode has no JS side/],
    ['a struct added', (h) => h.replace('typedef struct lstm_model', 'typedef struct lstm_extra { int32_t a; } lstm_extra;\ntypedef struct lstm_model'), /struct lstm_extra has no layout/],
    ['a batch pointer made an int', (h) => h.replace('const int32_t *lengths;', 'int32_t lengths;'), /lstm_batch:.*lengths: i32/],
    ['a limit changed', (h) => h.replace(/#define LSTM_MAX_HIDDEN \d+/, '#define LSTM_MAX_HIDDEN 8192'), /LSTM_MAX_\*.*8192/],
    ['a limit added', (h) => h.replace('#define LSTM_MAX_STEPS', '#define LSTM_MAX_HEADS 8\n#define LSTM_MAX_STEPS'), /LSTM_MAX_\*.*maxHeads/],
    ['the seed made signed', (h) => h.replace('uint32_t seed;', 'int32_t seed;'), /maxSeed/],
    ['the message buffer resized', (h) => h.replace('char text[256];', 'char text[512];'), /lstm_message/],
    ['the save flag changed', (h) => h.replace(/#define LSTM_SAVE_TRAINING_STATE 1u/, '#define LSTM_SAVE_TRAINING_STATE 2u'), /LSTM_SAVE_TRAINING_STATE/],
  ];
  for (const [what, edit, expected] of edits) {
    const copy = edit(HEADER);
    assert.notEqual(copy, HEADER, `the edit "${what}" found nothing to change in lstm.h`);
    const problems = abiMismatches(copy);
    assert.ok(problems.some((p) => expected.test(p)), `${what}: expected a mismatch like ${expected}, got ${JSON.stringify(problems)}`);
  }
  console.log(`  ${edits.length} edits of the header, each reported`);
});

test('writeStruct and readStruct round-trip every layout, and refuse a missing field', () => {
  const sample = { i32: -7, u32: 0xfffffff0, ptr: 0x80000000, f32: 0.5, f64: Math.PI, u64: 2 ** 40 + 3 };
  for (const layout of abi.STRUCTS) {
    const values = Object.fromEntries(layout.fields.map((f) => [f.name, sample[f.type]]));
    const buffer = new ArrayBuffer(layout.size + 8);
    abi.writeStruct(layout, buffer, 8, values);
    assert.deepEqual(abi.readStruct(layout, buffer, 8), values, layout.cName);
    const { [layout.fields[0].name]: _, ...missing } = values;
    assert.throws(() => abi.writeStruct(layout, buffer, 8, missing), new RegExp(`${layout.cName}\\.${layout.fields[0].name} is not set`));
  }
});
