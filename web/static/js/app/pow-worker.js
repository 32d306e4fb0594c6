// pow-worker.js: finds a decimal nonce such that SHA-256(challenge + ":" +
// nonce) starts with `difficulty` zero bits (API.md), reporting progress
// against the expected 2^difficulty tries.
self.onmessage = async (e) => {
  const { challenge, difficulty } = e.data;
  const enc = new TextEncoder();
  const expected = 2 ** difficulty;
  for (let nonce = 0; ; nonce++) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(`${challenge}:${nonce}`)));
    if (leadingZeroBits(digest) >= difficulty) {
      self.postMessage({ solution: String(nonce) });
      return;
    }
    if (nonce % 512 === 0) self.postMessage({ progress: Math.min(1, nonce / expected) });
  }
};

function leadingZeroBits(b) {
  let n = 0;
  for (const byte of b) {
    if (byte === 0) { n += 8; continue; }
    return n + Math.clz32(byte) - 24;
  }
  return n;
}
