// What the cross-host conformance run compares of an answer: the summary
// the Rust host writes (`slicegate test --export`).

export const decision = (d) => ({
  allowed: d.allowed,
  failure: d.failure ? d.failure.kind : null,
  determining: d.determining.map((p) => p.policyId),
  errors: d.errors.map((e) => e.policyId),
});

export const plan = (r) => ({
  allowed: r.allowed,
  failure: r.failure ? "refused" : null,
  items: r.items.map((i) => ({ equipmentId: i.equipmentId, operation: i.operation, decision: decision(i.decision) })),
  plan: decision(r.plan),
  accessWeight: r.accessWeight,
  listedShares: r.listedShares,
  vendorShares: r.vendorShares,
});
