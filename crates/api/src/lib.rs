//! Mami's HTTP API: actix-web routes over the domain, with auth and RBAC, the envelopes of the
//! Flask contract, rate limits, CORS and the generated OpenAPI document. `main.rs` is the
//! composition root of the `mami-api` binary.

pub mod app;
pub mod auth;
pub mod config;
pub mod docs;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod state;
pub mod telemetry;

pub use app::{Shared, build_app, openapi_document};
pub use config::Config;
pub use server::{Listen, ServeOptions, serve};
pub use state::AppState;
