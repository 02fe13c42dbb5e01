// The JSON the decision service takes, read into the values the component's
// WIT takes (jco's camelCase records, enums as their case names), with the
// Rust host's defaults and refusals: unknown fields refused, omitted
// `softwareSigned`/`sbom`/`authorityApproved` read as false (which can only
// deny), omitted `components` as none. The TypeScript types of these values
// are in ../types (generated from the component's WIT by jco).

const OPERATIONS = ["place", "scale", "upgrade", "heal", "operate", "remote-manage", "interconnect", "terminate"];
const CATEGORIES = ["consumer", "enterprise", "critical-infrastructure", "public-safety", "government", "defense", "diplomatic"];
const METRICS = ["sites", "cells", "traffic"];

import { JsonFloat } from "./strict.mjs";

const str = { kind: "string" };
const bool = { kind: "bool" };
const u8 = { kind: "int", max: 255 };
const u32 = { kind: "int", max: 2 ** 32 - 1 };
const oneOf = (values) => ({ kind: "enum", values });
const list = (item) => ({ kind: "list", item });
const opt = (inner) => ({ optional: true, inner });
const dflt = (inner, value) => ({ optional: true, inner, value });

const NOTICE = { filed: str, prohibited: bool };
const EQUIPMENT = {
  id: str,
  vendor: str,
  model: str,
  softwareVersion: str,
  softwareSigned: dflt(bool, false),
  sbom: dflt(bool, false),
  components: dflt(list(str), []),
  subsidyFunded: bool,
  criticalComponentNotice: opt(NOTICE),
};
const SLICE = { id: str, sst: u8, sd: opt(u32), category: oneOf(CATEGORIES), usFederal: bool };
const SITE = { id: str, country: str, sensitive: bool, host: opt(str) };
const REMOTE = { fromCountry: str, provider: str, authorityApproved: dflt(bool, false) };
export const PLACEMENT_REQUEST = {
  operation: oneOf(OPERATIONS),
  equipment: EQUIPMENT,
  slice: SLICE,
  site: SITE,
  network: str,
  peer: opt(str),
  remote: opt(REMOTE),
  at: opt(str),
};
const PLAN_ITEM = { equipment: EQUIPMENT, slice: SLICE, site: SITE, weight: u32 };
const PLAN_CHANGE = { operation: oneOf(OPERATIONS), item: PLAN_ITEM, peer: opt(str), remote: opt(REMOTE) };
export const DEPLOYMENT_PLAN = {
  network: str,
  metric: oneOf(METRICS),
  installed: list(PLAN_ITEM),
  changes: list(PLAN_CHANGE),
  at: opt(str),
};
const UID = { typeName: str, id: str };
const FILE_DIGEST = { path: str, kind: str, sha256: str };
const POLICY_SUMMARY = { id: str, effect: str, pack: opt(str), reason: opt(str), source: opt(str), file: str };
/** A bundle's manifest, read with the Rust host's rules (every field typed,
 * none unknown). Revisions past 2^53 are refused here (the Rust host takes
 * up to 2^64 − 1): refusing is the safe side. */
export const MANIFEST = {
  format: u32,
  name: str,
  revision: { kind: "int", max: Number.MAX_SAFE_INTEGER },
  createdAt: str,
  notBefore: opt(str),
  notAfter: opt(str),
  compiler: str,
  engineVersion: str,
  engineSha256: str,
  cedarVersion: str,
  schemaSha256: str,
  files: list(FILE_DIGEST),
  packs: list(str),
  policyCount: u32,
  compiledPolicies: opt(u32),
  policies: list(POLICY_SUMMARY),
  tests: opt(str),
};
export const CEDAR_REQUEST = {
  principal: UID,
  action: UID,
  resource: UID,
  contextJson: dflt(str, "{}"),
  validate: dflt(bool, true),
  entitiesJson: opt(str),
};

/** `value` read as `shape`; throws a TypeError naming the field otherwise. */
export function decode(shape, value, where = "request") {
  if (typeof shape.kind !== "string") {
    // A record (whose own `kind` field, if it has one, is a shape, not a name).
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError(`${where}: expected an object`);
    for (const key of Object.keys(value))
      if (!Object.hasOwn(shape, key)) throw new TypeError(`${where}: unknown field \`${key}\`, expected one of ${Object.keys(shape).join(", ")}`);
    const out = {};
    for (const [key, field] of Object.entries(shape)) {
      const here = `${where}.${key}`;
      const given = Object.hasOwn(value, key) ? value[key] : undefined;
      if (field.optional) {
        // An option may be null or left out; a defaulted field only left out
        // (serde: `"components": null` is refused, not read as none).
        if (given === undefined || (given === null && field.value === undefined)) {
          if (field.value !== undefined) out[key] = structuredClone(field.value);
          continue;
        }
        out[key] = decode(field.inner, given, here);
      } else {
        if (given === undefined) throw new TypeError(`${here}: missing field`);
        out[key] = decode(field, given, here);
      }
    }
    return out;
  }
  switch (shape.kind) {
    case "string":
      if (typeof value !== "string") throw new TypeError(`${where}: expected a string`);
      if (!value.isWellFormed()) throw new TypeError(`${where}: not well-formed Unicode (a lone surrogate)`);
      return value;
    case "bool":
      if (typeof value !== "boolean") throw new TypeError(`${where}: expected true or false`);
      return value;
    case "int":
      // A JsonFloat (`1.0`, `1e0`, `-0` in JSON text) is never a whole number.
      if (value instanceof JsonFloat || !Number.isSafeInteger(value) || value < 0 || value > shape.max) throw new TypeError(`${where}: expected a whole number from 0 to ${shape.max}`);
      return value;
    case "enum":
      if (!shape.values.includes(value)) throw new TypeError(`${where}: \`${value}\` is not one of ${shape.values.join(", ")}`);
      return value;
    case "list": {
      if (!Array.isArray(value)) throw new TypeError(`${where}: expected a list`);
      // A fresh array, element by element: `map` would let an array's own
      // constructor (Symbol.species) choose what reaches the component.
      const out = [];
      for (let i = 0; i < value.length; i++) out.push(decode(shape.item, value[i], `${where}[${i}]`));
      return out;
    }
    default:
      throw new TypeError(`${where}: no decoder`);
  }
}
