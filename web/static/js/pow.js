// Proof of work for joining a waiting room (docs/api.md, queue/challenge): find a decimal nonce
// such that SHA-256(challenge + ":" + nonce) starts with `difficulty` zero
// bits. Plain ES module, no build; runs in a Web Worker (pow-worker.js), in
// the page, or in Node 20+ (globalThis.crypto.subtle) for measurements.

/** leadingZeroBits counts the leading zero bits of a digest. */
export function leadingZeroBits(bytes) {
  let n = 0;
  for (const b of bytes) {
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

/**
 * solve returns the smallest decimal nonce (as a string) meeting the
 * difficulty, the same answer as the Go solver (waitingroom.Solve). It
 * hashes `batch` candidates concurrently per await to amortise the cost of
 * crypto.subtle's promises, and calls onProgress(tried) after each batch.
 */
export async function solve(challenge, difficulty, { batch = 256, onProgress } = {}) {
  const subtle = globalThis.crypto.subtle;
  const enc = new TextEncoder();
  const prefix = challenge + ":";
  for (let start = 0; ; start += batch) {
    const digests = await Promise.all(
      Array.from({ length: batch }, (_, i) => subtle.digest("SHA-256", enc.encode(prefix + (start + i)))),
    );
    for (let i = 0; i < batch; i++) {
      if (leadingZeroBits(new Uint8Array(digests[i])) >= difficulty) {
        return String(start + i);
      }
    }
    if (onProgress) onProgress(start + batch);
  }
}
