//! The engine's decision as a Cedar policy set. The engine denies a request
//! on which a `forbid` errors (fail closed), where Cedar skips an erroring
//! policy. For each forbid this adds a companion forbid, with the same scope,
//! that applies exactly when the forbid's condition would error: with them,
//! Cedar's decision on the set is the engine's, so the solver's
//! counterexamples are requests the engine itself decides that way.
//!
//! The companion's condition is built from the condition's expression,
//! following Cedar's evaluation order (left to right, `&&`, `||` and
//! `if` short-circuiting), and never errors itself: every subexpression it
//! evaluates is guarded by the test that it does not error. It is exact for
//! the errors a validated policy can raise — datetime `offset` and
//! `durationSince` overflow, Long `+`, `-` and negation overflow, a missing
//! tag — and leaves out the rest (Long `*`, `toDate` near the smallest
//! instant): a companion that misses an error only makes the set allow more
//! than the engine, so a proof over it still holds for the engine.

use cedar_policy::{Effect, Policy, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use serde_json::{Value, json};

/// A policy set in the engine's form.
#[derive(Debug, Clone)]
pub struct EngineForm {
    /// The policies and, for every forbid whose condition can error, its
    /// fail-closed companion.
    pub policies: PolicySet,
    /// The forbids whose errors the companions do not capture exactly: a
    /// companion that did not validate under the schema (left out), or a
    /// condition with Long `*` or `toDate`. Where exactness matters (an
    /// always-allowed promise, an equivalence), these are checked apart.
    pub inexact: Vec<String>,
}

/// The policies with a fail-closed companion for every forbid whose
/// condition can error (see the module).
pub fn engine_form(policies: &PolicySet, schema: &Schema) -> EngineForm {
    let mut set = policies.clone();
    let mut inexact = Vec::new();
    let validator = Validator::new(schema.clone());
    for forbid in policies.policies().filter(|p| p.effect() == Effect::Forbid) {
        let id = forbid.id().to_string();
        let Ok(est) = forbid.to_json() else {
            inexact.push(id);
            continue;
        };
        if mentions_inexact(&est["conditions"]) {
            inexact.push(id.clone());
        }
        let Some(companion) = companion(forbid, est) else {
            continue;
        };
        let mut alone = PolicySet::new();
        let valid = alone.add(companion.clone()).is_ok()
            && validator
                .validate(&alone, ValidationMode::Strict)
                .validation_passed();
        if !valid || set.add(companion).is_err() {
            tracing::warn!(
                "the fail-closed companion of {id} does not validate: its errors are checked apart"
            );
            if !inexact.contains(&id) {
                inexact.push(id);
            }
        }
    }
    EngineForm {
        policies: set,
        inexact,
    }
}

/// Whether an expression holds an operation whose errors the companion
/// leaves out (Long `*`, `toDate`).
fn mentions_inexact(expr: &Value) -> bool {
    match expr {
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key == "*" || key == "toDate" || mentions_inexact(value)),
        Value::Array(items) => items.iter().any(mentions_inexact),
        _ => false,
    }
}

/// The id of `forbid`'s fail-closed companion.
pub fn companion_id(forbid: &str) -> String {
    format!("fail-closed:{forbid}")
}

/// The forbid that applies where `forbid`'s condition errors; `None` when
/// it cannot error.
fn companion(forbid: &Policy, est: Value) -> Option<Policy> {
    let mut condition: Option<Value> = None;
    for clause in est["conditions"].as_array()? {
        let body = clause["body"].clone();
        let part = if clause["kind"] == "unless" {
            json!({"!": {"arg": body}})
        } else {
            body
        };
        condition = Some(match condition {
            None => part,
            Some(before) => json!({"&&": {"left": before, "right": part}}),
        });
    }
    let errors = errs(&condition?)?;
    let mut companion = est;
    companion["conditions"] = json!([{"kind": "when", "body": errors}]);
    companion["annotations"] = json!({});
    Policy::from_json(
        Some(PolicyId::new(companion_id(forbid.id().as_ref()))),
        companion,
    )
    .ok()
}

const LONG_MAX: i64 = i64::MAX;
const LONG_MIN: i64 = i64::MIN;

fn or(a: Option<Value>, b: Option<Value>) -> Option<Value> {
    match (a, b) {
        (Some(a), Some(b)) => Some(json!({"||": {"left": a, "right": b}})),
        (a, b) => a.or(b),
    }
}

fn and(a: Value, b: Value) -> Value {
    json!({"&&": {"left": a, "right": b}})
}

fn not(a: Value) -> Value {
    json!({"!": {"arg": a}})
}

fn binary(op: &str, left: Value, right: Value) -> Value {
    json!({ op: {"left": left, "right": right} })
}

fn long(n: i64) -> Value {
    json!({ "Value": n })
}

/// Whether `a + b` overflows, for Long expressions that do not error.
fn add_overflows(a: &Value, b: &Value) -> Value {
    let up = and(
        binary(">", b.clone(), long(0)),
        binary(">", a.clone(), binary("-", long(LONG_MAX), b.clone())),
    );
    let down = and(
        binary("<", b.clone(), long(0)),
        binary("<", a.clone(), binary("-", long(LONG_MIN), b.clone())),
    );
    binary("||", up, down)
}

/// Whether `a - b` overflows, for Long expressions that do not error.
fn sub_overflows(a: &Value, b: &Value) -> Value {
    let up = and(
        binary("<", b.clone(), long(0)),
        binary(">", a.clone(), binary("+", long(LONG_MAX), b.clone())),
    );
    let down = and(
        binary(">", b.clone(), long(0)),
        binary("<", a.clone(), binary("+", long(LONG_MIN), b.clone())),
    );
    binary("||", up, down)
}

/// A datetime expression as milliseconds since the epoch (never errors:
/// the difference from the epoch cannot overflow).
fn instant_ms(datetime: &Value) -> Value {
    let epoch = json!({"datetime": [{"Value": "1970-01-01"}]});
    json!({"toMilliseconds": [{"durationSince": [datetime, epoch]}]})
}

/// A duration expression as milliseconds.
fn duration_ms(duration: &Value) -> Value {
    json!({"toMilliseconds": [duration]})
}

/// A Cedar expression (JSON form) that is true exactly when `expr` errors,
/// and never errors itself; `None` when `expr` cannot error.
fn errs(expr: &Value) -> Option<Value> {
    let (key, body) = expr.as_object()?.iter().next()?;
    let arg = || errs(&body["arg"]);
    let sides = || or(errs(&body["left"]), errs(&body["right"]));
    match key.as_str() {
        "Value" | "Var" | "Slot" | "Unknown" => None,
        "!" | "isEmpty" => arg(),
        "neg" => or(
            arg(),
            Some(binary("==", body["arg"].clone(), long(LONG_MIN))),
        ),
        "&&" => or(
            errs(&body["left"]),
            errs(&body["right"]).map(|r| and(body["left"].clone(), r)),
        ),
        "||" => or(
            errs(&body["left"]),
            errs(&body["right"]).map(|r| and(not(body["left"].clone()), r)),
        ),
        "+" => or(sides(), Some(add_overflows(&body["left"], &body["right"]))),
        "-" => or(sides(), Some(sub_overflows(&body["left"], &body["right"]))),
        "getTag" => or(
            sides(),
            Some(not(binary(
                "hasTag",
                body["left"].clone(),
                body["right"].clone(),
            ))),
        ),
        "." | "has" | "like" => errs(&body["left"]),
        "is" => or(errs(&body["left"]), body.get("in").and_then(errs)),
        "if-then-else" => {
            let (test, then, otherwise) = (&body["if"], &body["then"], &body["else"]);
            let branches = match (errs(then), errs(otherwise)) {
                (None, None) => None,
                (t, e) => Some(json!({"if-then-else": {
                    "if": test,
                    "then": t.unwrap_or(json!({"Value": false})),
                    "else": e.unwrap_or(json!({"Value": false})),
                }})),
            };
            or(errs(test), branches)
        }
        "Set" => body.as_array()?.iter().map(errs).fold(None, or),
        "Record" => body.as_object()?.values().map(errs).fold(None, or),
        // Any other binary operator (==, <, in, contains, hasTag, ...): its
        // operands' errors only.
        _ if body.get("left").is_some() => sides(),
        // Extension functions and methods: `{"name": [args]}`.
        name => {
            let args = body.as_array()?;
            let inner = args.iter().map(errs).fold(None, or);
            let own = match (name, args.as_slice()) {
                ("offset", [at, by]) => Some(add_overflows(&instant_ms(at), &duration_ms(by))),
                ("durationSince", [a, b]) => Some(sub_overflows(&instant_ms(a), &instant_ms(b))),
                _ => None,
            };
            or(inner, own)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use cedar_policy::{Authorizer, Context, Entities, EntityUid, Request};

    use super::*;

    const SCHEMA: &str = r#"
        entity User { filed: datetime, count: Long, tags?: Set<String> };
        entity Doc;
        action view appliesTo { principal: User, resource: Doc, context: { at: datetime, step: duration } };
    "#;

    fn decide(policies: &PolicySet, filed: &str, count: i64) -> (bool, usize) {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA).unwrap();
        let entities = Entities::from_json_value(
            json!([{"uid": {"type": "User", "id": "u"}, "attrs": {
                "filed": instant(filed), "count": count},
                "parents": []},
                {"uid": {"type": "Doc", "id": "d"}, "attrs": {}, "parents": []}]),
            Some(&schema),
        )
        .unwrap();
        let action = EntityUid::from_str(r#"Action::"view""#).unwrap();
        let context = Context::from_json_value(
            json!({"at": {"__extn": {"fn": "datetime", "arg": "2026-01-01"}},
                   "step": {"__extn": {"fn": "duration", "arg": "62d"}}}),
            Some((&schema, &action)),
        )
        .unwrap();
        let request = Request::new(
            EntityUid::from_str(r#"User::"u""#).unwrap(),
            action,
            EntityUid::from_str(r#"Doc::"d""#).unwrap(),
            context,
            Some(&schema),
        )
        .unwrap();
        let answer = Authorizer::new().is_authorized(&request, policies, &entities);
        (
            answer.decision() == cedar_policy::Decision::Allow,
            answer.diagnostics().errors().count(),
        )
    }

    /// A datetime, or `ms:N` for N milliseconds after the epoch (beyond
    /// what a date string can write).
    fn instant(text: &str) -> Value {
        match text.strip_prefix("ms:") {
            Some(ms) => json!({"__extn": {"fn": "offset", "args": [
                {"__extn": {"fn": "datetime", "arg": "1970-01-01"}},
                {"__extn": {"fn": "duration", "arg": format!("{ms}ms")}}]}}),
            None => json!({"__extn": {"fn": "datetime", "arg": text}}),
        }
    }

    fn library(text: &str) -> (PolicySet, PolicySet) {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA).unwrap();
        let policies = PolicySet::from_str(text).unwrap();
        let engine = engine_form(&policies, &schema);
        assert!(engine.inexact.is_empty(), "{:?}", engine.inexact);
        (policies, engine.policies)
    }

    #[test]
    fn an_overflowing_offset_in_a_forbid_denies_in_the_engine_form() {
        let (cedar, engine) = library(
            r#"permit(principal, action, resource);
               forbid(principal, action, resource)
               when { principal.count > 0 }
               unless { context.at >= principal.filed.offset(context.step) };"#,
        );
        let late = "ms:9223372036854775000";
        // Cedar skips the erroring forbid and allows; the engine form denies.
        assert_eq!(decide(&cedar, late, 1), (true, 1));
        let (allowed, _) = decide(&engine, late, 1);
        assert!(!allowed);
        // Where nothing errors, the two agree, and the companion never errors.
        for (filed, count) in [
            ("2020-01-01", 1),
            ("2025-12-01", 1),
            ("2025-12-01", 0),
            (late, 0),
        ] {
            let (a, _) = decide(&cedar, filed, count);
            let (b, errors) = decide(&engine, filed, count);
            if decide(&cedar, filed, count).1 == 0 {
                assert_eq!(a, b, "{filed} {count}");
            }
            assert!(errors <= 1, "only the original forbid may error");
        }
    }

    /// On every edge value, the engine form's Cedar decision is the
    /// engine's: Cedar's on the original set, denied when a forbid errored.
    #[test]
    fn the_engine_form_decides_as_the_engine_on_every_edge() {
        let (cedar, engine) = library(
            r#"permit(principal, action, resource);
               forbid(principal, action, resource)
               when { principal.count > 0 && principal.count - 10 < 100 }
               unless { context.at >= principal.filed.offset(context.step) };
               forbid(principal, action, resource)
               when { context.at.durationSince(principal.filed) > duration("1d") };"#,
        );
        let step = 62 * 86_400_000_i64;
        let edges = [
            i64::MIN,
            i64::MIN + 1,
            -step,
            -1,
            0,
            1,
            step,
            i64::MAX - step,
            i64::MAX - step + 1,
            i64::MAX,
        ];
        for ms in edges {
            for count in [i64::MIN, i64::MIN + 9, -1, 0, 1, 50, 109, 110, i64::MAX] {
                let filed = format!("ms:{ms}");
                let (allowed, errors) = decide(&cedar, &filed, count);
                let engine_allows = allowed && errors == 0;
                let (allowed, _) = decide(&engine, &filed, count);
                assert_eq!(allowed, engine_allows, "filed {ms} ms, count {count}");
            }
        }
    }

    #[test]
    fn multiplication_and_to_date_are_named_inexact() {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA).unwrap();
        let policies = PolicySet::from_str(
            r#"forbid(principal, action, resource) when { principal.count * 2 > 3 };
               forbid(principal, action, resource) when { principal.filed.toDate() > context.at };
               forbid(principal, action, resource) when { principal.count + 2 > 3 };"#,
        )
        .unwrap();
        let engine = engine_form(&policies, &schema);
        assert_eq!(engine.inexact, ["policy0", "policy1"]);
        // The exact one, and the inexact ones' other errors, have companions.
        assert_eq!(engine.policies.policies().count(), 4);
    }

    #[test]
    fn a_condition_that_cannot_error_has_no_companion() {
        let (cedar, engine) = library(
            r#"permit(principal, action, resource);
               forbid(principal, action, resource) when { principal has tags && principal.tags.contains("x") };"#,
        );
        assert_eq!(cedar.policies().count(), engine.policies().count());
    }

    #[test]
    fn long_arithmetic_and_short_circuits_are_followed() {
        let (_, engine) = library(
            r#"permit(principal, action, resource);
               forbid(principal, action, resource) when { principal.count > 5 && principal.count + 1 > 7 };
               forbid(principal, action, resource) when { principal.count == 0 || -principal.count > 3 };"#,
        );
        // count = MAX: `count + 1` overflows, reached because count > 5.
        assert!(!decide(&engine, "2020-01-01", i64::MAX).0);
        // count = MIN: `-count` overflows, reached because count != 0.
        assert!(!decide(&engine, "2020-01-01", i64::MIN).0);
        // count = 3: nothing errors, nothing forbids.
        assert_eq!(decide(&engine, "2020-01-01", 3), (true, 0));
    }
}
