//! In-process cost of authenticating a request (issue: "a few microseconds"),
//! with an API key and with an OAuth access token (issue 16: reported as a
//! ratio to the key). `cargo bench --bench auth`. Builds the real AppState on
//! a temporary data dir with 1,000 keys, 100 OAuth clients and 1,000 access
//! tokens, then times `authenticate` on prepared requests (a console session's
//! cookie among them, issue 13). Issue 15: a key in
//! a grace period, presented with its current and with its previous secret,
//! as ratios to a key without one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;

use actix_web::test::TestRequest;
use actix_web::web;
use coffre::accounts::api_keys::{self, ApiKeyInput};
use coffre::accounts::bootstrap;
use coffre::accounts::oauth_clients::{self, OAuthClientInput};
use coffre::auth::Principal;
use coffre::auth::client::{ClientCredentials, authenticate_client};
use coffre::auth::principal::authenticate;
use coffre::auth::session::COOKIE;
use coffre::clock::Clock;
use coffre::crypto::{Token, TokenKind};
use coffre::oauth::tokens;
use coffre::state::AppState;
use coffre::types::{PermissionSet, SecretUsed};
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
    let boot_lookup = Token::parse(TokenKind::ApiKey, &boot.key)
        .unwrap()
        .lookup_id()
        .to_string();
    let caller = Principal::from_entry(state.auth.index.get(&boot_lookup).unwrap());

    // 1,000 keys in the index, as in the load benchmark.
    let mut last_key = String::new();
    let mut first_guid = None;
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
        first_guid.get_or_insert(created.api_key_guid);
        last_key = created.key.unwrap();
    }
    println!("keys in the index: {}", state.auth.index.len());

    // One more key, regenerated with a week's grace: its first secret is now
    // the previous one, still accepted.
    let graced = state
        .write_blocking(Caller::Key(caller.clone()), move |w| {
            let input = ApiKeyInput {
                name: Some("bench graced".into()),
                contact_login: Some("bench-graced".into()),
                contact_email: Some("graced@example.com".into()),
                ..ApiKeyInput::default()
            };
            api_keys::create(w, input)
        })
        .unwrap();
    let graced_guid = graced.api_key_guid;
    let graced_previous = graced.key.unwrap();
    let graced_current = state
        .write_blocking(Caller::Key(caller.clone()), move |w| {
            api_keys::regenerate(w, graced_guid, 168 * 3_600_000)
        })
        .unwrap()
        .key
        .unwrap();

    // 100 OAuth clients holding 10 tokens each; the last token is timed.
    let mut last_token = String::new();
    let mut last_client = (String::new(), String::new());
    for i in 0..100 {
        let client = state
            .write_blocking(Caller::Key(caller.clone()), move |w| {
                let input = OAuthClientInput {
                    name: Some(format!("bench client {i}")),
                    contact_login: Some(format!("bench-client-{i}")),
                    contact_email: Some(format!("client{i}@example.com")),
                    scopes: Some(vec!["coffre.vault_item.read".into()]),
                    ..OAuthClientInput::default()
                };
                oauth_clients::create(w, input)
            })
            .unwrap();
        let entry = state
            .auth
            .index
            .get(
                Token::parse(
                    TokenKind::ClientSecret,
                    client.client_secret.as_deref().unwrap(),
                )
                .unwrap()
                .lookup_id(),
            )
            .unwrap();
        for _ in 0..10 {
            let entry = entry.clone();
            let issued = state
                .write_blocking(
                    Caller::Key(Principal::from_entry(entry.clone())),
                    move |w| tokens::issue(w, &entry, SecretUsed::Current, PermissionSet::all()),
                )
                .unwrap()
                .unwrap();
            last_token = issued.token.to_string();
        }
        last_client = (client.client_id, client.client_secret.unwrap());
    }
    println!("access tokens in the index: {}", state.auth.tokens.len());

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
    let token = request(
        &data,
        Some(("Authorization", format!("Bearer {last_token}"))),
    );

    let graced_current = request(
        &data,
        Some(("Authorization", format!("Bearer {graced_current}"))),
    );
    let graced_previous = request(
        &data,
        Some(("Authorization", format!("Bearer {graced_previous}"))),
    );
    // A console session of the same key, as the cookie of a GET (issue 13:
    // "as cheap as key authentication").
    let key_entry = state
        .auth
        .index
        .get(
            Token::parse(TokenKind::ApiKey, &last_key)
                .unwrap()
                .lookup_id(),
        )
        .unwrap();
    let session_id = state.sessions.open(&key_entry, state.clock.now_millis());
    let session = request(
        &data,
        Some(("Cookie", format!("{COOKIE}={}", &*session_id))),
    );

    let n = 200_000;
    let ok = common::time("valid key (Authorization: Bearer)", n, || {
        black_box(authenticate(black_box(&valid)).unwrap());
    });
    let gc = common::time("key in a grace period, current secret", n, || {
        black_box(authenticate(black_box(&graced_current)).unwrap());
    });
    let gp = common::time("key in a grace period, previous secret", n, || {
        black_box(authenticate(black_box(&graced_previous)).unwrap());
    });
    println!(
        "grace period relative to a key without one: current secret {:.2}x, previous secret \
         {:.2}x",
        gc / ok,
        gp / ok
    );
    let s = common::time("valid console session (cookie, GET)", n, || {
        black_box(authenticate(black_box(&session)).unwrap());
    });
    println!(
        "session verification relative to an API key: {:.2}x",
        s / ok
    );
    common::time("valid key (X-Api-Key)", n, || {
        black_box(authenticate(black_box(&valid_x)).unwrap());
    });
    let t = common::time("valid access token (Authorization: Bearer)", n, || {
        black_box(authenticate(black_box(&token)).unwrap());
    });
    println!(
        "access token verification relative to an API key: {:.2}x",
        t / ok
    );
    let credentials = ClientCredentials {
        client_id: last_client.0.clone(),
        client_secret: last_client.1.clone().into(),
    };
    let address = "127.0.0.1".parse().unwrap();
    let c = common::time("OAuth client authentication (token endpoint)", n, || {
        black_box(authenticate_client(&state, address, Some(black_box(&credentials))).unwrap());
    });
    println!(
        "client authentication relative to an API key: {:.2}x",
        c / ok
    );
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
            format!("Bearer {}", &*Token::generate(TokenKind::ApiKey).1),
        )),
    );
    let malformed = request(
        &lenient,
        Some(("Authorization", "Bearer not-a-key".to_string())),
    );
    let missing = request(&lenient, None);
    let unknown_token = request(
        &lenient,
        Some((
            "Authorization",
            format!("Bearer {}", &*Token::generate(TokenKind::AccessToken).1),
        )),
    );
    let u = common::time("unknown key (valid checksum)", n, || {
        black_box(authenticate(black_box(&unknown)).unwrap_err());
    });
    let m = common::time("malformed key", n, || {
        black_box(authenticate(black_box(&malformed)).unwrap_err());
    });
    let x = common::time("no key", n, || {
        black_box(authenticate(black_box(&missing)).unwrap_err());
    });
    let ut = common::time("unknown access token (valid checksum)", n, || {
        black_box(authenticate(black_box(&unknown_token)).unwrap_err());
    });
    println!(
        "failure cost relative to success: unknown {:.2}x, malformed {:.2}x, missing {:.2}x, \
         unknown token {:.2}x",
        u / ok,
        m / ok,
        x / ok,
        ut / ok
    );
    db.shutdown();
}
