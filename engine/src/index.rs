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

use cedar_policy::{
    ActionConstraint, Entities, EntityUid, EvalResult, Policy, PolicyId, PolicySet, Schema,
};

/// The policy subsets, by action and by the set of regimes a network has.
pub struct PolicyIndex {
    /// Network id → the regimes it has among those policies are gated on.
    /// (Each distinct set of regimes numbered, so a request looks its
    /// subset up without copying the set.)
    network_key: HashMap<String, usize>,
    /// (action, regimes) → the policies that can apply, as an index into
    /// `subsets`.
    sets: HashMap<(EntityUid, usize), usize>,
    /// action → the policies that can apply, for requests without a network
    /// in their context (gated policies kept).
    by_action: HashMap<EntityUid, usize>,
    /// The distinct subsets' members (many keys share one), by id in the
    /// set's order; turned into `subsets` by [`PolicyIndex::with_subsets`].
    members: Vec<Vec<PolicyId>>,
    /// The distinct subsets, each held once: they live in the snapshot, so
    /// in every bundle.
    subsets: Vec<Subset>,
}

/// One subset of the policies.
struct Subset {
    /// The subset for Cedar's interpreter, with its base store
    /// ([`crate::stores::base`]); `None` when every policy of the set is
    /// compiled: the interpreter is then used only when the evaluator
    /// bails, and takes the whole set (which decides the same, see above).
    interpreted: Option<(PolicySet, Option<cedar_policy_core::entities::Entities>)>,
    /// The subset's compiled form ([`crate::compiled`]), its policies shared
    /// with the whole set's.
    compiled: crate::compiled::CompiledSet,
}

/// The policies one request can meet: the subset for the interpreter and
/// its base store (`None`: the whole set's), and its compiled form.
pub struct Selected<'a> {
    pub policies: Option<(
        &'a PolicySet,
        Option<&'a cedar_policy_core::entities::Entities>,
    )>,
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
        let keys: Vec<BTreeSet<String>> = network_key
            .values()
            .cloned()
            .collect::<BTreeSet<BTreeSet<String>>>()
            .into_iter()
            .collect();
        let network_key: HashMap<String, usize> = network_key
            .into_iter()
            .filter_map(|(network, key)| Some((network, keys.iter().position(|k| *k == key)?)))
            .collect();

        let mut sets = HashMap::new();
        let mut by_action = HashMap::new();
        let mut members: Vec<Vec<PolicyId>> = Vec::new();
        let mut seen: HashMap<Vec<PolicyId>, usize> = HashMap::new();
        // The subset of `chosen` policies (in the set's order), kept once.
        let mut intern = |chosen: Vec<&Policy>| -> Option<usize> {
            let ids: Vec<PolicyId> = chosen.iter().map(|p| p.id().clone()).collect();
            if let Some(&at) = seen.get(&ids) {
                return Some(at);
            }
            members.push(ids.clone());
            seen.insert(ids, members.len() - 1);
            Some(members.len() - 1)
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
            for (number, key) in keys.iter().enumerate() {
                let subset = gated
                    .iter()
                    .filter(|(p, gate)| applies(p) && gate.as_ref().is_none_or(|g| key.contains(g)))
                    .map(|(p, _)| *p)
                    .collect();
                sets.insert((action.clone(), number), intern(subset)?);
            }
        }
        Some(PolicyIndex {
            network_key,
            sets,
            by_action,
            members,
            subsets: Vec::new(),
        })
    }

    /// The policies that can apply to `action`, for a request whose context
    /// `network` is the given network (or has none).
    pub fn select(&self, action: &EntityUid, network: Option<&str>) -> Option<Selected<'_>> {
        let at = match network {
            Some(network) => {
                let key = self.network_key.get(network)?;
                self.sets.get(&(action.clone(), *key))?
            }
            None => self.by_action.get(action)?,
        };
        let subset = self.subsets.get(*at)?;
        Some(Selected {
            policies: subset
                .interpreted
                .as_ref()
                .map(|(policies, base)| (policies, base.as_ref())),
            compiled: &subset.compiled,
        })
    }

    /// Makes each subset from the loaded `policies`, whose compiled form is
    /// `whole` (compiled once: a subset shares its policies): the compiled
    /// part, and, unless `whole` compiled every policy, the subset for the
    /// interpreter (built from the policies' ASTs, so no second copy of any
    /// policy's text) with its base store from the loaded entities.
    pub fn with_subsets(
        mut self,
        policies: &PolicySet,
        store: Option<&crate::stores::ByUid>,
        whole: &crate::compiled::CompiledSet,
    ) -> Option<Self> {
        let members = std::mem::take(&mut self.members);
        let all_compiled = whole.rest.is_none() && !whole.compiled.is_empty();
        for ids in &members {
            let interpreted = if all_compiled {
                None
            } else {
                let subset = lean_subset(policies, ids)?;
                let base = crate::stores::base(store, &subset);
                Some((subset, base))
            };
            let compiled = whole.restrict(ids, policies)?;
            self.subsets.push(Subset {
                interpreted,
                compiled,
            });
        }
        Some(self)
    }
}

/// The policies `ids` of `policies`, as a set built from their ASTs (shared,
/// not copied: no policy's text is held twice).
pub fn lean_subset(policies: &PolicySet, ids: &[PolicyId]) -> Option<PolicySet> {
    let mut set = cedar_policy_core::ast::PolicySet::new();
    for id in ids {
        let policy: &cedar_policy_core::ast::Policy = policies.policy(id)?.as_ref();
        set.add(policy.clone()).ok()?;
    }
    Some(PolicySet::from(set))
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

#[cfg(test)]
mod sharing {
    use std::sync::Arc;

    use crate::compiled::profile::library;
    use crate::exports::slicegate::policy::loader::SourceFile;

    /// A forbid the compiler leaves out (nested deeper than its limit).
    fn too_deep() -> SourceFile {
        let chain = " && true".repeat(80);
        SourceFile {
            name: "zz-deep.cedar".to_string(),
            text: format!(
                "@id(\"zz/deep\")\n@pack(\"zz\")\n@reason(\"r\")\n@source(\"s\")\nforbid (principal, action in Action::\"sustain\", resource) when {{ principal.softwareVersion == \"zz\"{chain} }};\n"
            ),
        }
    }

    fn shares(subset: &super::Subset, whole: &crate::compiled::CompiledSet) {
        for policy in &subset.compiled.compiled {
            assert!(
                whole.compiled.iter().any(|p| Arc::ptr_eq(p, policy)),
                "{} compiled twice",
                policy.id
            );
        }
    }

    #[test]
    fn subsets_share_the_compiled_policies_and_keep_no_copies_they_do_not_use() {
        // Everything compiled: no subset keeps policies for the interpreter
        // (a bail takes the whole set) and none compiles its own.
        let (set, _) = crate::load::load(library()).expect("the library loads");
        let index = set.index.as_ref().expect("indexed");
        assert!(index.members.is_empty());
        assert!(index.subsets.len() > 1);
        assert_eq!(
            set.compiled.rest.as_ref().map(|r| r.policies().count()),
            None
        );
        for subset in &index.subsets {
            assert!(subset.interpreted.is_none());
            assert!(subset.compiled.rest.is_none());
            shares(subset, &set.compiled);
        }

        // Compiling off: each subset for the interpreter, nothing else.
        let mut off = library();
        off.compile = false;
        let (set, _) = crate::load::load(off).expect("the library loads");
        let index = set.index.as_ref().expect("indexed");
        assert!(set.compiled.compiled.is_empty() && set.compiled.rest.is_none());
        for subset in &index.subsets {
            let (policies, _) = subset.interpreted.as_ref().expect("kept");
            assert!(policies.policies().count() > 0);
            assert!(subset.compiled.compiled.is_empty() && subset.compiled.rest.is_none());
        }

        // One policy left out: the subsets holding it interpret it (alone as
        // the rest) and share the compiled others.
        let mut mixed = library();
        mixed.policies.push(too_deep());
        let (set, _) = crate::load::load(mixed).expect("the library loads");
        let index = set.index.as_ref().expect("indexed");
        let rest = set.compiled.rest.as_ref().expect("one left out");
        assert_eq!(rest.policies().count(), 1);
        let mut holding = 0;
        for subset in &index.subsets {
            let (policies, _) = subset.interpreted.as_ref().expect("kept");
            let has_deep = policies.policies().any(|p| p.id().to_string() == "zz/deep");
            let in_rest = subset.compiled.rest.as_ref().map(|r| r.policies().count());
            assert_eq!(in_rest, has_deep.then_some(1));
            assert_eq!(
                subset.compiled.compiled.len() + usize::from(has_deep),
                policies.policies().count()
            );
            holding += usize::from(has_deep);
            shares(subset, &set.compiled);
        }
        assert!(holding > 0);
    }

    /// A forbid that errors (a datetime offset that overflows) for every
    /// sustain request.
    fn erroring() -> SourceFile {
        SourceFile {
            name: "zz-err.cedar".to_string(),
            text: "@id(\"zz/err\")\n@pack(\"zz\")\n@reason(\"r\")\n@source(\"s\")\nforbid (principal, action in Action::\"sustain\", resource) when { context.at.offset(duration(\"9223372036854775807ms\")) > context.at };\n".to_string(),
        }
    }

    #[test]
    fn a_bail_on_an_indexed_set_decides_as_the_subsets_interpreter_does() {
        let mut request = crate::compiled::profile::demo_request();
        request.equipment.vendor = "ericsson".to_string();
        request.equipment.model = "ericsson-upf".to_string();
        let (plain, _) = crate::load::load(library()).expect("loads");
        let allowed = crate::decide::decide(&plain, &request).expect("decided");
        assert!(allowed.allowed, "{allowed:?}");

        let decide = |compile: bool| {
            let mut sources = library();
            sources.policies.push(erroring());
            sources.compile = compile;
            let (set, _) = crate::load::load(sources).expect("loads");
            let before = crate::compiled::counted();
            let decision = crate::decide::decide(&set, &request).expect("decided");
            let (compiled, interpreted) = crate::compiled::counted();
            assert_eq!(
                (compiled - before.0, interpreted - before.1),
                (0, 1),
                "made by the interpreter"
            );
            decision
        };
        // Compiled: the evaluator bails, the whole set is interpreted.
        // Compiling off: the subset is. The same decision, fail closed.
        let bailed = decide(true);
        let subset = decide(false);
        assert!(!bailed.allowed);
        assert!(bailed.fail_closed.is_some());
        assert_eq!(bailed.errors.len(), 1);
        assert_eq!(format!("{bailed:?}"), format!("{subset:?}"));
    }
}
