//! Proof that dropping information never helps: for every case the library
//! denies, requests (and plans) that carry **less** information or a
//! **weaker** claim, each of which must still be denied.
//!
//! A mutation is a change a caller could make to get its way without
//! lying about a fact the bundle could check: leaving a part out of the
//! component list, claiming less (unsigned software, no SBOM, no
//! notification), naming a party the bundle does not know, counting a
//! weight of 0, asking for a narrower scope or another metric. Each is
//! decided by the same component; one that is **allowed** while the
//! original was denied is a fail-open: the library let missing or weaker
//! information turn a deny into an allow.
//!
//! One kind of drop is not a fail-open: a component only the request
//! names (not in the catalog's bill of materials). The bundle cannot know
//! a part nobody recorded; such drops are counted apart, not hidden, and
//! the fix is to record the part in the catalog.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};

use crate::cases::{Case, CaseFile, CaseKind, Runner};
use slicegate::Decision;
use slicegate::PlacementRequest;
use slicegate::PlanFile;

/// A vendor id, network id and country code no bundle holds.
const UNKNOWN: &str = "slicegate-mutation-unknown";

/// One derived request.
#[derive(Debug, Clone)]
pub struct Mutation {
    /// What changed (`equipment.softwareSigned = false`).
    pub name: String,
    /// Why it must not help.
    pub why: &'static str,
    /// The mutated request or plan file.
    pub value: Value,
    /// For a dropped component: the vendor, and where the equipment is
    /// (a JSON pointer into `value`) so the runner can ask whether the
    /// bundle still knows the part.
    pub dropped: Option<(String, String)>,
}

/// A mutation that turned a deny into an allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailOpen {
    /// The case file.
    pub file: String,
    /// The case's line.
    pub line: usize,
    /// The case's name.
    pub case: String,
    /// What changed.
    pub mutation: String,
    /// Why it must not help.
    pub why: String,
    /// The policies that denied the original (empty: no permit, or a
    /// refusal).
    pub denied_by: Vec<String>,
    /// The policies that allowed the mutation.
    pub allowed_by: Vec<String>,
}

/// The whole mutation run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MutationReport {
    /// Denied cases that were mutated.
    pub denied_cases: usize,
    /// Mutations decided.
    pub mutations: usize,
    /// Mutations still denied (refused counts as denied).
    pub held: usize,
    /// Dropped components only the request named: the bundle cannot know
    /// them, so their drop may change the decision.
    pub request_only_parts: usize,
    /// Mutations that turned the deny into an allow.
    pub fail_open: Vec<FailOpen>,
    /// Mutations by kind, for the summary.
    pub by_kind: std::collections::BTreeMap<String, usize>,
    /// Allowed cases given a party nobody recorded (each interconnect's
    /// peer swapped for every network whose carrier is not on record):
    /// those must be denied whatever else holds.
    pub allowed_cases: usize,
}

impl MutationReport {
    /// For people: each fail-open in full, then the counts.
    pub fn to_human(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for f in &self.fail_open {
            let _ = writeln!(out, "  FAIL-OPEN {}:{}: {}", f.file, f.line, f.case);
            let _ = writeln!(out, "      mutation: {} ({})", f.mutation, f.why);
            let _ = writeln!(
                out,
                "      denied by [{}]; the mutation was allowed by [{}]",
                f.denied_by.join(", "),
                f.allowed_by.join(", ")
            );
        }
        let kinds: Vec<String> = self
            .by_kind
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "mutations: {} derived from {} denied cases and {} allowed ones ({}); {} still \
             denied, {} dropped a part only the request named, {} fail-open",
            self.mutations,
            self.denied_cases,
            self.allowed_cases,
            kinds.join(", "),
            self.held,
            self.request_only_parts,
            self.fail_open.len()
        );
        out
    }
}

fn set(value: &mut Value, pointer: &str, new: Value) -> bool {
    match value.pointer_mut(pointer) {
        Some(slot) => {
            *slot = new;
            true
        }
        None => false,
    }
}

fn remove(value: &mut Value, pointer: &str) -> bool {
    let (parent, key) = match pointer.rsplit_once('/') {
        Some(split) => split,
        None => return false,
    };
    value
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|object| object.remove(key))
        .is_some()
}

struct Builder<'a> {
    base: &'a Value,
    /// Networks of the bundle whose carrier is not on record.
    unrecorded: &'a [String],
    out: Vec<Mutation>,
}

impl Builder<'_> {
    /// A mutation that sets `pointer` to `new`, when the field is there
    /// and differs.
    fn set(&mut self, kind: &str, pointer: &str, new: Value, why: &'static str) {
        if self.base.pointer(pointer).is_some_and(|v| *v != new) {
            let mut value = self.base.clone();
            set(&mut value, pointer, new.clone());
            self.push(kind, format!("{pointer} = {new}"), why, value, None);
        }
    }

    /// A mutation that sets `pointer` to `new` whether or not the field is
    /// there (the parent object must be).
    fn put(&mut self, kind: &str, pointer: &str, new: Value, why: &'static str) {
        let Some((parent, key)) = pointer.rsplit_once('/') else {
            return;
        };
        if self.base.pointer(pointer) == Some(&new) {
            return;
        }
        let mut value = self.base.clone();
        let Some(object) = value.pointer_mut(parent).and_then(Value::as_object_mut) else {
            return;
        };
        object.insert(key.to_string(), new.clone());
        self.push(kind, format!("{pointer} = {new}"), why, value, None);
    }

    fn drop_field(&mut self, kind: &str, pointer: &str, why: &'static str) {
        let mut value = self.base.clone();
        if remove(&mut value, pointer) {
            self.push(kind, format!("{pointer} dropped"), why, value, None);
        }
    }

    fn push(
        &mut self,
        kind: &str,
        name: String,
        why: &'static str,
        value: Value,
        dropped: Option<(String, String)>,
    ) {
        self.out.push(Mutation {
            name: format!("{kind}: {name}"),
            why,
            value,
            dropped,
        });
    }

    /// The equipment object at `at`.
    fn equipment(&mut self, at: &str, evaluation_time: Option<&Value>) {
        self.set(
            "weaker-claim",
            &format!("{at}/softwareSigned"),
            json!(false),
            "unsigned software only adds a reason to deny",
        );
        self.set(
            "weaker-claim",
            &format!("{at}/sbom"),
            json!(false),
            "a missing SBOM only adds a reason to deny",
        );
        self.set(
            "weaker-claim",
            &format!("{at}/subsidyFunded"),
            json!(true),
            "a subsidy only adds rules that apply",
        );
        let notice = format!("{at}/criticalComponentNotice");
        if self.base.pointer(&notice).is_some() {
            self.drop_field(
                "dropped-record",
                &notice,
                "a critical component without a notification is denied",
            );
            self.set(
                "weaker-claim",
                &format!("{notice}/prohibited"),
                json!(true),
                "a prohibited component is denied",
            );
            if let Some(at_time) = evaluation_time {
                self.set(
                    "weaker-claim",
                    &format!("{notice}/filed"),
                    at_time.clone(),
                    "a notification filed just now has not stood its two months",
                );
            }
        }
        let components = format!("{at}/components");
        if let Some(parts) = self.base.pointer(&components).and_then(Value::as_array) {
            for (i, part) in parts.iter().enumerate() {
                let Some(vendor) = part.as_str() else {
                    continue;
                };
                let mut value = self.base.clone();
                if let Some(list) = value.pointer_mut(&components).and_then(Value::as_array_mut) {
                    list.remove(i);
                }
                self.push(
                    "dropped-part",
                    format!("{components} without `{vendor}`"),
                    "the catalog's bill of materials keeps the part: the request may add parts, never remove them",
                    value,
                    Some((vendor.to_string(), at.to_string())),
                );
            }
        }
    }

    fn site(&mut self, at: &str) {
        self.set(
            "weaker-claim",
            &format!("{at}/sensitive"),
            json!(true),
            "a sensitive site only adds rules that apply",
        );
        if self.base.pointer(&format!("{at}/host")).is_some() {
            self.set(
                "unknown-party",
                &format!("{at}/host"),
                json!(UNKNOWN),
                "a site host the bundle does not know is refused",
            );
        }
    }

    fn slice(&mut self, at: &str) {
        self.set(
            "weaker-claim",
            &format!("{at}/usFederal"),
            json!(true),
            "serving a federal customer only adds rules that apply",
        );
    }

    /// A peer and a remote session at `at` (`""` for a placement, a change
    /// for a plan).
    fn parties(&mut self, at: &str) {
        if self.base.pointer(&format!("{at}/peer")).is_some() {
            self.set(
                "unknown-party",
                &format!("{at}/peer"),
                json!(UNKNOWN),
                "a peer network the bundle does not know is refused",
            );
            if let Some(unrecorded) = self.unrecorded.first() {
                self.set(
                    "unknown-party",
                    &format!("{at}/peer"),
                    json!(unrecorded),
                    "a peer whose carrier is not on record cannot be shown trusted",
                );
            }
            self.drop_field(
                "dropped-record",
                &format!("{at}/peer"),
                "an interconnect without its peer is refused",
            );
        }
        let remote = format!("{at}/remote");
        if self.base.pointer(&remote).is_some() {
            self.set(
                "unknown-party",
                &format!("{remote}/provider"),
                json!(UNKNOWN),
                "a provider the bundle does not know is refused",
            );
            self.set(
                "unknown-party",
                &format!("{remote}/fromCountry"),
                json!(UNKNOWN),
                "a country the bundle does not know is refused",
            );
            self.set(
                "weaker-claim",
                &format!("{remote}/authorityApproved"),
                json!(false),
                "a session without approval only adds reasons to deny",
            );
            self.drop_field(
                "dropped-record",
                &remote,
                "a remote-manage without its session is refused",
            );
        }
    }
}

/// The mutations of a placement request (JSON, as cases write it);
/// `unrecorded` names networks whose carrier the bundle does not know.
pub fn placement_mutations(request: &Value, unrecorded: &[String]) -> Vec<Mutation> {
    let mut b = Builder {
        base: request,
        unrecorded,
        out: Vec::new(),
    };
    b.equipment("/equipment", request.get("at"));
    b.site("/site");
    b.slice("/slice");
    b.parties("");
    b.out
}

/// The mutations of a plan file (JSON, as cases write it).
pub fn plan_mutations(plan: &Value, unrecorded: &[String]) -> Vec<Mutation> {
    let mut b = Builder {
        base: plan,
        unrecorded,
        out: Vec::new(),
    };
    let at = plan.get("at");
    let sites_metric = plan.get("metric").and_then(Value::as_str) == Some("sites");
    for list in ["installed", "changes"] {
        let count = plan.get(list).and_then(Value::as_array).map_or(0, Vec::len);
        for i in 0..count {
            let item = format!("/{list}/{i}");
            b.equipment(&format!("{item}/equipment"), at);
            let weight = plan
                .pointer(&format!("{item}/weight"))
                .and_then(Value::as_u64)
                .unwrap_or(1);
            if weight > 0 {
                b.put(
                    "lower-weight",
                    &format!("{item}/weight"),
                    json!(0),
                    "an access item of weight 0 is refused, so no item can leave the shares",
                );
            }
            if sites_metric && weight != 1 {
                b.put(
                    "lower-weight",
                    &format!("{item}/weight"),
                    json!(1),
                    "shares by sites are counted from the sites, not from weights",
                );
            }
            if list == "changes" {
                b.parties(&item);
            }
        }
    }
    let count = |key: &str| plan.get(key).and_then(Value::as_array).map_or(0, Vec::len);
    for i in 0..count("sites") {
        b.site(&format!("/sites/{i}"));
    }
    for i in 0..count("slices") {
        b.slice(&format!("/slices/{i}"));
        if let Some(id) = plan.pointer(&format!("/slices/{i}/id")) {
            b.put(
                "narrower-scope",
                "/slice",
                id.clone(),
                "caps are network-wide: a plan cannot narrow its shares to one slice",
            );
        }
    }
    for metric in ["sites", "cells", "traffic"] {
        b.set(
            "other-metric",
            "/metric",
            json!(metric),
            "a network's shares count by its recorded metric; another is refused",
        );
    }
    b.out
}

/// Every `peer` of `value` (a placement's, or a plan change's) set to each
/// network of `unrecorded` (carrier not on record).
fn unrecorded_peer_mutations(value: &Value, unrecorded: &[String]) -> Vec<Mutation> {
    fn peers(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let here = format!("{at}/{key}");
                    if key == "peer" && v.is_string() {
                        out.push(here.clone());
                    }
                    peers(v, here, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    peers(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut at = Vec::new();
    peers(value, String::new(), &mut at);
    let mut out = Vec::new();
    // Every such network has the same unknown party; three are plenty.
    for pointer in &at {
        for network in unrecorded.iter().take(3) {
            let mut changed = value.clone();
            if let Some(slot) = changed.pointer_mut(pointer) {
                *slot = json!(network);
            }
            out.push(Mutation {
                name: format!("unknown-party: {pointer} = {network:?} (allowed case)"),
                why: "a peer whose carrier is not on record can never be allowed: nobody can \
                      show it trusted",
                value: changed,
                dropped: None,
            });
        }
    }
    out
}

fn kind(name: &str) -> String {
    name.split(':').next().unwrap_or(name).to_string()
}

/// Whether the decision is a refusal of a malformed request (or plan).
fn is_malformed(decision: &Decision) -> bool {
    decision
        .failure
        .as_ref()
        .and_then(|f| serde_json::to_value(f).ok())
        .and_then(|v| v.get("kind").and_then(Value::as_str).map(String::from))
        .is_some_and(|kind| kind == "invalid-request")
}

/// The determining policy ids of a decision.
fn ids(decision: &Decision) -> Vec<String> {
    decision
        .determining_ids()
        .into_iter()
        .map(String::from)
        .collect()
}

mod run;

#[cfg(test)]
mod tests;
