//! The `keyring` table (PostgreSQL only): one row holding the keyring
//! document, so every node finds it in the database. On SQLite the keyring
//! is `keyring.json` beside the file (SQLCipher needs it before it can read).

use super::{Conn, DbResult};

pub fn load(conn: &Conn<'_>) -> DbResult<Option<String>> {
    conn.query_opt("SELECT document FROM keyring WHERE id = 1", &[], |r| {
        r.get(0)
    })
}

/// Stores the first keyring; false if a node stored one first (keep theirs).
pub fn create(conn: &Conn<'_>, document: &str) -> DbResult<bool> {
    let n = conn.execute(
        "INSERT INTO keyring (id, document) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING",
        &[&document],
    )?;
    Ok(n == 1)
}

/// `rekey`: the same data keys, wrapped anew.
pub fn replace(conn: &Conn<'_>, document: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE keyring SET document = ?1 WHERE id = 1",
        &[&document],
    )?;
    Ok(())
}
