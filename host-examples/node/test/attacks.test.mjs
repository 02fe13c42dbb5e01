// An attack run on the Python and Node hosts, kept as tests: bundles,
// manifests, trust stores, revision states and requests the Rust host
// refuses must be refused here too (never read another way), and a bundle
// that never ran must not raise the recorded revision.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, before } from "node:test";
import { BundleRefused, TrustStoreError, loadTrustStore, partHashes, sections, verifyBundle } from "../src/bundle.mjs";
import { Host } from "../src/host.mjs";
import { JsonFloat, parseInstant, parseJson } from "../src/strict.mjs";
import { PLACEMENT_REQUEST, decode } from "../src/types.mjs";
import { HAVE, REQUEST, env, keyPair, leb, lp, signBundle } from "./support.mjs";

const MANIFEST = "slicegate-manifest";
const custom = (name, data) => Buffer.concat([Buffer.from([0]), lp(Buffer.concat([lp(Buffer.from(name)), data]))]);

function withManifest(unsigned, text) {
  const parts = [unsigned.subarray(0, 8)];
  for (const s of sections(unsigned)) parts.push(s.customName === MANIFEST ? custom(MANIFEST, Buffer.from(text)) : unsigned.subarray(s.start, s.end));
  return Buffer.concat(parts);
}

function manifestOf(unsigned) {
  const s = sections(unsigned).find((x) => x.customName === MANIFEST);
  return JSON.parse(unsigned.subarray(s.dataStart, s.end).toString("utf8"));
}

const TABLE = JSON.parse(readFileSync(new URL("../../strictness.json", import.meta.url), "utf8"));

describe("instants as the Rust host reads them (host-examples/strictness.json)", () => {
  test("what is read and how", () => {
    for (const [text, iso] of TABLE.instantsRead) assert.equal(new Date(parseInstant(text)).toISOString(), iso, text);
  });
  test("what is refused", () => {
    for (const text of TABLE.instantsRefused) assert.throws(() => parseInstant(text), Error, String(text));
  });
});

describe("JSON as serde_json reads it", () => {
  test("what it refuses is refused", () => {
    const texts = [...TABLE.jsonRefusedHex.map((h) => Buffer.from(h, "hex")), ...TABLE.jsonNestedRefused.map((n) => "[".repeat(n) + "]".repeat(n))];
    for (const text of texts) assert.throws(() => parseJson(text), Error, String(text).slice(0, 40));
  });
  test("a float is never a whole number, -0 included", () => {
    for (const text of TABLE.jsonFloats) assert.ok(parseJson(text).a instanceof JsonFloat, text);
    assert.equal(parseJson('{"a": 0}').a, 0);
    assert.equal(Object.getPrototypeOf(parseJson('{"__proto__": {"x": 1}}')), null);
  });
});

describe("lists are read element by element", () => {
  test("an array's own constructor cannot choose what is sent", () => {
    const components = [];
    components.constructor = { [Symbol.species]: function Fake() { return ["hisilicon"]; } };
    const request = { ...structuredClone(REQUEST), equipment: { ...REQUEST.equipment, components } };
    const decoded = decode(PLACEMENT_REQUEST, request);
    assert.deepEqual(decoded.equipment.components, []);
    assert.equal(Object.getPrototypeOf(decoded.equipment.components), Array.prototype);
  });
});

describe("attacks on the Node host", { skip: HAVE ? false : "run by scripts/cross-host.sh, which builds and signs a bundle" }, () => {
  let unsigned;
  let key;
  let dir;
  let trustPath;
  let trust;
  const signed = (bytes) => signBundle(bytes, [["a", key]]);
  const manifestBundle = (change) => {
    const manifest = manifestOf(unsigned);
    const text = change(manifest);
    return signed(withManifest(unsigned, text ?? JSON.stringify(manifest)));
  };
  before(() => {
    unsigned = readFileSync(env("UNSIGNED"));
    key = keyPair();
  });
  const fresh = () => {
    dir = mkdtempSync(join(tmpdir(), "slicegate-node-attack-"));
    trustPath = join(dir, "trust.toml");
    writeFileSync(trustPath, `threshold = 1\n[[keys]]\nid = "a"\npublic_key = "${key.raw.toString("hex")}"\n`);
    trust = loadTrustStore(trustPath);
  };

  test("manifests the Rust host refuses", () => {
    fresh();
    const raw = (f) => (m) => f(JSON.stringify(m));
    const cases = {
      "notAfter twice": raw((t) => `${t.slice(0, -1)},"notAfter":"2020-01-01T00:00:00Z","notAfter":"2099-01-01T00:00:00Z"}`),
      "revision twice": raw((t) => `${t.slice(0, -1)},"revision":1}`),
      "unknown field": (m) => void (m.extra = 1),
      "createdAt missing": (m) => void delete m.createdAt,
      "format -1": (m) => void (m.format = -1),
      "format true": (m) => void (m.format = true),
      "format 1.0": raw((t) => t.replace('"format":1', '"format":1.0')),
      "revision 2^70": raw((t) => t.replace(/"revision":\d+/, '"revision":1180591620717411303424')),
      "revision 3.0": raw((t) => t.replace(/"revision":\d+/, '"revision":3.0')),
      "byte-order mark": raw((t) => Buffer.concat([Buffer.from("efbbbf", "hex"), Buffer.from(t)])),
      "UTF-16": raw((t) => Buffer.from(t, "utf16le")),
      "name not UTF-8": raw((t) => Buffer.concat([Buffer.from(t.slice(0, -1)), Buffer.from(',"x":"\xff"}', "latin1")])),
      "name a lone surrogate": raw((t) => t.replace('"name":"', '"name":"\\ud800')),
      "deeply nested": (m) => void (m.tests = JSON.parse("[".repeat(150) + "]".repeat(150))),
      "notAfter with an offset": (m) => void (m.notAfter = "2099-01-01T00:00:00+01:00"),
      "notAfter in lowercase": (m) => void (m.notAfter = "2099-01-01t00:00:00z"),
      "notAfter on 30 February": (m) => void (m.notAfter = "2099-02-30T00:00:00Z"),
      "notBefore a number": (m) => void (m.notBefore = 0),
    };
    for (const [name, change] of Object.entries(cases))
      assert.throws(() => verifyBundle(manifestBundle(change), trust), (e) => e instanceof BundleRefused && /manifest/.test(e.message), name);
  });

  test("a section that is not the signature, or not a section", () => {
    fresh();
    const bom = Buffer.concat([unsigned.subarray(0, 8), custom("\ufeffsignature", Buffer.from([1, 1, 1, 0])), unsigned.subarray(8)]);
    assert.throws(() => verifyBundle(bom, trust), /unsigned/);
    for (const section of [Buffer.from([0xff, 0]), Buffer.from([0x0f, 1, 0]), Buffer.from([0, 3, 2, 0xff, 0xfe])])
      assert.throws(() => verifyBundle(signed(Buffer.concat([unsigned, section])), trust), /well-formed/);
  });

  test("a bundle that does not compile records nothing", async () => {
    fresh();
    const customs = sections(unsigned).filter((s) => s.id === 0).map((s) => unsigned.subarray(s.start, s.end));
    const broken = Buffer.concat([unsigned.subarray(0, 8), Buffer.from([1]), lp(Buffer.from("0061736d01000000ff", "hex")), ...customs]);
    const path = join(dir, "broken.wasm");
    writeFileSync(path, signed(broken));
    await assert.rejects(Host.load(path, trustPath), (e) => e instanceof BundleRefused && /does not (compile|run)/.test(e.message));
    assert.equal(existsSync(trust.statePath), false, "a bundle that never ran raised the floor");
  });

  test("revision states the Rust host refuses", async () => {
    fresh();
    const path = join(dir, "good.wasm");
    writeFileSync(path, signed(unsigned));
    for (const text of [
      '{"highest": {"policies": 1, "policies": 9}}',
      '{"highest": {"policies": -1}}',
      '{"highest": []}',
      '{"highest": {"policies": true}}',
      '{"highest": {"policies": 1.5}}',
      '{"highest": {"policies": 18446744073709551616}}',
      '{"other": {}}',
    ]) {
      writeFileSync(trust.statePath, text);
      await assert.rejects(Host.load(path, trustPath), TrustStoreError, text);
    }
  });

  test("a bundle named like an object member keeps its floor", async () => {
    for (const name of ["__proto__", "constructor", "toString"]) {
      fresh();
      for (const [revision, ok] of [[5, true], [3, false]]) {
        const path = join(dir, `${revision}.wasm`);
        writeFileSync(path, manifestBundle((m) => void Object.assign(m, { name, revision })));
        if (ok) await Host.load(path, trustPath);
        else await assert.rejects(Host.load(path, trustPath), /rollback/, name);
      }
    }
  });

  test("trust stores the Rust host refuses", () => {
    fresh();
    const k = key.raw.toString("hex");
    const spaced = k.match(/../g).join(" ");
    for (const text of [
      `threshold = 1\n[[keys]]\nid = "a"\npublic_key = "${k}"\nnot_after = 2099-01-01T00:00:00Z\n`,
      `threshold = 1\n[[keys]]\nid = "a"\npublic_key = "${k}"\nnot_after = "2099-01-01T00:00:00+01:00"\n`,
      `threshold = 1\n[[keys]]\nid = "a"\npublic_key = "${k}"\nnot_after = "2099-02-30T00:00:00Z"\n`,
      `threshold = 1.0\n[[keys]]\nid = "a"\npublic_key = "${k}"\n`,
      `threshold = 1e0\n[[keys]]\nid = "a"\npublic_key = "${k}"\n`,
      `threshold = 1\n[[keys]]\nid = "a"\npublic_key = "${spaced}"\n`,
      `threshold = 1\r[[keys]]\nid = "a"\npublic_key = "${k}"\n`,
      `threshold = 1\n[keys]\nid = "a"\npublic_key = "${k}"\n`,
    ]) {
      writeFileSync(trustPath, text);
      assert.throws(() => loadTrustStore(trustPath), TrustStoreError, text);
    }
  });

  test("many bogus signatures are refused", () => {
    fresh();
    const hashes = partHashes(unsigned, sections(unsigned));
    const entry = lp(Buffer.concat([lp(Buffer.alloc(0)), Buffer.from([1]), lp(Buffer.alloc(64))]));
    const set = Buffer.concat([leb(hashes.length), ...hashes, leb(5000), ...Array(5000).fill(entry)]);
    const data = Buffer.concat([Buffer.from([1, 1, 1]), leb(1), lp(set)]);
    const flooded = Buffer.concat([unsigned.subarray(0, 8), custom("signature", data), unsigned.subarray(8)]);
    assert.throws(() => verifyBundle(flooded, trust), BundleRefused);
  });

  test("requests the Rust host refuses are denied", async () => {
    fresh();
    const own = join(dir, "own.toml");
    writeFileSync(own, readFileSync(env("TRUST"), "utf8").split("\n").filter((l) => !l.startsWith("state")).join("\n"));
    const host = await Host.load(env("BUNDLE"), own, { whatIf: true });
    const text = JSON.stringify(REQUEST);
    for (const bad of [
      text.replace('"vendor":"ericsson"', '"vendor":"huawei","vendor":"ericsson"'),
      text.replace('"sst":1', '"sst":-0'),
      text.replace('"sst":1', '"sst":1.0'),
      text.replace('"sst":1', '"sst":1.0000000000000001'),
      text.replace('"sbom":true', '"sbom":true,"components":null'),
      text.replace('"id":"upf-lon-2"', '"id":"upf\\ud800"'),
    ]) {
      let request;
      try {
        request = parseJson(bad);
      } catch {
        continue; // refused while reading, as the Rust host refuses it
      }
      assert.equal((await host.decide(request)).allowed, false, bad);
    }
    assert.equal((await host.decide({ ...structuredClone(REQUEST), slice: { ...REQUEST.slice, id: "x\ud800" } })).allowed, false);
    assert.equal((await host.decide(parseJson(text))).allowed, true);
  });
});
