//! Requests the HTTP parser refuses, answered in the error envelope.
//!
//! actix-http answers a request it cannot parse (invalid UTF-8 in the request line, conflicting
//! `Content-Length`, a malformed header, a missing `Host`, more than 96 headers, a head over
//! 128 KiB, a head not sent in time) by writing a bodiless 400, 431 or 408 itself and closing
//! the connection: no route, middleware or error handler of the application ever sees it, and
//! actix offers no hook for it. So the connection is wrapped: [`Enveloped`] passes every byte
//! through, except such a response, which it replaces by the same status and headers with the
//! envelope as body (`HTTP_400`, `HTTP_431`, `HTTP_408`). It is recognised safely because no
//! answer of the application is a 4xx or 5xx without a body (the request-context middleware
//! puts every error into the envelope).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ApiError;
use super::middleware::{REQUEST_ID_HEADER, SECURITY_HEADERS};

/// A connection whose parser-made error answers carry the envelope.
pub struct Enveloped<T> {
    io: T,
    /// The replacement answer, and how much of it is written.
    pending: Vec<u8>,
    sent: usize,
}

impl<T> Enveloped<T> {
    pub fn new(io: T) -> Self {
        Self {
            io,
            pending: Vec::new(),
            sent: 0,
        }
    }
}

/// The parser's answers are one short head; the application's never look like one.
const MAX_REFUSAL: usize = 512;

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// When `buf` is exactly one bodiless 4xx or 5xx response head (what actix-http writes for a
/// request it refused), that response with the error envelope as its body.
pub fn enveloped_refusal(buf: &[u8]) -> Option<Vec<u8>> {
    let is_error = buf.starts_with(b"HTTP/1.") && matches!(buf.get(9), Some(b'4' | b'5'));
    if buf.len() > MAX_REFUSAL || !is_error {
        return None;
    }
    let end = find(buf, b"\r\n\r\n")?;
    if end + 4 != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let status = StatusCode::from_u16(code).ok()?;
    let headers: Vec<&str> = lines.collect();
    let named = |h: &str, name: &str| {
        h.split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
    };
    let bodiless = headers
        .iter()
        .any(|h| named(h, "content-length") && h.ends_with(": 0"));
    if !bodiless || headers.iter().any(|h| named(h, "content-type")) {
        return None;
    }
    let body = serde_json::to_vec(&ApiError::http(status).envelope()).ok()?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    tracing::info!(request_id = %id, status = code, "request refused by the HTTP parser");
    let mut out = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for h in headers.iter().filter(|h| !named(h, "content-length")) {
        out.push_str(h);
        out.push_str("\r\n");
    }
    for (name, value) in SECURITY_HEADERS
        .iter()
        .chain(&[(REQUEST_ID_HEADER, id.as_str())])
    {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend(body);
    Some(out)
}

impl<T: AsyncWrite + Unpin> Enveloped<T> {
    /// Writes what is left of a replacement answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Enveloped<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Enveloped<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        match enveloped_refusal(buf) {
            Some(answer) => {
                // The parser's bytes count as written; the replacement goes out now or on the
                // next write, flush or shutdown.
                this.pending = answer;
                if let Poll::Ready(Err(e)) = this.drain(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(buf.len()))
            }
            None => Pin::new(&mut this.io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFUSAL: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\
        connection: close\r\ndate: Fri, 27 Nov 2026 08:05:25 GMT\r\n\r\n";

    #[test]
    fn a_bodiless_refusal_gets_the_envelope() {
        let out = enveloped_refusal(REFUSAL).map(|b| String::from_utf8_lossy(&b).into_owned());
        let out = out.unwrap_or_default();
        let (head, body) = out.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("\r\nconnection: close\r\n"));
        assert!(head.contains("\r\ncontent-type: application/json\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(!head.contains("content-length: 0"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(body["error"]["code"], "HTTP_431");
        assert_eq!(body["error"]["status_code"], 431);
    }

    #[test]
    fn application_answers_pass_untouched() {
        let with_body = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}";
        let head_only = b"HTTP/1.1 404 Not Found\r\ncontent-length: 111\r\n\r\n";
        let json = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
            content-length: 0\r\n\r\n";
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        let longer = [REFUSAL, b"HTTP/1.1 200 OK"].concat();
        for buf in [
            &with_body[..],
            head_only,
            json,
            ok,
            &longer,
            b"HTTP/1.1 4",
            b"",
        ] {
            assert_eq!(
                enveloped_refusal(buf),
                None,
                "{}",
                String::from_utf8_lossy(buf)
            );
        }
    }
}
