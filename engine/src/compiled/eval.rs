//! Evaluating compiled conditions. The evaluator answers only where Cedar's
//! interpreter answers the same value: each case follows the interpreter's
//! (`cedar_policy_core::evaluator`), relations and arithmetic are Cedar's
//! own functions, and whenever Cedar would report an error — or a case the
//! evaluator does not know — it stops with [`Bail`] and the whole request
//! goes to the interpreter, which gives Cedar's decision and messages.

use cedar_policy_core::ast::{
    BinaryOp, Entity, EntityUID, Literal, PartialValue, Set, UnaryOp, Value, ValueKind, Var,
};
use cedar_policy_core::evaluator::{binary_arith, binary_relation, unary_app};
use cedar_policy_core::extensions::Extensions;

use super::node::Node;

/// Evaluation stopped: Cedar errors here, or the case is not compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

/// A value during evaluation: booleans and longs as themselves (most
/// results are), values read from the request, the store or a policy
/// literal by reference, values built here owned.
#[derive(Clone)]
pub enum V<'a> {
    Bool(bool),
    Long(i64),
    Ref(&'a Value),
    Own(Box<Value>),
}

type Out<'a> = Result<V<'a>, Bail>;

impl<'a> V<'a> {
    fn own(value: Value) -> V<'a> {
        V::Own(Box::new(value))
    }

    /// The value itself, when it is not a scalar held apart.
    fn as_value(&self) -> Option<&Value> {
        match self {
            V::Ref(value) => Some(value),
            V::Own(value) => Some(value),
            V::Bool(_) | V::Long(_) => None,
        }
    }

    fn kind(&self) -> Option<&ValueKind> {
        self.as_value().map(Value::value_kind)
    }

    /// The value as Cedar's (scalars built).
    fn into_value(self) -> Value {
        match self {
            V::Bool(b) => Value::from(b),
            V::Long(n) => Value::from(n),
            V::Ref(value) => value.clone(),
            V::Own(value) => *value,
        }
    }

    fn bool(&self) -> Result<bool, Bail> {
        match (self, self.kind()) {
            (V::Bool(b), _) | (_, Some(ValueKind::Lit(Literal::Bool(b)))) => Ok(*b),
            _ => Err(Bail),
        }
    }

    fn long(&self) -> Option<i64> {
        match (self, self.kind()) {
            (V::Long(n), _) | (_, Some(ValueKind::Lit(Literal::Long(n)))) => Some(*n),
            _ => None,
        }
    }

    fn uid(&self) -> Result<&EntityUID, Bail> {
        match self.kind() {
            Some(ValueKind::Lit(Literal::EntityUID(uid))) => Ok(uid),
            _ => Err(Bail),
        }
    }

    fn str(&self) -> Result<&str, Bail> {
        match self.kind() {
            Some(ValueKind::Lit(Literal::String(s))) => Ok(s),
            _ => Err(Bail),
        }
    }

    fn set(&self) -> Result<&Set, Bail> {
        match self.kind() {
            Some(ValueKind::Set(set)) => Ok(set),
            _ => Err(Bail),
        }
    }
}

/// Cedar's `==` (values compare by content, never by where they came from).
fn equal(left: &V<'_>, right: &V<'_>) -> bool {
    match (left, right) {
        (V::Bool(a), V::Bool(b)) => a == b,
        (V::Long(a), V::Long(b)) => a == b,
        (V::Bool(a), other) | (other, V::Bool(a)) => {
            matches!(other.kind(), Some(ValueKind::Lit(Literal::Bool(b))) if a == b)
        }
        (V::Long(a), other) | (other, V::Long(a)) => {
            matches!(other.kind(), Some(ValueKind::Lit(Literal::Long(b))) if a == b)
        }
        (a, b) => a.as_value() == b.as_value(),
    }
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
    /// The values of the set's shared subexpressions ([`Node::Memo`]),
    /// each computed the first time a policy evaluates it.
    pub memo: std::cell::RefCell<Vec<Option<V<'a>>>>,
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
    eval(node, env)?.bool()
}

fn eval<'a>(node: &'a Node, env: &Env<'a>) -> Out<'a> {
    match node {
        Node::Val(value) => Ok(V::Ref(value)),
        Node::Fail => Err(Bail),
        Node::Memo(slot, inner) => {
            let known = env.memo.borrow().get(*slot).cloned().flatten();
            match known {
                Some(value) => Ok(value),
                None => {
                    let value = eval(inner, env)?;
                    if let Some(place) = env.memo.borrow_mut().get_mut(*slot) {
                        *place = Some(value.clone());
                    }
                    Ok(value)
                }
            }
        }
        Node::Var(var) => Ok(V::Ref(match var {
            Var::Principal => env.principal,
            Var::Action => env.action,
            Var::Resource => env.resource,
            Var::Context => env.context,
        })),
        Node::If(parts) => {
            let [test, then, otherwise] = parts.as_ref();
            if eval(test, env)?.bool()? {
                eval(then, env)
            } else {
                eval(otherwise, env)
            }
        }
        Node::And(parts) => {
            let [left, right] = parts.as_ref();
            Ok(V::Bool(
                eval(left, env)?.bool()? && eval(right, env)?.bool()?,
            ))
        }
        Node::Or(parts) => {
            let [left, right] = parts.as_ref();
            Ok(V::Bool(
                eval(left, env)?.bool()? || eval(right, env)?.bool()?,
            ))
        }
        Node::Unary(op, arg) => unary(*op, eval(arg, env)?),
        Node::Binary(op, args) => {
            let [left, right] = args.as_ref();
            binary(*op, eval(left, env)?, eval(right, env)?, env)
        }
        Node::InUids(arg, targets) => is_in(eval(arg, env)?.uid()?, targets.iter(), env),
        Node::Call(function, args) => {
            let values = args
                .iter()
                .map(|arg| eval(arg, env).map(V::into_value))
                .collect::<Result<Vec<_>, _>>()?;
            match function.call(&values) {
                Ok(PartialValue::Value(value)) => Ok(V::own(value)),
                _ => Err(Bail),
            }
        }
        Node::GetAttr(expr, attr) => get_attr(eval(expr, env)?, attr, env),
        Node::HasAttr(expr, attr) => has_path(eval(expr, env)?, std::slice::from_ref(attr), env),
        Node::HasPath(expr, attrs) => has_path(eval(expr, env)?, attrs, env),
        Node::Like(expr, pattern) => Ok(V::Bool(pattern.wildcard_match(eval(expr, env)?.str()?))),
        Node::Is(expr, entity_type) => Ok(V::Bool(
            eval(expr, env)?.uid()?.entity_type() == entity_type,
        )),
        Node::Set(items) => {
            let values = items
                .iter()
                .map(|item| eval(item, env).map(V::into_value))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(V::own(Value::set(values, None)))
        }
        Node::Record(fields) => {
            let values = fields
                .iter()
                .map(|(key, value)| Ok((key.clone(), eval(value, env)?.into_value())))
                .collect::<Result<Vec<_>, Bail>>()?;
            Ok(V::own(Value::record(values, None)))
        }
    }
}

fn unary<'a>(op: UnaryOp, arg: V<'a>) -> Out<'a> {
    match op {
        UnaryOp::Not => Ok(V::Bool(!arg.bool()?)),
        UnaryOp::IsEmpty => Ok(V::Bool(arg.set()?.is_empty())),
        UnaryOp::Neg => match arg.long() {
            Some(n) => n.checked_neg().map(V::Long).ok_or(Bail),
            None => Err(Bail),
        },
        #[allow(unreachable_patterns)]
        _ => unary_app(op, arg.into_value(), None)
            .map(V::own)
            .map_err(|_| Bail),
    }
}

fn binary<'a>(op: BinaryOp, left: V<'a>, right: V<'a>, env: &Env<'a>) -> Out<'a> {
    match op {
        BinaryOp::Eq => Ok(V::Bool(equal(&left, &right))),
        BinaryOp::Less | BinaryOp::LessEq => compare(op, left, right),
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul => match (left.long(), right.long()) {
            (Some(a), Some(b)) => match op {
                BinaryOp::Add => a.checked_add(b),
                BinaryOp::Sub => a.checked_sub(b),
                _ => a.checked_mul(b),
            }
            .map(V::Long)
            .ok_or(Bail),
            _ => binary_arith(op, left.into_value(), right.into_value(), None)
                .map(V::own)
                .map_err(|_| Bail),
        },
        BinaryOp::In => {
            let uid = left.uid()?;
            match right.kind() {
                Some(ValueKind::Lit(Literal::EntityUID(target))) => {
                    is_in(uid, std::iter::once(target.as_ref()), env)
                }
                Some(ValueKind::Set(set)) => {
                    let targets = set
                        .iter()
                        .map(|v| match v.value_kind() {
                            ValueKind::Lit(Literal::EntityUID(uid)) => Ok(uid.as_ref()),
                            _ => Err(Bail),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    is_in(uid, targets.into_iter(), env)
                }
                _ => Err(Bail),
            }
        }
        BinaryOp::Contains => {
            let set = left.set()?;
            Ok(V::Bool(match &right {
                V::Ref(value) => set.contains(value),
                V::Own(value) => set.contains(value),
                scalar => set.contains(&match scalar {
                    V::Bool(b) => Value::from(*b),
                    V::Long(n) => Value::from(*n),
                    _ => return Err(Bail),
                }),
            }))
        }
        BinaryOp::ContainsAll => Ok(V::Bool(right.set()?.is_subset(left.set()?))),
        BinaryOp::ContainsAny => Ok(V::Bool(!left.set()?.is_disjoint(right.set()?))),
        BinaryOp::GetTag | BinaryOp::HasTag => {
            let uid = left.uid()?;
            let tag = right.str()?;
            match ((env.lookup)(uid)?, op) {
                (Found::Data(entity), BinaryOp::GetTag) => {
                    attr_value(entity.get_tag(tag))?.map(V::Ref).ok_or(Bail)
                }
                (Found::Data(entity), _) => Ok(V::Bool(entity.get_tag(tag).is_some())),
                (Found::Missing, BinaryOp::GetTag) => Err(Bail),
                (Found::Missing, _) => Ok(V::Bool(false)),
            }
        }
    }
}

/// `<` and `<=`: longs directly, anything else by Cedar's own relation.
fn compare<'a>(op: BinaryOp, left: V<'a>, right: V<'a>) -> Out<'a> {
    if let (Some(x), Some(y)) = (left.long(), right.long()) {
        return Ok(V::Bool(if op == BinaryOp::Less { x < y } else { x <= y }));
    }
    let related = match (left.as_value(), right.as_value()) {
        (Some(l), Some(r)) => binary_relation(op, l, r, Extensions::all_available()),
        _ => binary_relation(
            op,
            &left.into_value(),
            &right.into_value(),
            Extensions::all_available(),
        ),
    };
    match related {
        Ok(value) => Ok(V::Bool(V::own(value).bool()?)),
        Err(_) => Err(Bail),
    }
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
    Ok(V::Bool(targets.any(|target| {
        uid == target || entity.is_some_and(|e| e.is_descendant_of(target))
    })))
}

fn get_attr<'a>(value: V<'a>, attr: &str, env: &Env<'a>) -> Out<'a> {
    match value {
        V::Ref(value) => match value.value_kind() {
            ValueKind::Record(record) => record.get(attr).map(V::Ref).ok_or(Bail),
            ValueKind::Lit(Literal::EntityUID(uid)) => entity_attr(uid, attr, env),
            _ => Err(Bail),
        },
        V::Own(value) => match value.value_kind() {
            ValueKind::Record(record) => record.get(attr).cloned().map(V::own).ok_or(Bail),
            ValueKind::Lit(Literal::EntityUID(uid)) => entity_attr(uid, attr, env),
            _ => Err(Bail),
        },
        V::Bool(_) | V::Long(_) => Err(Bail),
    }
}

fn entity_attr<'a>(uid: &EntityUID, attr: &str, env: &Env<'a>) -> Out<'a> {
    match (env.lookup)(uid)? {
        Found::Data(entity) => attr_value(entity.get(attr))?.map(V::Ref).ok_or(Bail),
        Found::Missing => Err(Bail),
    }
}

/// `value has a.b.c`: Cedar's extended `has`, one step at a time.
fn has_path<'a>(value: V<'a>, attrs: &[smol_str::SmolStr], env: &Env<'a>) -> Out<'a> {
    let mut current = value;
    let Some((last, path)) = attrs.split_last() else {
        return Err(Bail);
    };
    for attr in path {
        let next = match current.kind() {
            Some(ValueKind::Record(record)) => record.get(attr.as_str()).cloned().map(V::own),
            Some(ValueKind::Lit(Literal::EntityUID(uid))) => match (env.lookup)(uid)? {
                Found::Data(entity) => attr_value(entity.get(attr))?.map(V::Ref),
                Found::Missing => None,
            },
            _ => return Err(Bail),
        };
        match next {
            None => return Ok(V::Bool(false)),
            Some(next) => current = next,
        }
    }
    Ok(V::Bool(match current.kind() {
        Some(ValueKind::Record(record)) => record.contains_key(last.as_str()),
        Some(ValueKind::Lit(Literal::EntityUID(uid))) => match (env.lookup)(uid)? {
            // Cedar's single `has` does not read the attribute's value; its
            // extended `has` does not either on the last step.
            Found::Data(entity) => entity.get(last).is_some(),
            Found::Missing => false,
        },
        _ => return Err(Bail),
    }))
}
