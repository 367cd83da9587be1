//! API-key permissions, `Object.Action` (SPEC §4). A key with
//! `EnablePermissions` false holds every permission except the explicit-only
//! ones (`ApiKey.*`, `VaultItem.Reveal`), which must be selected by name.

use std::fmt;

pub const OBJECTS: [&str; 8] = [
    "ApiKey",
    "Operator",
    "OperatorGroup",
    "VaultSection",
    "VaultSectionAuthorization",
    "VaultItem",
    "Outbox",
    "History",
];

/// Every permission by bit index: the 8 × 4 CRUD grid, then the two extras.
const NAMES: [&str; 34] = [
    "ApiKey.Read",
    "ApiKey.Create",
    "ApiKey.Update",
    "ApiKey.Delete",
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
    pub const OPERATOR_READ: Permission = Permission(4);
    pub const OPERATOR_CREATE: Permission = Permission(5);
    pub const OPERATOR_UPDATE: Permission = Permission(6);
    pub const OPERATOR_DELETE: Permission = Permission(7);
    pub const GROUP_READ: Permission = Permission(8);
    pub const GROUP_CREATE: Permission = Permission(9);
    pub const GROUP_UPDATE: Permission = Permission(10);
    pub const GROUP_DELETE: Permission = Permission(11);
    pub const SECTION_READ: Permission = Permission(12);
    pub const SECTION_CREATE: Permission = Permission(13);
    pub const SECTION_UPDATE: Permission = Permission(14);
    pub const SECTION_DELETE: Permission = Permission(15);
    pub const AUTHORIZATION_READ: Permission = Permission(16);
    pub const AUTHORIZATION_CREATE: Permission = Permission(17);
    pub const AUTHORIZATION_UPDATE: Permission = Permission(18);
    pub const AUTHORIZATION_DELETE: Permission = Permission(19);
    pub const ITEM_READ: Permission = Permission(20);
    pub const ITEM_CREATE: Permission = Permission(21);
    pub const ITEM_UPDATE: Permission = Permission(22);
    pub const ITEM_DELETE: Permission = Permission(23);
    pub const OUTBOX_READ: Permission = Permission(24);
    pub const HISTORY_READ: Permission = Permission(28);
    pub const ITEM_REVEAL: Permission = Permission(32);
    pub const ITEM_USE: Permission = Permission(33);

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

    /// Left off unless the key selects it explicitly (`EnablePermissions`).
    pub fn is_explicit_only(self) -> bool {
        self.name().starts_with("ApiKey.") || self == Permission::ITEM_REVEAL
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

    /// Parses names; on failure returns the ones that are not permissions.
    pub fn parse<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<PermissionSet, Vec<String>> {
        let mut set = PermissionSet::default();
        let mut unknown = Vec::new();
        for name in names {
            match Permission::parse(name) {
                Some(p) => set.insert(p),
                None => unknown.push(name.to_string()),
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

/// For the API description: a permission's name, one of the 34.
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
        assert_eq!(PermissionSet::all().iter().count(), 34);
    }

    #[test]
    fn constants_point_at_their_names() {
        for (p, name) in [
            (Permission::API_KEY_DELETE, "ApiKey.Delete"),
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
    fn without_enable_permissions_everything_but_api_keys_and_reveal() {
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
        ] {
            assert!(!implicit.contains(p), "{p}");
        }
        assert_eq!(implicit.iter().count(), 34 - 5);
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
    fn storage_round_trips() {
        let set = PermissionSet::parse(["History.Read", "VaultItem.Use", "ApiKey.Read"]).unwrap();
        assert_eq!(PermissionSet::from_storage(&set.to_storage()), set);
        assert_eq!(PermissionSet::from_storage(""), PermissionSet::default());
    }
}
