//! What an instance's store holds, and the only imports the guest gets.
//!
//! The engine is built for `wasm32-wasip2`, so its component imports the
//! WASI interfaces the Rust standard library names (`wasi:io`, `wasi:cli`
//! stdio, environment and exit, `wasi:random/insecure-seed`). The host
//! grants one of them: the seed for the guest's hash tables. Every other
//! import is defined as a trap — no stdio, no environment, no exit code —
//! so nothing the guest does reaches the host but its return values (a
//! guest that tries to print, a panic message for instance, traps, and a
//! trap fails the decision closed). No WASI implementation (and no async
//! runtime) is linked into the host for it.

use wasmtime::component::{Component, Linker};

/// The seed interface's name, in the version the engine imports.
const INSECURE_SEED: &str = "wasi:random/insecure-seed@0.2.6";

/// Per-store host state: the memory cap and the hash seed.
pub(crate) struct HostState {
    pub(crate) memory: MemoryCap,
    seed: (u64, u64),
}

impl HostState {
    /// State with a memory cap and the seed the guest's hash tables get.
    pub(crate) fn new(seed: (u64, u64), max_memory_bytes: usize) -> Self {
        HostState {
            memory: MemoryCap {
                max_bytes: max_memory_bytes,
                refused: false,
            },
            seed,
        }
    }

    /// State whose hash seed is random (a new instance at run time).
    pub(crate) fn random_seed(max_memory_bytes: usize) -> Self {
        let mut bytes = [0u8; 16];
        // A seed is not a secret: if the OS has no randomness, a fixed seed
        // still hashes correctly.
        let _ = getrandom::fill(&mut bytes);
        let half = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        Self::new((half(&bytes[..8]), half(&bytes[8..])), max_memory_bytes)
    }
}

/// Links the guest's imports for `component`: the hash seed from the
/// store's state, every other import a trap.
pub(crate) fn link_imports(
    linker: &mut Linker<HostState>,
    component: &Component,
) -> wasmtime::Result<()> {
    linker.instance(INSECURE_SEED)?.func_wrap(
        "insecure-seed",
        |store: wasmtime::StoreContextMut<'_, HostState>, (): ()| Ok((store.data().seed,)),
    )?;
    linker.define_unknown_imports_as_traps(component)
}

/// Refuses memory growth past the cap and remembers that it did, so that the
/// resulting trap can be reported as the memory cap.
pub(crate) struct MemoryCap {
    max_bytes: usize,
    pub(crate) refused: bool,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}
