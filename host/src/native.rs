//! Native `cedar-policy`, in-process: the reference the component is
//! compared with (conformance, `slicegate test`, benchmarks). It parses and
//! decides exactly as the Cedar integration-test harness does.

use std::collections::BTreeSet;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Entities, EntityId, EntityTypeName, EntityUid, PolicyId, PolicySet,
    Request, Schema, ValidationMode, Validator,
};

use crate::decider::{CedarRequest, EntityRef};
use crate::sources::{PolicyIdMode, PolicySources, SourceFile};

/// A policy set parsed natively.
pub struct NativePolicySet {
    policies: PolicySet,
    schema: Option<Schema>,
    entities: Entities,
    validates: bool,
}

/// Native Cedar's answer: decision, reason and erroring policy ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeDecision {
    /// Cedar's decision.
    pub allowed: bool,
    /// The determining policy ids.
    pub reason: BTreeSet<String>,
    /// The erroring policy ids.
    pub errors: BTreeSet<String>,
}

/// Chains an error's sources into one line.
pub(crate) fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl NativePolicySet {
    /// Parses `sources` natively. Errors are one-line messages.
    pub fn load(sources: &PolicySources) -> Result<Self, String> {
        let schema = sources
            .schema
            .as_ref()
            .map(|s| {
                Schema::from_cedarschema_str(&s.text)
                    .map(|(schema, _)| schema)
                    .map_err(|e| format!("{}: {}", s.name, describe(&e)))
            })
            .transpose()?;
        let mut policies = PolicySet::new();
        for file in &sources.policies {
            let parsed = PolicySet::from_str(&file.text)
                .map_err(|e| format!("{}: {}", file.name, describe(&e)))?;
            match sources.policy_ids {
                PolicyIdMode::Positional => {
                    if sources.policies.len() > 1 {
                        return Err("positional policy ids need exactly one file".to_string());
                    }
                    policies = parsed;
                }
                PolicyIdMode::Annotation => {
                    for policy in parsed.policies() {
                        let id = policy
                            .annotation("id")
                            .ok_or_else(|| format!("{}: a policy has no @id", file.name))?
                            .to_string();
                        policies
                            .add(policy.new_id(PolicyId::new(id)))
                            .map_err(|e| format!("{}: {}", file.name, describe(&e)))?;
                    }
                }
            }
        }
        let validates = schema.as_ref().is_none_or(|schema| {
            Validator::new(schema.clone())
                .validate(&policies, ValidationMode::Strict)
                .validation_passed()
        });
        let mut all = Vec::new();
        for file in &sources.entities {
            match serde_json::from_str(&file.text) {
                Ok(serde_json::Value::Array(items)) => all.extend(items),
                Ok(_) => return Err(format!("{}: entities must be a JSON array", file.name)),
                Err(e) => return Err(format!("{}: {e}", file.name)),
            }
        }
        let entities = Entities::from_json_value(serde_json::Value::Array(all), schema.as_ref())
            .map_err(|e| format!("entities: {}", describe(&e)))?;
        Ok(NativePolicySet {
            policies,
            schema,
            entities,
            validates,
        })
    }

    /// The parsed policies, schema and entities.
    pub(crate) fn parts(&self) -> (&PolicySet, Option<&Schema>, &Entities) {
        (&self.policies, self.schema.as_ref(), &self.entities)
    }

    /// Whether the policies pass strict validation (true without a schema).
    pub fn validates(&self) -> bool {
        self.validates
    }

    /// Decides `request` natively.
    pub fn authorize(&self, request: &CedarRequest) -> Result<NativeDecision, String> {
        let request_entities = request.entities.clone();
        let uid = |e: &EntityRef| -> Result<EntityUid, String> {
            let type_name = EntityTypeName::from_str(&e.type_name)
                .map_err(|err| format!("type `{}`: {}", e.type_name, describe(&err)))?;
            Ok(EntityUid::from_type_name_and_id(
                type_name,
                EntityId::new(&e.id),
            ))
        };
        let principal = uid(&request.principal)?;
        let action = uid(&request.action)?;
        let resource = uid(&request.resource)?;
        let context = Context::from_json_value(
            request.context.clone(),
            self.schema.as_ref().map(|s| (s, &action)),
        )
        .map_err(|e| format!("context: {}", describe(&e)))?;
        let schema = if request.validate {
            self.schema.as_ref()
        } else {
            None
        };
        let request =
            Request::new(principal, action, resource, context, schema).map_err(|e| describe(&e))?;
        let extended;
        let entities = match &request_entities {
            None => &self.entities,
            Some(value) => {
                extended = self
                    .entities
                    .clone()
                    .add_entities_from_json_value(value.clone(), self.schema.as_ref())
                    .map_err(|e| format!("request entities: {}", describe(&e)))?;
                &extended
            }
        };
        let response = Authorizer::new().is_authorized(&request, &self.policies, entities);
        Ok(NativeDecision {
            allowed: response.decision() == cedar_policy::Decision::Allow,
            reason: response
                .diagnostics()
                .reason()
                .map(ToString::to_string)
                .collect(),
            errors: response
                .diagnostics()
                .errors()
                .map(|e| {
                    let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = e;
                    e.policy_id().to_string()
                })
                .collect(),
        })
    }
}

/// The `cedar-policy` version linked natively (and into the engine).
pub const CEDAR_VERSION: &str = "4.14.1";

/// Splits the engine's Cedar form of a placement (see
/// `Decider::cedar_form`) into the per-request entities, as an entity file,
/// and the generic request, so native Cedar can decide the same question.
pub fn placement_as_cedar(form: &serde_json::Value) -> Result<(SourceFile, CedarRequest), String> {
    let mut request: CedarRequest = serde_json::from_value(form.clone())
        .map_err(|e| format!("the Cedar form is not a request: {e}"))?;
    let entities = request
        .entities
        .take()
        .ok_or("the Cedar form has no `entities`")?;
    Ok((
        SourceFile {
            name: "placement-inventory.json".to_string(),
            text: entities.to_string(),
        },
        request,
    ))
}
