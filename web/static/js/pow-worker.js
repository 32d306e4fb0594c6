// Web Worker that solves a waiting-room challenge off the page's thread.
// Start it as a module worker:
//
//   const w = new Worker("/js/pow-worker.js", { type: "module" });
//   w.postMessage(challenge); // the body of GET /api/events/{event}/queue/challenge
//   w.onmessage = (e) => { if (e.data.type === "solved") join(e.data); };
//
// and POST {challenge, signature, solution} to /api/events/{event}/queue.
import { solve } from "./pow.js";

self.onmessage = async (event) => {
  const c = event.data;
  const started = performance.now();
  try {
    if (c.algorithm !== "sha256-leading-zero-bits") {
      throw new Error("unknown proof-of-work algorithm " + c.algorithm);
    }
    const solution = await solve(c.challenge, c.difficulty, {
      onProgress: (tried) => self.postMessage({ type: "progress", tried }),
    });
    self.postMessage({
      type: "solved",
      challenge: c.challenge,
      signature: c.signature,
      solution,
      ms: Math.round(performance.now() - started),
    });
  } catch (err) {
    self.postMessage({ type: "error", message: String(err) });
  }
};
