//! Build-time specialisation: for each action and each network, the
//! policies that can apply, so a decision evaluates only those.
//!
//! A policy is left out of a request's set only when Cedar could not have
//! made it determining or erroring for that request:
//!
//! - its action scope does not admit the request's action (the scope is
//!   checked before any condition, and cannot error);
//! - its first condition is a `when` whose leftmost conjunct is
//!   `context.network.regimes.contains("<regime>")`, and the request's
//!   network (reference data, fixed in the bundle) does not have that regime:
//!   the conjunct is false without error, and `&&` stops there.
//!
//! Everything else is kept, so the decision, the determining policies and
//! the erroring policies are exactly those of the whole set.

use std::collections::{BTreeSet, HashMap};

use cedar_policy::{ActionConstraint, Entities, EntityUid, EvalResult, Policy, PolicySet, Schema};

/// The policy subsets, by action and by the set of regimes a network has.
pub struct PolicyIndex {
    /// Network id → the regimes it has among those policies are gated on.
    network_key: HashMap<String, BTreeSet<String>>,
    /// (action, regimes) → the policies that can apply, as an index into
    /// `subsets`.
    sets: HashMap<(EntityUid, BTreeSet<String>), usize>,
    /// action → the policies that can apply, for requests without a network
    /// in their context (gated policies kept).
    by_action: HashMap<EntityUid, usize>,
    /// The distinct subsets (many keys share one), each held once: they
    /// live in the snapshot, so in every bundle.
    subsets: Vec<PolicySet>,
    /// Each subset's base store ([`crate::stores::base`]), filled by
    /// [`PolicyIndex::with_bases`].
    bases: Vec<Option<cedar_policy_core::entities::Entities>>,
    /// Each subset compiled ([`crate::compiled`]), filled by
    /// [`PolicyIndex::with_bases`].
    compiled: Vec<crate::compiled::CompiledSet>,
}

/// The policies one request can meet: the subset, its base store and its
/// compiled form.
pub struct Selected<'a> {
    pub policies: &'a PolicySet,
    pub base: Option<&'a cedar_policy_core::entities::Entities>,
    pub compiled: &'a crate::compiled::CompiledSet,
}

/// The regime a policy is gated on, if its first condition starts with
/// `context.network.regimes.contains("<regime>")`.
pub fn regime_gate(policy: &Policy) -> Option<String> {
    let est = policy.to_json().ok()?;
    let condition = est.get("conditions")?.get(0)?;
    if condition.get("kind")?.as_str()? != "when" {
        return None;
    }
    // The leftmost operand of a chain of `&&`: evaluated first.
    let mut expr = condition.get("body")?;
    while let Some(and) = expr.get("&&") {
        expr = and.get("left")?;
    }
    let contains = expr.get("contains")?;
    let regimes = contains.get("left")?.get(".")?;
    let network = regimes.get("left")?.get(".")?;
    let is_gate = regimes.get("attr")?.as_str()? == "regimes"
        && network.get("attr")?.as_str()? == "network"
        && network.get("left")?.get("Var")?.as_str()? == "context";
    if !is_gate {
        return None;
    }
    contains
        .get("right")?
        .get("Value")?
        .as_str()
        .map(str::to_string)
}

/// Whether a policy's action scope admits `action`, whose ancestors (with
/// itself) are `lineage`.
fn admits(policy: &Policy, action: &EntityUid, lineage: &BTreeSet<EntityUid>) -> bool {
    match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(uid) => &uid == action,
        ActionConstraint::In(uids) => uids.iter().any(|uid| lineage.contains(uid)),
    }
}

impl PolicyIndex {
    /// Builds the index, or `None` when the set cannot be indexed safely
    /// (templates) — the whole set is then evaluated.
    pub fn build(
        policies: &PolicySet,
        schema: &Schema,
        entities: &Entities,
        networks: impl Iterator<Item = String>,
    ) -> Option<PolicyIndex> {
        if policies.templates().next().is_some() {
            return None;
        }
        let gated: Vec<(&Policy, Option<String>)> =
            policies.policies().map(|p| (p, regime_gate(p))).collect();
        let gates: BTreeSet<String> = gated.iter().filter_map(|(_, g)| g.clone()).collect();

        let mut network_key = HashMap::new();
        for network in networks {
            let uid = EntityUid::from_type_name_and_id(
                "Network".parse().ok()?,
                cedar_policy::EntityId::new(&network),
            );
            let regimes: BTreeSet<String> = match entities.get(&uid)?.attr("regimes") {
                Some(Ok(EvalResult::Set(set))) => set
                    .iter()
                    .filter_map(|v| match v {
                        EvalResult::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                // A network whose regimes cannot be read is not indexed; its
                // requests fall back to the whole set.
                _ => continue,
            };
            network_key.insert(network, regimes.intersection(&gates).cloned().collect());
        }
        let keys: BTreeSet<BTreeSet<String>> = network_key.values().cloned().collect();

        let mut sets = HashMap::new();
        let mut by_action = HashMap::new();
        let mut subsets: Vec<PolicySet> = Vec::new();
        let mut seen: HashMap<Vec<String>, usize> = HashMap::new();
        // The subset of `chosen` policies, stored once.
        let mut intern = |chosen: Vec<&Policy>| -> Option<usize> {
            let mut ids: Vec<String> = chosen.iter().map(|p| p.id().to_string()).collect();
            ids.sort();
            if let Some(&at) = seen.get(&ids) {
                return Some(at);
            }
            let mut set = PolicySet::new();
            for policy in chosen {
                set.add(policy.clone()).ok()?;
            }
            subsets.push(set);
            seen.insert(ids, subsets.len() - 1);
            Some(subsets.len() - 1)
        };
        for action in schema.actions() {
            // The action and its ancestors.
            let mut lineage: BTreeSet<EntityUid> = entities
                .ancestors(action)
                .map(|a| a.cloned().collect())
                .unwrap_or_default();
            lineage.insert(action.clone());
            let applies = |p: &Policy| admits(p, action, &lineage);
            let all = gated
                .iter()
                .filter(|(p, _)| applies(p))
                .map(|(p, _)| *p)
                .collect();
            by_action.insert(action.clone(), intern(all)?);
            for key in &keys {
                let subset = gated
                    .iter()
                    .filter(|(p, gate)| applies(p) && gate.as_ref().is_none_or(|g| key.contains(g)))
                    .map(|(p, _)| *p)
                    .collect();
                sets.insert((action.clone(), key.clone()), intern(subset)?);
            }
        }
        Some(PolicyIndex {
            network_key,
            sets,
            by_action,
            subsets,
            bases: Vec::new(),
            compiled: Vec::new(),
        })
    }

    /// The policies that can apply to `action`, for a request whose context
    /// `network` is the given network (or has none).
    pub fn select(&self, action: &EntityUid, network: Option<&str>) -> Option<Selected<'_>> {
        let at = match network {
            Some(network) => {
                let key = self.network_key.get(network)?;
                self.sets.get(&(action.clone(), key.clone()))?
            }
            None => self.by_action.get(action)?,
        };
        Some(Selected {
            policies: self.subsets.get(*at)?,
            base: self.bases.get(*at)?.as_ref(),
            compiled: self.compiled.get(*at)?,
        })
    }

    /// Builds each subset's base store from the loaded entities, and
    /// compiles each subset.
    pub fn with_bases(mut self, store: Option<&crate::stores::ByUid>, compile: bool) -> Self {
        self.bases = self
            .subsets
            .iter()
            .map(|subset| crate::stores::base(store, subset))
            .collect();
        self.compiled = self
            .subsets
            .iter()
            .map(|subset| crate::compiled::CompiledSet::build(subset, compile))
            .collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use cedar_policy::Policy;

    use super::regime_gate;

    fn gate(text: &str) -> Option<String> {
        regime_gate(&Policy::from_str(text).expect("a policy"))
    }

    #[test]
    fn a_policy_is_gated_only_by_a_leading_regime_test_in_its_first_when() {
        let gated = r#"forbid (principal, action, resource) when { context.network.regimes.contains("uk-hrv") && principal.domain == "core" && context.at >= datetime("2024-01-01T00:00:00Z") };"#;
        assert_eq!(gate(gated).as_deref(), Some("uk-hrv"));
        let alone = r#"forbid (principal, action, resource) when { context.network.regimes.contains("se-pts-2020") };"#;
        assert_eq!(gate(alone).as_deref(), Some("se-pts-2020"));
        // Evaluated after something that could error: not a gate.
        let second = r#"forbid (principal, action, resource) when { principal.domain == "core" && context.network.regimes.contains("uk-hrv") };"#;
        assert_eq!(gate(second), None);
        // In an `unless`, or inside `||`, or on another record: not a gate.
        for text in [
            r#"forbid (principal, action, resource) unless { context.network.regimes.contains("uk-hrv") };"#,
            r#"forbid (principal, action, resource) when { context.network.regimes.contains("uk-hrv") || principal.sbom };"#,
            r#"forbid (principal, action, resource) when { resource.regimes.contains("uk-hrv") };"#,
            r#"forbid (principal, action, resource) when { context.peer.regimes.contains("uk-hrv") };"#,
            r#"forbid (principal, action, resource) when { principal.sbom } when { context.network.regimes.contains("uk-hrv") };"#,
            r#"permit (principal, action, resource);"#,
        ] {
            assert_eq!(gate(text), None, "{text}");
        }
    }
}
