// The `k6/execution` module. scenario, vu and instance information exist
// only while an iteration runs, as in k6.
import { parentPort } from 'node:worker_threads';
import { inInit, rt } from '../runtime.mjs';

function vuOnly(what) {
  if (inInit() || !rt.scenario) throw new Error(`getting ${what} information outside of the VU context is not supported`);
}

export class AbortError extends Error {}

const exec = {
  get scenario() {
    vuOnly('scenario');
    const s = rt.scenario;
    return {
      name: s.name, executor: s.executor, startTime: s.startTime,
      progress: Math.min(1, (Date.now() - s.startTime) / s.plannedMs),
      iterationInInstance: rt.iteration.inScenario, iterationInTest: rt.iteration.inScenario,
    };
  },
  get vu() {
    if (inInit()) {
      return { idInInstance: rt.vu, idInTest: rt.vu, get iterationInInstance() { return vuOnly('VU'); } };
    }
    return {
      idInInstance: rt.vu, idInTest: rt.vu, iterationInInstance: rt.iteration?.inVU ?? 0,
      iterationInScenario: rt.iteration?.inVUScenario ?? 0, tags: rt.tags, metrics: { tags: rt.tags, metadata: {} },
    };
  },
  get instance() {
    vuOnly('instance');
    return { ...rt.instance, currentTestRunDuration: Date.now() - rt.instance.startTime };
  },
  test: {
    abort(reason) {
      parentPort.postMessage({ type: 'abort', reason: reason ?? 'test aborted' });
      throw new AbortError(`test aborted: ${reason ?? ''}`);
    },
    fail(reason) {
      parentPort.postMessage({ type: 'fail', reason: reason ?? '' });
    },
    get options() {
      return rt.options;
    },
  },
};

export default exec;
