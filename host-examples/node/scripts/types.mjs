// Writes the TypeScript types of the component's WIT interfaces to types/
// (jco generates them from the WIT the component carries):
//   node scripts/types.mjs BUNDLE.wasm
// test/types.test.mjs fails when the checked-in types differ from the
// bundle's, so a WIT change cannot drift past them.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { transpile } from "@bytecodealliance/jco";

/** The policy interfaces' .d.ts files jco generates for `bytes`. */
export async function policyTypes(bytes) {
  const { files } = await transpile(bytes, { name: "slicegate", instantiation: "async", quiet: true });
  return Object.fromEntries(
    Object.entries(files)
      .filter(([name]) => /^interfaces\/slicegate-policy-[a-z]+\.d\.ts$/.test(name))
      .map(([name, text]) => [name.replace("interfaces/", ""), Buffer.from(text).toString("utf8")]),
  );
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const [bundle] = process.argv.slice(2);
  if (!bundle) {
    console.error("usage: node scripts/types.mjs BUNDLE.wasm");
    process.exit(2);
  }
  const out = new URL("../types/", import.meta.url);
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(await policyTypes(readFileSync(bundle)))) writeFileSync(new URL(name, out), text);
}
