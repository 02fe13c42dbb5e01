// Deciding in the sandboxed component, failing closed. A Host holds one
// verified bundle, transpiled by jco once (after verification, from the
// verified bytes) and one instance at a time; any exception from the guest
// (a trap, a stack overflow) denies with its reason and the instance is
// discarded. The guest's only import is a seed for its hash tables; every
// other import the Rust standard library names (stdio, environment, exit)
// throws, which traps the call. Time is the host's: a request's own `at` is
// refused unless the embedder permits what-if evaluation.

import { randomBytes } from "node:crypto";
import { transpile } from "@bytecodealliance/jco";
import { BundleRefused, checkRollback, isVerified, loadTrustStore, readBundle, recordRevision, verifiedParts, verifyBundle } from "./bundle.mjs";
import { CEDAR_REQUEST, DEPLOYMENT_PLAN, PLACEMENT_REQUEST, decode } from "./types.mjs";

const SEED = "wasi:random/insecure-seed@0.2.6";

class Failed extends Error {
  constructor(kind, detail) {
    super(detail);
    this.failure = { kind, detail };
  }
}

const denied = (kind, detail = "") => ({ allowed: false, failure: { kind, detail }, determining: [], errors: [] });

/** The Rust host's reading of the guest's `error` variant. */
function failureOf(error) {
  if (error?.tag === "limit-exceeded") return { kind: "invalid-request", detail: `limit exceeded: ${error.val}` };
  const known = ["invalid-request", "unknown-entity", "schema-violation", "policy-load", "not-loaded", "internal"];
  return { kind: known.includes(error?.tag) ? error.tag : "internal", detail: String(error?.val ?? "") };
}

/** A guest decision; never trusts an allow that carries a fail-closed reason. */
function decisionOf(d) {
  const failClosed = d.failClosed ?? null;
  return {
    allowed: d.allowed === true && failClosed === null,
    failure: failClosed === null ? null : { kind: "forbid-errored", detail: failClosed },
    determining: d.determining.map((p) => ({ policyId: p.policyId, permit: p.permit, pack: p.pack ?? null, reason: p.reason ?? null, source: p.source ?? null })),
    errors: d.errors.map((e) => ({ policyId: e.policyId, permit: e.permit, message: e.message })),
    bundleRevision: Number(d.bundleRevision),
  };
}

function trapping(name) {
  const fail = function () {
    throw new Error(`the policy component called ${name}, which this host does not grant`);
  };
  return new Proxy(fail, { get: (target, prop) => (prop === "prototype" ? target.prototype : fail), construct: fail });
}

/** Every import but the seed traps. */
const IMPORTS = new Proxy(
  {},
  {
    get(_, name) {
      if (typeof name !== "string") return undefined;
      if (name.startsWith("wasi:random/insecure-seed")) {
        const half = () => randomBytes(8).readBigUInt64LE();
        return { insecureSeed: () => [half(), half()] };
      }
      if (name.startsWith("slicegate:policy/types")) return {};
      return new Proxy({}, { get: (__, prop) => trapping(`${name}#${String(prop)}`) });
    },
  },
);

/** The largest request (its JSON, in bytes) this host decides. V8 has no
 * fuel: this bound stands in for the Rust host's fuel budget, far inside
 * it — the costliest 1 MiB placement measured (a 1 MiB id) uses about a
 * quarter of the budget — and for the memory cap. */
export const MAX_REQUEST_BYTES = 1 << 20;

function bounded(value) {
  const size = Buffer.byteLength(JSON.stringify(value));
  if (size > MAX_REQUEST_BYTES)
    throw new Failed("limit", `the request is ${size} bytes; this host decides requests of at most ${MAX_REQUEST_BYTES} bytes (it has no fuel budget)`);
  return value;
}

const now = () => new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");

export class Host {
  /** Verifies the bundle against the trust store (signatures, threshold,
   * windows, rollback), records its revision, then transpiles it. Throws
   * BundleRefused before anything is compiled. */
  static async load(bundlePath, trustPath, options = {}) {
    const trust = loadTrustStore(trustPath);
    const { data, detached } = readBundle(bundlePath);
    const bundle = verifyBundle(data, trust, { detached });
    checkRollback(bundle, trust);
    const host = await Host.fromVerified(bundle, options);
    // Instantiated once before the revision is recorded: a bundle that does
    // not run must not raise the floor.
    try {
      await host._instance();
    } catch (e) {
      throw new BundleRefused(`the verified bundle does not run: ${e.message}`);
    }
    recordRevision(bundle, trust);
    return host;
  }

  /** A host for a bundle verifyBundle returned (and nothing else). */
  static async fromVerified(bundle, { whatIf = false, clock = Date.now } = {}) {
    if (!isVerified(bundle)) throw new TypeError("a Host runs only a bundle that verifyBundle (or Host.load) checked");
    const parts = verifiedParts(bundle);
    let instantiate;
    const modules = new Map();
    try {
      const { files } = await transpile(parts.data, { name: "slicegate", instantiation: "async", noTypescript: true, quiet: true });
      for (const [name, bytes] of Object.entries(files))
        if (name.endsWith(".wasm")) modules.set(name, await WebAssembly.compile(bytes));
      const glue = Buffer.from(files["slicegate.js"]).toString("base64");
      ({ instantiate } = await import(`data:text/javascript;base64,${glue}`));
    } catch (e) {
      throw new BundleRefused(`the verified bundle does not compile: ${e?.message ?? e}`);
    }
    return new Host(bundle, parts, instantiate, modules, whatIf, clock);
  }

  constructor(bundle, parts, instantiate, modules, whatIf, clock) {
    this.bundle = bundle;
    this.whatIf = whatIf;
    this._window = parts; // the window verifyBundle checked
    this._clock = clock; // what the window is checked against (ms)
    this._queue = Promise.resolve(); // guest calls run one at a time
    this._instantiate = instantiate;
    this._modules = modules;
    this._live = null;
  }

  async _instance() {
    if (this._live === null) {
      try {
        this._live = await this._instantiate((name) => this._modules.get(name), IMPORTS);
      } catch (e) {
        throw new Failed("internal", `instantiating the policy component: ${e.message}`);
      }
    }
    return this._live;
  }

  /** Runs one guest call, after every earlier one has ended (so no call
   * runs in an instance an earlier one left dead); a guest `error` comes
   * back as `{ err }`. */
  _call(iface, name, ...args) {
    const run = this._queue.then(() => this._callNow(iface, name, args));
    this._queue = run.catch(() => {});
    return run;
  }

  async _callNow(iface, name, args) {
    const root = await this._instance();
    try {
      return { ok: root[iface][name](...args) };
    } catch (e) {
      if (e && Object.hasOwn(e, "payload") && e.constructor?.name === "ComponentError") return { err: e.payload };
      this._live = null; // a trapped instance is never reused
      if (e instanceof RangeError && /call stack/i.test(e.message)) throw new Failed("limit", "stack");
      throw new Failed("trap", String(e?.message ?? e));
    }
  }

  _outOfWindow() {
    const t = this._clock();
    const { notBefore, notAfter, limitedBy } = this._window;
    if (notBefore !== null && t < notBefore) return { kind: "bundle-expired", detail: "it is not valid yet" };
    if (notAfter !== null && t > notAfter) return { kind: "bundle-expired", detail: `its window ended (${limitedBy}); a newer valid bundle must replace it` };
    return null;
  }

  _time(at) {
    if (at === undefined) return ["host-clock", now()];
    if (!this.whatIf)
      throw new Failed("invalid-request", `the request sets its own evaluation time (${at}); what-if evaluation is not permitted here, the host's clock decides`);
    return ["what-if", at];
  }

  /** Decides one placement (its JSON, as the decision service takes it). */
  async decide(request) {
    return (await this.decideBatch([request]))[0];
  }

  /** Decides placements in one guest call; answers in request order. */
  async decideBatch(requests) {
    if (!Array.isArray(requests)) throw new TypeError("decideBatch takes an array of requests");
    const expired = this._outOfWindow();
    if (expired) return requests.map(() => ({ ...denied(expired.kind, expired.detail) }));
    const answers = new Array(requests.length).fill(null);
    const pending = [];
    requests.forEach((raw, i) => {
      try {
        const request = bounded(decode(PLACEMENT_REQUEST, raw));
        const time = this._time(request.at);
        pending.push([i, time, { ...request, at: time[1] }]);
      } catch (e) {
        answers[i] = e instanceof Failed ? { ...denied(e.failure.kind, e.failure.detail) } : denied("invalid-request", e.message);
      }
    });
    if (pending.length) {
      let decided;
      try {
        const { ok, err } = await this._call("placement", "decideBatch", pending.map((p) => p[2]));
        if (err !== undefined || !Array.isArray(ok) || ok.length !== pending.length)
          throw new Failed("internal", "the component answered a different number of requests");
        decided = ok.map((r) => (r.tag === "ok" ? decisionOf(r.val) : { ...denied(failureOf(r.val).kind, failureOf(r.val).detail) }));
      } catch (e) {
        if (!(e instanceof Failed)) throw e;
        decided = pending.map(() => denied(e.failure.kind, e.failure.detail));
      }
      pending.forEach(([i, time], k) => {
        answers[i] = { ...decided[k], evaluatedAt: { kind: time[0], at: time[1] } };
      });
    }
    return answers.map((a) => a ?? denied("internal", "no answer"));
  }

  /** Checks a deployment plan: every change and kept item, then the plan rules. */
  async checkPlan(raw) {
    const refused = (failure) => ({ allowed: false, failure, items: [], plan: denied(failure.kind, failure.detail), accessWeight: 0, listedShares: [], vendorShares: [] });
    const expired = this._outOfWindow();
    if (expired) return refused(expired);
    let time;
    let result;
    try {
      const plan = bounded(decode(DEPLOYMENT_PLAN, raw));
      time = this._time(plan.at);
      result = await this._call("placement", "checkPlan", { ...plan, at: time[1] });
    } catch (e) {
      return refused(e instanceof Failed ? e.failure : { kind: "invalid-request", detail: e.message });
    }
    if (result.err !== undefined) return refused(failureOf(result.err));
    const r = result.ok;
    const items = r.items.map((i) => ({
      equipmentId: i.equipmentId,
      operation: i.operation,
      decision: i.decision.tag === "ok" ? decisionOf(i.decision.val) : denied(failureOf(i.decision.val).kind, failureOf(i.decision.val).detail),
    }));
    const plan = decisionOf(r.plan);
    const shares = (list) => list.map((s) => [s.name, s.basisPoints]);
    return {
      // Recomputed rather than trusted: every item and the plan rules.
      allowed: r.allowed === true && plan.allowed && items.every((i) => i.decision.allowed),
      failure: null,
      items,
      plan,
      accessWeight: Number(r.accessWeight),
      listedShares: shares(r.listedShares),
      vendorShares: shares(r.vendorShares),
      evaluatedAt: { kind: time[0], at: time[1] },
    };
  }

  /** Decides a generic Cedar request (the `authorizer` interface). */
  async authorize(raw) {
    const expired = this._outOfWindow();
    if (expired) return denied(expired.kind, expired.detail);
    try {
      const { ok, err } = await this._call("authorizer", "authorize", bounded(decode(CEDAR_REQUEST, raw)));
      return err !== undefined ? denied(failureOf(err).kind, failureOf(err).detail) : decisionOf(ok);
    } catch (e) {
      return e instanceof Failed ? denied(e.failure.kind, e.failure.detail) : denied("invalid-request", e.message);
    }
  }

  /** The loaded policy set: name, revision, policy ids, digests. */
  async info() {
    const { ok, err } = await this._call("metadata", "info");
    if (err !== undefined) throw new Error(`the component has no policy set: ${failureOf(err).detail}`);
    return ok;
  }
}
