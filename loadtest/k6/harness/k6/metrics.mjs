// The `k6/metrics` module. A metric must be declared while the module graph
// evaluates (the init context) and can only be added to from VU code.
import { call, emit, inInit, tagsNow } from '../runtime.mjs';

function metricClass(type) {
  return class {
    constructor(name, isTime = false) {
      if (!inInit()) throw new Error('metrics must be declared in the init context');
      call('metric', { name, type, isTime: Boolean(isTime) });
      this.name = name;
      this.type = type;
    }

    add(value, tags) {
      if (inInit()) throw new Error('Adding to metrics in the init context is not supported');
      let v = type === 'rate' ? (value ? 1 : 0) : Number(value);
      if (typeof value === 'boolean') v = value ? 1 : 0;
      if (Number.isNaN(v)) throw new Error(`'${value}' is an invalid value for metric '${this.name}', a number or a boolean value is expected`);
      emit(this.name, v, tagsNow(tags));
      return true;
    }
  };
}

export const Counter = metricClass('counter');
export const Gauge = metricClass('gauge');
export const Rate = metricClass('rate');
export const Trend = metricClass('trend');
export default { Counter, Gauge, Rate, Trend };
