//! Native `cedar-policy`, in-process: the reference the component is
//! compared with (conformance, `slicegate test`, benchmarks). It parses and
//! decides exactly as the Cedar integration-test harness does.

use std::collections::BTreeSet;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Entities, EntityId, EntityTypeName, EntityUid, PolicyId, PolicySet,
    Request, Schema, ValidationMode, Validator,
};

use slicegate::{CedarRequest, EntityRef};
use slicegate::{PolicyIdMode, PolicySources, SourceFile};

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

pub use slicegate::errors::chain as describe;

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
pub use slicegate::errors::CEDAR_VERSION;

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

/// Parses Cedar's entity uid syntax: `User::"alice"`, `NS::Type::"id"`.
pub fn entity_ref(text: &str) -> Result<EntityRef, String> {
    let uid = cedar_policy::EntityUid::from_str(text)
        .map_err(|e| format!("`{text}` is not a Cedar entity uid like User::\"alice\": {e}"))?;
    Ok(EntityRef {
        type_name: uid.type_name().to_string(),
        id: uid.id().unescaped().to_string(),
    })
}

/// Parses a request as the Cedar CLI writes it: principal, action and
/// resource as uid strings (`User::"alice"`) or `{"type", "id"}` objects,
/// and an optional context object.
pub fn request_from_json(text: &str) -> Result<CedarRequest, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("request is not valid JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| "request must be a JSON object".to_string())?;
    for key in object.keys() {
        if ![
            "principal",
            "action",
            "resource",
            "context",
            "validate",
            "entities",
        ]
        .contains(&key.as_str())
        {
            return Err(format!(
                "unknown field `{key}` in request; expected principal, action, resource, context, validate, entities"
            ));
        }
    }
    let entity = |key: &str| -> Result<EntityRef, String> {
        match object.get(key) {
            Some(serde_json::Value::String(s)) => entity_ref(s).map_err(|e| format!("{key}: {e}")),
            Some(other) => {
                let inner = other.get("__entity").unwrap_or(other);
                serde_json::from_value(inner.clone()).map_err(|e| format!("{key}: {e}"))
            }
            None => Err(format!("request has no `{key}`")),
        }
    };
    let context = object
        .get("context")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    if !context.is_object() {
        return Err("context must be a JSON object".to_string());
    }
    let validate = match object.get("validate") {
        None => true,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return Err("validate must be true or false".to_string()),
    };
    let entities = match object.get("entities") {
        None => None,
        Some(value @ serde_json::Value::Array(_)) => Some(value.clone()),
        Some(_) => return Err("entities must be a JSON array of Cedar entities".to_string()),
    };
    Ok(CedarRequest {
        principal: entity("principal")?,
        action: entity("action")?,
        resource: entity("resource")?,
        context,
        validate,
        entities,
    })
}
