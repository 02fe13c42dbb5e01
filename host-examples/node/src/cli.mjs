#!/usr/bin/env node
// slicegate-node: verify a bundle, decide with it, or run the cross-host
// conformance check against the Rust host's export.
//
//   slicegate-node verify --trust trust.toml bundle.wasm
//   slicegate-node decide --trust trust.toml bundle.wasm request.json [--what-if]
//   slicegate-node check-plan --trust trust.toml bundle.wasm plan.json [--what-if]
//   slicegate-node conformance --trust trust.toml bundle.wasm export.json
//
// Exit status: 0 allowed / accepted / identical; 1 denied / refused /
// different; 2 a usage or input error.

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { BundleRefused, TrustStoreError, checkRollback, loadTrustStore, readBundle, verifyBundle } from "./bundle.mjs";
import { Host } from "./host.mjs";
import { parseJson } from "./strict.mjs";
import * as summary from "./summary.mjs";

const USAGE = readFileSync(new URL(import.meta.url), "utf8")
  .split("\n")
  .filter((l) => l.startsWith("//"))
  .slice(0, 11)
  .map((l) => l.replace(/^\/\/ ?/, ""))
  .join("\n");

async function main(argv) {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { trust: { type: "string" }, "what-if": { type: "boolean" }, format: { type: "string", default: "human" }, help: { type: "boolean" } },
  });
  const needed = command === "verify" ? 1 : 2;
  if (values.help || !["verify", "decide", "check-plan", "conformance"].includes(command) || !values.trust || positionals.length !== needed || !["human", "json"].includes(values.format)) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const [bundlePath, inputPath] = positionals;
  const json = values.format === "json";
  try {
    if (command === "verify") {
      const trust = loadTrustStore(values.trust);
      const { data, detached } = readBundle(bundlePath);
      const b = verifyBundle(data, trust, { detached });
      checkRollback(b, trust);
      const out = { accepted: true, name: b.name, revision: b.revision, sha256: b.sha256, signers: b.signers };
      console.log(json ? JSON.stringify(out) : `accepted: ${b.name} revision ${b.revision} (${b.sha256}), signed by ${b.signers.join(", ")}`);
      return 0;
    }
    // Read as strictly as the Rust host reads JSON (duplicate members, `1.0`
    // for a whole number, invalid UTF-8 and lone surrogates refused).
    const input = parseJson(readFileSync(inputPath === "-" ? 0 : inputPath));
    if (command === "conformance") return await conformance(await Host.load(bundlePath, values.trust, { whatIf: true }), input, json);
    const host = await Host.load(bundlePath, values.trust, { whatIf: values["what-if"] === true });
    const answer = command === "decide" ? await host.decide(input) : await host.checkPlan(input);
    if (json) console.log(JSON.stringify(answer, null, 2));
    else {
      console.log(answer.allowed ? "ALLOW" : "DENY");
      if (answer.failure) console.log(`  failure: ${answer.failure.kind}: ${answer.failure.detail}`);
      for (const p of (answer.plan ?? answer).determining) console.log(`  ${p.permit ? "permit" : "forbid"} ${p.policyId}: ${p.reason ?? ""}`);
    }
    return answer.allowed ? 0 : 1;
  } catch (e) {
    if (e instanceof BundleRefused) {
      console.error(`refused: ${e.message}`);
      return 1;
    }
    if (e instanceof TrustStoreError || e instanceof SyntaxError || e?.code) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

/** JSON with every object's members sorted: equal answers, equal text. */
const canonical = (value) =>
  JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));

async function conformance(host, exported, json) {
  const cases = exported?.cases;
  if (!Array.isArray(cases) || cases.length === 0) throw new SyntaxError("the export has no cases");
  const different = [];
  const micros = [];
  for (const c of cases) {
    let got;
    if (c.kind === "placement") {
      const started = process.hrtime.bigint();
      got = summary.decision(await host.decide(c.input));
      micros.push(Number(process.hrtime.bigint() - started) / 1000);
    } else if (c.kind === "plan") got = summary.plan(await host.checkPlan(c.input));
    else if (c.kind === "cedar") got = summary.decision(await host.authorize(c.input));
    else throw new SyntaxError(`case \`${c.name}\`: unknown kind ${c.kind}`);
    if (canonical(got) !== canonical(c.decision)) different.push({ file: c.file, name: c.name, rust: c.decision, node: got });
  }
  micros.sort((a, b) => a - b);
  const median = micros.length ? micros[Math.floor(micros.length / 2)] : 0;
  const report = { host: "node", cases: cases.length, different, placementMedianMicros: Math.round(median * 10) / 10 };
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    for (const d of different) console.log(`DIFFERENT: ${d.file}: ${d.name}\n  rust: ${JSON.stringify(d.rust)}\n  node: ${JSON.stringify(d.node)}`);
    console.log(`node host: ${cases.length - different.length} of ${cases.length} answers identical to the Rust host's; median placement decision ${median.toFixed(0)} µs`);
  }
  return different.length ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
