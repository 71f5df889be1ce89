//! Structured logs with tracing: JSON in production, readable text in development. Every line
//! of a request carries its `request_id` (from the request span): in JSON, `span` is the
//! innermost span and `spans` lists every span from the request's down, so a line logged inside
//! a nested span (a domain service's, the payment adapter's) still has `spans[0].request_id`.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
