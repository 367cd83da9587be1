//! Who uses a vault item: consumers register and release their use, and the
//! item's `VaultItemUsedBy` summary ("2 monitors, 1 integration") is kept in
//! step in the same transaction. An item in use cannot be deleted.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::items::visible;
use crate::audit::Change;
use crate::db::items::{self as repo, UsageRow};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::types::{Guid, guid};
use crate::validate;
use crate::work::Work;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Usage {
    pub usage_guid: Guid,
    /// e.g. `monitor`, `integration`.
    pub consumer_type: String,
    pub consumer_name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&UsageRow> for Usage {
    fn from(u: &UsageRow) -> Self {
        Usage {
            usage_guid: u.guid,
            consumer_type: u.consumer_type.clone(),
            consumer_name: u.consumer_name.clone(),
            created_at: crate::time::rfc3339(u.created_at),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UsageInput {
    /// Server-assigned: not sent (`""`, null or the nil GUID count as not sent).
    #[serde(default, deserialize_with = "guid::optional")]
    #[schema(schema_with = guid::optional_schema, required = false)]
    pub usage_guid: Option<Guid>,
    /// A lower-case word naming the kind of consumer, e.g. `monitor`.
    #[schema(example = "monitor", value_type = String, required = true, pattern = r"^[A-Za-z][A-Za-z0-9-]{0,39}$")]
    pub consumer_type: Option<String>,
    /// Which one, e.g. `checkout flow`.
    #[schema(example = "checkout flow", value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"\S")]
    pub consumer_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UsageCreated {
    pub usage_guid: Guid,
}

/// English plural of a consumer type: monitor → monitors, proxy → proxies.
pub fn plural(word: &str) -> String {
    let ends = |s: &str| word.ends_with(s);
    if ends("s") || ends("x") || ends("z") || ends("ch") || ends("sh") {
        format!("{word}es")
    } else if ends("y") && !word.ends_with(|c: char| "aeiou".contains(c)) && word.len() > 1 {
        let before_y = &word[..word.len() - 1];
        if before_y.ends_with(|c: char| "aeiou".contains(c)) {
            format!("{word}s")
        } else {
            format!("{before_y}ies")
        }
    } else {
        format!("{word}s")
    }
}

/// `"-"` or `"3 monitors, 1 integration"`: most-used types first.
pub fn summary(usages: &[UsageRow]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for u in usages {
        match counts.iter_mut().find(|(t, _)| *t == u.consumer_type) {
            Some((_, n)) => *n += 1,
            None => counts.push((u.consumer_type.clone(), 1)),
        }
    }
    if counts.is_empty() {
        return "-".into();
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
        .iter()
        .map(|(t, n)| {
            if *n == 1 {
                format!("1 {t}")
            } else {
                format!("{n} {}", plural(t))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// "monitor “checkout flow”, integration “slack”" for error messages.
pub fn describe(usages: &[UsageRow]) -> String {
    usages
        .iter()
        .map(|u| format!("{} “{}”", u.consumer_type, u.consumer_name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn refresh_summary(w: &Work<'_>, item_id: i64) -> AppResult<()> {
    let all = repo::usages(w.conn, item_id)?;
    repo::set_used_by(w.conn, item_id, &summary(&all))?;
    Ok(())
}

pub fn list(w: &Work<'_>, item: Guid) -> AppResult<Vec<Usage>> {
    let (row, _) = visible(w, item)?;
    Ok(repo::usages(w.conn, row.id)?
        .iter()
        .map(Usage::from)
        .collect())
}

pub fn add(w: &Work<'_>, item: Guid, input: UsageInput) -> AppResult<UsageCreated> {
    let (row, _) = visible(w, item)?;
    validate::server_assigned("UsageGuid", input.usage_guid)?;
    let consumer_type =
        validate::required_line("ConsumerType", input.consumer_type.as_deref(), 40)?
            .to_ascii_lowercase();
    if !consumer_type.starts_with(|c: char| c.is_ascii_lowercase())
        || !consumer_type
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            "ConsumerType must be one word of letters, digits and dashes starting with a letter, e.g. monitor or integration.",
        ));
    }
    let consumer_name =
        validate::required_line("ConsumerName", input.consumer_name.as_deref(), 200)?;
    let guid = Guid::new_random();
    repo::insert_usage(
        w.conn,
        row.id,
        guid,
        &consumer_type,
        &consumer_name,
        w.now_ms(),
    )?;
    refresh_summary(w, row.id)?;
    w.record(
        Change::new(
            "VaultItem",
            item,
            "UsageAdded",
            format!("{consumer_type} (usage {guid})"),
        )
        .within(Some(row.section_guid)),
    )?;
    Ok(UsageCreated { usage_guid: guid })
}

pub fn remove(w: &Work<'_>, item: Guid, usage: Guid) -> AppResult<()> {
    let (row, _) = visible(w, item)?;
    let found = repo::usages(w.conn, row.id)?
        .into_iter()
        .find(|u| u.guid == usage)
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::UsageNotFound,
                format!(
                    "No usage {usage} on this item; GET /v4/VaultItem/{item}/Usage lists them."
                ),
            )
        })?;
    repo::delete_usage(w.conn, found.id)?;
    refresh_summary(w, row.id)?;
    w.record(
        Change::new(
            "VaultItem",
            item,
            "UsageRemoved",
            format!("{} (usage {usage})", found.consumer_type),
        )
        .within(Some(row.section_guid)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(t: &str) -> UsageRow {
        UsageRow {
            id: 0,
            guid: Guid::new_random(),
            consumer_type: t.into(),
            consumer_name: "x".into(),
            created_at: 0,
        }
    }

    #[test]
    fn summaries_count_by_type_most_used_first() {
        assert_eq!(summary(&[]), "-");
        assert_eq!(summary(&[u("monitor")]), "1 monitor");
        assert_eq!(
            summary(&[u("integration"), u("monitor"), u("monitor")]),
            "2 monitors, 1 integration"
        );
        assert_eq!(
            summary(&[u("monitor"), u("monitor"), u("monitor"), u("integration")]),
            "3 monitors, 1 integration"
        );
    }

    #[test]
    fn plurals() {
        for (one, many) in [
            ("monitor", "monitors"),
            ("proxy", "proxies"),
            ("gateway", "gateways"),
            ("batch", "batches"),
            ("alias", "aliases"),
        ] {
            assert_eq!(plural(one), many);
        }
    }
}
