// The `k6/crypto` module over node:crypto.
import nodeCrypto from 'node:crypto';

function out(digest, enc) {
  switch (enc) {
    case 'hex': return digest.toString('hex');
    case 'base64': return digest.toString('base64');
    case 'base64url': return digest.toString('base64url') + '='.repeat((4 - (digest.toString('base64url').length % 4)) % 4);
    case 'base64rawurl': return digest.toString('base64url');
    case 'binary': return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.length);
    default: throw new Error(`unsupported output encoding: ${enc}`);
  }
}

const bytes = (x) => (typeof x === 'string' ? x : Buffer.from(x instanceof ArrayBuffer ? new Uint8Array(x) : x));
const hash = (alg) => (input, enc) => out(nodeCrypto.createHash(alg).update(bytes(input)).digest(), enc);

export const md5 = hash('md5');
export const sha1 = hash('sha1');
export const sha256 = hash('sha256');
export const sha384 = hash('sha384');
export const sha512 = hash('sha512');

export function hmac(alg, secret, data, enc) {
  return out(nodeCrypto.createHmac(alg, bytes(secret)).update(bytes(data)).digest(), enc);
}

export function createHash(alg) {
  const h = nodeCrypto.createHash(alg);
  return { update(x) { h.update(bytes(x)); }, digest(enc) { return out(h.digest(), enc); } };
}

export function createHMAC(alg, secret) {
  const h = nodeCrypto.createHmac(alg, bytes(secret));
  return { update(x) { h.update(bytes(x)); }, digest(enc) { return out(h.digest(), enc); } };
}

export function randomBytes(n) {
  const b = nodeCrypto.randomBytes(n);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
}

export default { md5, sha1, sha256, sha384, sha512, hmac, createHash, createHMAC, randomBytes };
