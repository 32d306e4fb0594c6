// The `k6` module: check, group, sleep, fail, randomSeed.
import { block, emit, needVU, rt, tagsNow } from '../runtime.mjs';

// check runs each named test on val and emits one `checks` sample per test;
// it returns whether all passed. A test may be a function or a value.
export function check(val, sets, tags) {
  needVU('Using check()');
  let all = true;
  for (const [name, test] of Object.entries(sets || {})) {
    if (name.includes('::')) throw new Error("group and check names may not contain '::'");
    const ok = Boolean(typeof test === 'function' ? test(val) : test);
    emit('checks', ok ? 1 : 0, tagsNow({ ...tags, check: name }));
    all &&= ok;
  }
  return all;
}

// group runs fn with the group tag set and emits group_duration.
export function group(name, fn) {
  needVU('Using group()');
  if (name.includes('::')) throw new Error("group and check names may not contain '::'");
  const outer = rt.group;
  rt.group = `${outer}::${name}`;
  const t0 = performance.now();
  try {
    const out = fn();
    if (out && typeof out.then === 'function') {
      console.warn('group() with an async function: the group tag covers only its synchronous part (as in k6)');
    }
    return out;
  } finally {
    emit('group_duration', performance.now() - t0, tagsNow());
    rt.group = outer;
  }
}

// sleep blocks the VU: timers and socket events wait until it returns.
export function sleep(seconds) {
  block(Number(seconds) * 1000);
}

// fail throws, ending the iteration (k6 logs it and starts the next one).
export function fail(err) {
  throw new Error(err === undefined ? 'test aborted' : String(err));
}

export function randomSeed(seed) {
  let s = Number(seed) >>> 0;
  Math.random = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export default { check, group, sleep, fail, randomSeed };
