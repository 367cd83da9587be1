//! Several `coffre serve` nodes on one PostgreSQL database act as one
//! service (issue 17): the real binary twice, on a database of their own in
//! the throwaway cluster of `scripts/test-postgres.sh`. Without PostgreSQL
//! these tests are skipped (they are about PostgreSQL alone).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::pg::TestDatabase;

/// A node on `database`: its own (empty) data dir, the same passphrase.
fn node(database: &TestDatabase, dir: &std::path::Path) -> ServerProcess {
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "serve"])
        .env("COFFRE_DATABASE_URL", &database.url)
        .env("COFFRE_PASSPHRASE", "one passphrase for every node");
    ServerProcess::start(cmd)
}

fn two_nodes() -> Option<(TestDatabase2, ServerProcess, ServerProcess, String)> {
    if !crate::pg::enabled() {
        println!("SKIPPED: several nodes need PostgreSQL (scripts/test-postgres.sh)");
        return None;
    }
    let database = TestDatabase::create();
    let dirs = tempfile::tempdir().unwrap();
    let a = node(&database, &dirs.path().join("a"));
    let admin = a.bootstrap_key();
    let b = node(&database, &dirs.path().join("b"));
    assert!(
        !b.banner.iter().any(|l| l.contains("bootstrap key")),
        "the second node finds the first one's database: {:?}",
        b.banner
    );
    Some((
        TestDatabase2 {
            _db: database,
            _dirs: dirs,
        },
        a,
        b,
        admin,
    ))
}

/// Keeps the database and data dirs alive as long as the nodes.
struct TestDatabase2 {
    _db: std::sync::Arc<TestDatabase>,
    _dirs: tempfile::TempDir,
}

/// Polls `check` until it holds; returns how long that took (at most 5 s).
async fn within<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(5), "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// A key made through `node`: (its GUID, the key, its operator's GUID).
async fn make_key(
    client: &reqwest::Client,
    node: &ServerProcess,
    admin: &str,
    name: &str,
) -> (String, String, String) {
    let created = call(
        client,
        Method::POST,
        &node.url("/v4/ApiKey"),
        admin,
        Some(json!({"Name": name, "ContactLogin": name,
                    "ContactEmail": format!("{name}@example.com"),
                    "ContactFirstName": "C", "ContactLastName": "I"})),
    )
    .await
    .expect(201);
    let key = created.body["Key"].as_str().unwrap().to_string();
    (
        created.guid("ApiKeyGuid"),
        key,
        created.guid("OperatorGuid"),
    )
}

/// How long until `node` answers `status` to a read with `key` (at most 5 s).
async fn until_status(
    client: &reqwest::Client,
    node: &ServerProcess,
    key: &str,
    status: u16,
    what: &str,
) -> Duration {
    let url = node.url("/v4/VaultSection");
    within(what, || {
        let (client, url, key) = (client.clone(), url.clone(), key.to_string());
        async move { call(&client, Method::GET, &url, &key, None).await.status == status }
    })
    .await
}

#[tokio::test]
async fn a_key_made_on_one_node_works_on_the_other_and_its_revocation_is_refused_within_a_second() {
    let Some((_keep, a, b, admin)) = two_nodes() else {
        return;
    };
    let client = reqwest::Client::new();
    let (guid, key, _) = make_key(&client, &a, &admin, "ci").await;
    let learned = until_status(&client, &b, &key, 200, "node b accepts a's new key").await;
    assert!(learned < Duration::from_secs(1), "took {learned:?}");

    call(
        &client,
        Method::POST,
        &a.url(&format!("/v4/ApiKey/{guid}/Revoke")),
        &admin,
        None,
    )
    .await
    .expect(200);
    let refused = until_status(&client, &b, &key, 401, "node b refuses a's revocation").await;
    assert!(refused < Duration::from_secs(1), "took {refused:?}");
}

#[tokio::test]
async fn a_deactivated_operator_is_refused_by_every_node_within_a_second() {
    let Some((_keep, a, b, admin)) = two_nodes() else {
        return;
    };
    let client = reqwest::Client::new();
    let (_, key, operator) = make_key(&client, &b, &admin, "ops").await;
    until_status(&client, &a, &key, 200, "node a accepts b's new key").await;
    call(
        &client,
        Method::PATCH,
        &b.url(&format!("/v4/Operator/{operator}")),
        &admin,
        Some(json!({"IsActive": false})),
    )
    .await
    .expect(204);
    let refused = until_status(
        &client,
        &a,
        &key,
        401,
        "node a refuses the deactivated operator",
    )
    .await;
    assert!(refused < Duration::from_secs(1), "took {refused:?}");
}

/// The same name sent to both nodes at once, round after round: exactly one
/// of each pair is created, the other refused (409), never both.
#[tokio::test]
async fn concurrent_writes_on_two_nodes_never_break_a_unique_name() {
    let Some((_keep, a, b, admin)) = two_nodes() else {
        return;
    };
    let client = reqwest::Client::new();
    let (url_a, url_b) = (a.url("/v4/OperatorGroup"), b.url("/v4/OperatorGroup"));
    for round in 0..20 {
        let body = json!({"Description": format!("team {round}")});
        let (ra, rb) = tokio::join!(
            call(&client, Method::POST, &url_a, &admin, Some(body.clone())),
            call(&client, Method::POST, &url_b, &admin, Some(body.clone())),
        );
        let mut statuses = [ra.status, rb.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [201, 409],
            "round {round}: {} / {}",
            ra.text,
            rb.text
        );
    }
    let groups = call(&client, Method::GET, &url_b, &admin, None)
        .await
        .expect(200);
    assert_eq!(
        groups.body.as_array().unwrap().len(),
        21,
        "20 teams and Administrators"
    );
}
