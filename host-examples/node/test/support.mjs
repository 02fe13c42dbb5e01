// What the Node host's tests share: the bundle from scripts/cross-host.sh, requests, a second signature encoder.

import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { partHashes, sections } from "../src/bundle.mjs";

export const env = (k) => process.env[`SLICEGATE_TEST_${k}`];
export const HAVE = ["BUNDLE", "UNSIGNED", "TRUST"].every((k) => env(k));

export const REQUEST = {
  operation: "place",
  equipment: { id: "upf-lon-2", vendor: "ericsson", model: "ericsson-upf", softwareVersion: "24.1", softwareSigned: true, sbom: true, subsidyFunded: false },
  slice: { id: "embb-consumer", sst: 1, category: "consumer", usFederal: false },
  site: { id: "gb-lon-core-1", country: "GB", sensitive: false },
  network: "gb-example-mobile",
  at: "2026-06-01T00:00:00Z",
};
export const HUAWEI_CORE = { ...structuredClone(REQUEST), operation: "operate" };
HUAWEI_CORE.equipment = { ...HUAWEI_CORE.equipment, vendor: "huawei", model: "huawei-upf-x" };
export const PLAN = () => ({
  network: "gb-example-mobile",
  metric: "sites",
  installed: [{ equipment: structuredClone(REQUEST.equipment), slice: structuredClone(REQUEST.slice), site: structuredClone(REQUEST.site), weight: 1 }],
  changes: [],
  at: "2026-06-01T00:00:00Z",
});

export const leb = (n) => {
  const out = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
};
export const lp = (b) => Buffer.concat([leb(b.length), b]);

export function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { privateKey, raw: publicKey.export({ format: "der", type: "spki" }).subarray(-32) };
}

/** `unsigned` with a signature section by `signers` ([id, keyPair]): a second
 * encoder, written from the layout, to test the verifier against. */
export function signBundle(unsigned, signers) {
  const hashes = partHashes(unsigned, sections(unsigned));
  const msg = Buffer.concat([Buffer.from("wasmsig"), Buffer.from([1, 1, 1]), ...hashes]);
  const entries = signers.map(([id, k]) => lp(Buffer.concat([lp(Buffer.from(id)), Buffer.from([1]), lp(sign(null, msg, k.privateKey))])));
  const set = Buffer.concat([leb(hashes.length), ...hashes, leb(signers.length), ...entries]);
  const data = Buffer.concat([Buffer.from([1, 1, 1]), leb(1), lp(set)]);
  const payload = Buffer.concat([lp(Buffer.from("signature")), data]);
  return Buffer.concat([unsigned.subarray(0, 8), Buffer.from([0]), lp(payload), unsigned.subarray(8)]);
}

export function storeFile(keys, threshold = 1, extra = "") {
  const dir = mkdtempSync(join(tmpdir(), "slicegate-node-"));
  const lines = [extra, `threshold = ${threshold}`];
  for (const [id, raw] of keys) lines.push("[[keys]]", `id = "${id}"`, `public_key = "${raw.toString("hex")}"`);
  const path = join(dir, "trust.toml");
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** A copy of the test trust store with its own revision state. */
export function trustCopy() {
  const text = readFileSync(env("TRUST"), "utf8").split("\n").filter((l) => !l.startsWith("state")).join("\n");
  const path = join(mkdtempSync(join(tmpdir(), "slicegate-node-")), "trust.toml");
  writeFileSync(path, text);
  return path;
}

