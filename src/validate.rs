//! Field checks shared by every resource. Each failure is a 400 naming the
//! field, the rule and how to fix it — and never repeating the value.

use email_address::{EmailAddress, Options};

use crate::error::{AppError, AppResult, ErrorCode};

/// A GUID the server assigns, sent on a create (`""`, null and the nil
/// GUID already count as not sent).
pub fn server_assigned(field: &str, sent: Option<crate::types::Guid>) -> AppResult<()> {
    match sent {
        Some(_) => Err(AppError::new(
            ErrorCode::GuidNotSettable,
            format!("Omit {field}: the server assigns it."),
        )),
        None => Ok(()),
    }
}

pub fn required(field: &str) -> AppError {
    AppError::new(ErrorCode::FieldRequired, format!("{field} is required."))
}

/// A single-line text: trimmed, no control characters, at most `max` characters.
pub fn line(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.chars().any(char::is_control) {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            format!("{field} must be a single line without control characters."),
        ));
    }
    check_length(field, v, max)?;
    Ok(v.to_string())
}

/// A required single-line text.
pub fn required_line(field: &str, value: Option<&str>, max: usize) -> AppResult<String> {
    let v = line(field, value.unwrap_or(""), max)?;
    if v.is_empty() {
        return Err(required(field));
    }
    Ok(v)
}

/// Free text (notes, descriptions): newlines and tabs allowed, other control
/// characters not, at most `max` characters. Kept as given.
pub fn text(field: &str, value: &str, max: usize) -> AppResult<String> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            format!("{field} must not contain control characters other than newlines and tabs."),
        ));
    }
    check_length(field, value, max)?;
    Ok(value.to_string())
}

pub fn check_length(field: &str, value: &str, max: usize) -> AppResult<()> {
    let n = value.chars().count();
    if n > max {
        return Err(AppError::new(
            ErrorCode::FieldTooLong,
            format!("{field} is {n} characters long; the limit is {max}."),
        ));
    }
    Ok(())
}

pub fn email(field: &str, value: Option<&str>) -> AppResult<String> {
    let v = required_line(field, value, 254)?;
    let options = Options::default()
        .without_display_text()
        .without_domain_literal();
    if EmailAddress::parse_with_options(&v, options).is_err() {
        return Err(AppError::new(
            ErrorCode::InvalidEmail,
            format!(
                "{field} is not a valid e-mail address; expected the form someone@company.org."
            ),
        ));
    }
    Ok(v)
}

/// Logins: 1–254 characters (an e-mail address fits: it is the default
/// login of an operator), no spaces or control characters.
pub fn login(field: &str, value: Option<&str>) -> AppResult<String> {
    let v = required_line(field, value, 254)?;
    if v.chars().any(char::is_whitespace) {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            format!("{field} must not contain spaces."),
        ));
    }
    Ok(v)
}

/// Drops serde's position suffix and any quoted user text (it could be a secret).
pub fn redact(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if !in_quotes => {
                in_quotes = true;
                out.push_str("\"…");
            }
            '"' if in_quotes => {
                in_quotes = false;
                out.push('"');
            }
            _ if in_quotes => {}
            '`' => {
                // Backticks hold field names and expected variants (ours), except
                // after "unknown variant", where they hold what the client sent.
                let quoted: String = chars.by_ref().take_while(|&c| c != '`').collect();
                if out.ends_with("unknown variant ") || out.ends_with("invalid value: string ") {
                    out.push_str("`…`");
                } else {
                    out.push('`');
                    out.push_str(&quoted);
                    out.push('`');
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_and_bounded() {
        assert_eq!(line("Name", "  a b  ", 10).unwrap(), "a b");
        assert_eq!(
            line("Name", "ab\u{7}", 10).unwrap_err().code(),
            "InvalidField"
        );
        let e = line("Name", &"é".repeat(11), 10).unwrap_err();
        assert_eq!(e.code(), "FieldTooLong");
        assert!(e.messages()[0].message.contains("11 characters"));
        assert_eq!(
            required_line("Name", Some("  "), 10).unwrap_err().code(),
            "FieldRequired"
        );
        assert_eq!(
            required_line("Name", None, 10).unwrap_err().code(),
            "FieldRequired"
        );
    }

    #[test]
    fn emails_must_be_addresses() {
        assert!(email("Email", Some("ada@example.com")).is_ok());
        assert!(email("Email", Some("admin@localhost")).is_ok());
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "Ada <ada@example.com>",
            "a b@example.com",
        ] {
            let e = email("Email", Some(bad)).unwrap_err();
            assert_eq!(e.code(), "InvalidEmail", "{bad}");
            assert!(!e.messages()[0].message.contains(bad));
        }
    }

    #[test]
    fn logins_have_no_spaces() {
        assert!(login("Login", Some("ada.l")).is_ok());
        assert_eq!(
            login("Login", Some("ada l")).unwrap_err().code(),
            "InvalidField"
        );
    }
}
