//! PostgreSQL: a session (one client and the statements it has prepared),
//! how our values are bound and read, the `?N` → `$N` translation of the
//! common SQL, and the pool's connection manager. Repositories never see any
//! of it: they go through `Conn`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error;
use std::path::Path;
use std::str::FromStr;

use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use super::pg_tls::{self, CertificateRefused, MakeRustls, Roots, SslMode};
use super::value::ValueRef;

/// A checked `database_url`: the driver's settings and, unless
/// `sslmode=disable`, the TLS connector that verifies as the mode asks.
#[derive(Clone)]
pub struct Target {
    pub config: postgres::Config,
    tls: Option<MakeRustls>,
}

/// Says nothing of the URL (it may hold a password).
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// Checks a `database_url` (and the CA file, `database_ca_file`) without
/// connecting; the error says what is wrong (never repeating the URL, which
/// may hold a password).
pub fn check_url(url: &str, ca_file: Option<&Path>) -> Result<Target, String> {
    let (rest, mode, root_cert) = take_tls_options(url)?;
    let mut config = postgres::Config::from_str(&rest).map_err(|e| {
        format!(
            "database_url is not a PostgreSQL connection string ({e}): give \
             postgres://USER@HOST:PORT/DATABASE"
        )
    })?;
    if config.get_dbname().is_none() {
        return Err("database_url names no database: end it with /DATABASE".into());
    }
    // libpq's default: TLS when the server offers it.
    let mode = mode.unwrap_or(SslMode::Prefer);
    config.ssl_mode(mode.for_driver());
    let roots = match (ca_file, root_cert.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(
                "the CA is given twice: set database_ca_file or sslrootcert= in \
                        database_url, not both"
                    .into(),
            );
        }
        (Some(file), None) => Some(Roots::File(file)),
        (None, Some("system")) => Some(Roots::System),
        (None, Some(file)) => Some(Roots::File(Path::new(file))),
        (None, None) => None,
    };
    let tls = pg_tls::connector(mode, roots)?;
    Ok(Target { config, tls })
}

/// `sslmode` and `sslrootcert` taken out of a connection string (the driver
/// knows neither `verify-*` nor `sslrootcert`): the rest, the mode, the CA.
/// URL form (`postgres://…?sslmode=…`) or key=value form (`sslmode=…`).
fn take_tls_options(url: &str) -> Result<(String, Option<SslMode>, Option<String>), String> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: String| -> Result<bool, String> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(&value)?),
            "sslrootcert" => root_cert = Some(value),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_string(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&') {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    let value = percent_encoding::percent_decode_str(value)
                        .decode_utf8_lossy()
                        .into_owned();
                    if !take(key, value)? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for token in url.split_whitespace() {
            let (key, value) = token.split_once('=').unwrap_or((token, ""));
            if !take(key.trim(), value.trim_matches('\'').to_string())? {
                kept.push(token);
            }
        }
        kept.join(" ")
    };
    Ok((rest, mode, root_cert))
}

/// What an error at connection time says about the configuration (a refused
/// certificate, a server that wants TLS or has none), as opposed to a
/// server that is down: such a start is refused as a usage error.
pub fn configuration_problem(e: &postgres::Error) -> Option<String> {
    if let Some(refused) = e
        .source()
        .and_then(|s| s.downcast_ref::<CertificateRefused>())
    {
        return Some(refused.to_string());
    }
    if let Some(db) = e.as_db_error()
        && *db.code() == postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        && db.message().contains("no encryption")
    {
        return Some(format!(
            "the PostgreSQL server accepts this connection only over TLS ({}): remove \
             sslmode=disable from database_url, or set sslmode=verify-full with \
             database_ca_file",
            db.message()
        ));
    }
    if e.to_string().contains("server does not support TLS") {
        return Some(
            "the PostgreSQL server does not offer TLS, and database_url's sslmode asks for \
             it: turn ssl on in the server's postgresql.conf, or connect over a loopback or \
             Unix socket with sslmode=disable"
                .into(),
        );
    }
    None
}

/// One connection and its prepared statements (prepared once per SQL text).
pub struct PgSession {
    /// Always there until the session is dropped.
    client: Option<Client>,
    statements: HashMap<String, Statement>,
}

/// Closing a client blocks on the driver's own runtime, which cannot run
/// inside another: a session dropped on an async worker (the last handle to
/// the database, the pool's last connection) is closed on a thread of its own.
impl Drop for PgSession {
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let _ = std::thread::Builder::new()
                .name("coffre-pg-close".into())
                .spawn(move || drop(client));
        }
    }
}

impl PgSession {
    pub fn connect(target: &Target) -> Result<PgSession, postgres::Error> {
        let client = match &target.tls {
            None => target.config.connect(NoTls)?,
            Some(tls) => target.config.connect(tls.clone())?,
        };
        Ok(PgSession {
            client: Some(client),
            statements: HashMap::new(),
        })
    }

    #[allow(
        clippy::expect_used,
        reason = "the client is taken only by into_client and drop, which consume the session"
    )]
    pub fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a session's client lives as long as it")
    }

    /// The client alone (a listening connection prepares no statement).
    #[allow(
        clippy::expect_used,
        reason = "the client is taken only here and by drop, which consume the session"
    )]
    pub fn into_client(mut self) -> Client {
        self.client
            .take()
            .expect("a session's client lives as long as it")
    }

    pub fn is_closed(&self) -> bool {
        self.client.as_ref().is_none_or(Client::is_closed)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client().prepare(&placeholders(sql))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    pub fn execute(&mut self, sql: &str, params: &[ValueRef<'_>]) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        let bound: Vec<Bound<'_>> = params.iter().map(|v| Bound(*v)).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as _).collect();
        self.client().execute(&statement, &refs)
    }

    pub fn query(
        &mut self,
        sql: &str,
        params: &[ValueRef<'_>],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        let bound: Vec<Bound<'_>> = params.iter().map(|v| Bound(*v)).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as _).collect();
        self.client().query(&statement, &refs)
    }

    pub fn batch(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.client().batch_execute(sql)
    }
}

/// One multi-row INSERT of `rows` into `table` (`migrate --to`), each value
/// converted to its column's type as `Bound` converts parameters.
pub fn insert_rows(
    client: &mut impl postgres::GenericClient,
    table: &str,
    columns: &[String],
    rows: &[Vec<super::Value>],
) -> Result<u64, postgres::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let width = columns.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| {
            let params: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        tuples.join(", ")
    );
    let bound: Vec<Bound<'_>> = rows
        .iter()
        .flat_map(|row| row.iter().map(|v| Bound(v.as_ref())))
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as _).collect();
    client.execute(sql.as_str(), &refs)
}

/// `?N` → `$N` outside quoted text: the one SQL text both engines share.
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '?' => {
                out.push('$');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

/// A value as PostgreSQL binds it: converted to the parameter's type as
/// the server inferred it (an integer 0/1 into a boolean, …).
#[derive(Debug)]
struct Bound<'a>(ValueRef<'a>);

type BoxError = Box<dyn Error + Sync + Send>;

impl ToSql for Bound<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            ValueRef::Null => Ok(IsNull::Yes),
            ValueRef::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                Type::FLOAT4 => (i as f32).to_sql(ty, out),
                _ => text(&i.to_string(), ty, out),
            },
            ValueRef::Real(r) => match *ty {
                Type::FLOAT4 => (r as f32).to_sql(ty, out),
                _ => r.to_sql(&Type::FLOAT8, out),
            },
            ValueRef::Text(t) => text(t, ty, out),
            ValueRef::Blob(b) => {
                out.extend_from_slice(b);
                Ok(IsNull::No)
            }
            ValueRef::Guid(g) => text(&g.to_text(), ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Text, CITEXT, VARCHAR, NAME and untyped parameters all travel as UTF-8.
fn text(t: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL | Type::FLOAT8 | Type::BYTEA => {
            Err(format!("text bound to a {ty} parameter").into())
        }
        _ => {
            out.extend_from_slice(t.as_bytes());
            Ok(IsNull::No)
        }
    }
}

impl<'a> FromSql<'a> for ValueRef<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::BOOL => ValueRef::Integer(i64::from(bool::from_sql(ty, raw)?)),
            Type::INT2 => ValueRef::Integer(i64::from(i16::from_sql(ty, raw)?)),
            Type::INT4 => ValueRef::Integer(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => ValueRef::Integer(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => ValueRef::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => ValueRef::Real(f64::from_sql(ty, raw)?),
            Type::BYTEA => ValueRef::Blob(raw),
            Type::NUMERIC => {
                return Err("a NUMERIC column: cast it to BIGINT in the statement".into());
            }
            _ => ValueRef::Text(std::str::from_utf8(raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(ValueRef::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The pool's manager: each pooled connection is a session of its own.
pub struct Manager {
    pub target: Target,
}

impl r2d2::ManageConnection for Manager {
    type Connection = RefCell<PgSession>;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Self::Connection, Self::Error> {
        PgSession::connect(&self.target).map(RefCell::new)
    }

    fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        conn.get_mut().client().simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.get_mut().is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            placeholders("SELECT '?1', \"a?\" FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', \"a?\" FROM t WHERE a = $1 AND b = $12"
        );
    }

    #[test]
    fn urls_are_checked_without_repeating_them() {
        assert!(check_url("postgres://u:secret@localhost/db", None).is_ok());
        let e = check_url("postgres://u:secret@localhost/db?sslmode=maybe", None).unwrap_err();
        assert!(e.contains("sslmode=maybe") && !e.contains("secret"), "{e}");
        let e = check_url("postgres://u:secret@localhost", None).unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    fn mode_of(url: &str) -> postgres::config::SslMode {
        check_url(url, None).unwrap().config.get_ssl_mode()
    }

    #[test]
    fn every_libpq_sslmode_is_taken_and_the_rest_of_the_url_kept() {
        use postgres::config::SslMode as Driver;
        assert_eq!(mode_of("postgres://u@h/db"), Driver::Prefer);
        assert_eq!(
            mode_of("postgres://u@h/db?sslmode=disable"),
            Driver::Disable
        );
        assert_eq!(
            mode_of("postgres://u@h/db?sslmode=require"),
            Driver::Require
        );
        let t = check_url(
            "postgres://u@h/db?application_name=x&sslmode=verify-full&sslrootcert=system",
            None,
        )
        .unwrap();
        assert_eq!(t.config.get_ssl_mode(), Driver::Require);
        assert_eq!(t.config.get_application_name(), Some("x"));
        assert!(t.tls.is_some());
        assert!(
            check_url("postgres://u@h/db?sslmode=disable", None)
                .unwrap()
                .tls
                .is_none()
        );
        let kv = check_url(
            "host=h dbname=db sslmode=verify-ca sslrootcert=system",
            None,
        )
        .unwrap();
        assert_eq!(kv.config.get_dbname(), Some("db"));
        assert_eq!(kv.config.get_ssl_mode(), Driver::Require);
    }

    #[test]
    fn verifying_modes_need_a_ca_and_a_readable_one() {
        for mode in ["verify-ca", "verify-full"] {
            let e = check_url(&format!("postgres://u@h/db?sslmode={mode}"), None).unwrap_err();
            assert!(e.contains("database_ca_file"), "{e}");
        }
        let missing = Path::new("/nonexistent/ca.pem");
        let e = check_url("postgres://u@h/db?sslmode=verify-full", Some(missing)).unwrap_err();
        assert!(e.contains("cannot read database_ca_file"), "{e}");
        let e = check_url(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/a.pem",
            Some(missing),
        )
        .unwrap_err();
        assert!(e.contains("not both"), "{e}");
    }
}
