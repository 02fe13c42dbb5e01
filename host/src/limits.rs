//! Resource limits for one policy instance, and which one a failure hit.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Limits applied to every policy instance. A decision that exceeds one is
/// a deny naming the limit, and the instance is discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Fuel (roughly, WebAssembly instructions) one decision may use.
    pub fuel_per_decision: u64,
    /// Fuel loading a policy set may use (parsing, validation, entities).
    pub fuel_per_load: u64,
    /// Largest linear memory an instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Largest WebAssembly stack, in bytes (deeply nested policies).
    pub wasm_stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_decision: 2_000_000_000,
            fuel_per_load: 200_000_000_000,
            memory_bytes: 512 << 20,
            wasm_stack_bytes: 2 << 20,
        }
    }
}

/// The limit a failed call ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum LimitKind {
    /// The fuel budget ran out.
    Fuel,
    /// The memory cap refused a grow.
    Memory,
    /// The WebAssembly stack overflowed.
    Stack,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitKind::Fuel => "fuel limit",
            LimitKind::Memory => "memory cap",
            LimitKind::Stack => "stack limit",
        })
    }
}
