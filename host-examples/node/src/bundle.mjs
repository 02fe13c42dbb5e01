// Verifying a signed slicegate bundle before anything is compiled: the same
// rules as the Rust host (`slicegate verify`). The WebAssembly
// tool-conventions Signatures.md layout (a `signature` custom section first,
// or the same bytes detached; SHA-256 over every other section; Ed25519
// with key ids), the trust store's keys, windows and threshold, the
// bundle's own window, and the highest revision accepted per bundle name.

import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname, isAbsolute, join, basename } from "node:path";
import { parse as parseToml } from "smol-toml";
import { isWeak, verifyStrict } from "./ed25519.mjs";
import { parseInstant, parseJson } from "./strict.mjs";
import { MANIFEST, decode } from "./types.mjs";

const COMPONENT_HEADER = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
const SIGNATURE_SECTION = "signature";
const DELIMITER_SECTION = "signature_delimiter";
const MANIFEST_SECTION = "slicegate-manifest";
const MANIFEST_FORMAT = 1;
const HEADER = Buffer.from([0x01, 0x01, 0x01]);

/** The bundle may not run; thrown before anything is compiled. */
export class BundleRefused extends Error {}

/** The trust store (or the revision state beside it) is not usable. */
export class TrustStoreError extends Error {}

export { parseInstant };

const LAST_SECTION_ID = 11; // a component's sections: custom (0) to export (11)
// What verifyBundle returned, and the bytes and window it checked, kept
// here: a Host runs only these, from this copy (changing the returned
// object changes nothing that runs).
const verified = new WeakMap();

/** Whether `bundle` is what verifyBundle returned. */
export const isVerified = (bundle) => verified.has(bundle);

/** The bytes and window verifyBundle checked for `bundle`. */
export const verifiedParts = (bundle) => verified.get(bundle);

const malformed = (why) => new BundleRefused(`the bundle is not a well-formed WebAssembly component: ${why}`);
const corrupt = (why) => new BundleRefused(`the bundle was changed after it was signed: the signature data is corrupt (${why})`);

function leb(data, pos, fail) {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (pos >= data.length) throw fail("truncated");
    const byte = data[pos++];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (i === 4 && byte > 0x0f) break;
      return [value, pos];
    }
  }
  throw fail("bad length");
}

/** The top-level sections of a component. */
export function sections(data) {
  if (data.length < 8 || !data.subarray(0, 8).equals(COMPONENT_HEADER)) throw malformed("bad preamble");
  const out = [];
  let pos = 8;
  while (pos < data.length) {
    const start = pos;
    const id = data[pos];
    const [size, after] = leb(data, pos + 1, (w) => malformed(`${w} at byte ${start}`));
    const end = after + size;
    if (end > data.length) throw malformed(`section at byte ${start} runs past the end`);
    if (id > LAST_SECTION_ID) throw malformed(`unknown section id ${id} at byte ${start}`);
    const section = { id, start, end, customName: null, dataStart: 0 };
    if (id === 0) {
      const [nameLen, nameStart] = leb(data, after, (w) => malformed(`${w} at byte ${start}`));
      if (nameStart + nameLen > end) throw malformed(`bad custom section at byte ${start}`);
      try {
        // A leading byte-order mark is part of the name, as in the Rust host.
        section.customName = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data.subarray(nameStart, nameStart + nameLen));
      } catch {
        throw malformed(`a custom section name that is not UTF-8 at byte ${start}`);
      }
      section.dataStart = nameStart + nameLen;
    }
    out.push(section);
    pos = end;
  }
  return out;
}

/** The rolling SHA-256 part hashes, skipping the signature section. */
export function partHashes(data, parsed) {
  const hasher = createHash("sha256");
  const hashes = [];
  let lastWasDelimiter = false;
  for (const s of parsed) {
    if (s.customName === SIGNATURE_SECTION) continue;
    hasher.update(data.subarray(s.start, s.end));
    lastWasDelimiter = s.customName === DELIMITER_SECTION;
    if (lastWasDelimiter) hashes.push(hasher.copy().digest());
  }
  if (!lastWasDelimiter) hashes.push(hasher.digest());
  return hashes;
}

class Reader {
  constructor(data) {
    this.data = data;
    this.pos = 0;
  }
  take(n) {
    if (this.pos + n > this.data.length) throw corrupt("field runs past the end");
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  count() {
    const [value, pos] = leb(this.data, this.pos, () => corrupt("bad count"));
    this.pos = pos;
    return value;
  }
  bytes() {
    return this.take(this.count());
  }
  end() {
    if (this.pos !== this.data.length) throw corrupt("trailing bytes");
  }
}

export function decodeSignatureData(raw) {
  const reader = new Reader(raw);
  const header = reader.take(3);
  if (!header.equals(HEADER)) throw new BundleRefused(`the bundle was changed after it was signed: unsupported signature format ${header.toString("hex")}`);
  const sets = [];
  for (let i = reader.count(); i > 0; i--) {
    const set = new Reader(reader.bytes());
    const hashes = [];
    for (let h = set.count(); h > 0; h--) hashes.push(set.take(32));
    const entries = [];
    for (let e = set.count(); e > 0; e--) {
      const entry = new Reader(set.bytes());
      const keyId = entry.bytes();
      const algorithm = entry.take(1)[0];
      const signature = entry.bytes();
      entry.end();
      entries.push({ keyId, algorithm, signature });
    }
    set.end();
    sets.push({ hashes, entries });
  }
  reader.end();
  return sets;
}

const message = (hashes) => Buffer.concat([Buffer.from("wasmsig"), HEADER, ...hashes]);

/** A trust store in the Rust host's TOML format. */
export function loadTrustStore(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new TrustStoreError(`${path}: ${e.message}`);
  }
  const invalid = (m) => new TrustStoreError(`trust store ${path}: ${m}`);
  if (/\r(?!\n)/.test(text)) throw invalid("a carriage return that is not part of a line break");
  let doc;
  try {
    // Integers as BigInt, so `threshold = 1.0` (a float) is told apart.
    doc = parseToml(text, { integersAsBigInt: true });
  } catch (e) {
    throw invalid(e.message);
  }
  const unknown = Object.keys(doc).filter((k) => !["threshold", "state", "keys"].includes(k));
  if (unknown.length) throw invalid(`unknown field(s) ${unknown.join(", ")}`);
  if (typeof doc.threshold !== "bigint" || doc.threshold < 0n) throw invalid("threshold must be a whole number");
  const threshold = doc.threshold > 1000n ? Number.MAX_SAFE_INTEGER : Number(doc.threshold);
  if (doc.keys !== undefined && !Array.isArray(doc.keys)) throw invalid("keys must be an array of tables ([[keys]])");
  const keys = [];
  for (const entry of doc.keys ?? []) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw invalid("every [[keys]] entry must be a table");
    const extra = Object.keys(entry).filter((k) => !["id", "public_key", "not_before", "not_after"].includes(k));
    if (extra.length || typeof entry.id !== "string" || typeof entry.public_key !== "string")
      throw invalid(`key entry ${entry.id ?? "?"}: needs id and public_key, and nothing else but not_before/not_after`);
    if (keys.some((k) => k.id === entry.id)) throw invalid(`key id \`${entry.id}\` appears twice`);
    const hex = entry.public_key.trim();
    const raw = /^[0-9a-fA-F]{64}$/.test(hex) ? Buffer.from(hex, "hex") : null;
    if (!raw) throw invalid(`key \`${entry.id}\`: public_key must be 64 hex digits`);
    if (isWeak(raw)) throw invalid(`key \`${entry.id}\`: not a usable Ed25519 public key (small order or not a curve point)`);
    const twin = keys.find((k) => k.publicKey.equals(raw));
    if (twin) throw invalid(`key \`${entry.id}\` has the same public key as \`${twin.id}\`: one key under two ids would count twice towards the threshold`);
    const window = {};
    for (const w of ["not_before", "not_after"]) {
      if (entry[w] === undefined) continue;
      try {
        window[w] = parseInstant(entry[w], { roundUp: w === "not_before" }); // a string: a TOML datetime value is refused
      } catch (e) {
        throw invalid(`key \`${entry.id}\`: ${e.message}`);
      }
    }
    keys.push({ id: entry.id, publicKey: raw, notBefore: window.not_before ?? null, notAfter: window.not_after ?? null });
  }
  if (threshold === 0) throw invalid("threshold must be at least 1");
  if (threshold > keys.length) throw invalid(`threshold ${threshold} is more than the ${keys.length} key(s) listed`);
  let statePath;
  if (doc.state === undefined) statePath = join(dirname(path), `${basename(path)}.state.json`);
  else if (typeof doc.state === "string") statePath = isAbsolute(doc.state) ? doc.state : join(dirname(path), doc.state);
  else throw invalid("state must be a path");
  return { threshold, keys, statePath };
}

function keyInvalidAt(key, at) {
  if (key.notBefore !== null && at < key.notBefore) return "not yet valid";
  if (key.notAfter !== null && at > key.notAfter) return "expired";
  return null;
}

function countSignatures(entries, trust, hashes, at) {
  const valid = [];
  const validKeys = new Set();
  const unknown = [];
  let notValid = null;
  let bad = null;
  const msg = message(hashes);
  for (const entry of entries) {
    const keyId = entry.keyId.toString("utf8");
    const candidates = keyId === "" ? trust.keys : trust.keys.filter((k) => k.id === keyId);
    if (candidates.length === 0) {
      unknown.push(keyId || "(no key id)");
      continue;
    }
    const key = candidates.find((k) => entry.algorithm === 0x01 && verifyStrict(k.publicKey, msg, entry.signature));
    if (!key) {
      if (keyId) bad = keyId;
      else unknown.push("(no key id)");
      continue;
    }
    const why = keyInvalidAt(key, at);
    if (why) notValid = [key.id, why];
    else if (!validKeys.has(key.publicKey.toString("hex"))) {
      validKeys.add(key.publicKey.toString("hex"));
      valid.push(key.id);
    }
  }
  const required = Math.max(trust.threshold, 1);
  if (valid.length >= required) return valid.sort();
  if (valid.length === 0) {
    if (bad !== null) throw new BundleRefused(`the bundle was changed after it was signed: the signature by key \`${bad}\` does not verify`);
    if (notValid !== null) throw new BundleRefused(`the signing key \`${notValid[0]}\` is ${notValid[1]} at the time of loading`);
    if (unknown.length) throw new BundleRefused(`no signature is from a key in the trust store (signed by: ${unknown.join(", ")})`);
  }
  throw new BundleRefused(`${valid.length} valid signature(s) from distinct trusted keys (${valid.join(", ")}); the trust store requires ${required}`);
}

function signatureData(data, parsed, detached) {
  const found = parsed.map((s, i) => [i, s]).filter(([, s]) => s.customName === SIGNATURE_SECTION);
  if (found.length > 1) throw new BundleRefused(`the bundle was changed after it was signed: it has ${found.length} signature sections`);
  if (found.length === 1 && found[0][0] !== 0) throw new BundleRefused("the bundle was changed after it was signed: the signature section must be the first section");
  if (detached) return detached;
  if (found.length === 1) return data.subarray(found[0][1].dataStart, found[0][1].end);
  throw new BundleRefused("the bundle is unsigned: it has no signature section and no detached signature was given");
}

/** The manifest, read as strictly as the Rust host reads it: every field
 * typed, none unknown, none twice. */
function readManifest(data, parsed) {
  const found = parsed.filter((s) => s.customName === MANIFEST_SECTION);
  if (found.length !== 1) throw new BundleRefused(`the bundle has ${found.length} manifest sections; it needs exactly one`);
  let manifest;
  try {
    manifest = decode(MANIFEST, parseJson(data.subarray(found[0].dataStart, found[0].end)), "manifest");
  } catch (e) {
    throw new BundleRefused(`the bundle's manifest is malformed: ${e.message}`);
  }
  if (manifest.format > MANIFEST_FORMAT) throw new BundleRefused(`the bundle's manifest format ${manifest.format} is newer than this host reads`);
  return manifest;
}

/** Checks `data` (and a detached signature) against `trust` at `at` (ms, now by default). */
export function verifyBundle(data, trust, { detached = null, at = Date.now() } = {}) {
  data = Buffer.from(data);
  const parsed = sections(data);
  const sets = decodeSignatureData(signatureData(data, parsed, detached ? Buffer.from(detached) : null));
  const hashes = partHashes(data, parsed);
  const same = (a, b) => a.length === b.length && a.every((h, i) => h.equals(b[i]));
  const entries = sets.filter((s) => same(s.hashes, hashes)).flatMap((s) => s.entries);
  if (entries.length === 0) throw new BundleRefused("the bundle was changed after it was signed: its content does not match the hashes it was signed over");
  const signers = countSignatures(entries, trust, hashes, at);
  const manifest = readManifest(data, parsed);
  let notBefore = null;
  let notAfter = null;
  try {
    if (manifest.notBefore != null) notBefore = parseInstant(manifest.notBefore, { roundUp: true });
    if (manifest.notAfter != null) notAfter = parseInstant(manifest.notAfter);
  } catch (e) {
    throw new BundleRefused(`the bundle's manifest is malformed: ${e.message}`);
  }
  if (notBefore !== null && at < notBefore) throw new BundleRefused(`the bundle is not valid before ${manifest.notBefore}`);
  if (notAfter !== null && at > notAfter) throw new BundleRefused(`the bundle expired at ${manifest.notAfter}`);
  let limitedBy = notAfter !== null ? `the bundle's not-after (${manifest.notAfter})` : null;
  // Signed by `threshold` valid keys until the threshold-th latest expiry.
  const expiries = trust.keys.filter((k) => signers.includes(k.id)).map((k) => k.notAfter);
  const ends = [...expiries.filter((t) => t === null), ...expiries.filter((t) => t !== null).sort((a, b) => b - a)];
  const required = Math.max(trust.threshold, 1);
  if (ends.length >= required && ends[required - 1] !== null && (notAfter === null || ends[required - 1] < notAfter)) {
    notAfter = ends[required - 1];
    limitedBy = `the last instant ${required} of its signing keys are valid`;
  }
  const bundle = Object.freeze({ sha256: hashes[hashes.length - 1].toString("hex"), manifest: Object.freeze(manifest), name: manifest.name, revision: manifest.revision, signers: Object.freeze(signers), notBefore, notAfter, limitedBy });
  verified.set(bundle, Object.freeze({ data: Buffer.from(data), notBefore, notAfter, limitedBy }));
  return bundle;
}

function readState(path) {
  let bytes;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    if (e.code === "ENOENT") return Object.create(null);
    throw new TrustStoreError(`${path}: ${e.message}`);
  }
  let highest;
  try {
    highest = parseJson(bytes).highest;
  } catch (e) {
    throw new TrustStoreError(`${path}: revision state is corrupt: ${e.message}`);
  }
  const revision = (v) => (Number.isSafeInteger(v) && v >= 0) || (typeof v === "bigint" && v >= 0n && v < 2n ** 64n);
  if (typeof highest !== "object" || highest === null || Array.isArray(highest) || !Object.values(highest).every(revision))
    throw new TrustStoreError(`${path}: revision state is corrupt (\`highest\` must map names to revisions)`);
  return highest;
}

/** The highest revision accepted for `name`, if any. */
export function highestRevision(trust, name) {
  const highest = readState(trust.statePath);
  return Object.hasOwn(highest, name) ? highest[name] : undefined;
}

function writeRevision(path, name, revision) {
  const highest = readState(path);
  if (Object.hasOwn(highest, name) && highest[name] >= revision) return;
  highest[name] = revision;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    // Written by hand: a revision past 2^53 (read as a BigInt) keeps its digits.
    const members = Object.entries(highest).map(([k, v]) => `${JSON.stringify(k)}:${v.toString()}`);
    writeSync(fd, `{"highest":{${members.join(",")}}}`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Refuses a revision lower than the highest accepted for the bundle's name. */
export function checkRollback(bundle, trust) {
  const highest = highestRevision(trust, bundle.name);
  if (highest !== undefined && bundle.revision < highest)
    throw new BundleRefused(`bundle \`${bundle.name}\` revision ${bundle.revision} is lower than revision ${highest} already accepted (rollback refused)`);
}

/** Records the bundle's revision as accepted: once it compiled and
 * instantiated, so a bundle that never ran cannot raise the floor. */
export function recordRevision(bundle, trust) {
  writeRevision(trust.statePath, bundle.name, bundle.revision);
}

/** A bundle file and its detached signature (`<bundle>.sig`) when it carries none. */
export function readBundle(path) {
  let data;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new BundleRefused(`reading bundle ${path}: ${e.message}`);
  }
  let embedded = false;
  try {
    embedded = sections(data).some((s) => s.customName === SIGNATURE_SECTION);
  } catch {
    // verification reports it
  }
  const sig = `${path}.sig`;
  const detached = !embedded && existsSync(sig) ? readFileSync(sig) : null;
  return { data, detached };
}
