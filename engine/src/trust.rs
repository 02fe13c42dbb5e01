//! The trust facts of the parties a request touches — the maker, the
//! component vendors, the remote-management provider, the site's cloud host
//! and the peer's carrier — derived alike for each from the registry and
//! combined for a group of parties, so that a policy says "any party" in
//! one attribute test (`context.parties.stateControlled`).
//!
//! Combining never hides a fact: a boolean is true when it is true of some
//! party (every fact is phrased as the adverse one), a party not on record
//! sets `unknownParty`, and each list's listing is the earliest entry that
//! reaches some party and applies to the request's slice.

use cedar_policy_core::ast::Value;

use crate::registry::{Entry, Flags, LISTS, Registry, VendorFacts};
use crate::slicegate::policy::types::Error;
use crate::values::{PlacementTypes, boolean, entity_ref};

/// Which entries apply: those whose scope covers the request's slice
/// category, or (for the load-time shape checks) every entry.
#[derive(Debug, Clone, Copy)]
pub enum Applying<'a> {
    /// Entries of scope `all`, and of scopes covering a slice of this
    /// category that serves a US federal customer (`true`) or not.
    Slice(&'a str, bool),
    /// Every entry.
    Every,
}

/// One list's effective designation for a group of parties.
#[derive(Debug, Clone, Copy)]
pub struct Effective<'r> {
    /// The entry with the earliest `since` (an entry of scope `all` on a tie).
    pub since: &'r Entry,
    /// The entry with the earliest subsidy-ban start.
    pub subsidy: &'r Entry,
}

/// The combined trust facts of a group of parties.
#[derive(Debug, Clone)]
pub struct Trust<'r> {
    /// The parties, each once, in the order first named.
    pub parties: Vec<&'r str>,
    /// Some party is not on record.
    pub unknown: bool,
    pub flags: Flags,
    /// By list index (into [`LISTS`]).
    pub listed: [Option<Effective<'r>>; LISTS.len()],
}

impl<'r> Trust<'r> {
    /// The facts of the vendors `ids` (each must be in the registry; `role`
    /// names them in the refusal), plus `unknown` parties not on record.
    pub fn of<'i>(
        registry: &'r Registry,
        ids: impl IntoIterator<Item = &'i str>,
        role: &str,
        unknown: bool,
        applying: Applying<'_>,
    ) -> Result<Trust<'r>, Error> {
        let mut trust = Trust {
            parties: Vec::new(),
            unknown,
            flags: Flags::default(),
            listed: Default::default(),
        };
        for id in ids {
            let Some((key, facts)) = registry.vendors.get_key_value(id) else {
                return Err(Error::UnknownEntity(format!(
                    "{role} `{id}` is not in the bundle's vendor registry"
                )));
            };
            trust.add(registry, key, facts, applying);
        }
        Ok(trust)
    }

    fn add(
        &mut self,
        registry: &'r Registry,
        id: &'r str,
        facts: &'r VendorFacts,
        applying: Applying<'_>,
    ) {
        if self.parties.contains(&id) {
            return;
        }
        self.parties.push(id);
        self.flags = self.flags.or(facts.flags);
        for (slot, entries) in self.listed.iter_mut().zip(facts.entries.iter()) {
            for entry in entries {
                let applies = match applying {
                    Applying::Every => true,
                    Applying::Slice(category, us_federal) => {
                        registry.applies(&entry.scope, category, us_federal)
                    }
                };
                if applies {
                    *slot = Some(merge(*slot, entry));
                }
            }
        }
    }

    /// Both groups' facts together.
    pub fn union(&self, other: &Trust<'r>) -> Trust<'r> {
        let mut all = self.clone();
        for party in &other.parties {
            if !all.parties.contains(party) {
                all.parties.push(party);
            }
        }
        all.unknown |= other.unknown;
        all.flags = all.flags.or(other.flags);
        for (mine, theirs) in all.listed.iter_mut().zip(other.listed.iter()) {
            if let Some(theirs) = theirs {
                let merged = merge(*mine, theirs.since);
                *mine = Some(Effective {
                    since: merged.since,
                    subsidy: earlier_subsidy(merged.subsidy, theirs.subsidy),
                });
            }
        }
        all
    }

    /// Whether list `index` reaches some party at `millis`.
    pub fn listed_at(&self, index: usize, millis: i64) -> bool {
        self.listed
            .get(index)
            .and_then(|l| l.as_ref())
            .is_some_and(|l| l.since.since.millis <= millis)
    }

    /// Everything the record is built from, as text: each party's id,
    /// `unknown` and the flags, then each list's chosen entry (id, scope,
    /// instants) and earliest subsidy ban. Equal keys, equal records.
    fn key(&self) -> String {
        use std::fmt::Write;
        let flags = self.flags;
        let mut key = String::with_capacity(64);
        for party in &self.parties {
            key.push_str(party);
            key.push('\0');
        }
        for bit in [
            self.unknown,
            flags.no_independent_judiciary,
            flags.intelligence_cooperation_law,
            flags.state_controlled,
            flags.ownership_unresolved,
            flags.ownership_opaque,
            flags.ip_theft_record,
        ] {
            key.push(if bit { '1' } else { '0' });
        }
        for listing in &self.listed {
            match listing {
                Some(e) => {
                    // An entry's id names its text (copies of one entry
                    // reach several vendors); the instants are Cedar's
                    // values, the text how they print.
                    let _ = write!(
                        key,
                        "\0{}\0{}\0{}\0{}\0{}",
                        e.since.id,
                        e.since.scope,
                        e.since.since.millis,
                        e.subsidy.id,
                        e.subsidy.subsidy_from.millis
                    );
                }
                None => key.push_str("\0-"),
            }
        }
        key
    }

    /// Whether `other` has the same facts (so the same `Trust` record).
    pub fn same(&self, other: &Trust<'_>) -> bool {
        let same_listing = |a: &Option<Effective<'_>>, b: &Option<Effective<'_>>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                std::ptr::eq(a.since, b.since) && std::ptr::eq(a.subsidy, b.subsidy)
            }
            _ => false,
        };
        self.parties == other.parties
            && self.unknown == other.unknown
            && self.flags == other.flags
            && self
                .listed
                .iter()
                .zip(other.listed.iter())
                .all(|(a, b)| same_listing(a, b))
    }

    /// The schema's `Trust` record.
    pub fn value(&self, types: &PlacementTypes) -> Value {
        let listed = Value::record(
            LISTS
                .iter()
                .zip(self.listed.iter())
                .filter_map(|((_, key), listing)| {
                    let listing = listing.as_ref()?;
                    let value = if std::ptr::eq(listing.since, listing.subsidy) {
                        // The same record as the entry's own: built at load.
                        listing.since.listing_value.clone()
                    } else {
                        Entry::listing(listing.since, listing.subsidy)
                    };
                    Some((*key, value))
                }),
            None,
        );
        let flags = self.flags;
        Value::record(
            [
                (
                    "parties",
                    Value::set(
                        self.parties.iter().map(|id| entity_ref(&types.vendor, id)),
                        None,
                    ),
                ),
                ("unknownParty", boolean(self.unknown)),
                (
                    "noIndependentJudiciary",
                    boolean(flags.no_independent_judiciary),
                ),
                (
                    "intelligenceCooperationLaw",
                    boolean(flags.intelligence_cooperation_law),
                ),
                ("stateControlled", boolean(flags.state_controlled)),
                ("ownershipUnresolved", boolean(flags.ownership_unresolved)),
                ("ownershipOpaque", boolean(flags.ownership_opaque)),
                ("ipTheftRecord", boolean(flags.ip_theft_record)),
                ("listed", listed),
            ],
            None,
        )
    }
}

/// `Trust` records for one request: a group with the same facts as one
/// built before in this request (the maker alone, its supply without
/// components and every party are often the same vendor) shares its
/// record, and one built by an earlier decision on the same registry is
/// taken from the registry's [`TrustRecords`](crate::registry::TrustRecords).
pub struct TrustValues<'r> {
    registry: &'r Registry,
    built: Vec<(Trust<'r>, Value)>,
}

impl<'r> TrustValues<'r> {
    pub fn new(registry: &'r Registry) -> Self {
        TrustValues {
            registry,
            built: Vec::new(),
        }
    }

    pub fn value(&mut self, trust: &Trust<'r>, types: &PlacementTypes) -> Value {
        if let Some((_, value)) = self.built.iter().find(|(t, _)| t.same(trust)) {
            return value.clone();
        }
        let key = trust.key();
        let value = match self.registry.trust_records.get(&key) {
            Some(value) => value,
            None => {
                let value = trust.value(types);
                self.registry.trust_records.keep(key, &value);
                value
            }
        };
        self.built.push((trust.clone(), value.clone()));
        value
    }
}

/// `current` with `entry` taken into account.
fn merge<'r>(current: Option<Effective<'r>>, entry: &'r Entry) -> Effective<'r> {
    match current {
        None => Effective {
            since: entry,
            subsidy: entry,
        },
        Some(current) => {
            let earlier = entry.since.millis < current.since.since.millis
                || (entry.since.millis == current.since.since.millis
                    && entry.scope == "all"
                    && current.since.scope != "all");
            Effective {
                since: if earlier { entry } else { current.since },
                subsidy: earlier_subsidy(current.subsidy, entry),
            }
        }
    }
}

fn earlier_subsidy<'r>(a: &'r Entry, b: &'r Entry) -> &'r Entry {
    if b.subsidy_from.millis < a.subsidy_from.millis {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::{Applying, Trust, TrustValues};
    use crate::registry::Registry;

    fn registry() -> Registry {
        let j = |id: &str, free: bool| {
            serde_json::json!({"uid": {"type": "Jurisdiction", "id": id},
              "attrs": {"independentJudiciary": free, "intelligenceCooperationLaw": !free}, "parents": []})
        };
        let v = |id: &str, j: &str, state: bool| {
            serde_json::json!({"uid": {"type": "Vendor", "id": id},
              "attrs": {"jurisdiction": {"__entity": {"type": "Jurisdiction", "id": j}},
                        "ownershipKnown": true, "ownershipTransparent": true,
                        "stateControlled": state, "ipTheftRecord": false}, "parents": []})
        };
        let d = |id: &str, vendor: &str, since: &str, scope: &str, subsidy: Option<&str>| {
            let mut e = serde_json::json!({"uid": {"type": "Designation", "id": id},
              "attrs": {"list": "fcc-covered", "vendor": {"__entity": {"type": "Vendor", "id": vendor}},
                        "since": since, "scope": scope, "reach": "subsidiaries"}, "parents": []});
            if let Some(s) = subsidy {
                e["attrs"]["subsidyBanFrom"] = s.into();
            }
            e
        };
        Registry::build(&[
            j("FREE", true),
            j("NOT", false),
            v("good", "FREE", false),
            v("state", "FREE", true),
            v("abroad", "NOT", false),
            v("narrow", "FREE", false),
            serde_json::json!({"uid": {"type": "DesignationScope", "id": "ps"},
              "attrs": {"categories": ["public-safety"], "usFederal": true}, "parents": []}),
            d(
                "fcc/abroad",
                "abroad",
                "2022-03-25",
                "all",
                Some("2022-05-24"),
            ),
            d("fcc/narrow", "narrow", "2021-03-12", "ps", None),
        ])
        .expect("a registry")
    }

    #[test]
    fn one_adverse_party_makes_the_group_adverse() {
        let registry = registry();
        let all = Trust::of(
            &registry,
            ["good", "state", "abroad"],
            "party",
            false,
            Applying::Every,
        )
        .expect("known parties");
        assert!(all.flags.state_controlled);
        assert!(all.flags.no_independent_judiciary && all.flags.intelligence_cooperation_law);
        let good = Trust::of(&registry, ["good"], "party", false, Applying::Every).unwrap();
        assert!(!good.flags.state_controlled && !good.flags.no_independent_judiciary);
        assert!(!good.unknown);
        let with_unknown =
            good.union(&Trust::of(&registry, [], "party", true, Applying::Every).unwrap());
        assert!(with_unknown.unknown);
        assert!(Trust::of(&registry, ["nobody"], "party", false, Applying::Every).is_err());
    }

    #[test]
    fn a_narrow_entry_applies_only_to_its_categories_and_never_hides_an_earlier_one() {
        let registry = registry();
        let both = ["abroad", "narrow"];
        let consumer = Trust::of(
            &registry,
            both,
            "party",
            false,
            Applying::Slice("consumer", false),
        )
        .unwrap();
        let listing = consumer.listed[0].expect("listed through `abroad`");
        assert_eq!(listing.since.id, "fcc/abroad");
        let safety = Trust::of(
            &registry,
            both,
            "party",
            false,
            Applying::Slice("public-safety", false),
        )
        .unwrap();
        let listing = safety.listed[0].expect("listed");
        // The narrow entry is earlier and applies to this slice: it stands,
        // and the subsidy ban starts at the earliest start of the two.
        assert_eq!(listing.since.id, "fcc/narrow");
        assert_eq!(listing.subsidy.id, "fcc/narrow");
        assert_eq!(listing.subsidy.subsidy_from.cedar, "2021-03-12");
        let only_abroad =
            Trust::of(&registry, ["abroad"], "party", false, Applying::Every).unwrap();
        assert_eq!(
            only_abroad.listed[0].unwrap().subsidy.subsidy_from.cedar,
            "2022-05-24"
        );
        // A federal customer's slice is inside the narrow scope whatever its
        // category.
        let federal = Trust::of(
            &registry,
            ["narrow"],
            "party",
            false,
            Applying::Slice("enterprise", true),
        )
        .unwrap();
        assert_eq!(federal.listed[0].unwrap().since.id, "fcc/narrow");
        let enterprise = Trust::of(
            &registry,
            ["narrow"],
            "party",
            false,
            Applying::Slice("enterprise", false),
        )
        .unwrap();
        assert!(enterprise.listed[0].is_none());
        // The union keeps the earliest of each.
        let union = consumer.union(&safety);
        assert_eq!(union.listed[0].unwrap().since.id, "fcc/narrow");
    }

    /// Records taken from the registry's cache are the records the facts
    /// build, whatever was decided before: every group and slice, in two
    /// orders, against a fresh build.
    #[test]
    fn kept_trust_records_are_the_ones_their_facts_build() {
        let types = crate::values::types().expect("types");
        let registry = registry();
        let groups: [&[&str]; 6] = [
            &["good"],
            &["abroad"],
            &["narrow"],
            &["good", "abroad"],
            &["abroad", "narrow"],
            &[],
        ];
        let slices = [
            Applying::Slice("consumer", false),
            Applying::Slice("public-safety", false),
            Applying::Slice("public-safety", true),
            Applying::Every,
        ];
        let mut cases = Vec::new();
        for group in groups {
            for applying in slices {
                for unknown in [false, true] {
                    cases.push((group, applying, unknown));
                }
            }
        }
        for order in [cases.clone(), cases.into_iter().rev().collect()] {
            for (group, applying, unknown) in order {
                let trust = Trust::of(&registry, group.iter().copied(), "party", unknown, applying)
                    .expect("known parties");
                let mut values = TrustValues::new(&registry);
                let kept = values.value(&trust, types);
                assert_eq!(kept, trust.value(types), "{group:?} {applying:?} {unknown}");
                // Printed alike too (the text of each instant included).
                assert_eq!(kept.to_string(), trust.value(types).to_string());
            }
        }
        // Distinct facts never share a key: a designated group and a clean
        // one, or one slice and another where a narrow entry differs.
        let of = |group: &[&str], applying| {
            Trust::of(&registry, group.iter().copied(), "party", false, applying)
                .expect("known")
                .key()
        };
        assert_ne!(
            of(&["good"], Applying::Every),
            of(&["abroad"], Applying::Every)
        );
        assert_ne!(
            of(&["narrow"], Applying::Slice("consumer", false)),
            of(&["narrow"], Applying::Slice("public-safety", false))
        );
    }
}
