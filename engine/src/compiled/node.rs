//! Translating a policy's condition (scope and `when`/`unless` clauses, as
//! Cedar's own `condition()` joins them) into a tree of [`Node`]s: literals
//! and extension constructors built once, slots filled from the link, the
//! extension functions looked up once, variables and operators as fixed
//! cases. A construct the evaluator does not handle makes the policy stay
//! with the interpreter (`compile` returns `None`).

use std::sync::Arc;

use cedar_policy_core::ast::{
    self, BinaryOp, EntityType, Expr, ExprKind, ExtensionFunction, Literal, PartialValue, Pattern,
    SlotEnv, UnaryOp, Value, ValueKind, Var,
};
use cedar_policy_core::extensions::Extensions;
use smol_str::SmolStr;

/// The deepest expression compiled; deeper ones stay with the interpreter
/// (whose own depth limit then decides what happens).
pub const MAX_DEPTH: usize = 64;

/// One compiled expression.
pub enum Node {
    /// A value known when the policy was compiled.
    Val(Value),
    /// An expression that errors whenever it is evaluated (an extension
    /// constructor whose literal arguments it refuses, an unlinked slot):
    /// evaluation hands the request to the interpreter, which reports it.
    Fail,
    /// A subexpression several policies of the set share: evaluated once
    /// per decision, the first time one needs it (evaluation is pure, so
    /// the value is the same wherever it is read).
    Memo(usize, Box<Node>),
    Var(Var),
    If(Box<[Node; 3]>),
    And(Box<[Node; 2]>),
    Or(Box<[Node; 2]>),
    Unary(UnaryOp, Box<Node>),
    Binary(BinaryOp, Box<[Node; 2]>),
    /// `x in E` or `x in [E, F]` with entity literals on the right.
    InUids(Box<Node>, Vec<ast::EntityUID>),
    Call(&'static ExtensionFunction, Vec<Node>),
    GetAttr(Box<Node>, SmolStr),
    HasAttr(Box<Node>, SmolStr),
    HasPath(Box<Node>, Vec<SmolStr>),
    Like(Box<Node>, Pattern),
    Is(Box<Node>, EntityType),
    Set(Vec<Node>),
    Record(Vec<(SmolStr, Node)>),
}

/// The subexpressions shared by several policies of a set, each with its
/// memo slot (see [`Node::Memo`]).
pub type Shared = std::collections::HashMap<Expr, usize>;

/// The subexpressions of `conditions` (static policies' conditions that
/// compile, so at most [`MAX_DEPTH`] deep: hashing and comparing them
/// recurses that far at most) that occur more than once and are worth
/// keeping: anything but a literal or a variable. Slots are numbered in the
/// order the conditions are walked, the same on every build.
pub fn shared(conditions: &[Expr]) -> Shared {
    let mut seen: std::collections::HashMap<&Expr, usize> = std::collections::HashMap::new();
    let worth = |expr: &Expr| {
        !matches!(
            expr.expr_kind(),
            ExprKind::Lit(_) | ExprKind::Var(_) | ExprKind::Slot(_)
        )
    };
    for condition in conditions {
        for expr in condition.subexpressions().filter(|e| worth(e)) {
            *seen.entry(expr).or_default() += 1;
        }
    }
    let mut slots = Shared::new();
    for condition in conditions {
        for expr in condition.subexpressions() {
            if seen.get(expr).is_some_and(|count| *count > 1) && !slots.contains_key(expr) {
                slots.insert(expr.clone(), slots.len());
            }
        }
    }
    slots
}

/// What compiling one condition needs: the link's slots and the set's
/// shared subexpressions.
struct Scope<'s> {
    env: &'s SlotEnv,
    shared: &'s Shared,
}

/// Compiles `expr` with the slots of `env`, or `None` when it holds a
/// construct left to the interpreter (unknowns, error nodes, depth).
pub fn compile(expr: &Expr, env: &SlotEnv, shared: &Shared) -> Option<Node> {
    compile_at(expr, &Scope { env, shared }, 0)
}

fn boxed2(a: &Expr, b: &Expr, env: &Scope<'_>, depth: usize) -> Option<Box<[Node; 2]>> {
    Some(Box::new([
        compile_at(a, env, depth)?,
        compile_at(b, env, depth)?,
    ]))
}

fn compile_at(expr: &Expr, scope: &Scope<'_>, depth: usize) -> Option<Node> {
    let node = compile_node(expr, scope, depth)?;
    Some(match scope.shared.get(expr) {
        // A value known when compiled needs no slot.
        Some(&slot) if !matches!(node, Node::Val(_)) => Node::Memo(slot, Box::new(node)),
        _ => node,
    })
}

fn compile_node(expr: &Expr, scope: &Scope<'_>, depth: usize) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    let env = scope;
    let d = depth + 1;
    let one = |e: &Expr| compile_at(e, env, d).map(Box::new);
    Some(match expr.expr_kind() {
        ExprKind::Lit(lit) => Node::Val(Value::from(lit.clone())),
        ExprKind::Var(var) => Node::Var(*var),
        ExprKind::Slot(slot) => match scope.env.get(slot) {
            Some(uid) => Node::Val(Value::from(uid.clone())),
            None => Node::Fail,
        },
        ExprKind::Unknown(_) => return None,
        ExprKind::If {
            test_expr,
            then_expr,
            else_expr,
        } => Node::If(Box::new([
            compile_at(test_expr, env, d)?,
            compile_at(then_expr, env, d)?,
            compile_at(else_expr, env, d)?,
        ])),
        ExprKind::And { left, right } => Node::And(boxed2(left, right, env, d)?),
        ExprKind::Or { left, right } => Node::Or(boxed2(left, right, env, d)?),
        ExprKind::UnaryApp { op, arg } => Node::Unary(*op, one(arg)?),
        ExprKind::BinaryApp { op, arg1, arg2 } => {
            let [left, right] = *boxed2(arg1, arg2, env, d)?;
            match (op, literal_uids(&right)) {
                (BinaryOp::In, Some(targets)) => Node::InUids(Box::new(left), targets),
                _ => Node::Binary(*op, Box::new([left, right])),
            }
        }
        ExprKind::ExtensionFunctionApp { fn_name, args } => {
            let function = Extensions::all_available().func(fn_name).ok()?;
            let args = args
                .iter()
                .map(|arg| compile_at(arg, env, d))
                .collect::<Option<Vec<_>>>()?;
            fold_call(function, args)
        }
        ExprKind::GetAttr { expr, attr } => Node::GetAttr(one(expr)?, attr.clone()),
        ExprKind::HasAttr { expr, attr } => Node::HasAttr(one(expr)?, attr.clone()),
        ExprKind::ExtHasAttr { expr, attrs } => {
            Node::HasPath(one(expr)?, attrs.iter().cloned().collect())
        }
        ExprKind::Like { expr, pattern } => Node::Like(one(expr)?, pattern.clone()),
        ExprKind::Is { expr, entity_type } => Node::Is(one(expr)?, entity_type.clone()),
        ExprKind::Set(items) => fold_set(
            items
                .iter()
                .map(|item| compile_at(item, env, d))
                .collect::<Option<Vec<_>>>()?,
        ),
        ExprKind::Record(fields) => fold_record(
            fields
                .iter()
                .map(|(key, value)| Some((key.clone(), compile_at(value, env, d)?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// The entity uids a known value holds: itself, or every element of a set
/// of entity uids (`None` for anything else, whose `in` Cedar refuses).
fn literal_uids(node: &Node) -> Option<Vec<ast::EntityUID>> {
    let Node::Val(value) = node else {
        return None;
    };
    match value.value_kind() {
        ValueKind::Lit(Literal::EntityUID(uid)) => Some(vec![uid.as_ref().clone()]),
        ValueKind::Set(set) => set
            .iter()
            .map(|v| match v.value_kind() {
                ValueKind::Lit(Literal::EntityUID(uid)) => Some(uid.as_ref().clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// The values of nodes all known when compiled.
fn known(nodes: &[&Node]) -> Option<Vec<Value>> {
    nodes
        .iter()
        .map(|node| match node {
            Node::Val(value) => Some(value.clone()),
            _ => None,
        })
        .collect()
}

/// A set literal of known values is built once.
fn fold_set(items: Vec<Node>) -> Node {
    match known(&items.iter().collect::<Vec<_>>()) {
        Some(values) => Node::Val(Value::set(values, None)),
        None => Node::Set(items),
    }
}

/// A record literal of known values is built once.
fn fold_record(fields: Vec<(SmolStr, Node)>) -> Node {
    match known(&fields.iter().map(|(_, node)| node).collect::<Vec<_>>()) {
        Some(values) => Node::Val(Value::record(
            fields.into_iter().map(|(key, _)| key).zip(values),
            None,
        )),
        None => Node::Record(fields),
    }
}

/// An extension call whose arguments are all known is made now (a
/// `datetime("...")` literal becomes its value); one that errors is a
/// [`Node::Fail`], so the interpreter reports the error with its message.
fn fold_call(function: &'static ExtensionFunction, args: Vec<Node>) -> Node {
    match known(&args.iter().collect::<Vec<_>>()) {
        Some(values) => match function.call(&values) {
            Ok(PartialValue::Value(value)) => Node::Val(value),
            _ => Node::Fail,
        },
        None => Node::Call(function, args),
    }
}

/// A compiled policy: its id, its effect and its condition.
pub struct CompiledPolicy {
    pub id: cedar_policy::PolicyId,
    pub forbid: bool,
    pub condition: Node,
}

/// Compiles one policy of a set (whose shared subexpressions are `shared`;
/// a linked policy shares none), or `None` to leave it to the interpreter.
pub fn compile_policy(policy: &ast::Policy, shared: &Shared) -> Option<Arc<CompiledPolicy>> {
    let none = Shared::new();
    let shared = if policy.is_static() { shared } else { &none };
    let condition = compile(&policy.condition(), policy.env(), shared)?;
    Some(Arc::new(CompiledPolicy {
        id: cedar_policy::PolicyId::new(policy.id().as_ref()),
        forbid: policy.effect() == ast::Effect::Forbid,
        condition,
    }))
}
