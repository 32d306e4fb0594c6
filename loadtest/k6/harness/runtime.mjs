// runtime.mjs: one VU's state inside its worker thread, shared by the k6
// stand-in modules. Each VU is a worker with its own module graph, as each
// k6 VU is its own JS runtime, so module-level state here is per VU.
//
// call() is how the VU blocks on the engine (HTTP, metric and SharedArray
// registration): post on a private port, Atomics.wait until the engine has
// answered, then read the answer synchronously with receiveMessageOnPort.
// That is what makes http.get() return a Response rather than a Promise.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';

const { port, flag } = workerData;
const signal = new Int32Array(flag);
const nap = new Int32Array(new SharedArrayBuffer(4));

export const rt = {
  vu: workerData.vu, // 0 for the VU that reads options and runs setup, teardown, handleSummary
  stage: 'init', // 'init' while the module graph evaluates, then 'vu'
  scenario: null, // the running iteration's scenario info (k6/execution)
  iteration: null, // the running iteration's counters (k6/execution)
  tags: {}, // the VU's tags (k6/execution vu.tags), scenario tags merged in per iteration
  group: '', // the current group path ('' or '::name::inner')
  samples: [],
  pending: 0, // timers and sockets the event loop waits for
  handles: new Set(), // what to cancel when the iteration fails: {cancel()}
  loopError: null, // the first exception thrown by a callback of this iteration
  onRelease: null,
  responseCallback: undefined, // http.setResponseCallback; undefined = k6's default
  options: workerData.options || {},
};

// inInit tells the init context (module evaluation) from VU code.
export function inInit() {
  return rt.stage === 'init';
}

export function call(op, args) {
  Atomics.store(signal, 0, 0);
  port.postMessage({ op, args });
  Atomics.wait(signal, 0, 0);
  // The engine posts its answer before it raises the flag, yet on a
  // loaded machine the message has been seen to trail the flag: look
  // again for up to 5 s before calling it lost.
  let got = receiveMessageOnPort(port);
  for (let ms = 0; !got && ms < 5000; ms++) {
    block(1);
    got = receiveMessageOnPort(port);
  }
  if (!got) throw new Error(`harness: no answer to ${op}`);
  if (got.message.error) throw new Error(got.message.error);
  return got.message.value;
}

// block sleeps the whole VU, as k6's sleep does: no callback runs meanwhile.
export function block(ms) {
  if (ms > 0) Atomics.wait(nap, 0, 0, ms);
}

// tagsNow is the tag set of a sample taken now (system tags first).
export function tagsNow(extra) {
  const t = { ...rt.tags, group: rt.group };
  if (rt.scenario) t.scenario = rt.scenario.name;
  return extra ? { ...t, ...extra } : t;
}

export function emit(metric, value, tags) {
  rt.samples.push([metric, value, tags]);
  if (rt.samples.length >= 1000) flush();
}

export function flush() {
  if (rt.samples.length) parentPort.postMessage({ type: 'samples', samples: rt.samples });
  rt.samples = [];
}

// hold / release count what keeps an iteration going after its function
// returned: k6 ends an iteration only when its event loop is empty.
export function hold(handle) {
  rt.pending++;
  rt.handles.add(handle);
}

export function release(handle) {
  if (!rt.handles.delete(handle)) return;
  rt.pending--;
  rt.onRelease?.();
}

// guard runs an event-loop callback; an exception ends the iteration with
// that error, as an exception in a k6 event handler does.
export function guard(fn, ...args) {
  try {
    return fn(...args);
  } catch (err) {
    rt.loopError ||= err;
    for (const h of [...rt.handles]) h.cancel();
    return undefined;
  }
}

// k6 refuses some calls outside the VU context with these messages.
export function needVU(what) {
  if (inInit()) throw new Error(`${what} in the init context is not supported`);
}
