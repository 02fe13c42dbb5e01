//! Parsing a policy set, its schema and its reference data into instance
//! state. Runs once per instance (at build time, in pre-initialisation).

use std::collections::HashMap;
use std::str::FromStr;

use cedar_policy::{Effect, Entities, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use sha2::{Digest, Sha256};

use crate::describe;
use crate::exports::slicegate::policy::loader::{LoadReport, PolicyIds, PolicySources, SourceFile};
use crate::exports::slicegate::policy::metadata::PolicySetInfo;
use crate::index::PolicyIndex;
use crate::registry::Registry;
use crate::slicegate::policy::types::Error;
use crate::state::{LoadedPolicySet, PolicyFacts};

fn type_names(
    schema: Option<&Schema>,
    entities: &Entities,
) -> HashMap<String, cedar_policy::EntityTypeName> {
    let from_schema = schema.into_iter().flat_map(|schema| {
        schema
            .entity_types()
            .cloned()
            .chain(schema.actions().map(|action| action.type_name().clone()))
            .collect::<Vec<_>>()
    });
    from_schema
        .chain(
            entities
                .iter()
                .map(|entity| entity.uid().type_name().clone()),
        )
        .map(|name| (name.to_string(), name))
        .collect()
}

fn policy_facts(policies: &PolicySet) -> HashMap<PolicyId, PolicyFacts> {
    policies
        .policies()
        .map(|policy| {
            let annotation = |key: &str| policy.annotation(key).map(str::to_string);
            (
                policy.id().clone(),
                PolicyFacts {
                    permit: policy.effect() == Effect::Permit,
                    pack: annotation("pack"),
                    reason: annotation("reason"),
                    source: annotation("source"),
                },
            )
        })
        .collect()
}

fn load_error(file: &str, what: &str, err: &dyn std::error::Error) -> Error {
    Error::PolicyLoad(format!("{file}: {what}: {}", describe(err)))
}

/// Parses and checks `sources`; on success returns the loaded set and a
/// report of what was found.
pub fn load(sources: PolicySources) -> Result<(LoadedPolicySet, LoadReport), Error> {
    let schema = match &sources.schema {
        Some(file) => Some(
            Schema::from_cedarschema_str(&file.text)
                .map(|(schema, _warnings)| schema)
                .map_err(|e| load_error(&file.name, "invalid schema", &e))?,
        ),
        None => None,
    };
    let (policies, ids) = parse_policies(&sources.policies, sources.policy_ids)?;

    let validation_errors: Vec<String> = match &schema {
        Some(schema) => Validator::new(schema.clone())
            .validate(&policies, ValidationMode::Strict)
            .validation_errors()
            .map(|e| describe(e))
            .collect(),
        None => Vec::new(),
    };
    if sources.strict && !validation_errors.is_empty() {
        return Err(Error::PolicyLoad(format!(
            "policies fail strict validation against the schema: {}",
            validation_errors.join("; ")
        )));
    }

    let (entities, raw_entities) = parse_entities(&sources.entities, schema.as_ref())?;
    let registry = match &schema {
        Some(schema) if is_5g_schema(schema) => Some(Registry::build(&raw_entities)?),
        _ => None,
    };
    let entity_count = u32::try_from(entities.iter().count()).unwrap_or(u32::MAX);
    let policy_count = u32::try_from(ids.len()).unwrap_or(u32::MAX);

    let info = PolicySetInfo {
        // Filled below, once the set is compiled; the decision counts when
        // `info` is asked.
        compiled_policies: 0,
        compiled_decisions: 0,
        interpreted_decisions: 0,
        bundle_name: sources.bundle_name.clone(),
        bundle_revision: sources.bundle_revision,
        policy_count,
        entity_count,
        policy_ids: ids,
        policies_sha256: sha256_of(&sources.policies),
        schema_sha256: sources
            .schema
            .as_ref()
            .map(|s| sha256_of(std::slice::from_ref(s))),
        entities_sha256: sha256_of(&sources.entities),
        cedar_version: cedar_policy::get_sdk_version().to_string(),
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let compiled = crate::compiled::CompiledSet::build(&policies, sources.compile);
    let compiled_policies = u32::try_from(compiled.compiled.len()).unwrap_or(u32::MAX);
    let info = PolicySetInfo {
        compiled_policies,
        ..info
    };
    let report = LoadReport {
        compiled_policies,
        policy_count,
        entity_count,
        validates: validation_errors.is_empty(),
        validation_errors,
    };
    let index = match (&schema, &registry) {
        (Some(schema), Some(registry)) => PolicyIndex::build(
            &policies,
            schema,
            &entities,
            registry.networks.keys().cloned(),
        ),
        _ => None,
    };
    let by_uid = crate::stores::by_uid(entities.as_ref());
    // The store and the index share each entity rather than hold two copies
    // (the snapshot, so every bundle, carries them).
    let entities = match &by_uid {
        Some(by_uid) => crate::stores::shared_store(by_uid)?,
        None => entities,
    };
    let type_names = type_names(schema.as_ref(), &entities);
    // Each subset's compiled policies are the whole set's, shared.
    let index = index.and_then(|index| index.with_subsets(&policies, by_uid.as_ref(), &compiled));
    let mut set = LoadedPolicySet {
        requests_checked: Default::default(),
        type_names,
        facts: policy_facts(&policies),
        base: crate::stores::base(by_uid.as_ref(), &policies),
        compiled,
        index,
        by_uid,
        policies,
        schema,
        entities,
        registry,
        revision: sources.bundle_revision,
        info,
    };
    let packs: std::collections::HashSet<String> =
        set.facts.values().filter_map(|f| f.pack.clone()).collect();
    if let Some(registry) = &mut set.registry {
        registry.check_regimes(&packs)?;
    }
    if set.registry.is_some() {
        crate::checks::check_mapping(&set)?;
        set.requests_checked = crate::checks::checked_requests(&set)?;
    }
    Ok((set, report))
}

/// Parses the policy files, re-keying each policy by its `@id` when asked.
/// Returns the set and the policy ids in source order.
fn parse_policies(files: &[SourceFile], ids: PolicyIds) -> Result<(PolicySet, Vec<String>), Error> {
    match ids {
        PolicyIds::Positional => {
            if files.len() > 1 {
                return Err(Error::PolicyLoad(
                    "positional policy ids need exactly one policy file".to_string(),
                ));
            }
            let Some(file) = files.first() else {
                return Ok((PolicySet::new(), Vec::new()));
            };
            let set = PolicySet::from_str(&file.text)
                .map_err(|e| load_error(&file.name, "invalid policy", &e))?;
            let mut ids: Vec<String> = set
                .policies()
                .map(|p| p.id().to_string())
                .chain(set.templates().map(|t| t.id().to_string()))
                .collect();
            ids.sort_by_key(|id| positional_index(id));
            Ok((set, ids))
        }
        PolicyIds::Annotation => {
            let mut set = PolicySet::new();
            let mut ids = Vec::new();
            for file in files {
                let parsed = PolicySet::from_str(&file.text)
                    .map_err(|e| load_error(&file.name, "invalid policy", &e))?;
                if let Some(template) = parsed.templates().next() {
                    return Err(Error::PolicyLoad(format!(
                        "{}: template `{}` is not supported; write static policies",
                        file.name,
                        template.id()
                    )));
                }
                let mut in_file: Vec<_> = parsed.policies().collect();
                in_file.sort_by_key(|p| positional_index(p.id().as_ref()));
                for policy in in_file {
                    let Some(id) = policy.annotation("id") else {
                        return Err(Error::PolicyLoad(format!(
                            "{}: policy {} has no @id annotation: {}",
                            file.name,
                            positional_index(policy.id().as_ref()),
                            first_line(&policy.to_string())
                        )));
                    };
                    let id = id.to_string();
                    set.add(policy.new_id(cedar_policy::PolicyId::new(&id)))
                        .map_err(|e| load_error(&file.name, "duplicate @id", &e))?;
                    ids.push(id);
                }
            }
            Ok((set, ids))
        }
    }
}

/// The number in a positional id (`policy12` → 12); source order.
fn positional_index(id: &str) -> usize {
    id.trim_start_matches("policy")
        .parse()
        .unwrap_or(usize::MAX)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Parses entity files (JSON arrays in Cedar's entity format) into one store,
/// checked against the schema. The schema's action entities are included.
/// Whether `schema` is the 5G placement schema: it declares the entity types
/// the typed interface builds on.
fn is_5g_schema(schema: &Schema) -> bool {
    let declared: Vec<String> = schema.entity_types().map(|t| t.to_string()).collect();
    [
        "Vendor",
        "Designation",
        "Model",
        "Network",
        "Equipment",
        "Plan",
    ]
    .iter()
    .all(|t| declared.iter().any(|d| d == t))
}

fn parse_entities(
    files: &[SourceFile],
    schema: Option<&Schema>,
) -> Result<(Entities, Vec<serde_json::Value>), Error> {
    let mut all = Vec::new();
    for file in files {
        let value: serde_json::Value = serde_json::from_str(&file.text)
            .map_err(|e| load_error(&file.name, "invalid JSON", &e))?;
        match value {
            serde_json::Value::Array(items) => all.extend(items),
            _ => {
                return Err(Error::PolicyLoad(format!(
                    "{}: entities must be a JSON array",
                    file.name
                )));
            }
        }
    }
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let entities = Entities::from_json_value(serde_json::Value::Array(all.clone()), schema)
        .map_err(|e| load_error(&names.join(", "), "invalid entities", &e))?;
    Ok((entities, all))
}

fn sha256_of(files: &[SourceFile]) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.text.as_bytes());
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
