//! Who is on the other end of a request. By default that is the TCP peer.
//! Behind a reverse proxy every request comes from the proxy, so when — and
//! only when — the peer is one of `trusted_proxies`, the client is read from
//! `Forwarded` (RFC 7239) or else `X-Forwarded-For`: the right-most hop that
//! is not itself a trusted proxy (everything left of it was written by
//! whoever connected to our proxies, and may be made up). The scheme comes
//! from the same `Forwarded` element, or `X-Forwarded-Proto`. From any other
//! peer those headers are ignored.
//!
//! `http::middleware::request_context` resolves it once per request and
//! leaves a `ClientAddress` in the request's extensions; the failed-auth
//! limiter, the log lines, the history and the `Principal` read it there.

use std::fmt;
use std::net::IpAddr;

use actix_web::http::header::{HeaderMap, HeaderName};
use ipnet::IpNet;

/// The client a request is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress {
    pub ip: IpAddr,
    /// The client reached us (or our proxy) over HTTPS.
    pub https: bool,
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ip.fmt(f)
    }
}

const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// One hop a proxy recorded: the address it received the request from (None
/// for `unknown` or an obfuscated name) and the scheme it was received over.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hop {
    ip: Option<IpAddr>,
    proto: Option<String>,
}

/// The client of a request that arrived from `peer`, over TLS when
/// `direct_https`.
pub fn resolve(
    peer: IpAddr,
    direct_https: bool,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> ClientAddress {
    let peer = peer.to_canonical();
    let direct = ClientAddress {
        ip: peer,
        https: direct_https,
    };
    if !is_trusted(peer, trusted) {
        return direct;
    }
    let hops = forwarded_hops(headers).or_else(|| x_forwarded_hops(headers));
    let Some(hops) = hops.filter(|h| !h.is_empty()) else {
        return direct;
    };
    // Right to left: skip our own proxies; the first hop that is not one is
    // the client. An unnamed hop there means the client cannot be known:
    // the last proxy that could name its peer stands for it.
    let mut chosen: Option<&Hop> = None;
    for hop in hops.iter().rev() {
        match hop.ip {
            Some(ip) if is_trusted(ip, trusted) => chosen = Some(hop),
            Some(_) => {
                chosen = Some(hop);
                break;
            }
            None => break,
        }
    }
    let Some(hop) = chosen else {
        return direct;
    };
    ClientAddress {
        ip: hop.ip.unwrap_or(peer),
        https: match hop.proto.as_deref() {
            Some(p) => p.eq_ignore_ascii_case("https"),
            None => direct_https,
        },
    }
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// All values of a header, in order, as one comma-separated list (RFC 9110
/// §5.3); None when absent or not visible ASCII.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut out: Option<String> = None;
    for value in headers.get_all(name) {
        let text = value.to_str().ok()?;
        match &mut out {
            Some(s) => {
                s.push(',');
                s.push_str(text);
            }
            None => out = Some(text.to_string()),
        }
    }
    out
}

/// Splits on `sep` outside double quotes (a quoted string may hold `\"`).
fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' {
                    chars.next().unwrap_or(c)
                } else {
                    c
                });
            }
            out
        }
        None => value.to_string(),
    }
}

/// `192.0.2.7`, `192.0.2.7:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`,
/// a bare `2001:db8::1`; None for `unknown`, `_hidden` and anything else.
fn node_ip(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Some(rest) = node.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    let (ip, port) = node.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The hops of `Forwarded`, client first; None when absent or unusable.
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Hop>> {
    let text = joined(headers, &FORWARDED)?;
    let mut hops = Vec::new();
    for element in split_outside_quotes(&text, ',') {
        if element.trim().is_empty() {
            continue;
        }
        let mut hop = Hop {
            ip: None,
            proto: None,
        };
        let mut has_for = false;
        for pair in split_outside_quotes(element, ';') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let value = unquote(value);
            match name.trim().to_ascii_lowercase().as_str() {
                "for" => {
                    has_for = true;
                    hop.ip = node_ip(&value);
                }
                "proto" => hop.proto = Some(value),
                _ => {}
            }
        }
        // An element without `for` says nothing about who sent the request.
        if has_for {
            hops.push(hop);
        }
    }
    (!hops.is_empty()).then_some(hops)
}

/// The hops of `X-Forwarded-For`, with `X-Forwarded-Proto` matched to them:
/// entry by entry when both lists are as long, else the right-most scheme
/// (written by the nearest proxy) for the whole chain.
fn x_forwarded_hops(headers: &HeaderMap) -> Option<Vec<Hop>> {
    let text = joined(headers, &X_FORWARDED_FOR)?;
    let ips: Vec<Option<IpAddr>> = text
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(node_ip)
        .collect();
    let protos: Vec<String> = joined(headers, &X_FORWARDED_PROTO)
        .map(|p| {
            p.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let aligned = protos.len() == ips.len();
    Some(
        ips.into_iter()
            .enumerate()
            .map(|(i, ip)| Hop {
                ip,
                proto: if aligned {
                    protos.get(i).cloned()
                } else {
                    protos.last().cloned()
                },
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|n| {
                n.parse()
                    .unwrap_or_else(|_| IpNet::from(n.parse::<IpAddr>().unwrap()))
            })
            .collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9;proto=https"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = resolve(ip("198.51.100.1"), false, &h, &nets(&["10.0.0.0/8"]));
        assert_eq!(
            c,
            ClientAddress {
                ip: ip("198.51.100.1"),
                https: false
            }
        );
        let c = resolve(ip("10.0.0.5"), false, &h, &[]);
        assert_eq!(c.ip, ip("10.0.0.5"), "no trusted proxies: never believed");
    }

    #[test]
    fn x_forwarded_for_yields_the_right_most_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1"]);
        // The client claims to be 1.1.1.1; our outer proxy appended the real peer.
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1, 203.0.113.9, 192.168.1.1"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = resolve(ip("10.1.2.3"), false, &h, &trusted);
        assert_eq!(
            c,
            ClientAddress {
                ip: ip("203.0.113.9"),
                https: true
            }
        );
        // Several header lines form one list, in order.
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            resolve(ip("10.1.2.3"), true, &h, &trusted).ip,
            ip("203.0.113.9")
        );
        // Every hop trusted: the left-most is the client.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 192.168.1.1")]);
        assert_eq!(
            resolve(ip("10.1.2.3"), false, &h, &trusted).ip,
            ip("10.9.9.9")
        );
    }

    #[test]
    fn x_forwarded_proto_is_matched_hop_by_hop_when_it_can_be() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9, 10.0.0.2"),
            ("x-forwarded-proto", "https, http"),
        ]);
        assert!(resolve(ip("10.0.0.1"), false, &h, &trusted).https);
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9, 10.0.0.2"),
            ("x-forwarded-proto", "http"),
        ]);
        assert!(!resolve(ip("10.0.0.1"), true, &h, &trusted).https);
    }

    #[test]
    fn forwarded_is_parsed_as_rfc_7239_writes_it() {
        let trusted = nets(&["10.0.0.0/8", "fd00::/8"]);
        let h = headers(&[(
            "forwarded",
            r#"for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.1, For=10.0.0.3;proto=http"#,
        )]);
        let c = resolve(ip("10.0.0.1"), false, &h, &trusted);
        assert_eq!(
            c,
            ClientAddress {
                ip: ip("2001:db8:cafe::17"),
                https: true
            }
        );
        let h = headers(&[("forwarded", "for=192.0.2.60:8080;proto=http")]);
        assert_eq!(
            resolve(ip("fd00::1"), true, &h, &trusted).ip,
            ip("192.0.2.60")
        );
        // Forwarded wins over X-Forwarded-For when both are there.
        let h = headers(&[
            ("forwarded", "for=192.0.2.61"),
            ("x-forwarded-for", "192.0.2.62"),
        ]);
        assert_eq!(
            resolve(ip("10.0.0.1"), false, &h, &trusted).ip,
            ip("192.0.2.61")
        );
    }

    #[test]
    fn an_unnamed_or_malformed_hop_never_lets_a_made_up_address_through() {
        let trusted = nets(&["10.0.0.0/8"]);
        // `unknown` right of a forged address: the proxy that said so stands in.
        let h = headers(&[("forwarded", "for=203.0.113.66, for=unknown, for=10.0.0.7")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), false, &h, &trusted).ip,
            ip("10.0.0.7")
        );
        let h = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), false, &h, &trusted).ip,
            ip("10.0.0.1")
        );
        for junk in ["", ",,,", "nonsense", "for", "by=1.2.3.4"] {
            let h = headers(&[("forwarded", junk)]);
            assert_eq!(
                resolve(ip("10.0.0.1"), false, &h, &trusted).ip,
                ip("10.0.0.1"),
                "{junk:?}"
            );
        }
        let h = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), false, &h, &trusted).ip,
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ipv4_mapped_peers_count_as_their_ipv4_address() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        let c = resolve(ip("::ffff:10.0.0.1"), false, &h, &nets(&["10.0.0.0/8"]));
        assert_eq!(c.ip, ip("203.0.113.9"));
        let c = resolve(ip("::ffff:192.0.2.1"), false, &h, &[]);
        assert_eq!(c.ip, ip("192.0.2.1"));
    }

    #[test]
    fn nodes_parse_with_and_without_ports() {
        assert_eq!(node_ip("192.0.2.1"), Some(ip("192.0.2.1")));
        assert_eq!(node_ip(" 192.0.2.1:80 "), Some(ip("192.0.2.1")));
        assert_eq!(node_ip("[::1]:80"), Some(ip("::1")));
        assert_eq!(node_ip("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(node_ip("unknown"), None);
        assert_eq!(node_ip("192.0.2.1:"), None);
        assert_eq!(node_ip("[::1"), None);
    }
}
