//! Permissions, `Object.Action` (SPEC §4), and their OAuth 2.0 scopes,
//! `coffre.<object>.<action>` (issue 16): one scope per permission. A key with
//! `EnablePermissions` false holds every permission except the explicit-only
//! ones (`ApiKey.*`, `OAuthClient.*`, `VaultItem.Reveal`), which must be
//! selected by name. Permissions are stored by name, so bit positions may move.

use std::fmt;
use std::sync::LazyLock;

pub const OBJECTS: [&str; 9] = [
    "ApiKey",
    "OAuthClient",
    "Operator",
    "OperatorGroup",
    "VaultSection",
    "VaultSectionAuthorization",
    "VaultItem",
    "Outbox",
    "History",
];

/// Every permission by bit index: the 8 × 4 CRUD grid, then the two extras.
const NAMES: [&str; 38] = [
    "ApiKey.Read",
    "ApiKey.Create",
    "ApiKey.Update",
    "ApiKey.Delete",
    "OAuthClient.Read",
    "OAuthClient.Create",
    "OAuthClient.Update",
    "OAuthClient.Delete",
    "Operator.Read",
    "Operator.Create",
    "Operator.Update",
    "Operator.Delete",
    "OperatorGroup.Read",
    "OperatorGroup.Create",
    "OperatorGroup.Update",
    "OperatorGroup.Delete",
    "VaultSection.Read",
    "VaultSection.Create",
    "VaultSection.Update",
    "VaultSection.Delete",
    "VaultSectionAuthorization.Read",
    "VaultSectionAuthorization.Create",
    "VaultSectionAuthorization.Update",
    "VaultSectionAuthorization.Delete",
    "VaultItem.Read",
    "VaultItem.Create",
    "VaultItem.Update",
    "VaultItem.Delete",
    "Outbox.Read",
    "Outbox.Create",
    "Outbox.Update",
    "Outbox.Delete",
    "History.Read",
    "History.Create",
    "History.Update",
    "History.Delete",
    "VaultItem.Reveal",
    "VaultItem.Use",
];

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permission(u8);

impl Permission {
    pub const API_KEY_READ: Permission = Permission(0);
    pub const API_KEY_CREATE: Permission = Permission(1);
    pub const API_KEY_UPDATE: Permission = Permission(2);
    pub const API_KEY_DELETE: Permission = Permission(3);
    pub const OAUTH_CLIENT_READ: Permission = Permission(4);
    pub const OAUTH_CLIENT_CREATE: Permission = Permission(5);
    pub const OAUTH_CLIENT_UPDATE: Permission = Permission(6);
    pub const OAUTH_CLIENT_DELETE: Permission = Permission(7);
    pub const OPERATOR_READ: Permission = Permission(8);
    pub const OPERATOR_CREATE: Permission = Permission(9);
    pub const OPERATOR_UPDATE: Permission = Permission(10);
    pub const OPERATOR_DELETE: Permission = Permission(11);
    pub const GROUP_READ: Permission = Permission(12);
    pub const GROUP_CREATE: Permission = Permission(13);
    pub const GROUP_UPDATE: Permission = Permission(14);
    pub const GROUP_DELETE: Permission = Permission(15);
    pub const SECTION_READ: Permission = Permission(16);
    pub const SECTION_CREATE: Permission = Permission(17);
    pub const SECTION_UPDATE: Permission = Permission(18);
    pub const SECTION_DELETE: Permission = Permission(19);
    pub const AUTHORIZATION_READ: Permission = Permission(20);
    pub const AUTHORIZATION_CREATE: Permission = Permission(21);
    pub const AUTHORIZATION_UPDATE: Permission = Permission(22);
    pub const AUTHORIZATION_DELETE: Permission = Permission(23);
    pub const ITEM_READ: Permission = Permission(24);
    pub const ITEM_CREATE: Permission = Permission(25);
    pub const ITEM_UPDATE: Permission = Permission(26);
    pub const ITEM_DELETE: Permission = Permission(27);
    pub const OUTBOX_READ: Permission = Permission(28);
    pub const HISTORY_READ: Permission = Permission(32);
    pub const ITEM_REVEAL: Permission = Permission(36);
    pub const ITEM_USE: Permission = Permission(37);

    pub fn name(self) -> &'static str {
        NAMES[self.0 as usize]
    }

    /// Exact, case-sensitive names as listed by `all_names`.
    pub fn parse(name: &str) -> Option<Permission> {
        NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Permission(i as u8))
    }

    /// The OAuth 2.0 scope granting this permission: `coffre.vault_item.reveal`.
    pub fn scope(self) -> &'static str {
        &SCOPES[self.0 as usize]
    }

    /// Exact, case-sensitive scopes as listed by `all_scopes`.
    pub fn from_scope(scope: &str) -> Option<Permission> {
        SCOPES
            .iter()
            .position(|s| s == scope)
            .map(|i| Permission(i as u8))
    }

    /// Left off unless the key selects it explicitly (`EnablePermissions`):
    /// whatever manages credentials, and reading secrets.
    pub fn is_explicit_only(self) -> bool {
        self.name().starts_with("ApiKey.")
            || self.name().starts_with("OAuthClient.")
            || self == Permission::ITEM_REVEAL
    }

    fn bit(self) -> u64 {
        1 << self.0
    }
}

impl fmt::Debug for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub fn all_names() -> &'static [&'static str] {
    &NAMES
}

/// `ApiKey` → `api_key`, `OAuthClient` → `oauth_client`: a capital letter
/// after a lower-case one starts a word, so a run of capitals stays one word.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Every scope by bit index: `coffre.<object>.<action>` of each name.
static SCOPES: LazyLock<Vec<String>> = LazyLock::new(|| {
    NAMES
        .iter()
        .map(|name| {
            let (object, action) = name.split_once('.').unwrap_or((name, ""));
            format!("coffre.{}.{}", snake_case(object), snake_case(action))
        })
        .collect()
});

/// Every scope, in the order of `all_names`.
pub fn all_scopes() -> impl Iterator<Item = &'static str> {
    SCOPES.iter().map(String::as_str)
}

/// A set of permissions as a bitmask: membership is one AND.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PermissionSet(u64);

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PermissionSet {
    pub fn all() -> PermissionSet {
        PermissionSet((1u64 << NAMES.len()) - 1)
    }

    /// What a key with `EnablePermissions` false may do.
    pub fn implicit() -> PermissionSet {
        PermissionSet::all()
            .iter()
            .filter(|p| !p.is_explicit_only())
            .collect()
    }

    /// The effective set of a key.
    pub fn effective(enable_permissions: bool, selected: PermissionSet) -> PermissionSet {
        if enable_permissions {
            selected
        } else {
            PermissionSet::implicit()
        }
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn insert(&mut self, p: Permission) {
        self.0 |= p.bit();
    }

    /// Permissions in `self` that `other` lacks.
    pub fn missing_from(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        (0..NAMES.len() as u8)
            .map(Permission)
            .filter(move |p| self.contains(*p))
    }

    pub fn names(self) -> Vec<String> {
        self.iter().map(|p| p.name().to_string()).collect()
    }

    pub fn scopes(self) -> Vec<String> {
        self.iter().map(|p| p.scope().to_string()).collect()
    }

    /// Those in both.
    pub fn intersection(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & other.0)
    }

    /// Parses names; on failure returns the ones that are not permissions.
    pub fn parse<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<PermissionSet, Vec<String>> {
        Self::parse_with(names, Permission::parse)
    }

    /// Parses scopes; on failure returns the ones that are not scopes.
    pub fn parse_scopes<'a>(
        scopes: impl IntoIterator<Item = &'a str>,
    ) -> Result<PermissionSet, Vec<String>> {
        Self::parse_with(scopes, Permission::from_scope)
    }

    fn parse_with<'a>(
        words: impl IntoIterator<Item = &'a str>,
        parse: fn(&str) -> Option<Permission>,
    ) -> Result<PermissionSet, Vec<String>> {
        let mut set = PermissionSet::default();
        let mut unknown = Vec::new();
        for word in words {
            match parse(word) {
                Some(p) => set.insert(p),
                None => unknown.push(word.to_string()),
            }
        }
        if unknown.is_empty() {
            Ok(set)
        } else {
            Err(unknown)
        }
    }

    /// Comma-separated, as stored.
    pub fn to_storage(self) -> String {
        self.names().join(",")
    }

    pub fn from_storage(text: &str) -> PermissionSet {
        text.split(',')
            .filter_map(|n| Permission::parse(n.trim()))
            .collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::default();
        for p in iter {
            set.insert(p);
        }
        set
    }
}

/// For the API description: a permission's name, one of the 38.
pub struct PermissionName;

impl utoipa::PartialSchema for PermissionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(NAMES.iter().copied()))
            .description(Some("`Object.Action`, case-sensitive"))
            .into()
    }
}

impl utoipa::ToSchema for PermissionName {}

/// For the API description: an OAuth 2.0 scope, one per permission.
pub struct ScopeName;

impl utoipa::PartialSchema for ScopeName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(all_scopes()))
            .description(Some(
                "`coffre.<object>.<action>`, the permission `Object.Action` in lower snake case",
            ))
            .into()
    }
}

impl utoipa::ToSchema for ScopeName {}

#[cfg(test)]
mod tests {
    use super::*;

    const CRUD: [&str; 4] = ["Read", "Create", "Update", "Delete"];

    #[test]
    fn the_grid_is_every_object_with_every_action_plus_reveal_and_use() {
        let mut expected: Vec<String> = OBJECTS
            .iter()
            .flat_map(|o| CRUD.iter().map(move |a| format!("{o}.{a}")))
            .collect();
        expected.push("VaultItem.Reveal".into());
        expected.push("VaultItem.Use".into());
        assert_eq!(all_names(), expected.as_slice());
        assert_eq!(PermissionSet::all().iter().count(), 38);
    }

    #[test]
    fn constants_point_at_their_names() {
        for (p, name) in [
            (Permission::API_KEY_DELETE, "ApiKey.Delete"),
            (Permission::OAUTH_CLIENT_READ, "OAuthClient.Read"),
            (Permission::OAUTH_CLIENT_CREATE, "OAuthClient.Create"),
            (Permission::OAUTH_CLIENT_UPDATE, "OAuthClient.Update"),
            (Permission::OAUTH_CLIENT_DELETE, "OAuthClient.Delete"),
            (Permission::OPERATOR_READ, "Operator.Read"),
            (Permission::GROUP_UPDATE, "OperatorGroup.Update"),
            (Permission::SECTION_DELETE, "VaultSection.Delete"),
            (
                Permission::AUTHORIZATION_CREATE,
                "VaultSectionAuthorization.Create",
            ),
            (Permission::ITEM_UPDATE, "VaultItem.Update"),
            (Permission::OUTBOX_READ, "Outbox.Read"),
            (Permission::HISTORY_READ, "History.Read"),
            (Permission::ITEM_REVEAL, "VaultItem.Reveal"),
            (Permission::ITEM_USE, "VaultItem.Use"),
        ] {
            assert_eq!(p.name(), name);
        }
    }

    #[test]
    fn without_enable_permissions_everything_but_credentials_and_reveal() {
        let implicit = PermissionSet::effective(false, PermissionSet::default());
        assert!(implicit.contains(Permission::ITEM_READ));
        assert!(implicit.contains(Permission::ITEM_USE));
        assert!(implicit.contains(Permission::OUTBOX_READ));
        assert!(!implicit.contains(Permission::ITEM_REVEAL));
        for p in [
            Permission::API_KEY_READ,
            Permission::API_KEY_CREATE,
            Permission::API_KEY_UPDATE,
            Permission::API_KEY_DELETE,
            Permission::OAUTH_CLIENT_READ,
            Permission::OAUTH_CLIENT_CREATE,
            Permission::OAUTH_CLIENT_UPDATE,
            Permission::OAUTH_CLIENT_DELETE,
        ] {
            assert!(!implicit.contains(p), "{p}");
        }
        assert_eq!(implicit.iter().count(), 38 - 9);
    }

    #[test]
    fn with_enable_permissions_exactly_the_selected_ones() {
        let selected = PermissionSet::parse(["VaultItem.Read", "ApiKey.Read"]).unwrap();
        let eff = PermissionSet::effective(true, selected);
        assert!(eff.contains(Permission::ITEM_READ) && eff.contains(Permission::API_KEY_READ));
        assert!(!eff.contains(Permission::ITEM_UPDATE));
    }

    #[test]
    fn unknown_names_are_reported_and_case_matters() {
        let err = PermissionSet::parse(["VaultItem.Read", "vaultitem.read", "Vault.Everything"])
            .unwrap_err();
        assert_eq!(
            err,
            vec!["vaultitem.read".to_string(), "Vault.Everything".to_string()]
        );
    }

    #[test]
    fn a_subset_check_names_what_is_missing() {
        let caller = PermissionSet::parse(["VaultItem.Read", "ApiKey.Create"]).unwrap();
        let wanted = PermissionSet::parse(["VaultItem.Read", "VaultItem.Reveal"]).unwrap();
        assert_eq!(
            wanted.missing_from(caller).names(),
            vec!["VaultItem.Reveal"]
        );
        assert!(caller.missing_from(PermissionSet::all()).is_empty());
    }

    #[test]
    fn every_permission_has_one_scope_in_lower_snake_case() {
        for (p, scope) in [
            (Permission::ITEM_READ, "coffre.vault_item.read"),
            (Permission::ITEM_REVEAL, "coffre.vault_item.reveal"),
            (
                Permission::AUTHORIZATION_CREATE,
                "coffre.vault_section_authorization.create",
            ),
            (Permission::OAUTH_CLIENT_READ, "coffre.oauth_client.read"),
            (Permission::API_KEY_UPDATE, "coffre.api_key.update"),
            (Permission::GROUP_DELETE, "coffre.operator_group.delete"),
        ] {
            assert_eq!(p.scope(), scope);
            assert_eq!(Permission::from_scope(scope), Some(p));
        }
        let scopes: Vec<&str> = all_scopes().collect();
        assert_eq!(scopes.len(), all_names().len());
        for (scope, name) in scopes.iter().zip(all_names()) {
            let p = Permission::parse(name).unwrap();
            assert_eq!(p.scope(), *scope, "in the order of all_names");
            assert!(
                scope.starts_with("coffre.")
                    && scope
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "{scope}"
            );
            assert_eq!(scope.matches('.').count(), 2, "{scope}");
        }
        let mut unique = scopes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            scopes.len(),
            "no two permissions share a scope"
        );
    }

    #[test]
    fn scopes_parse_exactly_and_report_what_is_unknown() {
        let set =
            PermissionSet::parse_scopes(["coffre.vault_item.read", "coffre.history.read"]).unwrap();
        assert_eq!(set.names(), vec!["VaultItem.Read", "History.Read"]);
        assert_eq!(
            set.scopes(),
            vec!["coffre.vault_item.read", "coffre.history.read"]
        );
        let err = PermissionSet::parse_scopes([
            "coffre.vault_item.read",
            "COFFRE.VAULT_ITEM.READ",
            "VaultItem.Read",
            "coffre.vaultitem.read",
        ])
        .unwrap_err();
        assert_eq!(
            err,
            vec![
                "COFFRE.VAULT_ITEM.READ",
                "VaultItem.Read",
                "coffre.vaultitem.read"
            ]
        );
        let narrow = PermissionSet::parse(["VaultItem.Read"]).unwrap();
        assert_eq!(set.intersection(narrow), narrow);
    }

    #[test]
    fn storage_round_trips() {
        let set = PermissionSet::parse(["History.Read", "VaultItem.Use", "ApiKey.Read"]).unwrap();
        assert_eq!(PermissionSet::from_storage(&set.to_storage()), set);
        assert_eq!(PermissionSet::from_storage(""), PermissionSet::default());
    }
}
