// The Node host on a real signed bundle: what it must refuse before
// compiling anything, and what it must deny. Run by scripts/cross-host.sh,
// which builds and signs the bundle with the Rust CLI and sets
// SLICEGATE_TEST_BUNDLE (signed, embedded), SLICEGATE_TEST_UNSIGNED (the same
// build unsigned) and SLICEGATE_TEST_TRUST (a trust store with its key).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, before } from "node:test";
import { BundleRefused, TrustStoreError, loadTrustStore, sections, verifyBundle } from "../src/bundle.mjs";
import { Host } from "../src/host.mjs";
import { policyTypes } from "../scripts/types.mjs";
import { HAVE, HUAWEI_CORE, PLAN, REQUEST, env, keyPair, signBundle, storeFile, trustCopy } from "./support.mjs";

describe("the Node host", { skip: HAVE ? false : "run by scripts/cross-host.sh, which builds and signs a bundle" }, () => {
  let signed;
  let unsigned;
  let host;
  before(async () => {
    signed = readFileSync(env("BUNDLE"));
    unsigned = readFileSync(env("UNSIGNED"));
    host = await Host.load(env("BUNDLE"), trustCopy(), { whatIf: true });
  });

  test("a flipped byte anywhere in the content is refused", () => {
    const trust = loadTrustStore(trustCopy());
    const sigEnd = sections(signed)[0].end;
    for (const offset of [sigEnd + 1, sigEnd + 100, Math.floor(signed.length / 2), signed.length - 1]) {
      const tampered = Buffer.from(signed);
      tampered[offset] ^= 0x01;
      assert.throws(() => verifyBundle(tampered, trust), BundleRefused, `byte ${offset}`);
    }
  });

  test("a tampered bundle is refused before it is compiled", async () => {
    const tampered = Buffer.from(signed);
    tampered[tampered.length >> 1] ^= 0x40;
    const path = join(mkdtempSync(join(tmpdir(), "slicegate-node-")), "tampered.wasm");
    writeFileSync(path, tampered);
    await assert.rejects(Host.load(path, trustCopy()), (e) => e instanceof BundleRefused && /changed after it was signed/.test(e.message));
  });

  test("unsigned, unknown keys and too few signers are refused", () => {
    const a = keyPair();
    const b = keyPair();
    const trust = loadTrustStore(storeFile([["a", a.raw], ["b", b.raw]], 2));
    assert.throws(() => verifyBundle(unsigned, trust), /unsigned/);
    assert.throws(() => verifyBundle(signBundle(unsigned, [["a", a]]), trust), /requires 2/);
    assert.throws(() => verifyBundle(signBundle(unsigned, [["c", keyPair()]]), trust), /no signature is from a key/);
    assert.throws(() => verifyBundle(signBundle(unsigned, [["a", a], ["b", a]]), trust), /does not verify|requires 2/);
    const ok = verifyBundle(signBundle(unsigned, [["a", a], ["b", b]]), trust);
    assert.deepEqual(ok.signers, ["a", "b"]);
    assert.equal(ok.sha256, verifyBundle(signed, loadTrustStore(trustCopy())).sha256);
  });

  test("a detached signature beside the bundle is read", async () => {
    const a = keyPair();
    const dir = mkdtempSync(join(tmpdir(), "slicegate-node-"));
    const withSig = signBundle(unsigned, [["a", a]]);
    const s = sections(withSig)[0];
    writeFileSync(join(dir, "b.wasm"), unsigned);
    writeFileSync(join(dir, "b.wasm.sig"), withSig.subarray(s.dataStart, s.end));
    const h = await Host.load(join(dir, "b.wasm"), storeFile([["a", a.raw]]));
    assert.deepEqual(h.bundle.signers, ["a"]);
  });

  test("key and bundle windows", () => {
    const trust = loadTrustStore(trustCopy());
    const day = 86_400_000;
    trust.keys[0].notBefore = Date.now() + day;
    assert.throws(() => verifyBundle(signed, trust), /not yet valid/);
    trust.keys[0].notBefore = null;
    trust.keys[0].notAfter = Date.now() - day;
    assert.throws(() => verifyBundle(signed, trust), /expired/);
    trust.keys[0].notAfter = Date.now() + day;
    assert.equal(verifyBundle(signed, trust).notAfter, trust.keys[0].notAfter);
  });

  test("a served bundle past its window denies everything", async () => {
    // The signing key expires a day from now; the host's clock is moved.
    const keyEnd = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
    const path = trustCopy();
    writeFileSync(path, `${readFileSync(path, "utf8").trimEnd()}\nnot_after = "${keyEnd}"\n`);
    let clock = Date.now();
    const h = await Host.load(env("BUNDLE"), path, { whatIf: true, clock: () => clock });
    assert.equal((await h.decide(REQUEST)).allowed, true);
    clock = h.bundle.notAfter + 1;
    const d = await h.decide(REQUEST);
    assert.equal(d.allowed, false);
    assert.equal(d.failure.kind, "bundle-expired");
    assert.equal((await h.checkPlan(PLAN())).allowed, false);
    assert.deepEqual((await h.decideBatch([REQUEST, REQUEST])).map((a) => a.allowed), [false, false]);
    // What verifyBundle returned cannot be changed under the host.
    assert.throws(() => {
      h.bundle.notAfter = null;
    }, TypeError);
  });

  test("calls run one at a time; a failed call leaves no instance to the next", async () => {
    const h = await Host.load(env("BUNDLE"), trustCopy(), { whatIf: true });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => h.decide(i % 2 ? HUAWEI_CORE : REQUEST)));
    assert.deepEqual(answers.map((a) => a.allowed), Array.from({ length: 40 }, (_, i) => i % 2 === 0));
    // A guest fault in the first call: the second, started at once, must
    // run in a fresh instance, not the one the fault left.
    const root = await h._instance();
    root.placement.decideBatch = () => {
      throw new WebAssembly.RuntimeError("unreachable");
    };
    const [a, b] = await Promise.all([h.decide(REQUEST), h.decide(REQUEST)]);
    assert.equal(a.allowed, false);
    assert.equal(a.failure.kind, "trap");
    assert.equal(b.allowed, true, JSON.stringify(b.failure));
  });

  test("only what verifyBundle returned runs, from the bytes it checked", async () => {
    await assert.rejects(Host.fromVerified({ data: unsigned, notBefore: null, notAfter: null }), TypeError);
    const trust = loadTrustStore(trustCopy());
    const b = verifyBundle(signed, trust);
    assert.equal(Object.isFrozen(b), true);
    assert.equal(b.data, undefined);
  });

  test("requests past the host's size bound are denied", async () => {
    const big = structuredClone(REQUEST);
    big.equipment.id = "x".repeat(2 << 20);
    const d = await host.decide(big);
    assert.equal(d.allowed, false);
    assert.equal(d.failure.kind, "limit");
    const fits = structuredClone(REQUEST);
    fits.equipment.id = "x".repeat(512 << 10);
    assert.equal((await host.decide(fits)).allowed, true);
    await assert.rejects(host.decideBatch(undefined), TypeError);
  });

  test("a rollback is refused and the revision recorded", async () => {
    const path = trustCopy();
    const trust = loadTrustStore(path);
    const { name, revision } = verifyBundle(signed, trust);
    writeFileSync(trust.statePath, JSON.stringify({ highest: { [name]: 99 } }));
    await assert.rejects(Host.load(env("BUNDLE"), path), /rollback/);
    unlinkSync(trust.statePath);
    await Host.load(env("BUNDLE"), path);
    assert.equal(JSON.parse(readFileSync(trust.statePath, "utf8")).highest[name], revision);
    writeFileSync(trust.statePath, "{not json");
    await assert.rejects(Host.load(env("BUNDLE"), path), TrustStoreError);
  });

  test("trust stores that must not load", () => {
    const k = keyPair().raw;
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    for (const [keys, threshold, why] of [
      [[["z", Buffer.alloc(32)]], 1, /usable/],
      [[["i", identity]], 1, /usable/],
      [[["a", k], ["b", k]], 1, /same public key/],
      [[["a", k]], 0, /at least 1/],
      [[["a", k]], 2, /more than/],
    ])
      assert.throws(() => loadTrustStore(storeFile(keys, threshold)), (e) => e instanceof TrustStoreError && why.test(e.message));
    assert.throws(() => loadTrustStore(storeFile([["a", k]], 1, "thresold = 1")), /unknown/);
  });

  test("malformed bundles are refused with a reason", () => {
    const trust = loadTrustStore(trustCopy());
    for (const bad of [Buffer.alloc(0), Buffer.from("0061736d01000000", "hex"), signed.subarray(0, 100), signed.subarray(0, signed.length - 1), Buffer.from("0061736d0d00010000ffffffff7f", "hex")])
      assert.throws(() => verifyBundle(bad, trust), BundleRefused);
  });

  test("decisions and their reasons", async () => {
    const allowed = await host.decide(REQUEST);
    assert.equal(allowed.allowed, true);
    assert.deepEqual(allowed.determining.map((p) => p.policyId), ["baseline/known-vendor"]);
    assert.deepEqual(allowed.evaluatedAt, { kind: "what-if", at: REQUEST.at });
    const denied = await host.decide(HUAWEI_CORE);
    assert.equal(denied.allowed, false);
    assert.ok(denied.determining.some((p) => p.policyId === "uk-hrv/out-of-core"));
  });

  test("bad requests are denied with the reason", async () => {
    const table = JSON.parse(readFileSync(new URL("../../strictness.json", import.meta.url), "utf8"));
    for (const [path, value] of table.badRequestFields) {
      const bad = structuredClone(REQUEST);
      let target = bad;
      for (const k of path.slice(0, -1)) target = target[k];
      if (value === "<delete>") delete target[path.at(-1)];
      else target[path.at(-1)] = value;
      const d = await host.decide(bad);
      assert.equal(d.allowed, false, JSON.stringify(bad));
      assert.ok(d.failure, JSON.stringify(bad));
    }
    for (const bad of [
      "not an object",
      // An own "__proto__" key, as JSON.parse makes it: an unknown field.
      JSON.parse(JSON.stringify(REQUEST).replace("{", '{"__proto__": {"softwareSigned": true},')),
    ])
      assert.equal((await host.decide(bad)).failure.kind, "invalid-request");
  });

  test("a batch denies a bad request alone", async () => {
    const answers = await host.decideBatch([REQUEST, { operation: "place" }, HUAWEI_CORE]);
    assert.deepEqual(answers.map((a) => a.allowed), [true, false, false]);
    assert.equal(answers[1].failure.kind, "invalid-request");
  });

  test("time is the host's unless what-if is permitted", async () => {
    const strict = await Host.load(env("BUNDLE"), trustCopy());
    const d = await strict.decide(REQUEST);
    assert.equal(d.allowed, false);
    assert.match(d.failure.detail, /what-if evaluation is not permitted/);
    const { at, ...withoutTime } = HUAWEI_CORE;
    const now = await strict.decide(withoutTime);
    assert.equal(now.evaluatedAt.kind, "host-clock");
    assert.equal(now.allowed, false);
  });

  test("a plan is checked item by item", async () => {
    const r = await host.checkPlan(PLAN());
    assert.equal(r.allowed, true);
    assert.equal(r.items.length, 1);
    const bad = PLAN();
    bad.installed[0].weight = -1;
    assert.equal((await host.checkPlan(bad)).allowed, false);
    assert.equal((await host.checkPlan({ ...PLAN(), network: "nowhere" })).allowed, false);
  });

  test("the checked-in types are the bundle's WIT", async () => {
    const generated = await policyTypes(unsigned);
    assert.ok(Object.keys(generated).length >= 4);
    for (const [name, text] of Object.entries(generated))
      assert.equal(readFileSync(new URL(`../types/${name}`, import.meta.url), "utf8"), text, `types/${name} is stale: run npm run types -- BUNDLE`);
  });
});
