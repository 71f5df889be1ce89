//! The HTTP server: actix's HTTP/1 service on a TCP listener, as `actix_web::HttpServer`
//! builds it (same timeouts and graceful shutdown), except that each connection is wrapped in
//! [`Enveloped`] so that requests the HTTP parser refuses are answered in the error envelope
//! too (`crate::http::refusals`). `main` and the tests serve through it.

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_http::body::MessageBody;
use actix_http::{HttpService, KeepAlive, Protocol, Request, Response};
use actix_service::{IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt, map_config};
use actix_web::dev::{AppConfig, Server, fn_service};
use actix_web::rt::net::TcpStream;

use crate::http::refusals::Enveloped;

/// How the server runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Worker threads; the number of cores when `None`.
    pub workers: Option<usize>,
    /// Seconds a graceful stop waits for requests in flight (actix's default, 30, when `None`).
    pub shutdown_timeout: Option<u64>,
}

/// Where the server listens.
#[derive(Debug)]
pub enum Listen {
    /// Bind this address (with `HttpServer`'s backlog of 1024).
    Addr(SocketAddr),
    /// A listener already bound (the tests bind port 0 to learn the port first).
    Listener(TcpListener),
}

/// Serves the apps made by `factory` (one per worker) on `listen`. Signals are left to the
/// caller (stop it through the returned server's handle).
pub fn serve<F, I, S, B>(
    listen: Listen,
    options: ServeOptions,
    factory: F,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = match &listen {
        Listen::Addr(addr) => *addr,
        Listen::Listener(listener) => listener.local_addr()?,
    };
    let mut builder = Server::build().disable_signals().backlog(1024);
    if let Some(n) = options.workers {
        builder = builder.workers(n);
    }
    if let Some(secs) = options.shutdown_timeout {
        builder = builder.shutdown_timeout(secs);
    }
    let shutdown = builder.graceful_shutdown_signal();
    let make = move || {
        let shutdown = shutdown.clone();
        let app = factory()
            .into_factory()
            .map_err(|e| e.into().error_response());
        let http = HttpService::build()
            // Closes idle keep-alive connections when a graceful stop begins (as
            // `HttpServer` does), so that the stop does not wait for them.
            .graceful_shutdown_signal(move || {
                let signal = shutdown.clone();
                async move { signal.notified().await }
            })
            .keep_alive(KeepAlive::default())
            .client_request_timeout(Duration::from_secs(5))
            .client_disconnect_timeout(Duration::from_secs(1))
            .h1_allow_half_closed(true)
            .local_addr(addr)
            .finish(map_config(app, move |_| AppConfig::default()));
        fn_service(|io: TcpStream| async move {
            let peer = io.peer_addr().ok();
            Ok((Enveloped::new(io), Protocol::Http1, peer))
        })
        .and_then(http)
    };
    let builder = match listen {
        Listen::Addr(addr) => builder.bind("mami-api", addr, make)?,
        Listen::Listener(listener) => builder.listen("mami-api", listener, make)?,
    };
    Ok(builder.run())
}
