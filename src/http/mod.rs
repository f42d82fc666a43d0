//! HTTP: hyper 1 + tokio. Accepts connections (HTTP/1.1 and h2c), reads each body up to
//! the configured limit (413 beyond), bounds each request by a timeout, opens one tracing
//! span per request (method, path, account, status, elapsed) and shuts down gracefully:
//! on SIGINT/SIGTERM it stops accepting, lets in-flight requests finish, then returns.
//!
//! Does not: know DAV or the application: each request, its body read, goes to a
//! [`Handler`] (the composition root, `app::App`). Never logs request or response bodies.

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

use bytes::Bytes;
use http_body_util::Full;

/// The response body every handler returns.
pub type Body = Full<Bytes>;
/// A response.
pub type Response = http::Response<Body>;

/// What serves requests: given a request with its body read, the response and, for the
/// request span, the authenticated account's number.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        req: http::Request<Bytes>,
    ) -> impl Future<Output = (Response, Option<String>)> + Send;
}

/// Bounds every request.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Largest request body read, in bytes (413 beyond).
    pub max_body: u64,
    /// How long a request may take (503 beyond; the handler's future is dropped, so an
    /// open transaction rolls back).
    pub timeout: Duration,
}

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve<H: Handler>(
    handler: Arc<H>,
    bounds: Bounds,
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
                let handler = handler.clone();
                let svc = service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handle(handler.as_ref(), bounds, req).await) }
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

async fn handle<H: Handler>(
    handler: &H,
    bounds: Bounds,
    req: hyper::Request<Incoming>,
) -> Response {
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
        let limit = usize::try_from(bounds.max_body).unwrap_or(usize::MAX);
        let body = match Limited::new(body, limit).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) => {
                let s = if e.is::<http_body_util::LengthLimitError>() {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                return finish(status(s), None, start);
            }
        };
        let req = http::Request::from_parts(parts, body);
        let (resp, who) = match tokio::time::timeout(bounds.timeout, handler.handle(req)).await {
            Ok(x) => x,
            // The handler future is dropped: an open transaction rolls back.
            Err(_) => (status(StatusCode::SERVICE_UNAVAILABLE), None),
        };
        finish(resp, who, start)
    }
    .instrument(span)
    .await
}

/// A response with a status and no body.
fn status(s: StatusCode) -> Response {
    let mut r = Response::new(Body::new(Bytes::new()));
    *r.status_mut() = s;
    r
}

fn finish(resp: Response, who: Option<String>, start: Instant) -> Response {
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
