//! The OpenID AuthZEN Authorization API 1.0 over the same decisions:
//! `POST /access/v1/evaluation` and `POST /access/v1/evaluations` (with
//! `execute_all`, `deny_on_first_deny` and `permit_on_first_permit`).
//!
//! An evaluation maps onto a placement request (README, "AuthZEN"):
//!
//! - `subject` `{type: "equipment", id, properties}`: the equipment; its
//!   properties are the placement's equipment fields (`vendor`, `model`,
//!   `softwareVersion`, `softwareSigned`, `sbom`, `subsidyFunded`,
//!   `components`, …);
//! - `action` `{name}`: the operation (`place`, `upgrade`, …);
//! - `resource` `{type: "slice", id, properties}`: the slice; its properties
//!   are the slice's fields (`sst`, `category`, `usFederal`) plus `site`
//!   (the site object) and `network` (the network id);
//! - `context`: `peer`, `remote` and `at` as in a placement request.
//!
//! The mapped request is parsed exactly as `/v1/decisions` parses one, so
//! an unknown field, a missing one or a wrong type is refused, never
//! ignored. The answer is `decision` (the engine's `allowed`) and a
//! `context` with the same reasons `/v1/decisions` gives.

use serde_json::Map;

use super::*;

/// A JSON value whose objects, at every depth, name each member once: a
/// body that names one twice is refused (as the typed endpoints refuse it),
/// never read one way here and another way by the caller.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Unique;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
                Ok(Unique)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
                Ok(Unique)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
                Ok(Unique)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
                Ok(Unique)
            }
            fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
                Ok(Unique)
            }
            fn visit_unit<E>(self) -> Result<Unique, E> {
                Ok(Unique)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Unique, A::Error> {
                while seq.next_element::<Unique>()?.is_some() {}
                Ok(Unique)
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Unique, M::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
                    }
                    map.next_value::<Unique>()?;
                }
                Ok(Unique)
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// Parses `bytes` as `T` once no object in it names a member twice.
fn parse_unique<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    parse::<Unique>(bytes, what)?;
    parse(bytes, what)
}

/// `{type, id, properties}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entity {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    properties: Option<Map<String, Value>>,
}

/// `{name, properties}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Action {
    name: String,
    #[serde(default)]
    properties: Option<Map<String, Value>>,
}

/// One evaluation, or the defaults of a batch.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Evaluation {
    #[serde(default)]
    subject: Option<Entity>,
    #[serde(default)]
    action: Option<Action>,
    #[serde(default)]
    resource: Option<Entity>,
    #[serde(default)]
    context: Option<Map<String, Value>>,
}

/// How a batch is evaluated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Semantic {
    #[default]
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    evaluations_semantic: Semantic,
}

/// A batch: defaults, the evaluations, the options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    #[serde(default)]
    subject: Option<Entity>,
    #[serde(default)]
    action: Option<Action>,
    #[serde(default)]
    resource: Option<Entity>,
    #[serde(default)]
    context: Option<Map<String, Value>>,
    #[serde(default)]
    evaluations: Option<Vec<Evaluation>>,
    #[serde(default)]
    options: Option<Options>,
}

/// The placement request an evaluation maps onto, as JSON bytes (what the
/// decision log records), parsed as `/v1/decisions` parses one.
fn placement(e: &Evaluation) -> Result<(PlacementRequest, Vec<u8>), String> {
    let subject = e.subject.as_ref().ok_or("no `subject`")?;
    let action = e.action.as_ref().ok_or("no `action`")?;
    let resource = e.resource.as_ref().ok_or("no `resource`")?;
    if subject.kind != "equipment" {
        return Err(format!(
            "`subject.type` is `{}`: this decision point judges equipment (`equipment`)",
            subject.kind
        ));
    }
    if resource.kind != "slice" {
        return Err(format!(
            "`resource.type` is `{}`: equipment is placed in a slice (`slice`)",
            resource.kind
        ));
    }
    if action.properties.as_ref().is_some_and(|p| !p.is_empty()) {
        return Err("`action.properties`: an operation has none".to_string());
    }
    let mut equipment = subject.properties.clone().unwrap_or_default();
    if equipment
        .insert("id".to_string(), subject.id.clone().into())
        .is_some()
    {
        return Err("`subject.properties.id`: the id is `subject.id`".to_string());
    }
    let mut slice = resource.properties.clone().unwrap_or_default();
    let site = slice
        .remove("site")
        .ok_or("no `resource.properties.site`")?;
    let network = slice
        .remove("network")
        .ok_or("no `resource.properties.network`")?;
    if slice
        .insert("id".to_string(), resource.id.clone().into())
        .is_some()
    {
        return Err("`resource.properties.id`: the id is `resource.id`".to_string());
    }
    let mut request = Map::new();
    request.insert("operation".to_string(), action.name.clone().into());
    request.insert("equipment".to_string(), equipment.into());
    request.insert("slice".to_string(), slice.into());
    request.insert("site".to_string(), site);
    request.insert("network".to_string(), network);
    for (key, value) in e.context.clone().unwrap_or_default() {
        match key.as_str() {
            "peer" | "remote" | "at" => {
                request.insert(key, value);
            }
            other => {
                return Err(format!(
                    "`context.{other}`: the context takes `peer`, `remote` and `at`"
                ));
            }
        }
    }
    let bytes = serde_json::to_vec(&Value::Object(request)).expect("JSON");
    let parsed = serde_json::from_slice::<PlacementRequest>(&bytes)
        .map_err(|e| format!("the mapped placement request: {e}"))?;
    Ok((parsed, bytes))
}

/// The AuthZEN answer to one decision: `decision` and the reasons.
fn answer(id: &str, decision: &Decision, bundle: &LoggedBundle) -> Value {
    let reason = match (&decision.failure, decision.determining.as_slice()) {
        (Some(failure), _) => failure.to_string(),
        (None, []) => "no policy permits this request (denied by default)".to_string(),
        (None, determining) => determining
            .iter()
            .map(|p| match &p.reason {
                Some(reason) => format!("{}: {reason}", p.policy_id),
                None => p.policy_id.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
    };
    let mut context = json!({
        "id": id,
        "reason_admin": {"en": reason},
        "determining": decision.determining,
        "errors": decision.errors,
        "bundle": bundle,
    });
    if let Some(failure) = &decision.failure {
        context["failure"] = json!(failure);
    }
    if let Some(at) = &decision.evaluated_at {
        context["evaluatedAt"] = json!(at);
    }
    json!({"decision": decision.allowed, "context": context})
}

/// The answer to an evaluation that could not be mapped: a deny, with why.
fn unmapped(id: &str, message: &str) -> Value {
    json!({
        "decision": false,
        "context": {
            "id": id,
            "reason_admin": {"en": format!("not a placement request: {message}")},
            "error": {"status": 400, "message": message},
        },
    })
}

/// `POST /access/v1/evaluation`.
pub(crate) async fn evaluation(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = body(&headers, raw)?;
    let evaluation: Evaluation = parse_unique(&bytes, "AuthZEN evaluation request")?;
    let (request, mapped) = placement(&evaluation)
        .map_err(|message| ApiError::new(StatusCode::BAD_REQUEST, "malformed-request", message))?;
    let mut answers = run(
        &state,
        &id,
        vec![Ok((request, mapped))],
        Semantic::ExecuteAll,
    )
    .await?;
    Ok(axum::Json(answers.remove(0)).into_response())
}

/// `POST /access/v1/evaluations`.
pub(crate) async fn evaluations(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = body(&headers, raw)?;
    let batch: Batch = parse_unique(&bytes, "AuthZEN evaluations request")?;
    let defaults = Evaluation {
        subject: batch.subject.clone(),
        action: batch.action.clone(),
        resource: batch.resource.clone(),
        context: batch.context.clone(),
    };
    let semantic = batch.options.unwrap_or_default().evaluations_semantic;
    let items = match batch.evaluations {
        // No evaluations: a single evaluation, answered as one.
        None => None,
        Some(items) if items.is_empty() => None,
        Some(items) => Some(items),
    };
    let Some(items) = items else {
        let (request, mapped) = placement(&defaults).map_err(|message| {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed-request", message)
        })?;
        let mut answers = run(
            &state,
            &id,
            vec![Ok((request, mapped))],
            Semantic::ExecuteAll,
        )
        .await?;
        return Ok(axum::Json(answers.remove(0)).into_response());
    };
    within_batch(&state, items.len(), "the request has", "evaluations")?;
    // Each evaluation's members replace the defaults' (not merged into them).
    let mapped = items
        .iter()
        .map(|item| {
            placement(&Evaluation {
                subject: item.subject.clone().or_else(|| defaults.subject.clone()),
                action: item.action.clone().or_else(|| defaults.action.clone()),
                resource: item.resource.clone().or_else(|| defaults.resource.clone()),
                context: item.context.clone().or_else(|| defaults.context.clone()),
            })
        })
        .collect();
    let answers = run(&state, &id, mapped, semantic).await?;
    Ok(axum::Json(json!({"evaluations": answers})).into_response())
}

type Mapped = Result<(PlacementRequest, Vec<u8>), String>;

/// Decides the mapped evaluations in order on one bundle, stopping as
/// `semantic` says; logs each decision made; the answers in order.
async fn run(
    state: &AppState,
    id: &str,
    mapped: Vec<Mapped>,
    semantic: Semantic,
) -> Result<Vec<Value>, ApiError> {
    let single = mapped.len() == 1;
    let worker_state = state.clone();
    let request_id = id.to_string();
    let decisions = evaluate(state, move |active| {
        let bundle = bundle_ref(active);
        let mut answers = Vec::new();
        let mut entries = Vec::new();
        let mut decisions = Vec::new();
        for (i, item) in mapped.iter().enumerate() {
            let rid = if single {
                request_id.clone()
            } else {
                format!("{request_id}#{i}")
            };
            let allowed = match item {
                Err(message) => {
                    answers.push(unmapped(&rid, message));
                    false
                }
                Ok((request, raw)) => {
                    let decision = active
                        .with_decider(|d| d.decide(request))
                        .unwrap_or_else(Decision::denied);
                    entries.push(entry(
                        &worker_state,
                        rid.clone(),
                        "authzen",
                        raw,
                        logged(&decision),
                        decision.evaluated_at.as_ref(),
                        &bundle,
                    ));
                    answers.push(answer(&rid, &decision, &bundle));
                    let allowed = decision.allowed;
                    decisions.push(decision);
                    allowed
                }
            };
            match (semantic, allowed) {
                (Semantic::DenyOnFirstDeny, false) | (Semantic::PermitOnFirstPermit, true) => {
                    break;
                }
                _ => {}
            }
        }
        write_log(&worker_state, entries)?;
        Ok((answers, decisions))
    })
    .await?;
    let (answers, decided) = decisions;
    decided.iter().for_each(|d| state.inner.metrics.decision(d));
    Ok(answers)
}
