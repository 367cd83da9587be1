//! Seed files (`--seed FILE`): a known state, written in the API's own
//! language, applied at start under `--dev` or by `init` on a new data dir,
//! all or nothing. The repository's complete example is loaded for real.

use std::path::{Path, PathBuf};

use base64::Engine;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

const ADMIN_KEY: &str = "coffre_Hha6vjwShESv_iqvm5ywOAv4rnQCEABzjTfR5r1Nydx5FhwWe5Us1Uzr0gpOnk";
/// The example's `CI pipeline` and `Ops` keys.
const CI_KEY: &str = "coffre_qESnDjcCVTWB_NRUhOMkC994g9ByiXxI77XgHz3R52C3B7Hi6m4SKw8A1BWUsm";
const OPS_KEY: &str = "coffre_ihUTkIM5jcHt_KiAx9j6egZhicrFfnuEwEJnl0WLYBi39VLSbTgCe5ly3ekDbm";
const WEB_SHOP: &str = "0A1B2C3D-0000-4000-8000-000000000031";

pub fn example_seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed.toml")
}

/// `coffre serve --dev --seed FILE` with a known bootstrap key.
pub fn serve_seeded(seed: &Path) -> ServerProcess {
    let mut cmd = coffre();
    cmd.args([
        "--dev",
        "--listen",
        "127.0.0.1:0",
        "--dev-bootstrap-key",
        ADMIN_KEY,
    ])
    .arg("--seed")
    .arg(seed)
    .arg("serve");
    ServerProcess::start(cmd)
}

pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(server: &ServerProcess) -> Client {
        Client {
            base: server.address.clone(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(&self, key: &str, method: Method, path: &str, body: Option<Value>) -> Res {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth("harness", Some(key));
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, key: &str, path: &str) -> Res {
        self.call(key, Method::GET, path, None).await
    }
}

fn named<'a>(list: &'a Value, field: &str, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[field] == name)
        .unwrap_or_else(|| panic!("no {field} {name} in {list}"))
}

/// Checks, through the API, everything `examples/seed.toml` declares.
pub async fn assert_example_state(c: &Client) {
    // Operators: a fixed GUID, a login that defaulted to the e-mail address,
    // and the operators the keys created.
    let ops = c.get(ADMIN_KEY, "/v4/Operator").await.expect(200).body;
    let alan = named(&ops, "Login", "alan");
    assert_eq!(alan["OperatorGuid"], "0A1B2C3D-0000-4000-8000-000000000001");
    named(&ops, "Login", "grace@example.com");
    let ci_op = named(&ops, "Login", "ci")["OperatorGuid"].clone();
    let ops_op = named(&ops, "Login", "ops")["OperatorGuid"].clone();

    // Keys: the fixed ones work (Basic auth, any user name), as declared.
    let keys = c.get(ADMIN_KEY, "/v4/ApiKey").await.expect(200).body;
    let ci = named(&keys, "Name", "CI pipeline");
    assert_eq!(ci["ApiKeyGuid"], "0A1B2C3D-0000-4000-8000-000000000011");
    let mut permissions: Vec<&str> = ci["Permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    permissions.sort();
    assert_eq!(
        permissions,
        [
            "VaultItem.Read",
            "VaultItem.Reveal",
            "VaultItem.Use",
            "VaultSection.Read"
        ]
    );
    assert_eq!(named(&keys, "Name", "Ops")["ExpirationDate"], "2099-12-31");
    assert!(!keys.to_string().contains(CI_KEY), "keys are never shown");

    // Groups: members by login or e-mail; Administrators gained a member.
    let groups = c.get(ADMIN_KEY, "/v4/OperatorGroup").await.expect(200).body;
    let web = named(&groups, "Description", "Web team");
    assert_eq!(
        web["OperatorGroupGuid"],
        "0A1B2C3D-0000-4000-8000-000000000021"
    );
    let members = c
        .get(
            ADMIN_KEY,
            &format!(
                "/v4/OperatorGroup/{}/Member",
                web["OperatorGroupGuid"].as_str().unwrap()
            ),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(members.as_array().unwrap().len(), 3);
    assert!(members.to_string().contains(ci_op.as_str().unwrap()));
    let admins = named(&groups, "Description", "Administrators");
    let admin_members = c
        .get(
            ADMIN_KEY,
            &format!(
                "/v4/OperatorGroup/{}/Member",
                admins["OperatorGroupGuid"].as_str().unwrap()
            ),
        )
        .await
        .expect(200)
        .body;
    assert!(admin_members.to_string().contains(ops_op.as_str().unwrap()));
    // ... so the Ops key administers (EnablePermissions false: not ApiKey.*).
    c.get(OPS_KEY, "/v4/Operator").await.expect(200);

    // Sections and grants: Administrators have full control of each; the
    // Web team's Change brought a View; grants by name reached their grantee.
    let sections = c.get(ADMIN_KEY, "/v4/VaultSection").await.expect(200).body;
    named(&sections, "Name", "Monitoring");
    let grants = c
        .get(
            ADMIN_KEY,
            &format!("/v4/VaultSection/{WEB_SHOP}/Authorization"),
        )
        .await
        .expect(200)
        .body;
    let grants = grants.as_array().unwrap();
    let web_group = web["OperatorGroupGuid"].as_str().unwrap();
    let to_web: Vec<&str> = grants
        .iter()
        .filter(|g| g["OperatorGroupGuid"] == web_group)
        .map(|g| g["AuthorizationType"].as_str().unwrap())
        .collect();
    assert_eq!(to_web, ["ViewVaultSection", "ChangeVaultSection"]);
    assert!(grants.iter().any(
        |g| g["AuthorizationId"] == "0A1B2C3D-0000-4000-8000-000000000041"
            && g["AuthorizationType"] == "ChangeVaultSection"
    ));
    assert!(
        grants
            .iter()
            .any(|g| g["OperatorGuid"] == ops_op && g["AuthorizationType"] == "ViewVaultSection")
    );
    assert_eq!(
        grants
            .iter()
            .filter(|g| g["OperatorGroupGuid"] == admins["OperatorGroupGuid"])
            .count(),
        2
    );

    // Items of the five types.
    let all = c.get(ADMIN_KEY, "/v4/VaultItem").await.expect(200).body;
    let types: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["VaultItemType"].as_str().unwrap())
        .collect();
    for t in [
        "CredentialSet",
        "Certificate",
        "CertificateArchive",
        "File",
        "OneTimePassword",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    // The CI key reads the web shop's through its group.
    let items = c.get(CI_KEY, "/v4/VaultItem").await.expect(200).body;
    assert_eq!(items.as_array().unwrap().len(), 4, "{items}");
    let shop = c
        .get(
            CI_KEY,
            "/v4/VaultItem/0A1B2C3D-0000-4000-8000-000000000051/Reveal",
        )
        .await
        .expect(200)
        .body;
    assert_eq!(shop["Password"], "Tr0ub4dor&3");
    let archive = named(&items, "Name", "Client certificate");
    assert!(
        archive["CertificateArchive"]["Issuer"]
            .as_str()
            .unwrap()
            .contains("Example Client"),
        "{archive}"
    );
    let sso = named(&items, "Name", "SSO certificate");
    assert!(
        sso["Value"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let otp = named(&items, "Name", "Shop 2FA");
    let code = c
        .get(
            CI_KEY,
            &format!(
                "/v4/VaultItem/{}/Otp",
                otp["VaultItemGuid"].as_str().unwrap()
            ),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(code["Code"].as_str().unwrap().len(), 6);
    // The file is in Monitoring, which only Grace (and Administrators) may view.
    assert!(!items.to_string().contains("prices.csv"));
    let file = named(&all, "Name", "Price list");
    assert_eq!(file["FileInfo"]["Name"], "prices.csv");
    let revealed = c
        .get(
            ADMIN_KEY,
            &format!(
                "/v4/VaultItem/{}/Reveal",
                file["VaultItemGuid"].as_str().unwrap()
            ),
        )
        .await
        .expect(200)
        .body;
    let data = base64::engine::general_purpose::STANDARD
        .decode(revealed["FileInfo"]["Data"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        data,
        std::fs::read(example_seed().parent().unwrap().join("seed/prices.csv")).unwrap()
    );
    named(&all, "Name", "Shared note");
}

#[tokio::test]
async fn the_example_seed_loads_under_dev_and_the_api_shows_all_of_it() {
    let server = serve_seeded(&example_seed());
    assert_eq!(
        server.bootstrap_key(),
        ADMIN_KEY,
        "the bootstrap key is the one given"
    );
    assert_example_state(&Client::new(&server)).await;
}

#[tokio::test]
async fn a_reset_returns_a_seeded_server_to_its_seed() {
    let server = serve_seeded(&example_seed());
    let c = Client::new(&server);
    // A test's worth of changes: a seeded key revoked, a seeded item deleted,
    // a section renamed, a group emptied, the clock moved.
    let keys = c.get(ADMIN_KEY, "/v4/ApiKey").await.expect(200).body;
    let ci = named(&keys, "Name", "CI pipeline")["ApiKeyGuid"]
        .as_str()
        .unwrap()
        .to_string();
    c.call(
        ADMIN_KEY,
        Method::POST,
        &format!("/v4/ApiKey/{ci}/Revoke"),
        None,
    )
    .await
    .expect(200);
    c.get(CI_KEY, "/v4/VaultItem").await.expect(401);
    let all = c.get(ADMIN_KEY, "/v4/VaultItem").await.expect(200).body;
    let file = named(&all, "Name", "Price list")["VaultItemGuid"]
        .as_str()
        .unwrap()
        .to_string();
    c.call(
        ADMIN_KEY,
        Method::DELETE,
        &format!("/v4/VaultItem/{file}"),
        None,
    )
    .await
    .expect(204);
    c.call(
        ADMIN_KEY,
        Method::PUT,
        &format!("/v4/VaultSection/{WEB_SHOP}"),
        Some(serde_json::json!({"Name": "Renamed"})),
    )
    .await
    .expect(204);
    c.call(
        ADMIN_KEY,
        Method::PUT,
        "/v4/Dev/Clock",
        Some(serde_json::json!({"Now": "2100-01-02T00:00:00Z"})),
    )
    .await
    .expect(200);
    // The Ops key expired at the end of 2099-12-31.
    c.get(OPS_KEY, "/v4/Operator").await.expect(401);

    c.call(ADMIN_KEY, Method::POST, "/v4/Dev/Reset", None)
        .await
        .expect(204);
    assert_example_state(&c).await;
    let clock = c.get(ADMIN_KEY, "/v4/Dev/Clock").await.expect(200).body;
    assert_eq!(clock["IsRealTime"], true);
    let outbox = c.get(ADMIN_KEY, "/v4/Outbox").await.expect(200).body;
    assert_eq!(outbox, serde_json::json!([]), "the expiry e-mails went too");
}

/// A data dir that must not exist after a refused `init`.
fn init_with(seed: &Path, dir: &Path) -> Output {
    run(coffre()
        .arg("--data-dir")
        .arg(dir)
        .arg("--seed")
        .arg(seed)
        .arg("init"))
}

#[tokio::test]
async fn init_seeds_a_new_data_dir_with_its_bootstrap() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let out = init_with(&example_seed(), &dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("seeded from"), "{}", out.stdout);
    let boot = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("coffre bootstrap key: "))
        .unwrap()
        .to_string();
    let mut cmd = coffre();
    cmd.arg("--data-dir")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "serve"]);
    let server = ServerProcess::start(cmd);
    let c = Client::new(&server);
    // The seeded keys work on the data dir, and so does the printed bootstrap key.
    let ops = c.get(&boot, "/v4/Operator").await.expect(200).body;
    named(&ops, "Login", "alan");
    c.get(CI_KEY, "/v4/VaultItem/0A1B2C3D-0000-4000-8000-000000000051")
        .await
        .expect(200);
}

#[test]
fn a_bad_seed_exits_2_naming_the_file_entry_and_field_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let examples = example_seed().parent().unwrap().to_path_buf();
    // Valid entries first, so that a refusal must undo them.
    let good = format!(
        "[[Operator]]\nFullName = \"Ok\"\nEmail = \"ok@example.com\"\n\
         [[VaultSection]]\nName = \"Ok\"\n\
         [[VaultItem]]\nName = \"Ok\"\nVaultSection = \"Ok\"\nVaultItemType = \"File\"\n\
         FileInfo = {{ DataFile = \"{}\" }}\n",
        examples.join("seed/prices.csv").display()
    );
    let cases = [
        (
            "[[VaultItem]]\nName = \"Shop\"\nVaultSection = \"Ok\"\nVaultItemType = \"CredentialSet\"\nPasword = \"x\"\n",
            "[[VaultItem]] #2 \"Shop\"",
            "Pasword",
        ),
        (
            "[[Operator]]\nFullName = \"Twin\"\nEmail = \"OK@example.com\"\n",
            "[[Operator]] #2 \"Twin\"",
            "Email",
        ),
        (
            "[[VaultItem]]\nName = \"2FA\"\nVaultSection = \"Ok\"\nVaultItemType = \"OneTimePassword\"\nOneTimePasswordInfo = { Secret = \"JBSWY3DPEHPK3PXP\", Digits = 9 }\n",
            "[[VaultItem]] #2 \"2FA\"",
            "OneTimePasswordInfo.Digits",
        ),
        (
            "[[VaultItem]]\nName = \"Lost\"\nVaultSection = \"Nowhere\"\nVaultItemType = \"CredentialSet\"\n",
            "[[VaultItem]] #2 \"Lost\"",
            "VaultSection",
        ),
        (
            "[[VaultItem]]\nName = \"Cert\"\nVaultSection = \"Ok\"\nVaultItemType = \"CertificateArchive\"\nCertificateArchive = { ArchiveFile = \"missing.pfx\" }\n",
            "[[VaultItem]] #2 \"Cert\"",
            "CertificateArchive.ArchiveFile",
        ),
        (
            "[[ApiKey]]\nName = \"K\"\nContactLogin = \"k\"\nContactEmail = \"k@example.com\"\nKey = \"coffre_not_a_key\"\n",
            "[[ApiKey]] #1 \"K\"",
            "Key",
        ),
        (
            "[[OperatorGroup]]\nDescription = \"G\"\nMembers = [\"ghost\"]\n",
            "[[OperatorGroup]] #1 \"G\"",
            "Members",
        ),
        (
            "[[Authorization]]\nVaultSection = \"Ok\"\nAuthorizationType = \"ViewVaultSection\"\nOperatorGroup = \"Nobody\"\n",
            "[[Authorization]] #1",
            "OperatorGroup",
        ),
    ];
    for (n, (bad, entry, field)) in cases.iter().enumerate() {
        let seed = tmp.path().join(format!("bad{n}.toml"));
        std::fs::write(&seed, format!("{good}{bad}")).unwrap();
        let dir = tmp.path().join(format!("data{n}"));
        let out = init_with(&seed, &dir);
        let file = seed.display().to_string();
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        for part in [file.as_str(), entry, field] {
            assert!(
                out.stderr.contains(part),
                "{bad}: no {part:?} in {}",
                out.stderr
            );
        }
        assert!(!dir.exists(), "{bad}: init wrote the data dir");

        // Under --dev the server does not start either.
        let mut cmd = coffre();
        cmd.args(["--dev", "--listen", "127.0.0.1:0", "--seed"])
            .arg(&seed)
            .arg("serve");
        let out = run(&mut cmd);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(out.stderr.contains(entry), "{}", out.stderr);
        assert!(!out.stdout.contains("listening"));
    }

    // A seed is for --dev or init: not for a data dir being served.
    let seed = tmp.path().join("bad0.toml");
    let out = run(coffre()
        .arg("--data-dir")
        .arg(tmp.path().join("served"))
        .arg("--seed")
        .arg(&seed)
        .arg("serve"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("init --seed"), "{}", out.stderr);
}
