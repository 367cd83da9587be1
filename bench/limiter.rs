//! Memory and time of the failed-auth limiter under a flood (issue 14: "the
//! memory held by the failed-auth limiter after 1,000,000 failures from
//! 100,000 addresses"). `cargo bench --bench limiter`.
//!
//! Memory is the growth of the process's resident set (VmRSS) over the
//! flood, each flood in a fresh process (this binary runs itself), so
//! nothing of one flood is counted in another. RSS is an upper bound of what
//! the limiter holds (the allocator may keep freed pages). Each flood uses a
//! fresh limiter with the default settings (20 failures per 60 s, at most
//! 100,000 addresses):
//! 1. 1,000,000 failures from 100,000 IPv4 addresses (10 each, none blocked);
//! 2. 4,000,000 failures from 100,000 addresses (40 each: every one blocked);
//! 3. 1,000,000 failures from 1,000,000 addresses (ten times the cap).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use coffre::auth::rate_limit::FailureLimiter;
use coffre::config::Config;

fn rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn address(i: u32) -> IpAddr {
    // Spread over 10.0.0.0/8 and beyond, like a botnet would be.
    IpAddr::V4(Ipv4Addr::from(
        0x0a00_0000u32.wrapping_add(i.wrapping_mul(2_654_435_761)),
    ))
}

fn flood(name: &str, addresses: u32, per_address: u32) {
    let defaults = Config::default();
    let before = rss_kib();
    let limiter = FailureLimiter::new(
        defaults.auth_failure_limit,
        Duration::from_secs(defaults.auth_failure_window_secs),
        defaults.auth_failure_max_addresses as usize,
    );
    let now = Instant::now();
    let started = Instant::now();
    let mut blocked = 0u64;
    // Round-robin over the addresses, as concurrent attackers would arrive.
    for _ in 0..per_address {
        for i in 0..addresses {
            if limiter.failure(address(i), now).is_some() {
                blocked += 1;
            }
        }
    }
    let took = started.elapsed();
    let held = (rss_kib() - before) * 1024;
    let failures = u64::from(addresses) * u64::from(per_address);
    println!(
        "{name}: {failures} failures from {addresses} addresses: {} tracked, {blocked} answered 429; \
         RSS grew {:.2} MiB ({:.1} bytes per tracked address); {:.0} ns per failure",
        limiter.tracked(),
        held as f64 / (1024.0 * 1024.0),
        held as f64 / limiter.tracked().max(1) as f64,
        took.as_nanos() as f64 / failures as f64,
    );
    drop(limiter);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--flood") {
        let n: Vec<u32> = args[i + 1..i + 3]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        flood(&format!("{} x {}", n[0], n[1]), n[0], n[1]);
        return;
    }
    for (addresses, each) in [(100_000, 10), (100_000, 40), (1_000_000, 1)] {
        let status = std::process::Command::new(&args[0])
            .args(["--flood", &addresses.to_string(), &each.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}
