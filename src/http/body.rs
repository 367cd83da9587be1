//! Reading request bodies without letting a client hold the server's memory
//! or a connection for as long as it likes:
//! - a cap per route: 4 MiB only where a file or archive can be sent, a few
//!   dozen KiB elsewhere (`BodyCap`, set on the resource);
//! - a deadline for the whole body (`body_timeout_secs`): a body that trickles
//!   in gets 408 and the connection is closed;
//! - a bound on the bytes of all request bodies held at once
//!   (`body_memory_limit_mib`): past it, 503 with Retry-After, so a crowd of
//!   large uploads cannot take the memory the server needs for everyone else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::error::{AppError, ErrorCode};

/// The largest body a vault item write may carry: a 2 MiB file in base64, with room.
pub const LARGE_BODY: usize = 4 * 1024 * 1024;
/// Every other body: generous for JSON text whose characters may all be
/// `\uXXXX` escapes (a 2,000-character description is then 24 KB).
pub const SMALL_BODY: usize = 64 * 1024;

/// The body cap of a route, in its resource's app data; `SMALL_BODY` when unset.
#[derive(Debug, Clone, Copy)]
pub struct BodyCap(pub usize);

/// Bytes of request bodies held right now, against a fixed bound.
#[derive(Debug)]
pub struct BodyBudget {
    limit: usize,
    in_use: AtomicUsize,
    peak: AtomicUsize,
}

impl BodyBudget {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            in_use: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Takes `n` more bytes, or refuses if that would pass the bound.
    fn take(&self, n: usize) -> bool {
        let taken = self
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            });
        match taken {
            Ok(before) => {
                self.peak.fetch_max(before + n, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    fn give_back(&self, n: usize) {
        self.in_use.fetch_sub(n, Ordering::AcqRel);
    }

    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }

    /// The most ever held at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// What one body holds of the budget; given back when the body is dropped.
struct Held<'a> {
    budget: &'a BodyBudget,
    bytes: usize,
}

impl Held<'_> {
    fn grow(&mut self, n: usize) -> Result<(), AppError> {
        if self.budget.take(n) {
            self.bytes += n;
            Ok(())
        } else {
            Err(busy(self.budget))
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

fn busy(budget: &BodyBudget) -> AppError {
    AppError::new(
        ErrorCode::ServerBusy,
        format!(
            "The server is already receiving {} MiB of request bodies, its limit; nothing was \
             done. Retry in a moment.",
            budget.limit() / (1024 * 1024)
        ),
    )
    .with_retry_after(1)
}

pub fn payload_too_large(cap: usize) -> AppError {
    let message = if cap >= LARGE_BODY {
        format!(
            "The request body is larger than {} MiB. Files are limited to 2 MiB (before \
             base64); send a smaller body.",
            cap / (1024 * 1024)
        )
    } else {
        format!(
            "The request body is larger than {} KiB, the limit for this endpoint; send a \
             smaller body.",
            cap / 1024
        )
    };
    AppError::new(ErrorCode::PayloadTooLarge, message)
}

fn timed_out(timeout: Duration) -> AppError {
    AppError::new(
        ErrorCode::BodyTimeout,
        format!(
            "The request body did not arrive within {} seconds; nothing was done. Send the whole \
             body promptly.",
            timeout.as_secs()
        ),
    )
}

/// The route's cap, from its resource.
pub fn cap_of(req: &HttpRequest) -> usize {
    req.app_data::<BodyCap>().map_or(SMALL_BODY, |c| c.0)
}

/// Reads the whole body under the route's cap, the deadline and the budget,
/// then hands it to `parse` while it is still counted.
pub async fn read_then<T>(
    mut payload: Payload,
    declared: Option<usize>,
    cap: usize,
    timeout: Duration,
    budget: &BodyBudget,
    parse: impl FnOnce(&[u8]) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if declared.is_some_and(|n| n > cap) {
        return Err(payload_too_large(cap));
    }
    let mut held = Held { budget, bytes: 0 };
    // A declared length is taken whole, up front: the buffer never regrows.
    let mut body = match declared {
        Some(n) => {
            held.grow(n)?;
            web::BytesMut::with_capacity(n)
        }
        None => web::BytesMut::new(),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, payload.next())
            .await
            .map_err(|_| timed_out(timeout))?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| {
            AppError::new(
                ErrorCode::BodyUnreadable,
                format!("The request body could not be read: {e}"),
            )
        })?;
        if body.len() + chunk.len() > cap {
            return Err(payload_too_large(cap));
        }
        // Counted by what the buffer may hold once it has grown for this chunk.
        let needed = (body.len() + chunk.len()).max(body.capacity());
        if needed > held.bytes {
            held.grow(needed - held.bytes)?;
        }
        body.extend_from_slice(&chunk);
    }
    parse(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_never_goes_past_its_bound_and_comes_back() {
        let budget = BodyBudget::new(100);
        {
            let mut a = Held {
                budget: &budget,
                bytes: 0,
            };
            a.grow(60).unwrap();
            let mut b = Held {
                budget: &budget,
                bytes: 0,
            };
            assert_eq!(b.grow(50).unwrap_err().code(), "ServerBusy");
            b.grow(40).unwrap();
            assert_eq!(budget.in_use(), 100);
        }
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.peak(), 100);
    }
}
