//! `smtp_url`: which server, which TLS, which credentials. Parsed once at
//! start; every error names the option and never repeats the password.

use std::fmt;

use percent_encoding::percent_decode_str;

use crate::crypto::SecretBytes;

#[derive(Clone)]
pub struct SmtpUrl {
    /// `smtps://`: TLS from the first byte (RFC 8314). `smtp://`: STARTTLS.
    pub implicit_tls: bool,
    /// A name or an IP address (IPv6 without brackets): what is connected
    /// to and what the certificate must name.
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<SecretBytes>,
}

/// Never shows the user name or the password.
impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

const FORM: &str = "write smtps://USER:PASSWORD@HOST:465 (TLS from the start) or \
                    smtp://HOST:587 (STARTTLS); the password may instead come from \
                    smtp_password_file";

impl SmtpUrl {
    pub fn parse(text: &str) -> Result<SmtpUrl, String> {
        let bad = |what: &str| format!("smtp_url is not usable: {what}; {FORM}");
        // url's own messages never echo the input, and neither does ours.
        let url = url::Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
        let implicit_tls = match url.scheme() {
            "smtps" => true,
            "smtp" => false,
            _ => return Err(bad("the scheme must be smtps or smtp")),
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(bad("it names no host")),
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                "it may not have a path, a query or a fragment (STARTTLS is chosen with \
                 smtp_starttls)",
            ));
        }
        let decode = |s: &str| -> Result<String, String> {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("its user name or password is not UTF-8 once percent-decoded"))
        };
        let username = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = match url.password() {
            None | Some("") => None,
            Some(p) => Some(SecretBytes::from(decode(p)?)),
        };
        if password.is_some() && username.is_none() {
            return Err(bad("it has a password but no user name"));
        }
        Ok(SmtpUrl {
            implicit_tls,
            host,
            // RFC 8314 (submission over TLS) and RFC 6409 (submission).
            port: url.port().unwrap_or(if implicit_tls { 465 } else { 587 }),
            username,
            password,
        })
    }

    /// The password from `smtp_password_file`, for the user named in the URL.
    pub fn set_password(&mut self, password: SecretBytes) -> Result<(), String> {
        if self.password.is_some() {
            return Err(
                "smtp_url has a password and smtp_password_file gives one too: keep \
                        only the file (smtps://USER@HOST:465)"
                    .into(),
            );
        }
        if self.username.is_none() {
            return Err(
                "smtp_password_file is set but smtp_url names no user: write \
                        smtps://USER@HOST:465"
                    .into(),
            );
        }
        if std::str::from_utf8(password.expose()).is_err() {
            return Err("smtp_password_file does not hold UTF-8 text".into());
        }
        self.password = Some(password);
        Ok(())
    }

    pub fn has_credentials(&self) -> bool {
        self.username.is_some()
    }

    /// For logs and errors: scheme, host and port, never the user or the password.
    pub fn redacted(&self) -> String {
        let scheme = if self.implicit_tls { "smtps" } else { "smtp" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}", self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_hosts_ports_and_credentials() {
        let u = SmtpUrl::parse("smtps://ada%40corp:p%3Ass@mail.example.com").unwrap();
        assert!(u.implicit_tls);
        assert_eq!((u.host.as_str(), u.port), ("mail.example.com", 465));
        assert_eq!(u.username.as_deref(), Some("ada@corp"));
        assert_eq!(u.password.as_ref().unwrap().expose(), b"p:ss");
        let u = SmtpUrl::parse("smtp://127.0.0.1").unwrap();
        assert!(!u.implicit_tls && !u.has_credentials());
        assert_eq!(u.port, 587);
        let u = SmtpUrl::parse("smtp://[::1]:2525/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 2525));
        assert_eq!(u.redacted(), "smtp://[::1]:2525");
    }

    #[test]
    fn mistakes_are_refused_without_repeating_the_password() {
        for bad in [
            "http://user:hunter2@mail.example.com",
            "smtp://user:hunter2@mail.example.com:99999",
            "smtps://user:hunter2@",
            "smtp://user:hunter2@mail.example.com/inbox",
            "smtp://user:hunter2@mail.example.com?tls=required",
            "smtp://:hunter2@mail.example.com",
            "mail.example.com:587",
        ] {
            let e = SmtpUrl::parse(bad).err().unwrap_or_else(|| panic!("{bad}"));
            assert!(e.contains("smtp_url"), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn debug_and_redacted_forms_hide_the_credentials() {
        let u = SmtpUrl::parse("smtps://ada:hunter2@mail.example.com:465").unwrap();
        let shown = format!("{u:?} {}", u.redacted());
        assert!(
            !shown.contains("hunter2") && !shown.contains("ada"),
            "{shown}"
        );
    }

    #[test]
    fn the_password_comes_from_one_place() {
        let mut u = SmtpUrl::parse("smtps://ada:x@mail.example.com").unwrap();
        assert!(u.set_password(SecretBytes::from("y".to_string())).is_err());
        let mut u = SmtpUrl::parse("smtps://mail.example.com").unwrap();
        assert!(u.set_password(SecretBytes::from("y".to_string())).is_err());
        let mut u = SmtpUrl::parse("smtps://ada@mail.example.com").unwrap();
        u.set_password(SecretBytes::from("y".to_string())).unwrap();
        assert_eq!(u.password.unwrap().expose(), b"y");
    }
}
