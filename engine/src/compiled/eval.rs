//! Evaluating compiled conditions. The evaluator answers only where Cedar's
//! interpreter answers the same value: each case follows the interpreter's
//! (`cedar_policy_core::evaluator`), relations and arithmetic are Cedar's
//! own functions, and whenever Cedar would report an error — or a case the
//! evaluator does not know — it stops with [`Bail`] and the whole request
//! goes to the interpreter, which gives Cedar's decision and messages.

use std::borrow::Cow;

use cedar_policy_core::ast::{
    BinaryOp, Entity, EntityUID, Literal, PartialValue, UnaryOp, Value, ValueKind, Var,
};
use cedar_policy_core::evaluator::{binary_arith, binary_relation, unary_app};
use cedar_policy_core::extensions::Extensions;

use super::node::Node;

/// Evaluation stopped: Cedar errors here, or the case is not compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

type Out<'a> = Result<Cow<'a, Value>, Bail>;

fn owned<'a>(value: impl Into<Value>) -> Out<'a> {
    Ok(Cow::Owned(value.into()))
}

/// What a uid names in the decision's store.
pub enum Found<'a> {
    Data(&'a Entity),
    Missing,
}

/// The request and the store a condition is evaluated over.
pub struct Env<'a> {
    /// The principal, action and resource as values (entity uids).
    pub principal: &'a Value,
    pub action: &'a Value,
    pub resource: &'a Value,
    pub context: &'a Value,
    /// The entity a uid names (`Err` for anything the evaluator must not
    /// read: an unevaluated entity).
    pub lookup: &'a dyn Fn(&EntityUID) -> Result<Found<'a>, Bail>,
}

fn as_bool(value: &Value) -> Result<bool, Bail> {
    match value.value_kind() {
        ValueKind::Lit(Literal::Bool(b)) => Ok(*b),
        _ => Err(Bail),
    }
}

fn as_uid(value: &Value) -> Result<&EntityUID, Bail> {
    match value.value_kind() {
        ValueKind::Lit(Literal::EntityUID(uid)) => Ok(uid),
        _ => Err(Bail),
    }
}

fn as_str(value: &Value) -> Result<&str, Bail> {
    match value.value_kind() {
        ValueKind::Lit(Literal::String(s)) => Ok(s),
        _ => Err(Bail),
    }
}

fn attr_value(found: Option<&PartialValue>) -> Result<Option<&Value>, Bail> {
    match found {
        Some(PartialValue::Value(value)) => Ok(Some(value)),
        Some(PartialValue::Residual(_)) => Err(Bail),
        None => Ok(None),
    }
}

/// Whether a compiled condition holds.
pub fn holds<'a>(node: &'a Node, env: &Env<'a>) -> Result<bool, Bail> {
    as_bool(&*eval(node, env)?)
}

fn eval<'a>(node: &'a Node, env: &Env<'a>) -> Out<'a> {
    match node {
        Node::Val(value) => Ok(Cow::Borrowed(value)),
        Node::Fail => Err(Bail),
        Node::Var(var) => Ok(Cow::Borrowed(match var {
            Var::Principal => env.principal,
            Var::Action => env.action,
            Var::Resource => env.resource,
            Var::Context => env.context,
        })),
        Node::If(parts) => {
            let [test, then, otherwise] = parts.as_ref();
            if as_bool(&*eval(test, env)?)? {
                eval(then, env)
            } else {
                eval(otherwise, env)
            }
        }
        Node::And(parts) => {
            let [left, right] = parts.as_ref();
            if as_bool(&*eval(left, env)?)? {
                owned(as_bool(&*eval(right, env)?)?)
            } else {
                owned(false)
            }
        }
        Node::Or(parts) => {
            let [left, right] = parts.as_ref();
            if as_bool(&*eval(left, env)?)? {
                owned(true)
            } else {
                owned(as_bool(&*eval(right, env)?)?)
            }
        }
        Node::Unary(op, arg) => unary(*op, eval(arg, env)?),
        Node::Binary(op, args) => {
            let [left, right] = args.as_ref();
            binary(*op, eval(left, env)?, eval(right, env)?, env)
        }
        Node::InUids(arg, targets) => is_in(as_uid(&*eval(arg, env)?)?, targets.iter(), env),
        Node::Call(function, args) => {
            let values = args
                .iter()
                .map(|arg| eval(arg, env).map(Cow::into_owned))
                .collect::<Result<Vec<_>, _>>()?;
            match function.call(&values) {
                Ok(PartialValue::Value(value)) => owned(value),
                _ => Err(Bail),
            }
        }
        Node::GetAttr(expr, attr) => get_attr(eval(expr, env)?, attr, env),
        Node::HasAttr(expr, attr) => has_path(eval(expr, env)?, std::slice::from_ref(attr), env),
        Node::HasPath(expr, attrs) => has_path(eval(expr, env)?, attrs, env),
        Node::Like(expr, pattern) => owned(pattern.wildcard_match(as_str(&*eval(expr, env)?)?)),
        Node::Is(expr, entity_type) => {
            owned(as_uid(&*eval(expr, env)?)?.entity_type() == entity_type)
        }
        Node::Set(items) => {
            let values = items
                .iter()
                .map(|item| eval(item, env).map(Cow::into_owned))
                .collect::<Result<Vec<_>, _>>()?;
            owned(Value::set(values, None))
        }
        Node::Record(fields) => {
            let values = fields
                .iter()
                .map(|(key, value)| Ok((key.clone(), eval(value, env)?.into_owned())))
                .collect::<Result<Vec<_>, Bail>>()?;
            owned(Value::record(values, None))
        }
    }
}

fn unary<'a>(op: UnaryOp, arg: Cow<'a, Value>) -> Out<'a> {
    match (op, arg.value_kind()) {
        (UnaryOp::Not, ValueKind::Lit(Literal::Bool(b))) => owned(!*b),
        (UnaryOp::Not, _) => Err(Bail),
        (UnaryOp::IsEmpty, ValueKind::Set(set)) => owned(set.is_empty()),
        _ => unary_app(op, arg.into_owned(), None)
            .map(Cow::Owned)
            .map_err(|_| Bail),
    }
}

fn as_set(value: &Value) -> Result<&cedar_policy_core::ast::Set, Bail> {
    match value.value_kind() {
        ValueKind::Set(set) => Ok(set),
        _ => Err(Bail),
    }
}

fn binary<'a>(op: BinaryOp, left: Cow<'a, Value>, right: Cow<'a, Value>, env: &Env<'a>) -> Out<'a> {
    match op {
        BinaryOp::Eq => owned(left == right),
        BinaryOp::Less | BinaryOp::LessEq => compare(op, &left, &right),
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul => {
            binary_arith(op, left.into_owned(), right.into_owned(), None)
                .map(Cow::Owned)
                .map_err(|_| Bail)
        }
        BinaryOp::In => {
            let uid = as_uid(&left)?;
            match right.value_kind() {
                ValueKind::Lit(Literal::EntityUID(target)) => {
                    is_in(uid, std::iter::once(target.as_ref()), env)
                }
                ValueKind::Set(set) => {
                    let targets = set.iter().map(as_uid).collect::<Result<Vec<_>, _>>()?;
                    is_in(uid, targets.into_iter(), env)
                }
                _ => Err(Bail),
            }
        }
        BinaryOp::Contains => owned(as_set(&left)?.contains(&right)),
        BinaryOp::ContainsAll => owned(as_set(&right)?.is_subset(as_set(&left)?)),
        BinaryOp::ContainsAny => owned(!as_set(&left)?.is_disjoint(as_set(&right)?)),
        BinaryOp::GetTag | BinaryOp::HasTag => {
            let uid = as_uid(&left)?;
            let tag = as_str(&right)?;
            match ((env.lookup)(uid)?, op) {
                (Found::Data(entity), BinaryOp::GetTag) => attr_value(entity.get_tag(tag))?
                    .map(Cow::Borrowed)
                    .ok_or(Bail),
                (Found::Data(entity), _) => owned(entity.get_tag(tag).is_some()),
                (Found::Missing, BinaryOp::GetTag) => Err(Bail),
                (Found::Missing, _) => owned(false),
            }
        }
    }
}

/// `<` and `<=`: longs directly, anything else by Cedar's own relation.
fn compare<'a>(op: BinaryOp, left: &Value, right: &Value) -> Out<'a> {
    if let (ValueKind::Lit(Literal::Long(x)), ValueKind::Lit(Literal::Long(y))) =
        (left.value_kind(), right.value_kind())
    {
        return owned(if op == BinaryOp::Less { x < y } else { x <= y });
    }
    binary_relation(op, left, right, Extensions::all_available())
        .map(Cow::Owned)
        .map_err(|_| Bail)
}

/// `uid in targets`: Cedar's `eval_in`.
fn is_in<'a, 't>(
    uid: &EntityUID,
    mut targets: impl Iterator<Item = &'t EntityUID>,
    env: &Env<'a>,
) -> Out<'a> {
    let entity = match (env.lookup)(uid)? {
        Found::Data(entity) => Some(entity),
        Found::Missing => None,
    };
    owned(targets.any(|target| uid == target || entity.is_some_and(|e| e.is_descendant_of(target))))
}

fn get_attr<'a>(value: Cow<'a, Value>, attr: &str, env: &Env<'a>) -> Out<'a> {
    match value {
        Cow::Borrowed(value) => match value.value_kind() {
            ValueKind::Record(record) => record.get(attr).map(Cow::Borrowed).ok_or(Bail),
            ValueKind::Lit(Literal::EntityUID(uid)) => entity_attr(uid, attr, env),
            _ => Err(Bail),
        },
        Cow::Owned(value) => match value.value_kind() {
            ValueKind::Record(record) => record.get(attr).cloned().map(Cow::Owned).ok_or(Bail),
            ValueKind::Lit(Literal::EntityUID(uid)) => entity_attr(uid, attr, env),
            _ => Err(Bail),
        },
    }
}

fn entity_attr<'a>(uid: &EntityUID, attr: &str, env: &Env<'a>) -> Out<'a> {
    match (env.lookup)(uid)? {
        Found::Data(entity) => attr_value(entity.get(attr))?.map(Cow::Borrowed).ok_or(Bail),
        Found::Missing => Err(Bail),
    }
}

/// `value has a.b.c`: Cedar's extended `has`, one step at a time.
fn has_path<'a>(value: Cow<'a, Value>, attrs: &[smol_str::SmolStr], env: &Env<'a>) -> Out<'a> {
    let mut current = value;
    let Some((last, path)) = attrs.split_last() else {
        return Err(Bail);
    };
    for attr in path {
        let next = match current.value_kind() {
            ValueKind::Record(record) => record.get(attr.as_str()).cloned().map(Cow::Owned),
            ValueKind::Lit(Literal::EntityUID(uid)) => match (env.lookup)(uid)? {
                Found::Data(entity) => attr_value(entity.get(attr))?.map(Cow::Borrowed),
                Found::Missing => None,
            },
            _ => return Err(Bail),
        };
        match next {
            None => return owned(false),
            Some(next) => current = next,
        }
    }
    owned(match current.value_kind() {
        ValueKind::Record(record) => record.contains_key(last.as_str()),
        ValueKind::Lit(Literal::EntityUID(uid)) => match (env.lookup)(uid)? {
            // Cedar's single `has` does not read the attribute's value; its
            // extended `has` does not either on the last step.
            Found::Data(entity) => entity.get(last).is_some(),
            Found::Missing => false,
        },
        _ => return Err(Bail),
    })
}
