//! Failed authentications per client address. Past `limit` failures within a
//! window the address is answered 429 with `Retry-After` until the window
//! ends, whatever key it sends. Monotonic time, not the (movable) server clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

#[derive(Debug)]
pub struct FailureLimiter {
    limit: u32,
    window: Duration,
    by_address: Mutex<HashMap<IpAddr, Window>>,
}

/// Bounded memory: past this many tracked addresses, expired windows are dropped.
const PRUNE_ABOVE: usize = 10_000;

impl FailureLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            by_address: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait, if `address` is blocked at `now`.
    pub fn blocked(&self, address: IpAddr, now: Instant) -> Option<u64> {
        let map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let w = map.get(&address)?;
        let ends = w.started + self.window;
        (w.failures >= self.limit && now < ends).then(|| (ends - now).as_secs().max(1))
    }

    /// Forgets every address's failures.
    pub fn clear(&self) {
        self.by_address
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    pub fn record_failure(&self, address: IpAddr, now: Instant) {
        let mut map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > PRUNE_ABOVE {
            let window = self.window;
            map.retain(|_, w| now < w.started + window);
        }
        let w = map.entry(address).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= w.started + self.window {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.blocked(ip, t0), None, "after {i} failures");
            limiter.record_failure(ip, t0);
        }
        assert_eq!(limiter.blocked(ip, t0), Some(60));
        assert_eq!(limiter.blocked(ip, t0 + Duration::from_secs(50)), Some(10));
        assert_eq!(
            limiter.blocked(other, t0),
            None,
            "other addresses are not affected"
        );
        assert_eq!(limiter.blocked(ip, t0 + Duration::from_secs(60)), None);
        limiter.record_failure(ip, t0 + Duration::from_secs(61));
        assert_eq!(
            limiter.blocked(ip, t0 + Duration::from_secs(61)),
            None,
            "a new window starts"
        );
    }
}
