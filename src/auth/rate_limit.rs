//! Failed authentications per client address. Past `limit` failures within a
//! window the address is answered 429 with `Retry-After` until the window
//! ends — for failures only: a request carrying a valid key is never refused
//! (see `principal::authenticate`). Monotonic time, not the (movable) server
//! clock. The address is the `ClientAddress` (behind trusted proxies, the
//! forwarded client); IPv6 clients count per /64 network, since one host
//! usually holds a whole /64 and could otherwise rotate through it for free.
//!
//! Memory is bounded by a hard cap on tracked addresses (`max`). The policy
//! when the table is full, chosen so that an attacker who rotates addresses
//! can neither grow memory nor unblock anyone:
//!
//! - a **blocked** address (limit reached, window not over) is never evicted:
//!   eviction cannot end a block early;
//! - otherwise the oldest entries go first (insertion order, probing a few
//!   per insert, so each failure costs O(1)); they hold at most `limit - 1`
//!   failures of a window that is probably over;
//! - when every probed entry is blocked, the new address is not tracked on
//!   its own: all such addresses share one overflow counter, with the same
//!   limit. Under a flood that fills the table with blocked addresses,
//!   further failures from new addresses are therefore throttled together —
//!   which costs legitimate clients nothing, since valid keys pass anyway.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An IPv4 address (as `::ffff:a.b.c.d`) or an IPv6 /64 network.
type Key = [u8; 16];

/// Entries examined per insert when the table is full.
const PROBES: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Window {
    /// Milliseconds since the limiter's epoch.
    started: u64,
    failures: u32,
}

#[derive(Debug)]
struct Table {
    entries: HashMap<Key, Window>,
    /// Every tracked key once, oldest first (blocked ones move to the back
    /// when probed).
    order: VecDeque<Key>,
    /// Shared by addresses that found the table full of blocked ones.
    overflow: Window,
}

#[derive(Debug)]
pub struct FailureLimiter {
    limit: u32,
    window_ms: u64,
    max: usize,
    epoch: Instant,
    table: Mutex<Table>,
}

fn key(address: IpAddr) -> Key {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => {
            let mut k = v6.octets();
            k[8..].fill(0);
            k
        }
    }
}

impl FailureLimiter {
    /// At most `max` addresses are tracked at once (at least 1).
    pub fn new(limit: u32, window: Duration, max: usize) -> Self {
        Self {
            limit: limit.max(1),
            window_ms: window.as_millis().clamp(1, u64::MAX as u128) as u64,
            max: max.max(1),
            epoch: Instant::now(),
            table: Mutex::new(Table {
                entries: HashMap::new(),
                order: VecDeque::new(),
                overflow: Window {
                    started: 0,
                    failures: 0,
                },
            }),
        }
    }

    fn ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets every address's failures (a dev reset).
    pub fn clear(&self) {
        let mut t = self.lock();
        t.entries.clear();
        t.order.clear();
        t.overflow = Window {
            started: 0,
            failures: 0,
        };
    }

    /// Seconds left (rounded up) if `w` blocks at `now`.
    fn blocking(&self, w: &Window, now: u64) -> Option<u64> {
        let ends = w.started.saturating_add(self.window_ms);
        (w.failures >= self.limit && now < ends).then(|| (ends - now).div_ceil(1000).max(1))
    }

    /// Counts a failed authentication from `address`, unless the address is
    /// blocked: then nothing is counted and the answer is the seconds to
    /// wait (for `Retry-After`).
    pub fn failure(&self, address: IpAddr, now: Instant) -> Option<u64> {
        let now = self.ms(now);
        let k = key(address);
        let mut t = self.lock();
        let t = &mut *t;
        if !t.entries.contains_key(&k) && !self.make_room(t, now) {
            return self.count(&mut t.overflow, now);
        }
        let w = t.entries.entry(k).or_insert_with(|| {
            t.order.push_back(k);
            Window {
                started: now,
                failures: 0,
            }
        });
        self.count(w, now)
    }

    /// The block of `w`, or one more failure in its (possibly new) window.
    fn count(&self, w: &mut Window, now: u64) -> Option<u64> {
        if let Some(wait) = self.blocking(w, now) {
            return Some(wait);
        }
        if now >= w.started.saturating_add(self.window_ms) {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        None
    }

    /// Frees a slot if the table is full: the oldest entry that is not
    /// blocking, among the first `PROBES`. False if none could go.
    fn make_room(&self, t: &mut Table, now: u64) -> bool {
        if t.entries.len() < self.max {
            return true;
        }
        for _ in 0..PROBES {
            let Some(oldest) = t.order.pop_front() else {
                break;
            };
            match t.entries.get(&oldest) {
                Some(w) if self.blocking(w, now).is_some() => t.order.push_back(oldest),
                _ => {
                    t.entries.remove(&oldest);
                    if t.entries.len() < self.max {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Seconds to wait, if `address` is blocked at `now` (counts nothing).
    pub fn blocked(&self, address: IpAddr, now: Instant) -> Option<u64> {
        let now = self.ms(now);
        let t = self.lock();
        match t.entries.get(&key(address)) {
            Some(w) => self.blocking(w, now),
            None if t.entries.len() >= self.max => self.blocking(&t.overflow, now),
            None => None,
        }
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60), 100);
        let (a, other) = (ip("192.0.2.7"), ip("192.0.2.8"));
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.failure(a, t0), None, "failure {i} is counted");
        }
        assert_eq!(limiter.failure(a, t0), Some(60));
        assert_eq!(limiter.blocked(a, t0 + Duration::from_secs(50)), Some(10));
        assert_eq!(limiter.failure(other, t0), None, "others are not affected");
        assert_eq!(limiter.blocked(a, t0 + Duration::from_secs(60)), None);
        assert_eq!(
            limiter.failure(a, t0 + Duration::from_secs(61)),
            None,
            "a new window starts"
        );
        assert_eq!(limiter.blocked(a, t0 + Duration::from_secs(61)), None);
    }

    #[test]
    fn ipv6_counts_per_64_and_ipv4_mapped_as_ipv4() {
        let limiter = FailureLimiter::new(2, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        limiter.failure(ip("2001:db8:1:2::1"), t0);
        limiter.failure(ip("2001:db8:1:2:ffff::9"), t0);
        assert!(limiter.blocked(ip("2001:db8:1:2::77"), t0).is_some());
        assert!(limiter.blocked(ip("2001:db8:1:3::1"), t0).is_none());
        limiter.failure(ip("::ffff:192.0.2.1"), t0);
        limiter.failure(ip("192.0.2.1"), t0);
        assert!(limiter.blocked(ip("192.0.2.1"), t0).is_some());
        assert_eq!(limiter.tracked(), 2);
    }

    #[test]
    fn the_table_never_grows_past_its_cap() {
        let limiter = FailureLimiter::new(5, Duration::from_secs(60), 1000);
        let t0 = Instant::now();
        for i in 0..50_000u32 {
            limiter.failure(IpAddr::V4(i.into()), t0);
        }
        assert_eq!(limiter.tracked(), 1000);
    }

    #[test]
    fn rotating_addresses_never_evicts_a_blocked_one() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        let victim = ip("198.51.100.1");
        for _ in 0..3 {
            limiter.failure(victim, t0);
        }
        assert!(limiter.blocked(victim, t0).is_some());
        // An attacker floods with ten times the table's size in fresh addresses.
        for i in 0..1000u32 {
            limiter.failure(IpAddr::V4((0x0a00_0000 + i).into()), t0);
        }
        assert_eq!(limiter.tracked(), 100);
        assert_eq!(
            limiter.failure(victim, t0 + Duration::from_secs(1)),
            Some(59),
            "still blocked, with its own window"
        );
    }

    #[test]
    fn when_every_tracked_address_is_blocked_new_ones_share_one_limit() {
        let limiter = FailureLimiter::new(2, Duration::from_secs(60), 10);
        let t0 = Instant::now();
        for i in 0..10u32 {
            let a = IpAddr::V4((0x0a00_0000 + i).into());
            limiter.failure(a, t0);
            limiter.failure(a, t0);
            assert!(limiter.blocked(a, t0).is_some());
        }
        // The table is full of blocked addresses: newcomers share the overflow.
        assert_eq!(limiter.failure(ip("203.0.113.1"), t0), None);
        assert_eq!(limiter.failure(ip("203.0.113.2"), t0), None);
        assert_eq!(limiter.failure(ip("203.0.113.3"), t0), Some(60));
        assert!(limiter.blocked(ip("203.0.113.4"), t0).is_some());
        assert_eq!(limiter.tracked(), 10);
        // Once the blocks end, newcomers are tracked on their own again.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(limiter.failure(ip("203.0.113.5"), later), None);
        assert_eq!(limiter.blocked(ip("203.0.113.6"), later), None);
    }
}
