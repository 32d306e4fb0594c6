// vu.mjs: one VU (a worker thread). Evaluates the script in the init
// context, then runs what the engine asks: iterations of an exported
// function, or setup / teardown / handleSummary (VU 0 only).
import { register } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

register('./hooks.mjs', import.meta.url);

const { rt, flush } = await import('./runtime.mjs');
const timers = await import('./k6/timers.mjs');
// Loaded before Node's WebSocket global is removed below: it keeps a reference.
await import('./k6/websockets.mjs');
const { AbortError } = await import('./k6/execution.mjs');

const scriptDir = path.dirname(workerData.script);
const opened = new Map();

// The globals of a k6 VU, and none of Node's I/O globals.
Object.assign(globalThis, {
  __ENV: workerData.env,
  __VU: workerData.vu,
  __ITER: 0,
  setTimeout: timers.setTimeout,
  clearTimeout: timers.clearTimeout,
  setInterval: timers.setInterval,
  clearInterval: timers.clearInterval,
  // open reads a file relative to the script, once per VU; only in the init context.
  open(file, mode) {
    if (rt.stage !== 'init') {
      throw new Error('The "open()" function is only available in the init stage (i.e. the global scope), ' +
        'see https://grafana.com/docs/k6/latest/using-k6/test-lifecycle for more information');
    }
    const p = path.resolve(scriptDir, String(file));
    if (!opened.has(p)) opened.set(p, readFileSync(p));
    const b = opened.get(p);
    return mode === 'b' ? b.buffer.slice(b.byteOffset, b.byteOffset + b.length) : b.toString('utf8');
  },
  require() {
    throw new Error('harness: require() is not supported; use import');
  },
});
for (const g of ['fetch', 'Request', 'Response', 'Headers', 'FormData', 'WebSocket']) {
  delete globalThis[g];
}
const log = (level) => (...args) => parentPort.postMessage({
  type: 'log', level, vu: rt.vu, text: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '),
});
globalThis.console = { log: log('info'), info: log('info'), debug: log('debug'), warn: log('warn'), error: log('error') };

const nodeSetImmediate = (await import('node:timers')).setImmediate;

function describe(err) {
  if (err instanceof Error) return { message: err.message, stack: err.stack, abort: err instanceof AbortError };
  return { message: String(err), stack: '' };
}

let mod;
try {
  mod = await import(pathToFileURL(workerData.script).href);
} catch (err) {
  flush();
  parentPort.postMessage({ type: 'init-error', error: describe(err) });
  throw err;
}
rt.stage = 'vu';
flush();
let setupData;

// A VU 0 sends back what the engine needs from the module.
parentPort.postMessage({
  type: 'ready',
  options: workerData.vu === 0 ? JSON.parse(JSON.stringify(mod.options ?? {})) : undefined,
  exports: Object.keys(mod).filter((k) => typeof mod[k] === 'function'),
});

// untilIdle resolves once the event loop holds nothing of the iteration.
function untilIdle() {
  return new Promise((resolve) => {
    const check = () => {
      if (rt.pending !== 0) return;
      nodeSetImmediate(() => {
        if (rt.pending === 0) {
          rt.onRelease = null;
          resolve();
        }
      });
    };
    rt.onRelease = check;
    check();
  });
}

// runFunction calls an exported function and waits, as k6 does, until its
// promise (if any) and the event loop are done; it returns the first error.
async function runFunction(name, arg) {
  let error = null;
  let value;
  try {
    value = mod[name](arg);
    if (value && typeof value.then === 'function') {
      value.then((v) => { value = v; }, (err) => { error ||= err; });
    }
  } catch (err) {
    error = err;
  }
  await untilIdle();
  error ||= rt.loopError;
  rt.loopError = null;
  return { error, value };
}

parentPort.on('message', async (msg) => {
  switch (msg.type) {
    case 'setup-data':
      setupData = msg.data === undefined ? undefined : JSON.parse(msg.data);
      return;
    case 'iteration': {
      rt.scenario = msg.scenario;
      rt.iteration = msg.iteration;
      rt.instance = msg.instance;
      rt.tags = msg.tags;
      rt.group = '';
      globalThis.__ITER = msg.iteration.inVU;
      // A scenario's env is merged into __ENV for its iterations, as in k6.
      globalThis.__ENV = msg.env ? { ...workerData.env, ...msg.env } : workerData.env;
      const { error } = await runFunction(msg.exec, setupData);
      flush();
      parentPort.postMessage({ type: 'done', error: error && describe(error) });
      return;
    }
    case 'call': {
      // setup, teardown, handleSummary on VU 0.
      rt.tags = {};
      rt.group = msg.fn === 'handleSummary' ? '' : `::${msg.fn}`;
      const { error, value } = await runFunction(msg.fn, msg.arg === undefined ? undefined : JSON.parse(msg.arg));
      flush();
      parentPort.postMessage({ type: 'done', error: error && describe(error), value: value === undefined ? undefined : JSON.stringify(value) });
    }
  }
});
