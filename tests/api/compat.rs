//! Clients generated from Uptrends' published OpenAPI document for API v4
//! work unchanged. Every request here is shaped as such a client sends it:
//! HTTP Basic with the key as password and any user name, every field its
//! model marks required (ids empty on a create, numbers 0, choices `""`),
//! the optional ones either left out (Go's `omitempty`) or all sent with
//! their zero values (clients that serialise every property). Every answer
//! is decoded strictly into structs that mirror those models' field names
//! and types: a field the model does not have is an error unless it is one
//! of coffre's documented extensions, listed apart below; a field the model
//! requires must be there.

use base64::Engine;
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::helpers::*;

const NIL: &str = "00000000-0000-0000-0000-000000000000";

// ---------------------------------------------------------------------------
// Uptrends' models, as the generated clients decode them. `Option` is a field
// the model leaves optional; a bare type is one it requires.

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
enum VaultItemTypes {
    CredentialSet,
    Certificate,
    CertificateArchive,
    File,
    OneTimePassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
enum HashAlgorithm {
    SHA1,
    SHA256,
    SHA512,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
enum VaultSectionAuthorizationType {
    ViewVaultSection,
    ChangeVaultSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)]
struct VaultItem {
    VaultItemGuid: Option<String>,
    Hash: Option<String>,
    Name: Option<String>,
    Value: Option<String>,
    VaultSectionGuid: Option<String>,
    VaultItemType: Option<VaultItemTypes>,
    Notes: Option<String>,
    UserName: Option<String>,
    Password: Option<String>,
    CertificateArchive: Option<CertificateArchive>,
    FileInfo: Option<FileInfo>,
    OneTimePasswordInfo: Option<OneTimePasswordInfo>,
    // coffre's extensions (SPEC §5; NotAfter: issue 15).
    VaultItemUsedBy: String,
    IsSensitive: bool,
    NotAfter: Option<String>,
}

/// The model types `NotBefore`/`NotAfter` as `object` (how its generator
/// wrote a date-time) with a date-time string as example: the string is
/// what is decoded. Both are required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)]
struct CertificateArchive {
    Issuer: Option<String>,
    NotBefore: String,
    NotAfter: String,
    Password: Option<String>,
    ArchiveData: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)]
struct FileInfo {
    Data: Option<String>,
    Name: Option<String>,
    Size: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)]
struct OneTimePasswordInfo {
    Secret: Option<String>,
    Digits: i32,
    Period: i32,
    HashAlgorithm: HashAlgorithm,
    // coffre's extension.
    SecretEncodingMethod: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)]
struct VaultSection {
    VaultSectionGuid: String,
    Name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)]
struct VaultSectionAuthorization {
    AuthorizationId: Option<String>,
    AuthorizationType: VaultSectionAuthorizationType,
    OperatorGuid: Option<String>,
    OperatorGroupGuid: Option<String>,
    // coffre's extensions (the seed's names).
    ContextId: String,
    OperatorGroupId: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)]
struct Operator {
    OperatorGuid: Option<String>,
    Hash: Option<String>,
    Password: Option<String>,
    FullName: Option<String>,
    Email: Option<String>,
    MobilePhone: Option<String>,
    OutgoingPhoneNumberId: Option<i32>,
    OutgoingPhoneNumberIdSpecified: Option<bool>,
    IsAccountAdministrator: Option<bool>,
    BackupEmail: Option<String>,
    IsOnDuty: Option<bool>,
    CultureName: Option<String>,
    CultureNameSpecified: Option<bool>,
    TimeZoneId: Option<i32>,
    TimeZoneIdSpecified: Option<bool>,
    SmsProvider: Option<String>,
    UseNumericSender: Option<bool>,
    UseNumericSenderSpecified: Option<bool>,
    AllowNativeLogin: Option<bool>,
    AllowNativeLoginSpecified: Option<bool>,
    AllowSingleSignon: Option<bool>,
    AllowSingleSignonSpecified: Option<bool>,
    DefaultDashboard: Option<String>,
    SetupMode: Option<String>,
    // coffre's extensions (SPEC §5).
    Login: String,
    IsActive: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)]
struct OperatorGroup {
    OperatorGroupGuid: Option<String>,
    Description: Option<String>,
    IsEveryone: Option<bool>,
    IsAdministratorsGroup: Option<bool>,
}

// ---------------------------------------------------------------------------
// A client as generated: Basic auth with any user name.

async fn call(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> Res {
    let mut req = app
        .client
        .request(method, app.url(path))
        .basic_auth("uptrends-api-user", Some(&app.admin_key));
    if let Some(body) = body {
        req = req.json(body);
    }
    read(req.send().await.unwrap()).await
}

async fn get(app: &TestApp, path: &str) -> Res {
    call(app, Method::GET, path, None).await
}

async fn delete(app: &TestApp, path: &str) -> Res {
    call(app, Method::DELETE, path, None).await
}

async fn post(app: &TestApp, path: &str, body: Value) -> Res {
    call(app, Method::POST, path, Some(&body)).await
}

async fn put(app: &TestApp, path: &str, body: Value) -> Res {
    call(app, Method::PUT, path, Some(&body)).await
}

async fn patch(app: &TestApp, path: &str, body: Value) -> Res {
    call(app, Method::PATCH, path, Some(&body)).await
}

/// Decodes `res.body` strictly as the model `T`.
#[track_caller]
fn decode<T: DeserializeOwned>(res: &Res) -> T {
    serde_json::from_value(res.body.clone()).unwrap_or_else(|e| {
        panic!(
            "does not decode as {}: {e}\n{}",
            std::any::type_name::<T>(),
            res.text
        )
    })
}

async fn default_section(app: &TestApp) -> String {
    let res = get(app, "/v4/VaultSection").await.expect(200);
    let sections: Vec<VaultSection> = decode(&res);
    sections[0].VaultSectionGuid.clone()
}

/// `body` with every listed field added, at the zero value a client that
/// sends all properties gives an unset one.
fn with_zero_values(body: Value, zeros: Value) -> Value {
    let mut out = zeros;
    for (k, v) in body.as_object().unwrap() {
        out[k] = v.clone();
    }
    out
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[tokio::test]
async fn vault_items_of_every_type_round_trip_through_the_model() {
    let app = spawn_app().await;
    let s = default_section(&app).await;
    let pfx = pfx_base64("pw", false);
    let pem = pem_certificate("/CN=sso.example.com");
    // Every optional field of the model, unset, as a client that sends all
    // properties sends it.
    let zeros = json!({
        "VaultItemGuid": "", "Hash": "", "Name": "", "Value": "", "VaultSectionGuid": "",
        "Notes": "", "UserName": "", "Password": "",
        "CertificateArchive": null, "FileInfo": null, "OneTimePasswordInfo": null
    });
    let cases: Vec<(&str, VaultItemTypes, Value)> = vec![
        (
            "credential set",
            VaultItemTypes::CredentialSet,
            json!({"UserName": "shop@acme.com", "Password": "s3cret"}),
        ),
        (
            "certificate",
            VaultItemTypes::Certificate,
            json!({"Value": pem}),
        ),
        (
            "certificate archive (NotBefore/NotAfter nil maps: null)",
            VaultItemTypes::CertificateArchive,
            json!({"CertificateArchive": {"NotBefore": null, "NotAfter": null, "Password": "pw", "ArchiveData": pfx}}),
        ),
        (
            "file (Size required: 0)",
            VaultItemTypes::File,
            json!({"FileInfo": {"Name": "data.csv", "Data": B64.encode("a,b\n1,2\n"), "Size": 0}}),
        ),
        (
            "one-time password (Digits, Period, HashAlgorithm unset: 0, 0, \"\")",
            VaultItemTypes::OneTimePassword,
            json!({"OneTimePasswordInfo": {"Secret": "JBSWY3DPEHPK3PXP", "Digits": 0, "Period": 0, "HashAlgorithm": ""}}),
        ),
        (
            "one-time password (Digits, Period, HashAlgorithm set)",
            VaultItemTypes::OneTimePassword,
            json!({"OneTimePasswordInfo": {"Secret": "JBSWY3DPEHPK3PXP", "Digits": 8, "Period": 60, "HashAlgorithm": "SHA256"}}),
        ),
    ];
    for (what, t, fields) in cases {
        let mut minimal = fields.clone();
        minimal["Name"] = json!(what);
        minimal["VaultSectionGuid"] = json!(s);
        minimal["VaultItemType"] = json!(t);
        let full = with_zero_values(minimal.clone(), zeros.clone());
        for (shape, body) in [("omitempty", minimal), ("all properties", full)] {
            let res = post(&app, "/v4/VaultItem", body.clone()).await;
            assert_eq!(res.status, 201, "{what}, {shape}: {}", res.text);
            let created: VaultItem = decode(&res);
            let guid = created.VaultItemGuid.clone().unwrap();
            let got = get(&app, &format!("/v4/VaultItem/{guid}"))
                .await
                .expect(200);
            let item: VaultItem = decode(&got);
            assert_eq!(item.VaultItemType, Some(t), "{what}");
            assert_eq!(item.Hash, created.Hash, "{what}: Hash of the same state");
            // The sub-object of the item's own type is filled; the others are null.
            assert_eq!(
                (
                    item.CertificateArchive.is_some(),
                    item.FileInfo.is_some(),
                    item.OneTimePasswordInfo.is_some()
                ),
                (
                    t == VaultItemTypes::CertificateArchive,
                    t == VaultItemTypes::File,
                    t == VaultItemTypes::OneTimePassword
                ),
                "{what}: {}",
                got.text
            );
            if let Some(otp) = &item.OneTimePasswordInfo {
                let expected = if what.contains("unset") {
                    (6, 30, HashAlgorithm::SHA1)
                } else {
                    (8, 60, HashAlgorithm::SHA256)
                };
                assert_eq!((otp.Digits, otp.Period, otp.HashAlgorithm), expected);
            }
            if let Some(file) = &item.FileInfo {
                assert_eq!(file.Size, 8);
            }
            if let Some(archive) = &item.CertificateArchive {
                assert!(
                    chrono::DateTime::parse_from_rfc3339(&archive.NotAfter).is_ok(),
                    "{}",
                    archive.NotAfter
                );
            }
            // The answer sent back as a PUT (Hash and all) changes nothing.
            let mut echo = got.body.clone();
            let obj = echo.as_object_mut().unwrap();
            obj.remove("VaultItemUsedBy");
            obj.remove("IsSensitive");
            if let Some(otp) = obj
                .get_mut("OneTimePasswordInfo")
                .and_then(Value::as_object_mut)
            {
                otp.remove("SecretEncodingMethod");
            }
            put(&app, &format!("/v4/VaultItem/{guid}"), echo.clone())
                .await
                .expect(204);
            let again = get(&app, &format!("/v4/VaultItem/{guid}"))
                .await
                .expect(200);
            assert_eq!(again.body, got.body, "{what}: a GET sent back as PUT");
        }
    }
    // The list decodes as the model too.
    let list = get(&app, "/v4/VaultItem").await.expect(200);
    let items: Vec<VaultItem> = decode(&list);
    assert_eq!(items.len(), 12);
}

#[tokio::test]
async fn ids_sent_empty_null_or_nil_on_a_create_mean_not_sent() {
    let app = spawn_app().await;
    let s = default_section(&app).await;
    for (n, id) in [json!(""), json!(null), json!(NIL)].into_iter().enumerate() {
        let res = post(
            &app,
            "/v4/VaultSection",
            json!({"VaultSectionGuid": id, "Name": format!("Section {n}")}),
        )
        .await;
        assert_eq!(res.status, 201, "VaultSectionGuid {id}: {}", res.text);
        let section: VaultSection = decode(&res);
        assert_ne!(section.VaultSectionGuid, NIL);

        let res = post(&app, "/v4/VaultItem", json!({"VaultItemGuid": id, "Name": format!("Item {n}"), "VaultSectionGuid": s, "VaultItemType": "CredentialSet", "UserName": "u"})).await;
        assert_eq!(res.status, 201, "VaultItemGuid {id}: {}", res.text);
        let item = decode::<VaultItem>(&res).VaultItemGuid.unwrap();

        let res = post(
            &app,
            "/v4/Operator",
            json!({"OperatorGuid": id, "FullName": "Op", "Email": format!("op{n}@example.com")}),
        )
        .await;
        assert_eq!(res.status, 201, "OperatorGuid {id}: {}", res.text);
        let operator = decode::<Operator>(&res).OperatorGuid.unwrap();

        let res = post(
            &app,
            "/v4/OperatorGroup",
            json!({"OperatorGroupGuid": id, "Description": format!("Group {n}")}),
        )
        .await;
        assert_eq!(res.status, 201, "OperatorGroupGuid {id}: {}", res.text);
        let group = decode::<OperatorGroup>(&res).OperatorGroupGuid.unwrap();

        // An operator grant: the group id is the one not sent, and the other way round.
        for body in [
            json!({"AuthorizationId": id, "AuthorizationType": "ViewVaultSection", "OperatorGuid": operator, "OperatorGroupGuid": id}),
            json!({"AuthorizationId": id, "AuthorizationType": "ChangeVaultSection", "OperatorGuid": id, "OperatorGroupGuid": group}),
        ] {
            let res = post(
                &app,
                &format!(
                    "/v4/VaultSection/{}/Authorization",
                    section.VaultSectionGuid
                ),
                body.clone(),
            )
            .await;
            assert_eq!(res.status, 201, "{body}: {}", res.text);
            decode::<VaultSectionAuthorization>(&res);
        }

        let res = post(
            &app,
            &format!("/v4/VaultItem/{item}/Usage"),
            json!({"UsageGuid": id, "ConsumerType": "monitor", "ConsumerName": "m"}),
        )
        .await;
        assert_eq!(res.status, 201, "UsageGuid {id}: {}", res.text);

        let res = post(&app, "/v4/ApiKey", json!({"ApiKeyGuid": id, "Name": "k", "ContactLogin": format!("k{n}"), "ContactEmail": format!("k{n}@example.com")}))
        .await;
        assert_eq!(res.status, 201, "ApiKeyGuid {id}: {}", res.text);
    }
    // A real id on a create is still refused, and a malformed one named.
    let res = post(
        &app,
        "/v4/VaultSection",
        json!({"VaultSectionGuid": "8D4BAED2-56C2-4220-B36D-00013511D234", "Name": "x"}),
    )
    .await
    .expect(400);
    assert_eq!(res.code(), "GuidNotSettable");
    let res = post(
        &app,
        "/v4/VaultSection",
        json!({"VaultSectionGuid": "not-a-guid", "Name": "x"}),
    )
    .await
    .expect(400);
    assert!(res.message().contains("VaultSectionGuid"), "{}", res.text);
}

#[tokio::test]
async fn authorizations_carry_the_group_under_both_names() {
    let app = spawn_app().await;
    let s = default_section(&app).await;
    let list = get(&app, &format!("/v4/VaultSection/{s}/Authorization"))
        .await
        .expect(200);
    let grants: Vec<VaultSectionAuthorization> = decode(&list);
    assert_eq!(grants.len(), 2, "Administrators: View and Change");
    for g in &grants {
        assert_eq!(
            g.OperatorGroupGuid.as_deref(),
            Some(g.OperatorGroupId.as_str())
        );
        assert_eq!(g.OperatorGuid.as_deref(), Some(""));
        assert_eq!(g.ContextId, s);
    }
    // An operator grant: both group names are "".
    let op = post(
        &app,
        "/v4/Operator",
        json!({"FullName": "Viewer", "Email": "viewer@example.com"}),
    )
    .await
    .expect(201);
    let op = decode::<Operator>(&op).OperatorGuid.unwrap();
    let res = post(
        &app,
        &format!("/v4/VaultSection/{s}/Authorization"),
        json!({"AuthorizationType": "ViewVaultSection", "OperatorGuid": op}),
    )
    .await
    .expect(201);
    let grant: VaultSectionAuthorization = decode(&res);
    assert_eq!(
        (
            grant.OperatorGuid.as_deref(),
            grant.OperatorGroupGuid.as_deref(),
            grant.OperatorGroupId.as_str()
        ),
        (Some(op.as_str()), Some(""), "")
    );
}

#[tokio::test]
async fn operators_log_in_with_their_e_mail_unless_given_a_login() {
    let app = spawn_app().await;
    // As the generated Go client sends it: the two fields set, nothing else.
    let res = post(
        &app,
        "/v4/Operator",
        json!({"FullName": "x", "Email": "x@example.com"}),
    )
    .await
    .expect(201);
    let op: Operator = decode(&res);
    assert_eq!(op.Login, "x@example.com");
    let guid = op.OperatorGuid.unwrap();

    // Still unique, case-insensitively, against logins and e-mails alike.
    let res = post(
        &app,
        "/v4/Operator",
        json!({"FullName": "y", "Email": "X@EXAMPLE.COM"}),
    )
    .await
    .expect(409);
    assert_eq!(res.code(), "EmailTaken");
    let res = post(
        &app,
        "/v4/Operator",
        json!({"FullName": "y", "Email": "y@example.com", "Login": "X@Example.com"}),
    )
    .await
    .expect(409);
    assert_eq!(res.code(), "LoginTaken");

    // A login that is the e-mail address follows it; a chosen one stays.
    put(
        &app,
        &format!("/v4/Operator/{guid}"),
        json!({"OperatorGuid": guid, "FullName": "x", "Email": "x2@example.com"}),
    )
    .await
    .expect(204);
    let got = get(&app, &format!("/v4/Operator/{guid}")).await.expect(200);
    assert_eq!(decode::<Operator>(&got).Login, "x2@example.com");
    patch(
        &app,
        &format!("/v4/Operator/{guid}"),
        json!({"Login": "xavier"}),
    )
    .await
    .expect(204);
    patch(
        &app,
        &format!("/v4/Operator/{guid}"),
        json!({"Email": "x3@example.com"}),
    )
    .await
    .expect(204);
    let got = get(&app, &format!("/v4/Operator/{guid}")).await.expect(200);
    let op: Operator = decode(&got);
    assert_eq!(
        (op.Login.as_str(), op.Email.as_deref()),
        ("xavier", Some("x3@example.com"))
    );
}

#[tokio::test]
async fn fields_of_the_published_models_are_accepted_and_ignored_and_others_refused() {
    let app = spawn_app().await;
    let s = default_section(&app).await;
    // Every field of Uptrends' Operator model, with what a client sends.
    let operator = json!({
        "OperatorGuid": "", "Hash": "", "Password": "Never-stored-1", "FullName": "Full",
        "Email": "full@example.com", "MobilePhone": "+31600000000", "OutgoingPhoneNumberId": 0,
        "OutgoingPhoneNumberIdSpecified": false, "IsAccountAdministrator": false,
        "BackupEmail": "backup@example.com", "IsOnDuty": true, "CultureName": "nl-NL",
        "CultureNameSpecified": true, "TimeZoneId": 6, "TimeZoneIdSpecified": true,
        "SmsProvider": "UseAccountSetting", "UseNumericSender": false,
        "UseNumericSenderSpecified": false, "AllowNativeLogin": true,
        "AllowNativeLoginSpecified": true, "AllowSingleSignon": false,
        "AllowSingleSignonSpecified": false, "DefaultDashboard": "UseAccountSpecifiedDashboard",
        "SetupMode": "Manual"
    });
    let res = post(&app, "/v4/Operator", operator.clone()).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let op: Operator = decode(&res);
    assert!(!res.text.contains("Never-stored-1") && !res.text.contains("+316"));
    let guid = op.OperatorGuid.unwrap();
    // ... on PUT and PATCH too.
    let mut replaced = operator.clone();
    replaced["OperatorGuid"] = json!(guid);
    replaced["FullName"] = json!("Fuller");
    put(&app, &format!("/v4/Operator/{guid}"), replaced)
        .await
        .expect(204);
    patch(
        &app,
        &format!("/v4/Operator/{guid}"),
        json!({"MobilePhone": "", "IsOnDuty": false}),
    )
    .await
    .expect(204);

    let res = post(&app, "/v4/OperatorGroup", json!({"OperatorGroupGuid": "", "Description": "Everyone-ish", "IsEveryone": true, "IsAdministratorsGroup": false}))
    .await;
    assert_eq!(res.status, 201, "{}", res.text);
    decode::<OperatorGroup>(&res);

    let res = post(&app, "/v4/VaultItem", json!({"Hash": "ABC", "Name": "h", "VaultSectionGuid": s, "VaultItemType": "CredentialSet"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_ne!(decode::<VaultItem>(&res).Hash.as_deref(), Some("ABC"));

    // A field in neither model: still a 400 naming it, and nothing created.
    for (path, body, field) in [
        (
            "/v4/Operator",
            json!({"FullName": "n", "Email": "n@example.com", "OperatorRole": "Admin"}),
            "OperatorRole",
        ),
        (
            "/v4/Operator",
            json!({"FullName": "n", "Email": "n@example.com", "Nickname": "n"}),
            "Nickname",
        ),
        (
            "/v4/OperatorGroup",
            json!({"Description": "n", "IsHidden": true}),
            "IsHidden",
        ),
        ("/v4/VaultSection", json!({"Name": "n", "Hash": ""}), "Hash"),
        (
            "/v4/VaultItem",
            json!({"Name": "n", "VaultSectionGuid": s, "VaultItemType": "CredentialSet", "Checksum": "x"}),
            "Checksum",
        ),
    ] {
        let res = post(&app, path, body.clone()).await.expect(400);
        assert!(res.message().contains(field), "{path}: {}", res.text);
    }
    let ops = get(&app, "/v4/Operator").await.expect(200);
    assert!(!ops.text.contains("n@example.com"));
}

async fn item_hash(app: &TestApp, path: &str) -> String {
    let res = get(app, path).await.expect(200);
    decode::<VaultItem>(&res).Hash.unwrap()
}

#[tokio::test]
async fn hash_changes_exactly_when_a_get_would_show_a_change() {
    let app = spawn_app().await;
    let s = default_section(&app).await;
    let res = post(&app, "/v4/VaultItem", json!({"Name": "h", "VaultSectionGuid": s, "VaultItemType": "CredentialSet", "UserName": "u", "Password": "p1"})).await.expect(201);
    let guid = decode::<VaultItem>(&res).VaultItemGuid.unwrap();
    let path = format!("/v4/VaultItem/{guid}");
    let h0 = item_hash(&app, &path).await;
    assert_eq!(item_hash(&app, &path).await, h0, "stable across reads");

    // Only the secret changes: a GET shows nothing new, so neither does Hash.
    patch(&app, &path, json!({"Password": "p2"}))
        .await
        .expect(204);
    assert_eq!(
        item_hash(&app, &path).await,
        h0,
        "a new password is not visible"
    );

    // Each visible change shows.
    let mut seen = vec![h0.clone()];
    for body in [
        json!({"Notes": "n"}),
        json!({"UserName": "u2"}),
        json!({"Name": "h2"}),
    ] {
        patch(&app, &path, body.clone()).await.expect(204);
        let h = item_hash(&app, &path).await;
        assert!(!seen.contains(&h), "{body}: Hash did not change");
        seen.push(h);
    }
    // Registering a use changes VaultItemUsedBy, which a GET shows.
    let usage = post(
        &app,
        &format!("{path}/Usage"),
        json!({"ConsumerType": "monitor", "ConsumerName": "m"}),
    )
    .await
    .expect(201);
    let in_use = item_hash(&app, &path).await;
    assert!(!seen.contains(&in_use));
    let usage_guid = usage.guid("UsageGuid");
    delete(&app, &format!("{path}/Usage/{usage_guid}"))
        .await
        .expect(204);
    assert_eq!(
        item_hash(&app, &path).await,
        *seen.last().unwrap(),
        "back to the same visible state, back to the same Hash"
    );
    // The list shows the same Hash as the item.
    let list = get(&app, "/v4/VaultItem").await.expect(200);
    let items: Vec<VaultItem> = decode(&list);
    assert_eq!(
        items[0].Hash.as_deref(),
        Some(seen.last().unwrap().as_str())
    );

    // Operators: the same rule.
    let res = post(
        &app,
        "/v4/Operator",
        json!({"FullName": "o", "Email": "o@example.com"}),
    )
    .await
    .expect(201);
    let op: Operator = decode(&res);
    let (op_guid, op_hash) = (op.OperatorGuid.unwrap(), op.Hash.unwrap());
    let op_path = format!("/v4/Operator/{op_guid}");
    patch(
        &app,
        &op_path,
        json!({"FullName": "o", "MobilePhone": "+1"}),
    )
    .await
    .expect(204);
    let got = get(&app, &op_path).await.expect(200);
    assert_eq!(decode::<Operator>(&got).Hash.unwrap(), op_hash);
    patch(&app, &op_path, json!({"IsActive": false}))
        .await
        .expect(204);
    let got = get(&app, &op_path).await.expect(200);
    assert_ne!(decode::<Operator>(&got).Hash.unwrap(), op_hash);
}

#[tokio::test]
async fn the_api_description_says_which_fields_are_accepted_and_ignored() {
    let app = spawn_app().await;
    let doc = app.openapi_document().await;
    let schemas = &doc["components"]["schemas"];
    let ignored = |schema: &str, field: &str| {
        let d = schemas[schema]["properties"][field]["description"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{field} undocumented"));
        assert!(d.contains("ignored"), "{schema}.{field}: {d}");
    };
    for f in [
        "Hash",
        "Password",
        "MobilePhone",
        "OutgoingPhoneNumberId",
        "OutgoingPhoneNumberIdSpecified",
        "IsAccountAdministrator",
        "BackupEmail",
        "IsOnDuty",
        "CultureName",
        "CultureNameSpecified",
        "TimeZoneId",
        "TimeZoneIdSpecified",
        "SmsProvider",
        "UseNumericSender",
        "UseNumericSenderSpecified",
        "DefaultDashboard",
        "AllowNativeLogin",
        "AllowNativeLoginSpecified",
        "AllowSingleSignon",
        "AllowSingleSignonSpecified",
        "SetupMode",
    ] {
        ignored("OperatorInput", f);
    }
    ignored("OperatorGroupInput", "IsEveryone");
    ignored("VaultItemInput", "Hash");
    assert_eq!(schemas["OperatorInput"]["additionalProperties"], false);
    for sub in ["CertificateArchive", "FileInfo", "OneTimePasswordInfo"] {
        let p = &schemas["VaultItem"]["properties"][sub];
        assert!(
            p.to_string().contains("\"null\""),
            "VaultItem.{sub} is nullable: {p}"
        );
    }
    assert!(
        schemas["Authorization"]["required"]
            .as_array()
            .unwrap()
            .contains(&json!("OperatorGroupGuid"))
    );
}
