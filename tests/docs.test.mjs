// docs.test.mjs - the documentation (README.md and docs/*.md) cannot rot unnoticed:
// - every fenced ```js block runs, as written, as an ES module in its own Node.js process (a
//   file under build/docs-test/, inside the package, so `from 'lstm-wasm'` resolves to
//   dist/lstm.js through package.json's "exports"), in an empty working directory, and must
//   exit with status 0 within a minute. Blocks fenced ```js norun are skipped (browser-only
//   code, fragments); the README's blocks marked <!-- example: NAME --> are run by
//   tests/package.test.mjs from the installed package instead, and this test checks that it
//   asks for each of them. The summary line says how many ran and how many were skipped.
// - ```sh blocks fenced ```sh run are run too (bash -e), with `lstm-wasm` on PATH (bin/) and a
//   small corpus.txt in the working directory: only cheap, local commands are marked so (a few
//   training steps of a small model). Other ```sh blocks (make, apt-get, npm, Python with
//   PyTorch, long training) are not run; their make targets and commands are checked below.
// - ```c run blocks are compiled with gcc (-Wall -Wextra -Werror) against src/*.c and run.
// - every relative link points to a file that exists (and, with #anchor, to a heading there);
// - every `make TARGET` names a target of the Makefile, every `lstm-wasm COMMAND` a command of
//   the CLI (from its --help) and each --option after it an option that command's --help
//   lists; every repository path in inline code or a block (src/..., tests/..., bench/...) exists.
// Needs dist/ (`make`), as the other tests do. DOCS_VERBOSE=1 prints what each block printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOC_FILES = ['README.md', ...(existsSync(path.join(ROOT, 'docs'))
  ? readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`) : [])];
const BLOCK_TIMEOUT_MS = 60_000;
const PARALLEL = 2; // the machine has 2 cores

/** Fenced blocks of a markdown file: { lang, flags, code, line, example }, where example is the
 * NAME of an <!-- example: NAME --> comment just before the fence. */
function fencedBlocks(file) {
  const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(`{3,})\s*([\w-]*)\s*(.*)$/);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !lines[end].startsWith(open[1])) end++;
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const example = before >= 0 ? lines[before].match(/^<!-- example: (\S+) -->$/)?.[1] ?? null : null;
    blocks.push({ file, lang: open[2], flags: open[3].split(/\s+/).filter(Boolean), code: lines.slice(i + 1, end).join('\n'), line: i + 1, example });
    i = end;
  }
  return blocks;
}

/** The text outside fenced blocks, and its inline code spans. */
function prose(file) {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const outside = text.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  const spans = [...outside.matchAll(/(`+)([^`]+?)\1/g)].map((m) => m[2]);
  return { outside: outside.replace(/(`+)([^`]+?)\1/g, ''), spans };
}

const ALL_BLOCKS = DOC_FILES.flatMap(fencedBlocks);
const JS_BLOCKS = ALL_BLOCKS.filter((b) => b.lang === 'js' || b.lang === 'javascript');
const SH_BLOCKS = ALL_BLOCKS.filter((b) => b.lang === 'sh' || b.lang === 'bash');
const where = (b) => `${b.file}:${b.line}`;

/** Run a command; resolves { status, stdout, stderr } (status null after a timeout). */
function run(cmd, args, options) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

/** Run jobs, at most PARALLEL at a time. */
async function pool(jobs) {
  const results = new Array(jobs.length);
  let next = 0;
  const worker = async () => { while (next < jobs.length) { const i = next++; results[i] = await jobs[i](); } };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, jobs.length) }, worker));
  return results;
}

const WORK = path.join(ROOT, 'build', 'docs-test');
const slug = (b) => `${b.file.replace(/[/.]/g, '_')}_${b.line}`;

/** A small text for the ```sh run blocks' corpus.txt. */
function corpusText() {
  let s = '';
  for (let i = 0; s.length < 20000; i++) s += `The ${['king', 'queen', 'night', 'sword'][i % 4]} speaks, and line ${i} follows.\n`;
  return s;
}

test('docs: every ```js block runs (```js norun skipped; README examples run by package.test.mjs)', async (t) => {
  assert.ok(existsSync(path.join(ROOT, 'dist/lstm.js')), 'dist/lstm.js is missing: run make');
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const runnable = JS_BLOCKS.filter((b) => !b.flags.includes('norun') && !b.example);
  const skipped = JS_BLOCKS.filter((b) => b.flags.includes('norun'));
  const delegated = JS_BLOCKS.filter((b) => b.example && !b.flags.includes('norun'));
  const results = await pool(runnable.map((b) => async () => {
    const file = path.join(WORK, `${slug(b)}.mjs`);
    writeFileSync(file, `${b.code}\n`);
    const cwd = mkdtempSync(path.join(WORK, `${slug(b)}-cwd-`));
    const t0 = performance.now();
    const r = await run(process.execPath, [file], { cwd, env: process.env });
    return { b, r, seconds: (performance.now() - t0) / 1000 };
  }));
  const failed = [];
  for (const { b, r, seconds } of results) {
    const ok = r.status === 0;
    t.diagnostic(`${ok ? 'ok    ' : 'FAILED'} ${where(b)} (${seconds.toFixed(1)} s)`);
    if (process.env.DOCS_VERBOSE) console.log(`---- ${where(b)}\n${r.stdout}${r.stderr}`);
    if (!ok) failed.push(`${where(b)}: exit ${r.status}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-3000)}`);
  }
  const summary = `docs: ${runnable.length} js blocks ran, ${skipped.length} skipped (norun: ${skipped.map(where).join(', ') || 'none'}), `
    + `${delegated.length} README examples left to package.test.mjs`;
  t.diagnostic(summary);
  console.log(summary);
  assert.deepEqual(failed, [], `doc examples failed:\n${failed.join('\n\n')}`);
  if (failed.length === 0) rmSync(WORK, { recursive: true, force: true });
});

test('docs: the README examples marked <!-- example: NAME --> are each run by tests/package.test.mjs', () => {
  const packageTest = readFileSync(path.join(ROOT, 'tests/package.test.mjs'), 'utf8');
  const asked = new Set([...packageTest.matchAll(/example\('([^']+)'\)/g)].map((m) => m[1]));
  const marked = ALL_BLOCKS.filter((b) => b.example);
  for (const b of marked) {
    assert.equal(b.file, 'README.md', `${where(b)}: package.test.mjs reads examples from README.md only`);
    assert.ok(asked.has(b.example), `${where(b)}: example ${b.example} is not run by tests/package.test.mjs`);
  }
  for (const name of asked) assert.ok(marked.some((b) => b.example === name), `package.test.mjs asks for example ${name}, which README.md lacks`);
});

test('docs: ```sh run blocks run (cheap, local: a small corpus, a few steps)', async (t) => {
  const blocks = SH_BLOCKS.filter((b) => b.flags.includes('run'));
  mkdirSync(WORK, { recursive: true });
  const bin = mkdtempSync(path.join(WORK, 'bin-'));
  const shim = path.join(bin, 'lstm-wasm');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'bin/lstm-wasm.mjs')}" "$@"\n`);
  chmodSync(shim, 0o755);
  const results = await pool(blocks.map((b) => async () => {
    const cwd = mkdtempSync(path.join(WORK, `${slug(b)}-cwd-`));
    writeFileSync(path.join(cwd, 'corpus.txt'), corpusText());
    return { b, r: await run('bash', ['-e', '-c', b.code], { cwd, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }) };
  }));
  const failed = results.filter(({ r }) => r.status !== 0).map(({ b, r }) => `${where(b)}: exit ${r.status}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`);
  const summary = `docs: ${blocks.length} sh blocks ran (${blocks.map(where).join(', ') || 'none'}), ${SH_BLOCKS.length - blocks.length} not run`;
  t.diagnostic(summary);
  console.log(summary);
  assert.deepEqual(failed, [], failed.join('\n\n'));
  rmSync(bin, { recursive: true, force: true });
});

test('docs: ```c run blocks compile against the core (gcc, -Werror) and run', async (t) => {
  const blocks = ALL_BLOCKS.filter((b) => b.lang === 'c' && b.flags.includes('run'));
  if (blocks.length === 0) return;
  if (spawnSync('gcc', ['--version']).status !== 0) { t.skip('gcc is absent (make test installs the native toolchain)'); return; }
  mkdirSync(WORK, { recursive: true });
  const sources = readdirSync(path.join(ROOT, 'src')).filter((f) => f.endsWith('.c')).map((f) => path.join(ROOT, 'src', f));
  const results = await pool(blocks.map((b) => async () => {
    const dir = mkdtempSync(path.join(WORK, `${slug(b)}-`));
    writeFileSync(path.join(dir, 'example.c'), `${b.code}\n`);
    const built = await run('gcc', ['-std=c11', '-O1', '-Wall', '-Wextra', '-Werror', `-I${path.join(ROOT, 'include')}`, 'example.c', ...sources, '-lm', '-o', 'example'], { cwd: dir });
    return { b, r: built.status === 0 ? await run(path.join(dir, 'example'), [], { cwd: dir }) : built };
  }));
  const failed = results.filter(({ r }) => r.status !== 0).map(({ b, r }) => `${where(b)}: exit ${r.status}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-3000)}`);
  const summary = `docs: ${blocks.length} C blocks compiled and ran (${blocks.map(where).join(', ')})`;
  t.diagnostic(summary);
  console.log(summary);
  assert.deepEqual(failed, [], failed.join('\n\n'));
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(file) {
  const text = readFileSync(file, 'utf8').replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  const seen = new Map();
  const out = new Set();
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    let s = m[1].toLowerCase().replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(s) ?? 0;
    seen.set(s, n + 1);
    if (n > 0) s = `${s}-${n}`;
    out.add(s);
  }
  return out;
}

test('docs: every relative link points to a file (and heading) that exists', () => {
  const broken = [];
  let count = 0;
  for (const file of DOC_FILES) {
    const { outside } = prose(file);
    for (const m of outside.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1];
      if (/^[a-z][\w+.-]*:/i.test(target)) continue; // https:, mailto:
      count++;
      const [p, anchor] = target.split('#');
      const resolved = p ? path.resolve(path.dirname(path.join(ROOT, file)), decodeURIComponent(p)) : path.join(ROOT, file);
      if (!existsSync(resolved)) { broken.push(`${file}: ${target} (no such file)`); continue; }
      if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${file}: ${target} (no heading #${anchor})`);
    }
  }
  console.log(`docs: ${count} relative links checked in ${DOC_FILES.length} files`);
  assert.deepEqual(broken, []);
});

function makeTargets() {
  const text = readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
  const targets = new Set();
  for (const m of text.matchAll(/^([\w.%/-]+(?:[ \t]+[\w.%/-]+)*)[ \t]*:(?!=)/gm)) for (const t of m[1].split(/\s+/)) targets.add(t);
  return targets;
}

function cliHelp(command) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/lstm-wasm.mjs'), ...(command ? [command] : []), '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `lstm-wasm ${command ?? ''} --help failed: ${r.stderr}`);
  return r.stdout;
}

/** Code the docs show: inline spans and fenced blocks (the places a command is written);
 * withJs false leaves out JS blocks (their comments are prose: "make the ..."). */
function codeTexts(file, { withJs = true } = {}) {
  const blocks = fencedBlocks(file).filter((b) => withJs || !['js', 'javascript', 'ts', 'typescript'].includes(b.lang));
  return [...prose(file).spans, ...blocks.map((b) => b.code)];
}

test('docs: every `make TARGET` is a Makefile target, every `lstm-wasm COMMAND --option` a CLI command and option', () => {
  const targets = makeTargets();
  const commands = new Set([...cliHelp().matchAll(/^\s+lstm-wasm (\w[\w-]*)/gm)].map((m) => m[1]));
  assert.ok(commands.has('train'), 'the CLI help lists train');
  const helps = new Map();
  const problems = [];
  let makes = 0;
  let clis = 0;
  for (const file of DOC_FILES) {
    for (const code of codeTexts(file, { withJs: false })) {
      for (const m of code.matchAll(/(?:^|[\s;&|(])make(?:\s+[A-Z_]+=\S+)*((?:[ \t]+[a-z][\w./-]*)*)/gm)) {
        for (const target of m[1].trim().split(/\s+/).filter(Boolean)) {
          makes++;
          if (!targets.has(target)) problems.push(`${file}: make ${target}: no such Makefile target`);
        }
      }
      for (const line of code.split('\n')) {
        for (const m of line.matchAll(/(?:^|[\s;&|(`])lstm-wasm\s+([a-z][\w-]*)([^;&|#]*)/g)) {
          const command = m[1];
          clis++;
          if (!commands.has(command)) { problems.push(`${file}: lstm-wasm ${command}: no such command`); continue; }
          if (!helps.has(command)) helps.set(command, cliHelp(command));
          for (const o of m[2].matchAll(/(?:^|\s)(--[a-z][\w-]*)/g)) {
            if (o[1] !== '--help' && !new RegExp(`(^|\\s)${o[1]}(\\s|$|,|=)`, 'm').test(helps.get(command))) {
              problems.push(`${file}: lstm-wasm ${command} ${o[1]}: not an option of ${command} (see its --help)`);
            }
          }
        }
      }
    }
  }
  console.log(`docs: ${makes} make targets and ${clis} lstm-wasm commands checked`);
  assert.deepEqual(problems, []);
});

test('docs: every repository path named in code (src/..., tests/..., bench/...) exists', () => {
  const missing = [];
  const seen = new Set();
  for (const file of DOC_FILES) {
    for (const code of codeTexts(file)) {
      for (const m of code.matchAll(/(?<![\w/.~-])((?:src|tests|tools|bench|bin|web|include|docs|dist)\/[\w.-]+(?:\/[\w.-]+)*\/?)/g)) {
        const p = m[1].replace(/[.]+$/, '');
        if (/[*{<]/.test(code[m.index + m[0].length] ?? '')) continue; // a pattern (torch_*.json, _l{l})
        seen.add(p);
        if (!existsSync(path.join(ROOT, p))) missing.push(`${file}: ${p}`);
      }
    }
  }
  console.log(`docs: ${seen.size} repository paths checked`);
  assert.deepEqual(missing, []);
});
