//! The wasmtime side: one compiled policy component, instantiated cheaply
//! and often, each instance in its own store with fuel and a memory cap.

use std::sync::Arc;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

use crate::bindings::PolicyComponentPre;
use crate::instance::PolicyInstance;
use crate::limits::Limits;
use crate::store::{HostState, link_imports};

/// The guest component built from `engine/`, with no policy set loaded.
pub const ENGINE_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/slicegate_engine.wasm"));

/// How many instances may be alive at once on one engine: one runtime's, or
/// those of every bundle loaded through one `BundleLoader` (a reloading
/// service's old and new bundles while the old one drains).
const POOL_INSTANCES: u32 = 64;

/// Errors setting up the runtime or an instance.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The wasmtime engine could not be configured.
    #[error("configuring the WebAssembly engine: {0:#}")]
    Engine(wasmtime::Error),
    /// The component could not be compiled.
    #[error("compiling the policy component: {0:#}")]
    Compile(wasmtime::Error),
    /// The component could not be linked (an import is missing).
    #[error("linking the policy component: {0:#}")]
    Link(wasmtime::Error),
    /// A new instance could not be created.
    #[error("instantiating the policy component: {0:#}")]
    Instantiate(wasmtime::Error),
    /// The compiled-code cache could not be used.
    #[error("compiled-code cache {path}: {message}")]
    Cache {
        /// The cache file or folder.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Pre-initialising the component with a policy set failed.
    #[error("pre-initialising the policy component: {0}")]
    Preinitialise(String),
    /// The component's initial memory image could not be prepared, even
    /// after retrying.
    #[error("preparing the policy component's memory image ({attempts} attempts): {error:#}")]
    MemoryImage {
        /// How many times it was tried.
        attempts: usize,
        /// The last attempt's error.
        error: wasmtime::Error,
    },
}

/// Pauses between attempts to prepare a component's memory image. On Linux
/// the image is a sealed memfd, and the kernel refuses the seal (EBUSY)
/// while another CPU still holds a reference to a page just written: a
/// transient refusal, seen under load, that a short wait clears.
const MEMORY_IMAGE_PAUSES: [std::time::Duration; 4] = [
    std::time::Duration::from_millis(5),
    std::time::Duration::from_millis(25),
    std::time::Duration::from_millis(125),
    std::time::Duration::from_millis(625),
];

/// Runs `attempt` until it succeeds, pausing `pauses[i]` after the i-th
/// failure; the last error and the number of attempts when all fail.
pub(crate) fn with_retries<T, E>(
    pauses: &[std::time::Duration],
    mut attempt: impl FnMut() -> Result<T, E>,
) -> Result<T, (usize, E)> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Ok(value) => return Ok(value),
            Err(error) => match pauses.get(tries - 1) {
                Some(pause) => std::thread::sleep(*pause),
                None => return Err((tries, error)),
            },
        }
    }
}

/// A compiled policy component, ready to instantiate. Cheap to clone; share
/// one per process.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    component: Component,
    pre: PolicyComponentPre<HostState>,
    limits: Limits,
}

impl Runtime {
    /// Compiles the built-in engine component (no policy set loaded).
    pub fn new(limits: Limits) -> Result<Self, RuntimeError> {
        Self::from_component(ENGINE_COMPONENT, limits)
    }

    /// Compiles `bytes`, a policy component, under `limits`.
    pub fn from_component(bytes: &[u8], limits: Limits) -> Result<Self, RuntimeError> {
        let engine = Self::engine(&limits)?;
        let component = Component::new(&engine, bytes).map_err(RuntimeError::Compile)?;
        Self::assemble(engine, component, limits)
    }

    /// The wasmtime engine every runtime with `limits` uses.
    pub(crate) fn engine(limits: &Limits) -> Result<Engine, RuntimeError> {
        Engine::new(&engine_config(limits)).map_err(RuntimeError::Engine)
    }

    /// A runtime over an already compiled `component` of `engine`.
    pub(crate) fn assemble(
        engine: Engine,
        component: Component,
        limits: Limits,
    ) -> Result<Self, RuntimeError> {
        // The memory image every instance starts from, made now rather than
        // lazily at the first instantiation, so a transient refusal is
        // retried here instead of failing a decision.
        with_retries(&MEMORY_IMAGE_PAUSES, || {
            component.initialize_copy_on_write_image()
        })
        .map_err(|(attempts, error)| RuntimeError::MemoryImage { attempts, error })?;
        let mut linker = Linker::<HostState>::new(&engine);
        link_imports(&mut linker, &component).map_err(RuntimeError::Link)?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(RuntimeError::Link)?;
        let pre = PolicyComponentPre::new(instance_pre).map_err(RuntimeError::Link)?;
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                component,
                pre,
                limits,
            }),
        })
    }

    /// The limits every instance runs under.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The component's imports, as `name` strings (`wasi:cli/environment@0.2.x`).
    pub fn imports(&self) -> Vec<String> {
        self.inner
            .component
            .component_type()
            .imports(&self.inner.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// Whether `self` and `other` run on one engine, and so share its pool
    /// of instances (bundles loaded through one `BundleLoader` do).
    pub fn shares_engine_with(&self, other: &Runtime) -> bool {
        wasmtime::Engine::same(&self.inner.engine, &other.inner.engine)
    }

    /// A fresh instance in its own store. Nothing from earlier instances is
    /// shared with it.
    pub fn instantiate(&self) -> Result<PolicyInstance, RuntimeError> {
        let limits = self.inner.limits;
        let state = HostState::random_seed(limits.memory_bytes);
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|state| &mut state.memory);
        store
            .set_fuel(limits.fuel_per_load)
            .map_err(RuntimeError::Instantiate)?;
        let bindings = self
            .inner
            .pre
            .instantiate(&mut store)
            .map_err(RuntimeError::Instantiate)?;
        Ok(PolicyInstance::new(store, bindings, limits))
    }
}

/// Bytes of each pooled linear memory kept resident between instances
/// (the pre-initialised image is about 8 MB).
const KEEP_RESIDENT: usize = 32 << 20;
/// Bytes of each pooled table kept resident between instances.
const KEEP_RESIDENT_TABLES: usize = 1 << 20;

fn engine_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.max_wasm_stack(limits.wasm_stack_bytes);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 4)
        .total_memories(POOL_INSTANCES * 2)
        .total_tables(POOL_INSTANCES * 4)
        .max_memory_size(limits.memory_bytes)
        // A slot reused for a fresh instance keeps its pages: the ones the
        // last instance wrote are copied back from the pre-initialised image
        // (only those, found with PAGEMAP_SCAN where the kernel has it)
        // instead of being discarded, so a fresh instance's first decision
        // does not fault in the policy set page by page.
        .linear_memory_keep_resident(KEEP_RESIDENT.min(limits.memory_bytes))
        .table_keep_resident(KEEP_RESIDENT_TABLES)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::with_retries;

    #[test]
    fn a_transient_failure_is_retried_until_it_clears() {
        let mut failures = 2;
        let result = with_retries(&[Duration::ZERO; 4], || {
            if failures > 0 {
                failures -= 1;
                Err("busy")
            } else {
                Ok(7)
            }
        });
        assert_eq!(result, Ok(7));
        assert_eq!(failures, 0);
    }

    #[test]
    fn a_lasting_failure_ends_after_every_pause_with_the_last_error() {
        let mut calls = 0;
        let result: Result<(), _> = with_retries(&[Duration::ZERO; 3], || {
            calls += 1;
            Err(calls)
        });
        assert_eq!(result, Err((4, 4)));
        assert_eq!(calls, 4);
    }
}
