// serve-demo.mjs - a tiny static file server for the demo (build/web), on node:http only.
// Binds 127.0.0.1; port 8080 or $PORT, or any free port when that one is taken.
// Every response carries Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-
// Policy: require-corp, so the page is cross-origin isolated: it has SharedArrayBuffer, and
// the training worker runs the threads build on every core. (Everything the page loads comes
// from this origin, so require-corp blocks nothing.) The page works without them too, on one
// thread: `isolated: false` (or ISOLATED=0) serves plain files, as any static server does.
//
//   node tools/serve-demo.mjs [root]          (default build/web)
//   import { startServer } from './tools/serve-demo.mjs'
//   const { url, close } = await startServer({ root, port: 0, isolated: true });

import http from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The headers that make a page cross-origin isolated (crossOriginIsolated === true). */
const ISOLATION_HEADERS = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
});

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (e) => { server.off('listening', onListening); reject(e); };
    const onListening = () => { server.off('error', onError); resolve(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Serve `root` over HTTP. Resolves to { server, url, port, close() } once listening.
 * When `port` is busy and `fallback` is true, a free port is used instead.
 */
export async function startServer({ root = path.join(ROOT, 'build/web'), port = 8080, host = '127.0.0.1', fallback = true, isolated = true, log = () => {} } = {}) {
  const base = path.resolve(root);
  const server = http.createServer(async (req, res) => {
    if (isolated) for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    const send = (status, body, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      return send(400, 'bad request\n');
    }
    // Stay inside the root: resolve, then check the prefix (handles "..", encoded or not).
    let file = path.resolve(base, `.${pathname}`);
    if (file !== base && !file.startsWith(base + path.sep)) return send(403, 'forbidden\n');
    try {
      let info = await stat(file);
      if (info.isDirectory()) {
        if (!pathname.endsWith('/')) {
          res.writeHead(301, { Location: `${pathname}/` });
          return res.end();
        }
        file = path.join(file, 'index.html');
        info = await stat(file);
      }
      const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      // no-cache: revalidate on every load, so a rebuilt demo is never mixed with stale files.
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': info.size, 'Cache-Control': 'no-cache', 'Last-Modified': info.mtime.toUTCString() });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    } catch {
      send(404, `not found: ${pathname}\n`);
    }
    log(`${req.method} ${pathname}`);
  });
  try {
    await listen(server, port, host);
  } catch (e) {
    if (e.code !== 'EADDRINUSE' || !fallback || port === 0) throw e;
    log(`port ${port} is busy; using a free port`);
    await listen(server, 0, host);
  }
  const actual = server.address().port;
  const url = `http://${host}:${actual}/`;
  return {
    server,
    port: actual,
    url,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = process.argv[2] ? path.resolve(process.argv[2]) : path.join(ROOT, 'build/web');
  const port = process.env.PORT !== undefined ? Number(process.env.PORT) : 8080;
  try {
    await stat(path.join(root, 'index.html'));
  } catch {
    console.error(`serve-demo: ${root}/index.html is missing: build the demo first (node tools/build-demo.mjs)`);
    process.exit(1);
  }
  const isolated = process.env.ISOLATED !== '0';
  const { url } = await startServer({ root, port, isolated, log: (m) => { if (!m.startsWith('GET') && !m.startsWith('HEAD')) console.log(m); } });
  console.log(`lstm-wasm demo: ${url}  (serving ${path.relative(process.cwd(), root) || '.'}${isolated ? ', cross-origin isolated: training on every core' : ', without the isolation headers: one thread'}; Ctrl+C to stop)`);
}
