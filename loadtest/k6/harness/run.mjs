#!/usr/bin/env node
// run.mjs: `k6 run` for the harness.
//   node loadtest/k6/harness/run.mjs [-e K=V]... [--vus N] [--duration D]
//        [--iterations N] [--summary-export FILE] [--no-strict]
//        [--vu-limit N (100)] script.js
// Runs the k6 script unchanged under Node with the stand-in k6 modules of
// ./k6 (see ../README.md for what differs from k6). Exit status as k6's,
// plus 1 when an iteration threw (unless --no-strict).
import path from 'node:path';
import { Engine } from './engine.mjs';

const usage = 'usage: node run.mjs [-e K=V]... [--vus N] [--duration D] [--iterations N] [--summary-export FILE] [--no-strict] [--vu-limit N] script.js';
const env = { ...process.env };
const overrides = {};
let script;
let summaryExport;
let strict = true;
let vuLimit = 100;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => {
    if (i + 1 >= args.length) throw new Error(`${a} needs a value\n${usage}`);
    return args[++i];
  };
  switch (a) {
    case '-e': case '--env': {
      const kv = value();
      const eq = kv.indexOf('=');
      if (eq < 1) throw new Error(`-e ${kv}: want KEY=VALUE`);
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
      break;
    }
    case '-u': case '--vus': overrides.vus = Number(value()); break;
    case '-d': case '--duration': overrides.duration = value(); break;
    case '-i': case '--iterations': overrides.iterations = Number(value()); break;
    case '--summary-export': summaryExport = value(); break;
    case '--no-strict': strict = false; break;
    case '--vu-limit': vuLimit = Number(value()); break;
    case '-h': case '--help': console.log(usage); process.exit(0); break;
    default:
      if (a.startsWith('-') || script) {
        console.error(usage);
        process.exit(2);
      }
      script = path.resolve(a);
  }
}
if (!script) {
  console.error(usage);
  process.exit(2);
}

const engine = new Engine({ script, env, overrides, strict, vuLimit, summaryExport, stdout: process.stdout, stderr: process.stderr });
const code = await engine.run();
process.exitCode = code;
