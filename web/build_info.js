// build_info.js - the WebAssembly build the worker runs, in the header and the footer: SIMD or
// not, its kernels, and its threads (with the reason when there is only one).

const $ = (id) => document.getElementById(id);

/** Show buildInfo() of the worker's module. */
export function showBuild(b) {
  const file = b.threads > 1 ? 'lstm-simd-threads.wasm' : b.simd ? 'lstm-simd.wasm' : 'lstm-scalar.wasm';
  const threads = `${b.threads} thread${b.threads > 1 ? 's' : ''}`;
  $('build-label').textContent = b.simd ? 'WebAssembly SIMD' : 'WebAssembly scalar fallback';
  $('threads').textContent = threads;
  $('build').dataset.simd = String(b.simd);
  $('build').dataset.threads = String(b.threads);
  $('build').title = `Build in use: ${file} (kernels: ${b.kernels}); ${threads}: ${b.threadsReason}`;
  $('footer-build').textContent = `${file} · kernels ${b.kernels} · ${threads}`;
  // one thread: say why (a page needs two headers for shared memory)
  $('threads-reason').textContent = b.threads > 1 ? '' : `One thread: ${b.threadsReason}.`;
  $('threads-reason').hidden = b.threads > 1;
}
