//! The decision service, endpoint by endpoint, with good and bad input,
//! every answer checked against `server/openapi.yaml`; hot reload under
//! load; the decision log it writes.
//!
//! One test binary (each links wasmtime), one module per topic; the shared
//! fixtures and helpers are in `support`.

mod authzen;
mod bad_input;
mod connections;
mod endpoints;
mod errors;
mod reload;
mod sources;
mod support;
