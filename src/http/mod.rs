//! HTTP: hyper 1 + tokio. Accepts connections (HTTP/1.1 and h2c), reads each body up to
//! the configured limit (413 beyond), bounds each request by a timeout, opens one tracing
//! span per request (method, path, account, status, elapsed) and shuts down gracefully:
//! on SIGINT/SIGTERM it stops accepting, lets in-flight requests finish, then returns.
//!
//! Does not: know DAV (everything past the body goes to `dav::handle`). Never logs
//! request or response bodies.

pub mod auth;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::{Instrument, field};

use crate::app::App;
use crate::dav::{self, response};

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let svc = service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(handle(app, req).await) }
                });
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(DRAIN) => tracing::warn!("shutdown drain timed out"),
    }
    Ok(())
}

async fn handle(app: Arc<App>, req: hyper::Request<Incoming>) -> response::Response {
    let start = Instant::now();
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        account = field::Empty,
        status = field::Empty,
        ms = field::Empty,
    );
    async move {
        let (parts, body) = req.into_parts();
        let limit = usize::try_from(app.config.limits.max_body).unwrap_or(usize::MAX);
        let body = match Limited::new(body, limit).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) => {
                let s = if e.is::<http_body_util::LengthLimitError>() {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                return finish(response::status(s), None, start);
            }
        };
        let req = dav::Request {
            method: parts.method,
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers: parts.headers,
            body,
        };
        let timeout = Duration::from_secs(app.config.limits.request_timeout_secs.max(1));
        let (resp, who) = match tokio::time::timeout(timeout, dav::handle(&app, req)).await {
            Ok(x) => x,
            // The handler future is dropped: an open transaction rolls back.
            Err(_) => (response::status(StatusCode::SERVICE_UNAVAILABLE), None),
        };
        finish(resp, who, start)
    }
    .instrument(span)
    .await
}

fn finish(resp: response::Response, who: Option<String>, start: Instant) -> response::Response {
    let span = tracing::Span::current();
    if let Some(w) = who {
        span.record("account", w);
    }
    span.record("status", resp.status().as_u16());
    span.record("ms", start.elapsed().as_secs_f64() * 1000.0);
    tracing::info!("handled");
    resp
}

/// Installs the SIGINT/SIGTERM handlers now and returns a future that resolves when one
/// arrives. Installing eagerly matters: a signal that lands between "listening" and the
/// first poll of a lazily-registered handler would otherwise kill the process with the
/// default action instead of draining it.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (mut int, mut term) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = int => {},
                _ = term => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown signal received; draining");
    }
}
