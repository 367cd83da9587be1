//! In-process cost of authenticating a request (issue: "a few microseconds").
//! `cargo bench --bench auth`. Builds the real AppState on a temporary data dir
//! with 1,000 keys, then times `authenticate` on prepared requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;

use actix_web::test::TestRequest;
use actix_web::web;
use coffre::accounts::api_keys::{self, ApiKeyInput};
use coffre::accounts::bootstrap;
use coffre::auth::Principal;
use coffre::auth::principal::authenticate;
use coffre::clock::Clock;
use coffre::crypto::ApiKeyToken;
use coffre::state::AppState;
use coffre::work::Caller;

fn main() {
    let common::Store {
        config,
        keys,
        db,
        state,
        dir: _dir,
    } = common::store();
    let clock = Arc::new(Clock::system());
    let boot = bootstrap::ensure(&state).unwrap().unwrap();
    let boot_lookup = ApiKeyToken::parse(&boot.key)
        .unwrap()
        .lookup_id()
        .to_string();
    let caller = Principal::from_entry(state.auth.index.get(&boot_lookup).unwrap());

    // 1,000 keys in the index, as in the load benchmark.
    let mut last_key = String::new();
    for i in 0..1000 {
        let created = state
            .write_blocking(Caller::Key(caller.clone()), move |w| {
                let input = ApiKeyInput {
                    name: Some(format!("bench {i}")),
                    contact_login: Some(format!("bench-{i}")),
                    contact_email: Some(format!("bench{i}@example.com")),
                    ..ApiKeyInput::default()
                };
                api_keys::create(w, input)
            })
            .unwrap();
        last_key = created.key.unwrap();
    }
    println!("keys in the index: {}", state.auth.index.len());

    let data = web::Data::new(state.clone());
    let request = |data: &web::Data<AppState>, header: Option<(&str, String)>| {
        let mut r = TestRequest::default()
            .app_data(data.clone())
            .peer_addr("127.0.0.1:40000".parse().unwrap());
        if let Some(h) = header {
            r = r.insert_header(h);
        }
        r.to_http_request()
    };
    let valid = request(&data, Some(("Authorization", format!("Bearer {last_key}"))));
    let valid_x = request(&data, Some(("X-Api-Key", last_key.clone())));

    let n = 200_000;
    let ok = common::time("valid key (Authorization: Bearer)", n, || {
        black_box(authenticate(black_box(&valid)).unwrap());
    });
    common::time("valid key (X-Api-Key)", n, || {
        black_box(authenticate(black_box(&valid_x)).unwrap());
    });
    // Failures feed the rate limiter; the default limit would block after 20,
    // and a blocked address answers before any work: measure with a high limit.
    let mut lenient = config.clone();
    lenient.auth_failure_limit = u32::MAX;
    let lenient_state = AppState::new(db.clone(), keys.clone(), clock, lenient).unwrap();
    let lenient = web::Data::new(lenient_state);
    let unknown = request(
        &lenient,
        Some((
            "Authorization",
            format!("Bearer {}", &*ApiKeyToken::generate().1),
        )),
    );
    let malformed = request(
        &lenient,
        Some(("Authorization", "Bearer not-a-key".to_string())),
    );
    let missing = request(&lenient, None);
    let u = common::time("unknown key (valid checksum)", n, || {
        black_box(authenticate(black_box(&unknown)).unwrap_err());
    });
    let m = common::time("malformed key", n, || {
        black_box(authenticate(black_box(&malformed)).unwrap_err());
    });
    let x = common::time("no key", n, || {
        black_box(authenticate(black_box(&missing)).unwrap_err());
    });
    println!(
        "failure cost relative to success: unknown {:.2}x, malformed {:.2}x, missing {:.2}x",
        u / ok,
        m / ok,
        x / ok
    );
    db.shutdown();
}
