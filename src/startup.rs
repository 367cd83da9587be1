//! Building and running the HTTP server. Production (`coffre serve`) and the
//! tests go through the same `Application::build`, so tests exercise the real
//! stack on a real socket.

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, middleware::from_fn, web};

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
        let api = routes::openapi::document(dev);
        // Reads wait for one of `db_pool_size` connections anyway; more
        // blocking threads would only hold memory (each can grow a malloc arena).
        let workers = if options.workers > 0 {
            options.workers
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        };
        let blocking_threads = (state.config.db_pool_size as usize)
            .div_ceil(workers)
            .max(1);
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(routes::path_config())
                .app_data(routes::query_config())
                .wrap(from_fn(request_context))
                .configure(|cfg| routes::configure(cfg, dev))
                .configure(|cfg| routes::openapi::configure(cfg, api.clone()))
                .default_service(web::to(route_not_found))
        })
        .listen(listener)?
        .worker_max_blocking_threads(blocking_threads)
        .shutdown_timeout(10);
        if options.workers > 0 {
            server = server.workers(options.workers);
        }
        if !options.handle_signals {
            server = server.disable_signals();
        }
        Ok(Application {
            server: server.run(),
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
