//! Building, running and stopping the HTTP server. Production (`coffre
//! serve`) and the tests go through the same `Application::build`, so tests
//! exercise the real stack on a real socket.
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

use actix_http::{HttpService, KeepAlive, Protocol};
use actix_server::{Server, ServerHandle};
use actix_service::{
    IntoServiceFactory, Service, ServiceFactoryExt, apply_fn_factory, fn_service, map_config,
};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use actix_web::{App, middleware::from_fn, web};
use tokio::sync::watch;

use crate::http::bare_errors::RewriteBareErrors;
use crate::http::middleware::{request_context, route_not_found};
use crate::routes;
use crate::scheduler;
use crate::state::AppState;

/// How long a stop waits for busy connections to finish their response.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Application {
    server: Server,
    address: SocketAddr,
    state: AppState,
    stopper: Stopper,
    handle_signals: bool,
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

/// Resolves on the first SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        log::error!("cannot listen for SIGTERM/SIGINT: stop coffre with SIGKILL");
        return std::future::pending().await;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    log::info!("{name} received: finishing in-flight requests, then stopping");
}

#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Stop gracefully on SIGINT/SIGTERM (off in tests, which stop through
    /// the handle or the `Stopper`).
    pub handle_signals: bool,
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
        let listener = TcpListener::bind(listen)?;
        let address = listener.local_addr()?;
        let data = web::Data::new(state.clone());
        let dev = state.config.dev;
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
        let blocking_threads = (state.config.db_pool_size as usize)
            .div_ceil(workers)
            .max(1);
        let app = move || {
            App::new()
                .app_data(data.clone())
                .app_data(api.clone())
                .app_data(routes::path_config())
                .app_data(routes::query_config())
                .wrap(from_fn(request_context))
                .configure(|cfg| routes::configure(cfg, dev))
                .configure(routes::openapi::configure)
                .configure(crate::console::configure)
                .default_service(web::to(route_not_found))
        };
        // Assembled by hand rather than with `HttpServer` so that every
        // connection passes through `RewriteBareErrors` (actix's own answers
        // to malformed requests get our error shape too) and is counted for
        // a quick graceful stop. Signals are ours (`stop_signal`).
        let connections = Connections::new();
        let tracked = connections.clone();
        let server = actix_server::Server::build()
            .workers(workers)
            .worker_max_blocking_threads(blocking_threads)
            .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
            .disable_signals()
            .listen("coffre", listener, move || {
                let draining = tracked.clone();
                let http = HttpService::build()
                    .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
                    .client_request_timeout(Duration::from_secs(5))
                    .client_disconnect_timeout(Duration::from_secs(1))
                    .local_addr(address)
                    .graceful_shutdown_signal(move || draining.draining())
                    .finish(map_config(
                        app()
                            .into_factory()
                            .map_err(|e: actix_web::Error| e.error_response()),
                        |_| AppConfig::default(),
                    ));
                let serve = fn_service(|io: TcpStream| async move {
                    let _ = io.set_nodelay(true);
                    let peer = io.peer_addr().ok();
                    Ok((RewriteBareErrors::new(io), Protocol::Http1, peer))
                })
                .and_then(http);
                let tracked = tracked.clone();
                apply_fn_factory(serve, move |io: TcpStream, service| {
                    let open = tracked.opened();
                    let served = service.call(io);
                    async move {
                        let result = served.await;
                        drop(open);
                        result
                    }
                })
            })?
            .run();
        let stopper = Stopper {
            handle: server.handle(),
            connections,
        };
        Ok(Application {
            server,
            address,
            state,
            stopper,
            handle_signals: options.handle_signals,
        })
    }

    /// The address actually bound (the real port when 0 was asked).
    pub fn address(&self) -> SocketAddr {
        self.address
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
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if self.handle_signals {
            let stopper = self.stopper.clone();
            tokio::spawn(async move {
                stop_signal().await;
                stopper.stop().await;
            });
        }
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
        }
        let result = self.server.await;
        let _ = stop.send(true);
        for job in jobs {
            let _ = job.await;
        }
        if let Err(e) = scheduler::flush_last_used(&self.state).await {
            log::error!("could not store LastUsedAt at shutdown: {e}");
        }
        let db = self.state.db.clone();
        let _ = tokio::task::spawn_blocking(move || db.shutdown()).await;
        log::info!("coffre stopped");
        result
    }
}
