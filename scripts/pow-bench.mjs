// Estimates the browser's proof-of-work solve time with Node's WebCrypto
// (globalThis.crypto.subtle, the same API a browser worker uses) running the
// page's own solver, web/static/js/pow.js. Usage:
//
//   node scripts/pow-bench.mjs [difficulty=16] [runs=20]
//
// Prints hashes per second and the mean/median/p90 solve time over fresh
// random challenges. Real browsers differ (Chromium's subtle.digest is
// usually somewhat slower per call than Node's); see docs/benchmarks.md, "Proof of work".
import { solve } from "../web/static/js/pow.js";
import { randomBytes } from "node:crypto";

const difficulty = Number(process.argv[2] ?? 16);
const runs = Number(process.argv[3] ?? 20);
const times = [];
let hashes = 0;
for (let r = 0; r < runs; r++) {
  const challenge = `v1.1.${difficulty}.2000000000.${randomBytes(16).toString("hex")}`;
  const t0 = performance.now();
  const nonce = await solve(challenge, difficulty);
  times.push(performance.now() - t0);
  hashes += Number(nonce) + 1;
}
const total = times.reduce((a, b) => a + b, 0);
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
console.log(
  `difficulty ${difficulty}, ${runs} runs: ${Math.round((hashes / total) * 1000)} hashes/s; ` +
    `solve mean ${Math.round(total / runs)} ms, median ${Math.round(q(0.5))} ms, p90 ${Math.round(q(0.9))} ms`,
);
