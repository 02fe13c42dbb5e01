//! The trust facts of the parties a request touches — the maker, the
//! component vendors, the remote-management provider, the site's cloud host
//! and the peer's carrier — derived alike for each from the registry and
//! combined for a group of parties, so that a policy says "any party" in
//! one attribute test (`context.parties.stateControlled`).
//!
//! Combining never hides a fact: a boolean is true when it is true of some
//! party (every fact is phrased as the adverse one), a party not on record
//! sets `unknownParty` and every adverse flag, and each list's listing is
//! the earliest entry that reaches some party and applies to the request's
//! slice.

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
            // Nothing is known of a party not on record: every adverse fact
            // is taken to hold (a missing fact never reads as a good one).
            flags: if unknown {
                Flags::ADVERSE
            } else {
                Flags::default()
            },
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

    /// Everything the record is built from, as bytes: each party's id,
    /// `unknown` and the flags, then each list's chosen entry (id, scope,
    /// instants) and earliest subsidy ban; every text length-prefixed, so
    /// no two distinct sequences of facts give one key. Equal keys, equal
    /// records. (Built per request: no formatting machinery.)
    fn key(&self) -> Vec<u8> {
        fn text(key: &mut Vec<u8>, text: &str) {
            let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
            key.extend_from_slice(&length.to_le_bytes());
            key.extend_from_slice(text.as_bytes());
        }
        let flags = self.flags;
        let mut key = Vec::with_capacity(128);
        key.extend_from_slice(
            &u32::try_from(self.parties.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for party in &self.parties {
            text(&mut key, party);
        }
        key.extend(
            [
                self.unknown,
                flags.no_independent_judiciary,
                flags.intelligence_cooperation_law,
                flags.state_controlled,
                flags.ownership_unresolved,
                flags.ownership_opaque,
                flags.ip_theft_record,
            ]
            .map(u8::from),
        );
        for listing in &self.listed {
            match listing {
                Some(e) => {
                    // An entry's id names its text (copies of one entry
                    // reach several vendors); the instants are Cedar's
                    // values, the text how they print.
                    key.push(1);
                    text(&mut key, &e.since.id);
                    text(&mut key, &e.since.scope);
                    key.extend_from_slice(&e.since.since.millis.to_le_bytes());
                    text(&mut key, &e.subsidy.id);
                    key.extend_from_slice(&e.subsidy.subsidy_from.millis.to_le_bytes());
                }
                None => key.push(0),
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
mod tests;
