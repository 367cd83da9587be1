//! One outbox message as an RFC 5322 e-mail: Date (when it was written, so a
//! resend is the same e-mail), From, To, Subject, a stable Message-ID,
//! MIME-Version, `text/plain; charset=utf-8` with a transfer encoding that
//! keeps the message 7-bit (quoted-printable or base64 when the text is not
//! ASCII). Headers are built by lettre, which encodes every value, and the
//! subject is made one line first: no text from a key name or an address can
//! start a header of its own, nor pass for an RFC 2047 encoded-word.

use std::time::{Duration, SystemTime};

use email_encoding::headers::{rfc2047, writer::EmailWriter};
use lettre::address::{Address, Envelope};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, SinglePart};

/// RFC 3834: an automatic notice; autoresponders should not answer it.
const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");
const SUBJECT: HeaderName = HeaderName::new_from_ascii_str("Subject");

/// What a message needs to become an e-mail.
pub struct Draft<'a> {
    pub guid: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub created_at_ms: i64,
}

/// The Message-ID of the message with this GUID, sent from `domain`: the same
/// on every attempt, so that a resend after a crash between "sent" and
/// "recorded" is recognisably the same e-mail.
pub fn message_id(guid: &str, domain: &str) -> String {
    format!("<{}@{domain}>", guid.to_ascii_lowercase())
}

/// A single line: control characters (CR, LF, tab, …) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The Subject header. lettre encodes the words that are not plain ASCII and
/// leaves the others as they are, so a word such as `=?utf-8?q?Bcc=3A_x?=`
/// (from a key name) would reach the reader decoded into something else: a
/// subject with `=?` in it is encoded whole.
fn subject(text: &str) -> HeaderValue {
    let line = one_line(text);
    if !line.contains("=?") {
        return HeaderValue::new(SUBJECT, line);
    }
    let mut encoded = String::new();
    {
        let mut writer = EmailWriter::new(&mut encoded, "Subject: ".len(), 0, false);
        // Writing to a String cannot fail.
        let _ = rfc2047::encode(&line, &mut writer);
    }
    HeaderValue::dangerous_new_pre_encoded(SUBJECT, line, encoded)
}

/// The envelope and the bytes to send, or why this message can never be sent
/// (a permanent failure).
pub fn build(
    draft: &Draft<'_>,
    from: &Mailbox,
    message_id: &str,
) -> Result<(Envelope, Vec<u8>), String> {
    let to: Address = draft.to.trim().parse().map_err(|_| {
        "the recipient address cannot be used in an e-mail (not a plain local@domain address)"
            .to_string()
    })?;
    let date = SystemTime::UNIX_EPOCH + Duration::from_millis(draft.created_at_ms.max(0) as u64);
    let message = Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .raw_header(subject(draft.subject))
        .date(date)
        .message_id(Some(message_id.to_string()))
        .raw_header(HeaderValue::new(
            AUTO_SUBMITTED,
            "auto-generated".to_string(),
        ))
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(draft.body.to_string()),
        )
        .map_err(|e| format!("the e-mail could not be built: {e}"))?;
    let mut bytes = message.formatted();
    // lettre ends a single part with a CRLF of its own, and its end of DATA
    // (CRLF . CRLF) adds one more: without these two, the body the recipient
    // decodes is the outbox's body, byte for byte.
    for _ in 0..2 {
        if bytes.ends_with(b"\r\n") {
            bytes.truncate(bytes.len() - 2);
        }
    }
    Ok((message.envelope().clone(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Mailbox {
        "coffre <coffre@example.org>".parse().unwrap()
    }

    fn text(draft: &Draft<'_>) -> String {
        let (_, bytes) = build(draft, &from(), &message_id(draft.guid, "example.org")).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    fn headers(message: &str) -> Vec<&str> {
        let head = message.split("\r\n\r\n").next().unwrap();
        head.split("\r\n")
            .filter(|l| !l.starts_with(' ') && !l.starts_with('\t'))
            .map(|l| l.split(':').next().unwrap())
            .collect()
    }

    const GUID: &str = "0A1B2C3D-0000-4000-8000-00000000ABCD";

    #[test]
    fn a_complete_seven_bit_message_with_every_header() {
        let draft = Draft {
            guid: GUID,
            to: "zoe@example.com",
            subject: "Your coffre API key \"Zoë's feed\" has expired",
            body: "Hello Zoë Ångström,\n\nThe key expired.\n.\nEnd.\n",
            created_at_ms: 1_893_456_000_000,
        };
        let m = text(&draft);
        assert!(m.is_ascii(), "7-bit on the wire: {m}");
        let mut names = headers(&m);
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "Auto-Submitted",
                "Content-Transfer-Encoding",
                "Content-Type",
                "Date",
                "From",
                "MIME-Version",
                "Message-ID",
                "Subject",
                "To"
            ]
        );
        assert!(m.contains("Message-ID: <0a1b2c3d-0000-4000-8000-00000000abcd@example.org>\r\n"));
        assert!(
            m.contains("Date: Tue, 01 Jan 2030 00:00:00 +0000\r\n"),
            "{m}"
        );
        assert!(m.contains("Content-Type: text/plain; charset=utf-8\r\n"));
        assert!(m.contains("MIME-Version: 1.0\r\n"));
        assert!(m.lines().all(|l| l.len() <= 998));
        assert!(!m.replace("\r\n", "").contains('\n'), "no bare LF");
    }

    #[test]
    fn line_breaks_in_a_subject_or_an_address_start_no_header() {
        let draft = Draft {
            guid: GUID,
            to: "ada@example.com",
            subject: "expired\r\nBcc: victim@evil.test\nX-Evil: 1",
            body: "body\r\nBcc: not a header, the body\n",
            created_at_ms: 0,
        };
        let m = text(&draft);
        let names = headers(&m);
        assert!(!names.contains(&"Bcc") && !names.contains(&"X-Evil"), "{m}");
        for hostile in [
            "ada@example.com\r\nBcc: victim@evil.test",
            "ada@example.com>, victim@evil.test",
            "\"ada\r\n\"@example.com",
        ] {
            let d = Draft {
                to: hostile,
                ..draft
            };
            assert!(
                build(&d, &from(), "<x@example.org>").is_err(),
                "{hostile:?} accepted"
            );
        }
    }

    #[test]
    fn a_subject_that_looks_encoded_is_encoded_whole() {
        let draft = Draft {
            guid: GUID,
            to: "ada@example.com",
            subject: "Key \"=?utf-8?q?Bcc=3A_x?=\" has expired",
            body: "b\n",
            created_at_ms: 0,
        };
        let m = text(&draft);
        assert!(!m.contains("=?utf-8?q?"), "{m}");
        assert!(m.contains("Subject: =?utf-8?b?"), "{m}");
        assert!(
            text(&Draft {
                subject: "plain",
                ..draft
            })
            .contains("\r\nSubject: plain\r\n")
        );
    }

    #[test]
    fn the_message_id_is_stable_per_message() {
        assert_eq!(
            message_id(GUID, "example.org"),
            message_id(&GUID.to_ascii_lowercase(), "example.org")
        );
        assert_ne!(
            message_id(GUID, "example.org"),
            message_id("0A1B2C3D-0000-4000-8000-00000000ABCE", "example.org")
        );
    }
}
