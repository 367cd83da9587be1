//! The server's idea of "now". The only caller of `Utc::now`: tests freeze it,
//! `--dev` moves it (`PUT /v4/Dev/Clock`), and expiry checks and the midnight
//! sweep read it from here, so they agree with each other.

use std::sync::RwLock;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    System,
    /// Real time shifted by a fixed amount: keeps ticking (the dev clock).
    Offset(Duration),
    /// Stands still until set again (tests).
    Frozen(DateTime<Utc>),
}

#[derive(Debug)]
pub struct Clock {
    mode: RwLock<Mode>,
    changes: watch::Sender<u64>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    pub fn system() -> Self {
        Self {
            mode: RwLock::new(Mode::System),
            changes: watch::Sender::new(0),
        }
    }

    pub fn frozen_at(at: DateTime<Utc>) -> Self {
        Self {
            mode: RwLock::new(Mode::Frozen(at)),
            changes: watch::Sender::new(0),
        }
    }

    fn mode(&self) -> Mode {
        match self.mode.read() {
            Ok(m) => *m,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.mode() {
            Mode::System => Utc::now(),
            Mode::Offset(offset) => Utc::now() + offset,
            Mode::Frozen(at) => at,
        }
    }

    pub fn now_millis(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// True unless the clock was moved.
    pub fn is_real(&self) -> bool {
        self.mode() == Mode::System
    }

    fn set(&self, mode: Mode) {
        match self.mode.write() {
            Ok(mut m) => *m = mode,
            Err(poisoned) => *poisoned.into_inner() = mode,
        }
        self.changes.send_modify(|n| *n += 1);
    }

    /// Stops the clock at `at`.
    pub fn freeze(&self, at: DateTime<Utc>) {
        self.set(Mode::Frozen(at));
    }

    /// Jumps to `at` and keeps ticking from there.
    pub fn jump_to(&self, at: DateTime<Utc>) {
        self.set(Mode::Offset(at - Utc::now()));
    }

    /// Back to real time.
    pub fn reset(&self) {
        self.set(Mode::System);
    }

    /// Fires whenever the clock is moved, so sleepers can recompute their deadline.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_stands_still_and_can_be_moved() {
        let t = DateTime::parse_from_rfc3339("2030-01-01T23:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::frozen_at(t);
        assert_eq!(clock.now(), t);
        let rx = clock.subscribe();
        clock.freeze(t + Duration::seconds(1));
        assert!(rx.has_changed().unwrap());
        assert_eq!(clock.now(), t + Duration::seconds(1));
        assert!(!clock.is_real());
    }

    #[test]
    fn jumped_clock_keeps_ticking_from_the_new_time() {
        let t = DateTime::parse_from_rfc3339("2030-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::system();
        clock.jump_to(t);
        let now = clock.now();
        assert!(now >= t && now < t + Duration::seconds(5));
        clock.reset();
        assert!(clock.is_real());
        assert!(clock.now() < t);
    }
}
