//! actix-http answers some requests itself, below every middleware: a request
//! head it cannot parse (a NUL byte in a header, an obsolete folded header, a
//! malformed request line) gets a bare `400`, a head that does not arrive in
//! time a bare `408`, and one that is too large a bare `431` — no body, no
//! request id. This wrapper sits between the socket (or TLS) and the HTTP
//! codec and replaces exactly those responses with our JSON error shape and
//! an `X-Request-Id`, so a client never sees an error we did not describe.
//!
//! They are told apart from our own responses by what they lack: every
//! response that went through `middleware::request_context` carries an
//! `x-request-id` header, and our error bodies are never empty. Each of these
//! responses ends its connection, so nothing follows them on the wire.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{ErrorBody, ErrorCode};

/// The status lines actix-http writes for the errors it answers itself.
const BARE: [(&[u8], u16, ErrorCode, &str); 3] = [
    (
        b" 400 Bad Request\r\n",
        400,
        ErrorCode::MalformedRequest,
        "The request line or a header could not be parsed (for example a NUL or other control \
         byte in a header, an obsolete folded header line, or a malformed request line); \
         nothing was done. Send a well-formed HTTP/1.1 request.",
    ),
    (
        b" 408 Request Timeout\r\n",
        408,
        ErrorCode::RequestTimeout,
        "The request head did not arrive in time; nothing was done. Send the whole request \
         line and headers at once, then the body.",
    ),
    (
        b" 431 Request Header Fields Too Large\r\n",
        431,
        ErrorCode::RequestHeadersTooLarge,
        "The request head is too large (too many or too long headers); nothing was done. \
         Send fewer or shorter headers.",
    ),
];

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    /// How many bytes of the caller's buffer it replaces.
    stands_for: usize,
}

pub struct RewriteBareErrors<T> {
    io: T,
    replacement: Option<Replacement>,
    /// Off for HTTP/2, whose binary frames never carry these HTTP/1 heads.
    active: bool,
}

impl<T> RewriteBareErrors<T> {
    pub fn new(io: T) -> Self {
        Self {
            io,
            replacement: None,
            active: true,
        }
    }

    /// Leaves every byte alone (an HTTP/2 connection, which shares the IO
    /// type with HTTP/1 ones on a TLS listener).
    pub fn passthrough(io: T) -> Self {
        Self {
            active: false,
            ..Self::new(io)
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.io
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Where a bare error response starts in `buf`, how long its head is, and
/// which one it is.
fn locate(buf: &[u8]) -> Option<(usize, usize, usize)> {
    for (which, (status_line, ..)) in BARE.iter().enumerate() {
        let Some(at) = find(buf, status_line) else {
            continue;
        };
        // The status line starts with "HTTP/1.x" right before.
        let start = at.checked_sub(8)?;
        if !buf[start..].starts_with(b"HTTP/1.") {
            continue;
        }
        let head_len = find(&buf[start..], b"\r\n\r\n")? + 4;
        let head = buf[start..start + head_len].to_ascii_lowercase();
        let has_body = find(&head, b"content-length:").is_some_and(|i| {
            let value = &head[i + 15..];
            let line = &value[..find(value, b"\r\n").unwrap_or(value.len())];
            line.trim_ascii() != b"0"
        });
        if find(&head, b"x-request-id:").is_none() && !has_body {
            return Some((start, head_len, which));
        }
    }
    None
}

fn replacement_for(which: usize) -> Vec<u8> {
    let (line, status, code, message) = BARE[which];
    let reason = std::str::from_utf8(line)
        .unwrap_or(" 400 Bad Request\r\n")
        .trim();
    let (id, bytes) = closing_response(reason, code, message);
    log::info!(
        "request {id}: answered {status} {} before routing",
        code.as_str()
    );
    bytes
}

/// A whole HTTP/1.1 error response in our shape, with a fresh request id,
/// that closes the connection. `reason` is the status line's "400 Bad Request".
pub fn closing_response(reason: &str, code: ErrorCode, message: &str) -> (String, Vec<u8>) {
    let id = uuid::Uuid::new_v4().to_string();
    let body = serde_json::to_vec(&ErrorBody::one(code, message)).unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         x-request-id: {id}\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n\
         connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    (id, out)
}

impl<T: AsyncWrite + Unpin> RewriteBareErrors<T> {
    /// Writes what is left of a replacement. It stays in place once written,
    /// until `poll_write` reports the caller's bytes it stood for.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(r) = self.replacement.as_mut() {
            while r.written < r.bytes.len() {
                let n = ready!(Pin::new(&mut self.io).poll_write(cx, &r.bytes[r.written..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                r.written += n;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for RewriteBareErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for RewriteBareErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.active
            && this.replacement.is_none()
            && let Some((start, head_len, which)) = locate(buf)
        {
            if start > 0 {
                // What precedes it (the end of an earlier response) goes out as is.
                return Pin::new(&mut this.io).poll_write(cx, &buf[..start]);
            }
            this.replacement = Some(Replacement {
                bytes: replacement_for(which),
                written: 0,
                stands_for: head_len,
            });
        }
        ready!(this.drain(cx))?;
        match this.replacement.take() {
            Some(r) => Poll::Ready(Ok(r.stands_for)),
            None => Pin::new(&mut this.io).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bare_errors_and_leaves_ours_alone() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n";
        assert_eq!(locate(bare), Some((0, bare.len(), 0)));
        let mut after_another =
            b"HTTP/1.1 200 OK\r\nx-request-id: a\r\ncontent-length: 2\r\n\r\n{}".to_vec();
        let offset = after_another.len();
        after_another
            .extend_from_slice(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(
            locate(&after_another).map(|(s, _, w)| (s, w)),
            Some((offset, 1))
        );
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 60\r\nx-request-id: 1\r\n\r\n";
        assert_eq!(locate(ours), None);
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n";
        assert_eq!(locate(with_body), None);
        assert_eq!(
            locate(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n"),
            None,
            "an unfinished head"
        );
    }

    #[test]
    fn the_replacement_is_our_json_shape_with_a_request_id() {
        let text = String::from_utf8(replacement_for(0)).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains("x-request-id: "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["Messages"][0]["Code"], "MalformedRequest");
    }
}
