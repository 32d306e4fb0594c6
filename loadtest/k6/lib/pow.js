// pow.js: the waiting room's proof of work (docs/api.md, queue/challenge): find a decimal nonce
// such that SHA-256(challenge + ":" + nonce) starts with `difficulty` zero
// bits. sha256hex is the hash (k6/crypto's sha256 as hex), passed in so
// this file imports no runtime module.
export function solve(challenge, difficulty, sha256hex) {
  for (let nonce = 0; ; nonce++) {
    if (leadingZeroBits(sha256hex(`${challenge}:${nonce}`)) >= difficulty) return String(nonce);
  }
}

export function leadingZeroBits(hex) {
  let n = 0;
  for (const ch of hex) {
    const v = parseInt(ch, 16);
    if (v === 0) { n += 4; continue; }
    return n + (v < 2 ? 3 : v < 4 ? 2 : v < 8 ? 1 : 0);
  }
  return n;
}
