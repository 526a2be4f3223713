// make_generate_fixture.mjs - tests/fixtures/generate_texts.json: texts Model.generate writes for
// a few models, seeds and sampling settings, so that tests/generation.test.mjs can check that
// generation still writes them (n: 1 and no n alike) after the batched path of issue 14.
//
//   node tools/make_generate_fixture.mjs <path to dist/lstm.js> tests/fixtures/generate_texts.json
//
// The committed file was written with the library as of the packed-panel products (issue 13:
// gemm_panels, every element summed in the order of k, so a row alone and a row in a batch are
// summed alike for every width), SIMD build on one thread and the scalar build. The texts of
// the first version (commit cfd323d, the dot-product kernels) differ: a change in the last bits
// of a logit, in float32, can change a sampled character.
const [lib, out] = process.argv.slice(2);
if (!lib || !out) throw new Error('usage: node tools/make_generate_fixture.mjs <dist/lstm.js> <out.json>');
const { Model, Vocabulary, _internals } = await import(new URL(lib, `file://${process.cwd()}/`));
const { writeFileSync } = await import('node:fs');
const CASES = [
  { model: { vocabSize: 40, hiddenSize: 32, layers: 2, seed: 3, initScale: 1 } },
  { model: { vocabSize: 65, hiddenSize: 48, layers: 3, seed: 5, cell: 'gru', initScale: 1 } },
  { model: { vocabSize: 19, hiddenSize: 64, layers: 2, seed: 7, projSize: 16, initScale: 1 } },
];
const SAMPLINGS = [{ temperature: 1, seed: 1 }, { temperature: 0.8, topK: 10, seed: 2 }, { topP: 0.9, seed: 3 }, { temperature: 0 }, { temperature: 1.3, topK: 5, topP: 0.8, seed: 4 }];
const texts = {};
for (const simd of [true, false]) {
  const wasm = await _internals({ simd, threads: 1 });
  for (const c of CASES) {
    const vocab = new Vocabulary(Array.from({ length: c.model.vocabSize }, (_, i) => 48 + i));
    const m = await Model.create({ ...c.model, wasm });
    for (const s of SAMPLINGS) {
      texts[`${simd ? 'simd' : 'scalar'} ${JSON.stringify(c.model)} ${JSON.stringify(s)}`] = m.generate({ vocab, prompt: '0123', length: 150, ...s });
    }
    m.dispose();
  }
}
writeFileSync(out, JSON.stringify({ cases: CASES, samplings: SAMPLINGS, texts }, null, 1) + '\n');
console.log(`${Object.keys(texts).length} texts written to ${out}`);
