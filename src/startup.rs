//! Building, running and stopping the HTTP server. Production (`coffre
//! serve`) and the tests go through the same `Application::build`, so tests
//! exercise the real stack on a real socket: plain HTTP, or HTTPS (rustls,
//! HTTP/2 or HTTP/1.1 by ALPN) when a certificate is configured, and the
//! metrics listener.
//!
//! Stopping (SIGTERM, SIGINT, or `Stopper::stop`) is ours rather than
//! actix-server's, which on a signal waits a fixed 300 ms before it stops
//! the system and checks open connections only once a second: accepting
//! stops, idle keep-alive connections close at once, a busy one closes
//! right after its response, and the workers stop as soon as the last
//! connection is gone — at once when the server is idle.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::{HttpService, KeepAlive, Protocol};
use actix_server::{Server, ServerHandle};
use actix_service::{
    IntoServiceFactory, Service, ServiceFactoryExt, apply_fn_factory, fn_service, map_config,
};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use actix_web::{App, middleware::from_fn, web};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::error::ErrorCode;
use crate::http::bare_errors::{RewriteBareErrors, closing_response};
use crate::http::middleware::{request_context, route_not_found};
use crate::http::tls::Certificates;
use crate::routes;
use crate::scheduler;
use crate::state::AppState;

/// A TLS handshake (and the first byte before it) must be done by then.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for busy connections to finish their response.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Application {
    server: Server,
    address: SocketAddr,
    metrics_address: Option<SocketAddr>,
    state: AppState,
    tls: Option<Arc<Certificates>>,
    signals: Option<Signals>,
    stopper: Stopper,
}

/// The connections being served, and the request to close them once idle.
#[derive(Debug)]
struct Connections {
    open: watch::Sender<usize>,
    drain: watch::Sender<bool>,
}

/// Counts one connection while it lives.
struct OpenConnection(Arc<Connections>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Connections {
    fn new() -> Arc<Connections> {
        Arc::new(Connections {
            open: watch::Sender::new(0),
            drain: watch::Sender::new(false),
        })
    }

    fn opened(self: &Arc<Self>) -> OpenConnection {
        self.open.send_modify(|n| *n += 1);
        OpenConnection(self.clone())
    }

    /// Resolves once a stop asks connections to close when idle.
    fn draining(&self) -> impl Future<Output = ()> + use<> {
        let mut asked = self.drain.subscribe();
        async move {
            let _ = asked.wait_for(|&drain| drain).await;
        }
    }
}

/// Stops the server gracefully (see the module's comment).
#[derive(Clone)]
pub struct Stopper {
    handle: ServerHandle,
    connections: Arc<Connections>,
}

impl Stopper {
    pub async fn stop(&self) {
        self.handle.pause().await;
        self.connections.drain.send_replace(true);
        let mut open = self.connections.open.subscribe();
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, open.wait_for(|&n| n == 0))
            .await
            .is_err()
        {
            log::warn!(
                "{} connection(s) still busy after {} s: closing them",
                *open.borrow(),
                SHUTDOWN_TIMEOUT.as_secs()
            );
        }
        self.handle.stop(false).await;
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Stop gracefully on SIGINT/SIGTERM and reload the TLS certificate on
    /// SIGHUP (off in tests, which stop through the handle; the signals are
    /// the process's).
    pub handle_signals: bool,
}

/// The HTTP service over one accepted connection (`$app` builds the App);
/// idle keep-alive connections close when `$connections` drain.
macro_rules! http_service {
    ($app:expr, $address:expr, $connections:expr) => {{
        let draining = $connections.clone();
        HttpService::build()
            .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
            .client_request_timeout(Duration::from_secs(5))
            .client_disconnect_timeout(Duration::from_secs(1))
            .local_addr($address)
            .graceful_shutdown_signal(move || draining.draining())
            .finish(map_config(
                $app.into_factory()
                    .map_err(|e: actix_web::Error| e.error_response()),
                |_| AppConfig::default(),
            ))
    }};
}

/// Counts each connection `$serve` handles while it lives, for the stop.
macro_rules! tracked {
    ($serve:expr, $connections:expr) => {{
        let tracked = $connections.clone();
        apply_fn_factory($serve, move |io: TcpStream, service| {
            let open = tracked.opened();
            let served = service.call(io);
            async move {
                let result = served.await;
                drop(open);
                result
            }
        })
    }};
}

impl Application {
    pub fn build(
        state: AppState,
        listen: SocketAddr,
        options: ServerOptions,
    ) -> std::io::Result<Application> {
        if state.config.dev && state.baseline.get().is_none() {
            // What `POST /v4/Dev/Reset` returns to: bootstrap and seed done.
            state
                .capture_baseline()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        let config = state.config.clone();
        let tls = match (&config.tls_cert_file, &config.tls_key_file) {
            (Some(cert), Some(key)) => {
                // InvalidInput: a configuration error (exit 2), not a failure to listen.
                let certs = Certificates::load(cert, key)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                log::info!("serving HTTPS with the certificate {}", certs.summary());
                state.metrics.watch_certificates(certs.clone());
                Some(certs)
            }
            _ => None,
        };
        let listener = TcpListener::bind(listen)?;
        let address = listener.local_addr()?;
        warn_if_exposed(address, tls.is_some());
        if let Some(all) = config.trusted_proxies.iter().find(|n| n.prefix_len() == 0) {
            log::warn!(
                "trusted_proxies includes {all}: every peer is believed when it says for whom it \
                 forwards, so any client can pick the address it is counted and recorded under. \
                 Name your proxies' addresses instead."
            );
        }
        let data = web::Data::new(state.clone());
        let dev = config.dev;
        let api = web::Data::new(routes::openapi::OpenApiJson(web::Bytes::from(
            serde_json::to_vec(&routes::openapi::document(dev)).map_err(std::io::Error::other)?,
        )));
        let workers = if options.workers > 0 {
            options.workers
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        };
        // Reads wait for one of `db_pool_size` connections anyway; more
        // blocking threads would only hold memory (each can grow a malloc arena).
        let blocking_threads = (config.db_pool_size as usize).div_ceil(workers).max(1);
        let listening = web::Data::new(routes::oauth::ListenAddress(address));
        let app = {
            let data = data.clone();
            move || {
                App::new()
                    .app_data(data.clone())
                    .app_data(api.clone())
                    .app_data(listening.clone())
                    .app_data(routes::path_config())
                    .app_data(routes::query_config())
                    .wrap(from_fn(request_context))
                    .configure(|cfg| routes::configure(cfg, dev))
                    .configure(routes::openapi::configure)
                    .configure(crate::console::configure)
                    .default_service(web::to(route_not_found))
            }
        };
        // Assembled by hand rather than with `HttpServer` so that every
        // connection passes through `RewriteBareErrors` (actix's own answers
        // to malformed requests get our error shape too, over TLS as well)
        // and is counted for a quick graceful stop. Signals are ours
        // (`Signals`), installed before anything listens.
        let connections = Connections::new();
        let mut builder = actix_server::Server::build()
            .workers(workers)
            .worker_max_blocking_threads(blocking_threads)
            .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
            .disable_signals();
        let signals = if options.handle_signals {
            Some(Signals::install()?)
        } else {
            None
        };
        let tracked = connections.clone();
        builder = match &tls {
            Some(certs) => {
                let acceptor = certs.acceptor().map_err(std::io::Error::other)?;
                builder.listen("coffre", listener, move || {
                    let acceptor = acceptor.clone();
                    let serve = fn_service(move |io: TcpStream| accept_tls(io, acceptor.clone()))
                        .and_then(http_service!(app(), address, tracked));
                    tracked!(serve, tracked)
                })?
            }
            None => builder.listen("coffre", listener, move || {
                let serve = fn_service(|io: TcpStream| async move {
                    let _ = io.set_nodelay(true);
                    let peer = io.peer_addr().ok();
                    Ok((RewriteBareErrors::new(io), Protocol::Http1, peer))
                })
                .and_then(http_service!(app(), address, tracked));
                tracked!(serve, tracked)
            })?,
        };
        let mut metrics_address = None;
        if let Some(metrics_listen) = config.metrics_listen {
            let connections = connections.clone();
            let listener = TcpListener::bind(metrics_listen)?;
            let bound = listener.local_addr()?;
            metrics_address = Some(bound);
            builder = builder.listen("coffre-metrics", listener, move || {
                let data = data.clone();
                fn_service(|io: TcpStream| async move {
                    let peer = io.peer_addr().ok();
                    Ok((RewriteBareErrors::new(io), Protocol::Http1, peer))
                })
                .and_then(http_service!(
                    App::new()
                        .app_data(data.clone())
                        .route("/metrics", web::get().to(crate::metrics::scrape))
                        .default_service(web::to(route_not_found)),
                    bound,
                    connections
                ))
            })?;
        }
        let server = builder.run();
        let stopper = Stopper {
            handle: server.handle(),
            connections,
        };
        Ok(Application {
            server,
            address,
            metrics_address,
            state,
            tls,
            signals,
            stopper,
        })
    }

    /// The address actually bound (the real port when 0 was asked).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `https://HOST:PORT` or `http://HOST:PORT`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// Where `GET /metrics` is served, if it is.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// The certificate in use, when serving HTTPS (reload it with `reload`).
    pub fn tls(&self) -> Option<Arc<Certificates>> {
        self.tls.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Stops this server gracefully, as SIGTERM does.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until stopped (signal or handle), lets in-flight requests finish,
    /// stops the background jobs, stores what they held, then closes the
    /// database cleanly.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut jobs = vec![tokio::spawn(scheduler::last_used_job(
            self.state.clone(),
            stopped.clone(),
        ))];
        if self.state.config.scheduler {
            jobs.push(tokio::spawn(scheduler::expiry_job(
                self.state.clone(),
                stopped.clone(),
            )));
            jobs.push(tokio::spawn(crate::lifecycle::grace_reminder_job(
                self.state.clone(),
                stopped.clone(),
            )));
        }
        if self.state.config.backup_dir.is_some() {
            jobs.push(tokio::spawn(scheduler::backup_job(
                self.state.clone(),
                stopped.clone(),
            )));
        }
        if self.state.config.smtp_url.is_some() {
            jobs.push(tokio::spawn(crate::mail::delivery_job(
                self.state.clone(),
                stopped.clone(),
            )));
        }
        if let Some(signals) = self.signals.take() {
            jobs.push(tokio::spawn(signals.watch(
                self.stopper.clone(),
                self.tls.clone(),
                stopped.clone(),
            )));
        }
        // PostgreSQL: other nodes' changes to credentials reach this one.
        let listener = crate::cluster::Listener::start(&self.state)?;
        let result = self.server.await;
        let _ = stop.send(true);
        for job in jobs {
            let _ = job.await;
        }
        let _ = tokio::task::spawn_blocking(move || drop(listener)).await;
        if let Err(e) = scheduler::flush_last_used(&self.state).await {
            log::error!("could not store LastUsedAt at shutdown: {e}");
        }
        let db = self.state.db.clone();
        let _ = tokio::task::spawn_blocking(move || db.shutdown()).await;
        log::info!("coffre stopped");
        result
    }
}

/// Plain HTTP on an address other machines can reach sends keys in clear.
fn warn_if_exposed(address: SocketAddr, tls: bool) {
    if !tls && !address.ip().is_loopback() {
        log::warn!(
            "!!! coffre serves PLAIN HTTP on {address}, which is not a loopback address: API keys \
             and secrets cross the network in clear. Set tls_cert_file and tls_key_file to serve \
             HTTPS, or listen on 127.0.0.1 behind a TLS-terminating reverse proxy \
             (trusted_proxies). !!!"
        );
    }
}

/// The signals `serve` answers, registered when the server is built (before
/// the listening line, so that a signal right after start is never the
/// default action): SIGTERM and SIGINT stop gracefully (a second one stops at
/// once); SIGHUP reloads the certificate and key (renewals) — a pair that does
/// not load is refused with a log line and the old one stays in use; without
/// TLS there is nothing to reload, but the signal must not kill the server.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn watch(
        mut self,
        stopper: Stopper,
        tls: Option<Arc<Certificates>>,
        mut stop: scheduler::Stop,
    ) {
        let mut stopping = false;
        loop {
            let name = tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
                _ = self.hup.recv() => {
                    reload(tls.as_deref());
                    continue;
                }
                _ = stop.changed() => return,
            };
            let graceful = !stopping;
            log::info!(
                "{name} received: {}",
                if graceful {
                    "stopping once in-flight requests finish"
                } else {
                    "stopping now"
                }
            );
            stopping = true;
            let stopper = stopper.clone();
            tokio::spawn(async move {
                if graceful {
                    stopper.stop().await
                } else {
                    stopper.handle.stop(false).await
                }
            });
        }
    }
}

fn reload(tls: Option<&Certificates>) {
    match tls {
        None => log::info!("SIGHUP: no TLS certificate to reload (plain HTTP)"),
        Some(certs) => match certs.reload() {
            Ok(summary) => log::info!("SIGHUP: TLS certificate reloaded: {summary}"),
            Err(e) => log::error!(
                "SIGHUP: the new TLS certificate was refused, still serving {}: {e}",
                certs.summary()
            ),
        },
    }
}

type TlsConnection = (
    RewriteBareErrors<TlsStream<TcpStream>>,
    Protocol,
    Option<SocketAddr>,
);

/// The TLS handshake of one connection, then HTTP/2 or HTTP/1.1 as ALPN
/// chose. A client speaking plain HTTP to this port gets a plain 400 saying
/// so; a handshake that fails or stalls just ends the connection.
async fn accept_tls(io: TcpStream, acceptor: TlsAcceptor) -> Result<TlsConnection, DispatchError> {
    let _ = io.set_nodelay(true);
    let peer = io.peer_addr().ok();
    let handshake = async {
        let mut first = [0u8; 1];
        if io.peek(&mut first).await? == 1 && first[0].is_ascii_uppercase() {
            refuse_plain_http(io).await;
            return Err(std::io::Error::other("plain HTTP on the HTTPS port"));
        }
        acceptor.accept(io).await
    };
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            log::debug!("TLS handshake from {peer:?} failed: {e}");
            return Err(DispatchError::Io(e));
        }
        Err(_) => {
            log::debug!("TLS handshake from {peer:?} timed out");
            return Err(DispatchError::SlowRequestTimeout);
        }
    };
    Ok(if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
        (RewriteBareErrors::passthrough(tls), Protocol::Http2, peer)
    } else {
        (RewriteBareErrors::new(tls), Protocol::Http1, peer)
    })
}

/// Answers a plain HTTP request on the HTTPS port, then closes. What the
/// client sent is read first (bounded) so that closing does not reset the
/// connection before the answer is read.
async fn refuse_plain_http(mut io: TcpStream) {
    let mut scratch = [0u8; 8192];
    let _ = io.read(&mut scratch).await;
    let (id, bytes) = closing_response(
        "400 Bad Request",
        ErrorCode::HttpsRequired,
        "This port serves HTTPS only: send the same request to https://, not http://.",
    );
    log::info!("request {id}: answered 400 HttpsRequired to plain HTTP on the HTTPS port");
    if io.write_all(&bytes).await.is_ok() && io.shutdown().await.is_ok() {
        let drain = async {
            let mut total = 0usize;
            while let Ok(n) = io.read(&mut scratch).await {
                total += n;
                if n == 0 || total > 64 * 1024 {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    }
}
