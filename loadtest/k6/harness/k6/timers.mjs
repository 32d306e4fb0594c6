// The `k6/timers` module (also installed as globals, as in k6). A pending
// timer keeps the iteration alive: k6 ends an iteration only once its
// event loop is empty.
import { guard, hold, release } from '../runtime.mjs';

const nodeSetTimeout = globalThis.setTimeout;
const nodeClearTimeout = globalThis.clearTimeout;
const nodeSetInterval = globalThis.setInterval;
const nodeClearInterval = globalThis.clearInterval;

const live = new Map();
let nextID = 1;

export function setTimeout(fn, ms = 0, ...args) {
  const id = nextID++;
  const h = { cancel: () => clearTimeout(id) };
  h.timer = nodeSetTimeout(() => {
    live.delete(id);
    release(h);
    guard(fn, ...args);
  }, ms);
  live.set(id, h);
  hold(h);
  return id;
}

export function clearTimeout(id) {
  const h = live.get(id);
  if (!h) return;
  live.delete(id);
  nodeClearTimeout(h.timer);
  nodeClearInterval(h.timer);
  release(h);
}

export function setInterval(fn, ms = 0, ...args) {
  const id = nextID++;
  const h = { cancel: () => clearInterval(id) };
  h.timer = nodeSetInterval(() => guard(fn, ...args), ms);
  live.set(id, h);
  hold(h);
  return id;
}

export const clearInterval = clearTimeout;

export default { setTimeout, clearTimeout, setInterval, clearInterval };
