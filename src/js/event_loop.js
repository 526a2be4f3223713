// event_loop.js - giving the event loop a turn during long work on one thread: a task boundary,
// where queued messages, timers, an AbortController's abort() and (on a page) painting run.

/** Node.js (not a page or a Web Worker), where setImmediate and worker_threads exist. */
export const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/** Work between two task boundaries, at most about this long (ms): a 60 Hz frame is 16.7 ms. */
export const YIELD_MS = 10;

/** A promise resolved in a new task: setImmediate in Node (after pending I/O and messages),
 * a MessageChannel message elsewhere (queued behind the messages already received; a nested
 * setTimeout(0) would wait at least 4 ms). */
export function nextTask() {
  if (isNode) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
