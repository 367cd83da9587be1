//! Reading a seed file: TOML whose top-level arrays of tables are named
//! after the API's objects, each entry the body of that object's create
//! request plus its id field, by-name references and secrets read from
//! files. Everything that can be checked without a database is checked
//! here, before anything is written: the TOML, the entry kinds, every field
//! (by parsing the entry into the API's own input type), the files, the keys
//! and the certificate archives (opened with their password).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::accounts::api_keys::ApiKeyInput;
use crate::accounts::groups::OperatorGroupInput;
use crate::accounts::operators::OperatorInput;
use crate::crypto::{Token, TokenKind};
use crate::error::AppError;
use crate::types::Guid;
use crate::vault::authorizations::AuthorizationInput;
use crate::vault::encoding;
use crate::vault::items::{self, VaultItemInput};
use crate::vault::pfx::{self, ArchiveInfo};
use crate::vault::sections::VaultSectionInput;

/// The objects a seed declares, in the order they are created: a key
/// creates its operator, which groups and grants can then name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Operator,
    ApiKey,
    OperatorGroup,
    VaultSection,
    Authorization,
    VaultItem,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Operator,
        Kind::ApiKey,
        Kind::OperatorGroup,
        Kind::VaultSection,
        Kind::Authorization,
        Kind::VaultItem,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Operator => "Operator",
            Kind::ApiKey => "ApiKey",
            Kind::OperatorGroup => "OperatorGroup",
            Kind::VaultSection => "VaultSection",
            Kind::Authorization => "Authorization",
            Kind::VaultItem => "VaultItem",
        }
    }

    /// The field that fixes the object's GUID.
    pub fn id_field(self) -> &'static str {
        match self {
            Kind::Operator => "OperatorGuid",
            Kind::ApiKey => "ApiKeyGuid",
            Kind::OperatorGroup => "OperatorGroupGuid",
            Kind::VaultSection => "VaultSectionGuid",
            Kind::Authorization => "AuthorizationId",
            Kind::VaultItem => "VaultItemGuid",
        }
    }

    /// The field that names an entry in messages.
    fn name_field(self) -> Option<&'static str> {
        match self {
            Kind::Operator => Some("FullName"),
            Kind::ApiKey | Kind::VaultSection | Kind::VaultItem => Some("Name"),
            Kind::OperatorGroup => Some("Description"),
            Kind::Authorization => None,
        }
    }

    /// The fields a seed adds to the API's create body, by kind.
    fn seed_fields(self) -> &'static [&'static str] {
        match self {
            Kind::Operator | Kind::VaultSection => &[],
            Kind::ApiKey => &["Key"],
            Kind::OperatorGroup => &["Members"],
            Kind::Authorization => &[
                "VaultSectionGuid",
                "VaultSection",
                "Operator",
                "OperatorGroup",
            ],
            Kind::VaultItem => &["VaultSection", "ValueFile"],
        }
    }
}

/// References by name, and what the entry's files and key held.
#[derive(Default)]
pub struct Refs {
    /// `VaultSection = "<Name>"`.
    pub section: Option<String>,
    /// `[[Authorization]]`'s `VaultSectionGuid` (the URL's section in the API).
    pub section_guid: Option<Guid>,
    /// `Operator = "<Login or Email>"`.
    pub operator: Option<String>,
    /// `OperatorGroup = "<Description>"`.
    pub group: Option<String>,
    /// `[[OperatorGroup]]`'s `Members`, by login or e-mail.
    pub members: Vec<String>,
    /// `[[ApiKey]]`'s `Key`, checked well-formed.
    pub key: Option<Zeroizing<String>>,
    /// A certificate archive, opened.
    pub archive: Option<ArchiveInfo>,
}

pub struct Entry {
    pub kind: Kind,
    /// Where it is, for messages: `seed.toml: [[VaultItem]] #3 "Shop login"`.
    pub label: String,
    /// The API's create body, id field included, files read.
    pub body: Map<String, Value>,
    pub refs: Refs,
}

/// A seed file, read and checked.
pub struct Seed {
    pub path: PathBuf,
    /// In the order they are applied.
    pub entries: Vec<Entry>,
}

/// A file as big as the largest thing an item can hold, in base64, and then some.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The body as the API's input type, or what is wrong with it (naming the field).
pub fn parse_body<T: DeserializeOwned>(body: &Map<String, Value>) -> Result<T, String> {
    serde_path_to_error::deserialize(Value::Object(body.clone())).map_err(|e| {
        let path = e.path().to_string();
        // Never a value from the file in a message: it could be a secret.
        let inner = crate::validate::redact(&e.into_inner().to_string());
        // serde names unknown fields itself; others get their path.
        if path == "." || inner.contains("unknown field") {
            inner
        } else {
            format!("{path}: {inner}")
        }
    })
}

fn to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        // A date written bare (ExpirationDate = 2030-01-31) means its text.
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, to_json(v))).collect())
        }
    }
}

impl Seed {
    pub fn load(path: &Path) -> Result<Seed, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the seed file {shown}: {e}"))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(line) => format!("{shown}: line {line}: {}", e.message()),
                None => format!("{shown}: {}", e.message()),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut archives = Archives::default();
        let mut entries = Vec::new();
        for (name, value) in table {
            let kind = Kind::ALL
                .into_iter()
                .find(|k| k.name() == name)
                .ok_or_else(|| {
                    format!(
                        "{shown}: unknown object `{name}`; a seed declares [[Operator]], \
                         [[ApiKey]], [[OperatorGroup]], [[VaultSection]], [[Authorization]] \
                         and [[VaultItem]] entries"
                    )
                })?;
            let toml::Value::Array(list) = value else {
                return Err(format!(
                    "{shown}: `{name}` must be an array of tables: write each entry as [[{name}]]"
                ));
            };
            for (n, value) in list.into_iter().enumerate() {
                let Value::Object(body) = to_json(value) else {
                    return Err(format!("{shown}: [[{name}]] #{} is not a table", n + 1));
                };
                let label = match kind.name_field().and_then(|f| body.get(f)?.as_str()) {
                    Some(named) => format!("{shown}: [[{name}]] #{} {named:?}", n + 1),
                    None => format!("{shown}: [[{name}]] #{}", n + 1),
                };
                let entry = read_entry(kind, label, body, base, &mut archives)?;
                entries.push(entry);
            }
        }
        // Applied kind by kind, each in the file's order.
        entries.sort_by_key(|e| e.kind);
        Ok(Seed {
            path: path.to_path_buf(),
            entries,
        })
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.entries.iter().filter(|e| e.kind == kind).count()
    }
}

fn text_field(
    body: &mut Map<String, Value>,
    field: &str,
    label: &str,
) -> Result<Option<String>, String> {
    match body.remove(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{label}: {field} must be a string")),
    }
}

/// Reads a file named relative to the seed file.
fn read_file(base: &Path, name: &str, field: &str, label: &str) -> Result<Vec<u8>, String> {
    let path = base.join(name);
    let fail = |e: std::io::Error| format!("{label}: {field}: cannot read {}: {e}", path.display());
    let size = std::fs::metadata(&path).map_err(fail)?.len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "{label}: {field}: {} is {size} bytes; a vault item holds at most 2 MiB",
            path.display()
        ));
    }
    std::fs::read(&path).map_err(fail)
}

/// Archives already opened, by digest of their bytes and password: a seed
/// that reuses one fixture opens it once.
#[derive(Default)]
struct Archives(HashMap<[u8; 32], ArchiveInfo>);

impl Archives {
    fn inspect(&mut self, data: &[u8], password: &str) -> Result<ArchiveInfo, AppError> {
        let mut digest = Sha256::new();
        digest.update((data.len() as u64).to_be_bytes());
        digest.update(data);
        digest.update(password.as_bytes());
        let id: [u8; 32] = digest.finalize().into();
        if let Some(info) = self.0.get(&id) {
            return Ok(info.clone());
        }
        let info = pfx::inspect(data, password)?;
        self.0.insert(id, info.clone());
        Ok(info)
    }
}

fn read_entry(
    kind: Kind,
    label: String,
    mut body: Map<String, Value>,
    base: &Path,
    archives: &mut Archives,
) -> Result<Entry, String> {
    let mut refs = Refs::default();
    for field in kind.seed_fields() {
        match *field {
            "Key" => {
                let key = text_field(&mut body, field, &label)?.ok_or_else(|| {
                    format!(
                        "{label}: Key is required: the key that will work, a well-formed coffre \
                         key (`coffre keygen` prints one)"
                    )
                })?;
                if Token::parse(TokenKind::ApiKey, &key).is_none() {
                    return Err(format!(
                        "{label}: Key is not a well-formed coffre key (a typo or a truncated \
                         key fails its checksum); `coffre keygen` prints one"
                    ));
                }
                refs.key = Some(Zeroizing::new(key));
            }
            "Members" => {
                refs.members = match body.remove(*field) {
                    None => Vec::new(),
                    Some(Value::Array(names)) => names
                        .into_iter()
                        .map(|n| match n {
                            Value::String(s) => Ok(s),
                            _ => Err(format!(
                                "{label}: Members must be a list of logins or e-mail addresses"
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                    Some(_) => {
                        return Err(format!(
                            "{label}: Members must be a list of logins or e-mail addresses"
                        ));
                    }
                }
            }
            "VaultSectionGuid" => {
                if let Some(text) = text_field(&mut body, field, &label)? {
                    refs.section_guid = Some(
                        Guid::parse(&text)
                            .ok_or_else(|| format!("{label}: VaultSectionGuid is not a GUID"))?,
                    );
                }
            }
            "VaultSection" if kind == Kind::VaultItem => {
                refs.section = text_field(&mut body, field, &label)?;
                if refs.section.is_some() && body.contains_key("VaultSectionGuid") {
                    return Err(format!(
                        "{label}: give VaultSectionGuid or VaultSection (its name), not both"
                    ));
                }
            }
            "VaultSection" => refs.section = text_field(&mut body, field, &label)?,
            "Operator" => refs.operator = text_field(&mut body, field, &label)?,
            "OperatorGroup" => refs.group = text_field(&mut body, field, &label)?,
            "ValueFile" => {
                if let Some(name) = text_field(&mut body, field, &label)? {
                    if body.contains_key("Value") {
                        return Err(format!("{label}: give Value or ValueFile, not both"));
                    }
                    let bytes = read_file(base, &name, field, &label)?;
                    let text = String::from_utf8(bytes).map_err(|_| {
                        format!("{label}: ValueFile: {name} is not UTF-8 text (a PEM is)")
                    })?;
                    body.insert("Value".into(), Value::String(text));
                }
            }
            _ => {}
        }
    }
    if kind == Kind::VaultItem {
        read_item_files(&mut body, base, &label)?;
    }
    check_body(kind, &body, &mut refs, &label, archives)?;
    Ok(Entry {
        kind,
        label,
        body,
        refs,
    })
}

/// `CertificateArchive.ArchiveFile` (a .pfx) and `FileInfo.DataFile`, read
/// into the base64 fields the API takes.
fn read_item_files(body: &mut Map<String, Value>, base: &Path, label: &str) -> Result<(), String> {
    for (object, file_field, data_field) in [
        ("CertificateArchive", "ArchiveFile", "ArchiveData"),
        ("FileInfo", "DataFile", "Data"),
    ] {
        let Some(Value::Object(sub)) = body.get_mut(object) else {
            continue;
        };
        let field = format!("{object}.{file_field}");
        let Some(name) = text_field(sub, file_field, label)
            .map_err(|_| format!("{label}: {field} must be a string"))?
        else {
            continue;
        };
        if sub.contains_key(data_field) {
            return Err(format!(
                "{label}: give {object}.{data_field} or {field}, not both"
            ));
        }
        let bytes = Zeroizing::new(read_file(base, &name, &field, label)?);
        sub.insert(data_field.into(), Value::String(encoding::encode(&bytes)));
        // A file keeps its own name unless the entry gives one.
        if object == "FileInfo" && !sub.contains_key("Name") {
            let file_name = Path::new(&name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(name);
            sub.insert("Name".into(), Value::String(file_name));
        }
    }
    Ok(())
}

/// Parses the body into the API's input type, as the API would, and opens
/// a certificate archive.
fn check_body(
    kind: Kind,
    body: &Map<String, Value>,
    refs: &mut Refs,
    label: &str,
    archives: &mut Archives,
) -> Result<(), String> {
    let at = |e: String| format!("{label}: {e}");
    match kind {
        Kind::Operator => drop(parse_body::<OperatorInput>(body).map_err(at)?),
        Kind::ApiKey => drop(parse_body::<ApiKeyInput>(body).map_err(at)?),
        Kind::OperatorGroup => drop(parse_body::<OperatorGroupInput>(body).map_err(at)?),
        Kind::VaultSection => drop(parse_body::<VaultSectionInput>(body).map_err(at)?),
        Kind::Authorization => drop(parse_body::<AuthorizationInput>(body).map_err(at)?),
        Kind::VaultItem => {
            let input: VaultItemInput = parse_body(body).map_err(at)?;
            let describe = |e: AppError| {
                let messages: Vec<&str> = e.messages().iter().map(|m| m.message.as_str()).collect();
                format!("{label}: {}", messages.join(" "))
            };
            if let Some(archive) = items::new_archive_to_check(&input).map_err(describe)? {
                refs.archive = Some(
                    archives
                        .inspect(&archive.data, &archive.password)
                        .map_err(describe)?,
                );
            }
        }
    }
    Ok(())
}
