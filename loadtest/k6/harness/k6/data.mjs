// The `k6/data` module: SharedArray. Built once per test from the first
// VU's callback (run in its init context), then every VU reads the same
// JSON-encoded elements; each read decodes a fresh frozen copy, as in k6.
import { call, inInit } from '../runtime.mjs';

export class SharedArray {
  constructor(name, fn) {
    if (!inInit()) throw new Error('new SharedArray must be called in the init context');
    if (!name) throw new Error("empty name provided to SharedArray's constructor");
    if (typeof fn !== 'function') throw new Error("a function is expected as the second argument of SharedArray's constructor");
    if (fn.constructor?.name === 'AsyncFunction') throw new Error("SharedArray constructor does not support async functions as second argument");
    let items = call('shared', { name });
    if (!items) {
      const arr = fn();
      if (!Array.isArray(arr)) throw new Error('only arrays can be made into SharedArray');
      items = call('shared', { name, items: arr.map((x) => JSON.stringify(x)) });
    }
    const get = (i) => deepFreeze(JSON.parse(items[i]));
    return new Proxy([], {
      get(_, key) {
        if (key === 'length') return items.length;
        if (key === Symbol.iterator) return function* () { for (let i = 0; i < items.length; i++) yield get(i); };
        if (typeof key === 'string' && /^\d+$/.test(key)) return Number(key) < items.length ? get(Number(key)) : undefined;
        return Array.prototype[key];
      },
      set() { throw new TypeError('SharedArray is read-only'); },
      defineProperty() { throw new TypeError('SharedArray is read-only'); },
      deleteProperty() { throw new TypeError('SharedArray is read-only'); },
      has(_, key) { return key === 'length' || (typeof key === 'string' && /^\d+$/.test(key) && Number(key) < items.length); },
    });
  }
}

function deepFreeze(v) {
  if (v && typeof v === 'object') {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

export default { SharedArray };
