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

/// Item creates through both nodes at once; one node is killed (SIGKILL)
/// in the middle. Every create either node acknowledged with 201 is then
/// there, value and all, read through the survivor, which kept serving.
#[tokio::test]
async fn a_node_killed_under_write_load_loses_no_acknowledged_write() {
    let Some((_keep, mut a, b, admin)) = two_nodes() else {
        return;
    };
    let client = reqwest::Client::new();
    let section = call(
        &client,
        Method::POST,
        &a.url("/v4/VaultSection"),
        &admin,
        Some(json!({"Name": "under load"})),
    )
    .await
    .expect(201)
    .guid("VaultSectionGuid");

    // Writers: four per node, each creating items until told to stop or its
    // node stops answering; every 201 is recorded with the password sent.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let acked_by_a = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for (node, url) in [("a", a.url("/v4/VaultItem")), ("b", b.url("/v4/VaultItem"))] {
        for writer in 0..4 {
            let (client, url, admin, section) =
                (client.clone(), url.clone(), admin.clone(), section.clone());
            let (acked, acked_by_a, stop) = (acked.clone(), acked_by_a.clone(), stop.clone());
            writers.push(tokio::spawn(async move {
                let mut made = 0usize;
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let password = format!("pw-{node}-{writer}-{n}-{}", uuid::Uuid::new_v4());
                    let sent = client
                        .post(&url)
                        .bearer_auth(&admin)
                        .json(&json!({"Name": format!("item {node} {writer} {n}"),
                                      "VaultSectionGuid": section,
                                      "VaultItemType": "CredentialSet", "UserName": "ada",
                                      "Password": password}))
                        .send()
                        .await;
                    // A connection refused or cut by the killed node: that
                    // write was never acknowledged, and this writer is done.
                    let Ok(res) = sent else { break };
                    let res = read(res).await;
                    if res.status != 201 {
                        // Only the killed node may fail a write, and only
                        // by going away, never with an error status.
                        panic!("node {node}: {} {}", res.status, res.text);
                    }
                    acked
                        .lock()
                        .unwrap()
                        .push((res.guid("VaultItemGuid"), password));
                    made += 1;
                    if node == "a" {
                        acked_by_a.add_permits(1);
                    }
                }
                (node, made)
            }));
        }
    }

    // Kill a once it has acknowledged 40 writes, while its writers are mid-request.
    let _ = acked_by_a.acquire_many(40).await.unwrap();
    a.kill9();
    let at_kill = acked.lock().unwrap().len();
    // The survivor keeps taking writes: 40 more after the kill.
    let kept = within("node b acknowledges 40 more writes after the kill", || {
        let acked = acked.clone();
        async move { acked.lock().unwrap().len() >= at_kill + 40 }
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut made = std::collections::HashMap::new();
    for writer in writers {
        let (node, n) = writer.await.unwrap();
        *made.entry(node).or_insert(0) += n;
    }
    assert!(made["a"] >= 40 && made["b"] >= 40, "{made:?} ({kept:?})");

    let listed = call(&client, Method::GET, &b.url("/v4/VaultItem"), &admin, None)
        .await
        .expect(200);
    let present: std::collections::HashSet<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["VaultItemGuid"].as_str().unwrap())
        .collect();
    let acked = acked.lock().unwrap().clone();
    for (guid, password) in &acked {
        assert!(
            present.contains(guid.as_str()),
            "acknowledged {guid} is gone"
        );
        let revealed = call(
            &client,
            Method::GET,
            &b.url(&format!("/v4/VaultItem/{guid}/Reveal")),
            &admin,
            None,
        )
        .await
        .expect(200);
        assert_eq!(revealed.body["Password"], password.as_str(), "{guid}");
    }
}

/// The Administrators group's GUID and its members' GUIDs, through `node`.
async fn administrators(
    client: &reqwest::Client,
    node: &ServerProcess,
    key: &str,
) -> (String, Vec<String>) {
    let groups = call(
        client,
        Method::GET,
        &node.url("/v4/OperatorGroup"),
        key,
        None,
    )
    .await
    .expect(200);
    let admins = groups
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["IsAdministratorsGroup"] == true)
        .unwrap()["OperatorGroupGuid"]
        .as_str()
        .unwrap()
        .to_string();
    let members = call(
        client,
        Method::GET,
        &node.url(&format!("/v4/OperatorGroup/{admins}/Member")),
        key,
        None,
    )
    .await
    .expect(200);
    let members = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["OperatorGuid"].as_str().unwrap().to_string())
        .collect();
    (admins, members)
}

/// Two sections' ChangeVaultSection grants removed at once through the two
/// nodes, round after round: one removal goes through, the other is refused
/// as the last one, and the section always keeps exactly one.
#[tokio::test]
async fn two_nodes_racing_never_remove_a_section_s_last_change_authorization() {
    let Some((_keep, a, b, admin)) = two_nodes() else {
        return;
    };
    let client = reqwest::Client::new();
    let other = call(
        &client,
        Method::POST,
        &a.url("/v4/Operator"),
        &admin,
        Some(json!({"FullName": "Other", "Email": "other@example.com", "Login": "other"})),
    )
    .await
    .expect(201)
    .guid("OperatorGuid");
    let changes = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["AuthorizationType"] == "ChangeVaultSection")
            .map(|a| a["AuthorizationId"].as_str().unwrap().to_string())
            .collect()
    };
    for round in 0..20 {
        let section = call(
            &client,
            Method::POST,
            &a.url("/v4/VaultSection"),
            &admin,
            Some(json!({"Name": format!("contested {round}")})),
        )
        .await
        .expect(201)
        .guid("VaultSectionGuid");
        let path = format!("/v4/VaultSection/{section}/Authorization");
        call(
            &client,
            Method::POST,
            &b.url(&path),
            &admin,
            Some(json!({"AuthorizationType": "ChangeVaultSection", "OperatorGuid": other})),
        )
        .await
        .expect(201);
        // Leave exactly two ChangeVaultSection grants: the other operator's
        // and one the section was created with.
        let mut grants = changes(
            &call(&client, Method::GET, &a.url(&path), &admin, None)
                .await
                .body,
        );
        while grants.len() > 2 {
            let doomed = grants.remove(0);
            call(
                &client,
                Method::DELETE,
                &a.url(&format!("{path}/{doomed}")),
                &admin,
                None,
            )
            .await
            .expect(204);
        }
        assert_eq!(grants.len(), 2, "round {round}");

        let (url_a, url_b) = (
            a.url(&format!("{path}/{}", grants[0])),
            b.url(&format!("{path}/{}", grants[1])),
        );
        let (ra, rb) = tokio::join!(
            call(&client, Method::DELETE, &url_a, &admin, None),
            call(&client, Method::DELETE, &url_b, &admin, None),
        );
        let mut outcomes = [
            (ra.status, ra.code().to_string()),
            (rb.status, rb.code().to_string()),
        ];
        outcomes.sort();
        assert_eq!(
            outcomes,
            [
                (204, String::new()),
                (400, "LastChangeAuthorization".to_string())
            ],
            "round {round}: {} / {}",
            ra.text,
            rb.text
        );
        let left = changes(
            &call(&client, Method::GET, &b.url(&path), &admin, None)
                .await
                .body,
        );
        assert_eq!(left.len(), 1, "round {round}: {left:?}");
    }
}

/// Administrators down to two members, each acting with a key of their own
/// through a different node and leaving at once (removal from the group,
/// or deactivation, in turns): one goes, the other is refused as the last
/// active administrator, and the group always keeps one. The survivor then
/// brings the other back for the next round.
#[tokio::test]
async fn two_nodes_racing_never_leave_administrators_without_an_active_member() {
    let Some((_keep, a, b, admin)) = two_nodes() else {
        return;
    };
    let client = reqwest::Client::new();
    let (_, p_key, p) = make_key(&client, &a, &admin, "p").await;
    let (_, q_key, q) = make_key(&client, &a, &admin, "q").await;
    let (admins, founders) = administrators(&client, &a, &admin).await;
    for op in [&p, &q] {
        call(
            &client,
            Method::POST,
            &a.url(&format!("/v4/OperatorGroup/{admins}/Member/{op}")),
            &admin,
            None,
        )
        .await
        .expect(201);
    }
    for op in &founders {
        call(
            &client,
            Method::DELETE,
            &a.url(&format!("/v4/OperatorGroup/{admins}/Member/{op}")),
            &admin,
            None,
        )
        .await
        .expect(204);
    }
    until_status(&client, &b, &q_key, 200, "node b accepts q's key").await;
    let people = [(&p, &p_key), (&q, &q_key)];
    for round in 0..20 {
        let deactivate = round % 2 == 1;
        let leave = |(op, key): (&String, &String), node: &ServerProcess| {
            let (method, path, body) = if deactivate {
                (
                    Method::PATCH,
                    format!("/v4/Operator/{op}"),
                    Some(json!({"IsActive": false})),
                )
            } else {
                (
                    Method::DELETE,
                    format!("/v4/OperatorGroup/{admins}/Member/{op}"),
                    None,
                )
            };
            let (client, url, key) = (client.clone(), node.url(&path), key.clone());
            async move { call(&client, method, &url, &key, body).await }
        };
        let (ra, rb) = tokio::join!(leave(people[0], &a), leave(people[1], &b));
        let mut outcomes = [
            (ra.status, ra.code().to_string()),
            (rb.status, rb.code().to_string()),
        ];
        outcomes.sort();
        assert_eq!(
            outcomes,
            [(204, String::new()), (400, "LastAdministrator".to_string())],
            "round {round} (deactivate: {deactivate}): {} / {}",
            ra.text,
            rb.text
        );
        let (gone, stayed) = if ra.status == 204 {
            (people[0], people[1])
        } else {
            (people[1], people[0])
        };
        let (_, members) = administrators(&client, &b, stayed.1).await;
        if deactivate {
            assert_eq!(members.len(), 2, "round {round}");
            let operator = call(
                &client,
                Method::GET,
                &a.url(&format!("/v4/Operator/{}", stayed.0)),
                stayed.1,
                None,
            )
            .await
            .expect(200);
            assert_eq!(operator.body["IsActive"], true, "round {round}");
            call(
                &client,
                Method::PATCH,
                &a.url(&format!("/v4/Operator/{}", gone.0)),
                stayed.1,
                Some(json!({"IsActive": true})),
            )
            .await
            .expect(204);
            for node in [&a, &b] {
                until_status(
                    &client,
                    node,
                    gone.1,
                    200,
                    "the operator is back on every node",
                )
                .await;
            }
        } else {
            assert_eq!(members, vec![stayed.0.clone()], "round {round}");
            call(
                &client,
                Method::POST,
                &b.url(&format!("/v4/OperatorGroup/{admins}/Member/{}", gone.0)),
                stayed.1,
                None,
            )
            .await
            .expect(201);
        }
    }
}
