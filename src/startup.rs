//! Building and running the HTTP server. Production (`coffre serve`) and the
//! tests go through the same `Application::build`, so tests exercise the real
//! stack on a real socket.

use std::net::{SocketAddr, TcpListener};

use std::time::Duration;

use actix_http::{HttpService, KeepAlive, Protocol};
use actix_server::{Server, ServerHandle};
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use actix_web::{App, middleware::from_fn, web};

use crate::http::bare_errors::RewriteBareErrors;
use crate::http::middleware::{request_context, route_not_found};
use crate::routes;
use crate::scheduler;
use crate::state::AppState;

pub struct Application {
    server: Server,
    address: SocketAddr,
    state: AppState,
}

#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Stop gracefully on SIGINT/SIGTERM (off in tests, which stop through the handle).
    pub handle_signals: bool,
}

impl Application {
    pub fn build(
        state: AppState,
        listen: SocketAddr,
        options: ServerOptions,
    ) -> std::io::Result<Application> {
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
                .default_service(web::to(route_not_found))
        };
        // Assembled by hand rather than with `HttpServer` so that every
        // connection passes through `RewriteBareErrors`: actix's own answers
        // to malformed requests get our error shape too.
        let mut builder = actix_server::Server::build()
            .workers(workers)
            .worker_max_blocking_threads(blocking_threads)
            .shutdown_timeout(10);
        if !options.handle_signals {
            builder = builder.disable_signals();
        }
        let server = builder
            .listen("coffre", listener, move || {
                let http = HttpService::build()
                    .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
                    .client_request_timeout(Duration::from_secs(5))
                    .client_disconnect_timeout(Duration::from_secs(1))
                    .local_addr(address)
                    .finish(map_config(
                        app()
                            .into_factory()
                            .map_err(|e: actix_web::Error| e.error_response()),
                        |_| AppConfig::default(),
                    ));
                fn_service(|io: TcpStream| async move {
                    let _ = io.set_nodelay(true);
                    let peer = io.peer_addr().ok();
                    Ok((RewriteBareErrors::new(io), Protocol::Http1, peer))
                })
                .and_then(http)
            })?
            .run();
        Ok(Application {
            server,
            address,
            state,
        })
    }

    /// The address actually bound (the real port when 0 was asked).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until stopped (signal or handle), lets in-flight requests finish,
    /// stops the background jobs, stores what they held, then closes the
    /// database cleanly.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
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
        if self.state.config.smtp_url.is_some() {
            jobs.push(tokio::spawn(crate::mail::delivery_job(
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
