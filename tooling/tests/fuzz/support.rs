//! Shared by the fuzz properties: the case budget and the regression file,
//! the runtime and the policy library, and byte mutations.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use slicegate::{Decider, Limits, PolicySources, Runtime};

pub fn cases() -> u32 {
    std::env::var("SLICEGATE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

pub fn config(scale: u32) -> Config {
    Config {
        cases: (cases() / scale).max(8),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/fuzz.proptest-regressions",
        ))),
        ..Config::default()
    }
}

pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(Limits::default()).expect("runtime"))
}

pub fn library() -> &'static PolicySources {
    static SOURCES: OnceLock<PolicySources> = OnceLock::new();
    SOURCES.get_or_init(|| {
        PolicySources::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"))
            .expect("the library")
    })
}

pub fn library_decider() -> Decider {
    Decider::new(runtime(), library())
        .expect("the library loads")
        .permit_what_if(true)
}

/// A change to bytes: flip one, cut, insert, or replace everything.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
    Replace(Vec<u8>),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, x)| Mutation::Flip(at, x)),
        2 => any::<usize>().prop_map(Mutation::Cut),
        2 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, b)| Mutation::Insert(at, b)),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Mutation::Replace),
    ]
}

pub fn apply(bytes: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match mutation {
        Mutation::Flip(at, x) if !out.is_empty() => {
            let at = at % out.len();
            out[at] ^= x;
        }
        Mutation::Cut(at) => out.truncate(at % (bytes.len() + 1)),
        Mutation::Insert(at, extra) => {
            let at = at % (out.len() + 1);
            out.splice(at..at, extra.iter().copied());
        }
        Mutation::Replace(all) => out = all.clone(),
        Mutation::Flip(..) => {}
    }
    out
}
