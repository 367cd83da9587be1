//! Prometheus metrics, in the text exposition format (0.0.4), served as
//! `GET /metrics` on a listener of their own (`metrics_listen`, off by
//! default) so they never appear on the API's address by accident.
//!
//! Counters and histograms that only the HTTP edge, authentication and the
//! sweep see live here; the numbers other parts own are read from them at
//! scrape time: the writer's queue and group sizes (`db::WriterStats`), the
//! key index (statuses, expiries), the failed-auth limiter's table, the outbox
//! and the database's size. Every label has a bounded set of values: routes
//! are the declared path patterns (never a raw GUID), methods the standard
//! ones, reasons a fixed list.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::http::Method;
use actix_web::{HttpResponse, web};

use crate::db::WriterSnapshot;
use crate::db::writer::BATCH_BOUNDS;
use crate::http::tls::Certificates;
use crate::state::AppState;

/// Upper bounds of the request-duration buckets, in seconds.
const DURATION_BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds of the sweep-duration buckets, in seconds.
const SWEEP_BOUNDS: [f64; 10] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// The route label of a request no declared route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The declared path pattern of the route a request matched, left in its
/// extensions by the route's guard (or its 405 answer).
#[derive(Debug, Clone, Copy)]
pub struct RoutePattern(pub &'static str);

/// Why an authentication failed (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No key, a malformed or unknown one, or a wrong secret.
    Invalid,
    /// Refused by the failed-auth limiter (429).
    RateLimited,
    Revoked,
    Expired,
    OperatorDeactivated,
    /// An access token whose OAuth client no longer works.
    ClientInactive,
}

impl AuthFailure {
    const ALL: [AuthFailure; 6] = [
        AuthFailure::Invalid,
        AuthFailure::RateLimited,
        AuthFailure::Revoked,
        AuthFailure::Expired,
        AuthFailure::OperatorDeactivated,
        AuthFailure::ClientInactive,
    ];

    fn label(self) -> &'static str {
        match self {
            AuthFailure::Invalid => "invalid_key",
            AuthFailure::RateLimited => "rate_limited",
            AuthFailure::Revoked => "revoked",
            AuthFailure::Expired => "expired",
            AuthFailure::OperatorDeactivated => "operator_deactivated",
            AuthFailure::ClientInactive => "client_inactive",
        }
    }
}

/// A histogram over fixed bounds, updated with relaxed atomics. Values are
/// recorded in integer units (`scale` units per 1.0 of the metric) so that
/// the sum needs no floating-point compare-and-swap.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    scale: f64,
    /// Per bucket (not cumulative), then the overflow.
    counts: Vec<AtomicU64>,
    sum: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64], scale: f64) -> Self {
        Histogram {
            bounds,
            scale,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    fn observe(&self, units: u64) {
        let value = units as f64 / self.scale;
        let slot = self
            .bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(self.bounds.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(units, Ordering::Relaxed);
    }

    fn observe_duration(&self, d: Duration) {
        self.observe(d.as_micros().min(u64::MAX as u128) as u64);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let sum = self.sum.load(Ordering::Relaxed) as f64 / self.scale;
        render_histogram(out, name, labels, self.bounds, &counts, sum);
    }
}

/// Writes the `_bucket`, `_sum` and `_count` lines of one histogram series;
/// `counts` are per bucket, then the overflow.
fn render_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64],
    counts: &[u64],
    sum: f64,
) {
    let sep = if labels.is_empty() { "" } else { "," };
    let mut cumulative = 0u64;
    for (bound, count) in bounds.iter().zip(counts) {
        cumulative += count;
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
        );
    }
    cumulative += counts.get(bounds.len()).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
    );
    let braces = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!("{{{s}}}")
        }
    };
    let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
    let _ = writeln!(out, "{name}_count{} {cumulative}", braces(labels));
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A metric with one sample per value of one label.
fn labelled<V: std::fmt::Display>(
    out: &mut String,
    (name, kind, help): (&str, &str, &str),
    label: &str,
    samples: impl IntoIterator<Item = (String, V)>,
) {
    header(out, name, kind, help);
    for (value, n) in samples {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", escape(&value));
    }
}

/// A metric of one sample without labels.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// A label value as the text format needs it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Debug)]
struct RouteSeries {
    /// Requests by status; a handful of statuses per route.
    statuses: Vec<(u16, u64)>,
    duration: Histogram,
}

/// The metrics coffre keeps itself.
#[derive(Debug)]
pub struct Metrics {
    requests: Mutex<HashMap<(&'static str, &'static str), RouteSeries>>,
    auth_failures: [AtomicU64; AuthFailure::ALL.len()],
    sweep_runs: AtomicU64,
    sweep_duration: Histogram,
    backups_ok: AtomicU64,
    backups_failed: AtomicU64,
    /// Unix seconds of the last scheduled backup that succeeded (0: none).
    last_backup: AtomicU64,
    certificates: OnceLock<Arc<Certificates>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Mutex::new(HashMap::new()),
            auth_failures: Default::default(),
            sweep_runs: AtomicU64::new(0),
            sweep_duration: Histogram::new(&SWEEP_BOUNDS, 1e6),
            backups_ok: AtomicU64::new(0),
            backups_failed: AtomicU64::new(0),
            last_backup: AtomicU64::new(0),
            certificates: OnceLock::new(),
        }
    }
}

impl Metrics {
    /// One answered request (one short lock; the map holds one entry per
    /// route pattern and method).
    pub fn request(&self, route: &'static str, method: &Method, status: u16, took: Duration) {
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let series = map
            .entry((route, method_label(method)))
            .or_insert_with(|| RouteSeries {
                statuses: Vec::new(),
                duration: Histogram::new(&DURATION_BOUNDS, 1e6),
            });
        match series.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => series.statuses.push((status, 1)),
        }
        series.duration.observe_duration(took);
    }

    pub fn auth_failure(&self, reason: AuthFailure) {
        let slot = AuthFailure::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        self.auth_failures[slot].fetch_add(1, Ordering::Relaxed);
    }

    pub fn sweep_ran(&self, took: Duration) {
        self.sweep_runs.fetch_add(1, Ordering::Relaxed);
        self.sweep_duration.observe_duration(took);
    }

    /// A scheduled backup finished (or failed) at `at`.
    pub fn backup_done(&self, ok: bool, at: chrono::DateTime<chrono::Utc>) {
        if ok {
            self.backups_ok.fetch_add(1, Ordering::Relaxed);
            self.last_backup
                .store(at.timestamp().max(0) as u64, Ordering::Relaxed);
        } else {
            self.backups_failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The certificate served over HTTPS, for its expiry gauge.
    pub fn watch_certificates(&self, certificates: Arc<Certificates>) {
        let _ = self.certificates.set(certificates);
    }
}

/// What the scrape reads from the database.
struct Stored {
    outbox: Vec<(String, i64)>,
    database_bytes: u64,
}

/// `GET /metrics` on the metrics listener.
pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    let reader = state.get_ref().clone();
    let stored = state
        .db
        .read(move |conn| {
            Ok::<_, crate::error::AppError>(Stored {
                outbox: crate::db::outbox::count_by_status(conn)?,
                database_bytes: reader.db.size_bytes(conn)?,
            })
        })
        .await;
    match stored {
        Ok(stored) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .insert_header(("cache-control", "no-store"))
            .body(render(&state, &stored)),
        Err(e) => {
            log::error!("metrics: cannot read the database: {e}");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("coffre: the database cannot be read; see the server's log\n")
        }
    }
}

fn render(state: &AppState, stored: &Stored) -> String {
    let metrics = &state.metrics;
    let mut out = String::with_capacity(16 * 1024);

    header(
        &mut out,
        "coffre_http_requests_total",
        "counter",
        "HTTP requests answered, by route pattern, method and status.",
    );
    let mut durations = String::new();
    {
        let map = metrics.requests.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<_> = map.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let Some(s) = map.get(&key) else { continue };
            let (route, method) = (escape(key.0), key.1);
            let mut statuses = s.statuses.clone();
            statuses.sort_unstable();
            for (status, n) in statuses {
                let _ = writeln!(
                    out,
                    "coffre_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            s.duration.render(
                &mut durations,
                "coffre_http_request_duration_seconds",
                &labels,
            );
        }
    }
    header(
        &mut out,
        "coffre_http_request_duration_seconds",
        "histogram",
        "Time from a request's arrival at the middleware to its answer, by route pattern and method.",
    );
    out.push_str(&durations);

    labelled(
        &mut out,
        (
            "coffre_auth_failures_total",
            "counter",
            "Failed authentications, by reason.",
        ),
        "reason",
        AuthFailure::ALL
            .iter()
            .zip(&metrics.auth_failures)
            .map(|(r, n)| (r.label().to_string(), n.load(Ordering::Relaxed))),
    );
    single(
        &mut out,
        "coffre_auth_limiter_addresses",
        "gauge",
        "Client addresses (IPv6: /64 networks) the failed-auth limiter tracks now.",
        state.auth.limiter.tracked(),
    );

    let now = state.clock.now_millis();
    let keys = state.auth.index.counts(now, now + 7 * 24 * 3600 * 1000);
    labelled(
        &mut out,
        (
            "coffre_api_keys",
            "gauge",
            "API keys by status, as of the server's clock.",
        ),
        "status",
        [
            ("Active".to_string(), keys.active),
            ("Expired".to_string(), keys.expired),
            ("Revoked".to_string(), keys.revoked),
        ],
    );
    single(
        &mut out,
        "coffre_api_keys_expiring_7d",
        "gauge",
        "Active API keys that expire within the next 7 days.",
        keys.expiring,
    );

    labelled(
        &mut out,
        (
            "coffre_outbox_messages",
            "gauge",
            "E-mails in the outbox, by delivery status.",
        ),
        "status",
        stored.outbox.iter().cloned(),
    );

    single(
        &mut out,
        "coffre_sweep_runs_total",
        "counter",
        "Expiry sweeps run by this server.",
        metrics.sweep_runs.load(Ordering::Relaxed),
    );
    header(
        &mut out,
        "coffre_sweep_duration_seconds",
        "histogram",
        "How long each expiry sweep took.",
    );
    metrics
        .sweep_duration
        .render(&mut out, "coffre_sweep_duration_seconds", "");

    let writer: WriterSnapshot = state.db.writer_stats();
    single(
        &mut out,
        "coffre_writer_queue_depth",
        "gauge",
        "Write jobs waiting for the writer thread.",
        writer.queued,
    );
    header(
        &mut out,
        "coffre_group_commit_batch_size",
        "histogram",
        "Write jobs committed together in one transaction (one fsync).",
    );
    let bounds: Vec<f64> = BATCH_BOUNDS.iter().map(|&b| b as f64).collect();
    render_histogram(
        &mut out,
        "coffre_group_commit_batch_size",
        "",
        &bounds,
        &writer.batches,
        writer.jobs as f64,
    );

    single(
        &mut out,
        "coffre_database_bytes",
        "gauge",
        "Bytes the encrypted database takes on disk, WAL included.",
        stored.database_bytes,
    );

    if state.config.backup_dir.is_some() {
        labelled(
            &mut out,
            (
                "coffre_backups_total",
                "counter",
                "Scheduled backups, by result.",
            ),
            "result",
            [
                ("ok".to_string(), metrics.backups_ok.load(Ordering::Relaxed)),
                (
                    "failed".to_string(),
                    metrics.backups_failed.load(Ordering::Relaxed),
                ),
            ],
        );
        single(
            &mut out,
            "coffre_backup_last_success_seconds",
            "gauge",
            "When the last scheduled backup succeeded (Unix seconds, server clock; 0: never).",
            metrics.last_backup.load(Ordering::Relaxed),
        );
    }

    if let Some(certs) = metrics.certificates.get() {
        single(
            &mut out,
            "coffre_tls_certificate_not_after_seconds",
            "gauge",
            "When the certificate served over HTTPS expires (Unix seconds).",
            certs.summary().not_after_unix,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_end_with_inf() {
        let h = Histogram::new(&[0.001, 0.01], 1e6);
        h.observe_duration(Duration::from_micros(500));
        h.observe_duration(Duration::from_millis(5));
        h.observe_duration(Duration::from_secs(1));
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert_eq!(
            out,
            "x_bucket{a=\"b\",le=\"0.001\"} 1\nx_bucket{a=\"b\",le=\"0.01\"} 2\n\
             x_bucket{a=\"b\",le=\"+Inf\"} 3\nx_sum{a=\"b\"} 1.0055\nx_count{a=\"b\"} 3\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
