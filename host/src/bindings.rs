//! Host-side bindings generated from `wit/slicegate.wit`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "policy-component",
});
