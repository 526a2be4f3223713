// model_file.mjs - reads the saved model format (docs/file-format.md) in the tests, written
// from the format's description and independent of src/serialize.c, so a test can compare
// everything a file holds: parameters, optimizer moments, carried state, counters.

/** The fields of a model file, training state included when present. */
export function parseModelFile(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const u32 = () => { const x = v.getUint32(at, true); at += 4; return x; };
  const u64 = () => { const x = v.getBigUint64(at, true); at += 8; return x; };
  const f32s = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = v.getFloat32(at + 4 * i, true); at += 4 * n; return a; };
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== 'LSTMWASM') throw new Error(`not a model file: ${magic}`);
  at = 8;
  const version = u32();
  const flags = u32();
  const total = u64();
  const nWords = version >= 2 ? u32() : 9;
  const words = Array.from({ length: nWords }, () => u32());
  const numLayers = words[3];
  const hiddenSize = words[2];
  const bidirectional = words[19] ?? 0;
  const vocab = Array.from({ length: u32() }, () => u32());
  const metaSize = u32();
  const metadata = bytes.slice(at, at + metaSize);
  at += metaSize + ((4 - (metaSize % 4)) % 4);
  const nParams = Number(u64());
  const params = f32s(nParams);
  const file = { version, flags, total, words, vocab, metadata, params };
  if (flags & 1) {
    file.optimizer = Array.from({ length: 8 }, () => u32());
    file.hasOptimizer = u32();
    file.step = u64();
    file.streamPosition = u64();
    file.dropoutRng = u64();
    file.sampleRng = u64();
    file.carriedBatch = u32();
    file.carry = f32s(2 * numLayers * file.carriedBatch * hiddenSize);
    const nMoments = u32();
    file.moments = f32s(nMoments * nParams);
    if (version >= 3) {
      const n = u32();
      file.lossMean = v.getFloat64(at, true); at += 8;
      file.lossCount = u32();
      file.skipped = u64();
      at += 4 * (n - 5);
    }
  }
  file.unread = bytes.length - 4 - at; // 0 for a well-formed file: the CRC-32 follows
  file.bidirectional = bidirectional;
  return file;
}
