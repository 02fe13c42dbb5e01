// Ed25519 with node:crypto, and the checks node:crypto leaves out: a public
// key (or a signature's R) of small order — the identity, an all-zero
// placeholder — verifies signatures nobody made, so it is refused, as the
// Rust host's `verify_strict` and `is_weak` refuse it.

import { createPublicKey, verify } from "node:crypto";

const P = 2n ** 255n - 19n;
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

function mod(a) {
  const r = a % P;
  return r >= 0n ? r : r + P;
}

function pow(base, exp) {
  let result = 1n;
  base = mod(base);
  while (exp > 0n) {
    if (exp & 1n) result = mod(result * base);
    base = mod(base * base);
    exp >>= 1n;
  }
  return result;
}

function inv(a) {
  return pow(a, P - 2n);
}

/** The point a 32-byte encoding names, or null when it names none (or not canonically). */
function decompress(bytes) {
  if (bytes.length !== 32) return null;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i] & 0x7f : bytes[i]);
  const sign = (bytes[31] >> 7) & 1;
  if (y >= P) return null;
  const y2 = mod(y * y);
  const x2 = mod((y2 - 1n) * inv(mod(D * y2 + 1n)));
  let x = pow(x2, (P + 3n) / 8n);
  if (mod(x * x) !== x2) x = mod(x * SQRT_M1);
  if (mod(x * x) !== x2) return null;
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = P - x;
  return [x, y];
}

function add([x1, y1], [x2, y2]) {
  const t = mod(D * x1 * x2 * y1 * y2);
  return [mod((x1 * y2 + y1 * x2) * inv(mod(1n + t))), mod((y1 * y2 + x1 * x2) * inv(mod(1n - t)))];
}

/** Whether `bytes` encode a point of small order (8·P is the identity), or no point at all. */
export function isWeak(bytes) {
  let point = decompress(bytes);
  if (point === null) return true;
  for (let i = 0; i < 3; i++) point = add(point, point);
  return point[0] === 0n && point[1] === 1n;
}

const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Whether `signature` by the 32-byte `publicKey` over `message` verifies, strictly. */
export function verifyStrict(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  let valid;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    valid = verify(null, message, key, signature);
  } catch {
    return false;
  }
  // The curve arithmetic only for a signature that verifies, so a flood of
  // bogus signatures costs what OpenSSL's checks cost.
  return valid && !weakKey(publicKey) && !isWeak(signature.subarray(0, 32));
}

const checkedKeys = new Map();

/** isWeak for public keys, remembered (a trust store has a few). */
function weakKey(publicKey) {
  const hex = publicKey.toString("hex");
  if (!checkedKeys.has(hex)) {
    if (checkedKeys.size > 1024) checkedKeys.clear();
    checkedKeys.set(hex, isWeak(publicKey));
  }
  return checkedKeys.get(hex);
}
