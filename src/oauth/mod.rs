//! OAuth 2.0 client credentials (issue 16; RFC 6749 §4.4, RFC 7009, RFC 8414):
//! the requests and answers of the token and revocation endpoints in OAuth's
//! own shapes (`form`, `wire`), which scopes a token gets (here), and the
//! rules that issue, revoke and forget access tokens (`tokens`). The clients
//! themselves are credentials (`accounts::oauth_clients`); authenticating
//! them, and requests carrying their tokens, is `auth`'s.

pub mod form;
pub mod tokens;
pub mod wire;

use crate::types::PermissionSet;

/// Why the scopes asked for cannot be granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    /// Not scopes at all.
    Unknown(Vec<String>),
    /// Real scopes the client may not ask for.
    NotHeld(PermissionSet),
}

/// The scopes a token gets (RFC 6749 §3.3): those asked for, space-separated,
/// each one the client may ask for; none asked for: all the client may.
pub fn select_scopes(
    held: PermissionSet,
    asked: Option<&str>,
) -> Result<PermissionSet, ScopeError> {
    let words: Vec<&str> = asked
        .unwrap_or("")
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Ok(held);
    }
    let wanted = PermissionSet::parse_scopes(words).map_err(ScopeError::Unknown)?;
    let missing = wanted.missing_from(held);
    if missing.is_empty() {
        Ok(wanted)
    } else {
        Err(ScopeError::NotHeld(missing))
    }
}

/// As a token response and the metadata write them: space-separated.
pub fn scope_string(scopes: PermissionSet) -> String {
    scopes.scopes().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> PermissionSet {
        PermissionSet::parse(names.iter().copied()).unwrap()
    }

    #[test]
    fn no_scope_asked_means_all_the_client_holds() {
        let held = set(&["VaultItem.Read", "VaultItem.Reveal"]);
        assert_eq!(select_scopes(held, None), Ok(held));
        assert_eq!(select_scopes(held, Some("")), Ok(held));
        assert_eq!(select_scopes(held, Some("   ")), Ok(held));
    }

    #[test]
    fn a_token_narrows_to_what_is_asked_never_beyond_the_client() {
        let held = set(&["VaultItem.Read", "VaultItem.Reveal", "History.Read"]);
        assert_eq!(
            select_scopes(held, Some("coffre.vault_item.read  coffre.history.read")),
            Ok(set(&["VaultItem.Read", "History.Read"]))
        );
        assert_eq!(
            select_scopes(
                held,
                Some("coffre.vault_item.read coffre.vault_item.update")
            ),
            Err(ScopeError::NotHeld(set(&["VaultItem.Update"])))
        );
        assert_eq!(
            select_scopes(
                held,
                Some("coffre.vault_item.read VaultItem.Read coffre.nope")
            ),
            Err(ScopeError::Unknown(vec![
                "VaultItem.Read".into(),
                "coffre.nope".into()
            ]))
        );
        assert_eq!(
            scope_string(set(&["History.Read", "VaultItem.Read"])),
            "coffre.vault_item.read coffre.history.read"
        );
    }
}
