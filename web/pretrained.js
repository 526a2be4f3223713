// pretrained.js - the demo's pretrained model (pretrained/brown.lstm, written by `make
// pretrained`: the page's recipe on the built-in Brown corpus), downloaded as the page opens so
// that it writes text at once, and kept as the starting point of "Continue from the
// pretrained model".

let download = null;  // the fetch, started once
let bytes = null;     // the file, once here

/** Start the download (once); resolves to the file's bytes, or rejects with a page message. */
export function fetchPretrained() {
  download ??= (async () => {
    let response;
    try {
      response = await fetch(new URL('./pretrained/brown.lstm', import.meta.url));
    } catch {
      throw new Error('The pretrained model could not be downloaded (network error).');
    }
    if (!response.ok) throw new Error(`The pretrained model could not be downloaded (HTTP ${response.status}).`);
    bytes = new Uint8Array(await response.arrayBuffer());
    return bytes;
  })();
  return download;
}

/** The pretrained file, or null before (or without) it. */
export const pretrainedBytes = () => bytes;
