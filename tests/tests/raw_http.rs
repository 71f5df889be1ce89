//! Requests the HTTP parser refuses before any route sees them (issue 8, point 15), sent as
//! raw bytes over TCP: each answer carries the error envelope, and ordinary traffic on the
//! same kind of connection is untouched.

use std::time::Duration;

use mami_tests::TestApp;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type R = anyhow::Result<()>;

/// Sends `request` (or as much of it as the server takes before it answers), waits `pause`
/// if given, and reads until the server closes the connection. A server that closes with
/// bytes of the request unread resets the connection: what arrived before counts.
async fn exchange(
    app: &TestApp,
    request: &[u8],
    pause: Option<Duration>,
) -> anyhow::Result<String> {
    let mut s = TcpStream::connect(app.address.trim_start_matches("http://")).await?;
    let _ = s.write_all(request).await;
    if let Some(p) = pause {
        tokio::time::sleep(p).await;
    }
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    let read = async {
        while let Ok(n @ 1..) = s.read(&mut chunk).await {
            out.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(15), read).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Status line, lower-cased head and the JSON body of one answer.
fn parse(answer: &str) -> (String, String, Value) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_ascii_lowercase(), body)
}

fn assert_enveloped(label: &str, answer: &str, status: u16) {
    let (line, head, body) = parse(answer);
    assert!(
        line.starts_with(&format!("HTTP/1.1 {status} ")),
        "{label}: {answer}"
    );
    assert!(
        head.contains("\r\ncontent-type: application/json"),
        "{label}: {head}"
    );
    assert!(
        head.contains("\r\nx-content-type-options: nosniff"),
        "{label}: {head}"
    );
    assert!(head.contains("\r\nx-request-id: "), "{label}: {head}");
    assert!(head.contains("\r\nconnection: close"), "{label}: {head}");
    let e = &body["error"];
    assert_eq!(e["code"], format!("HTTP_{status}"), "{label}: {answer}");
    assert_eq!(e["status_code"], status, "{label}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{label}"
    );
    assert!(e["details"].is_object(), "{label}");
}

#[tokio::test]
async fn requests_the_parser_refuses_are_answered_in_the_envelope() -> R {
    let app = TestApp::spawn().await?;
    let mut many_headers = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..100 {
        many_headers.extend(format!("X-H{i}: v\r\n").as_bytes());
    }
    many_headers.extend(b"\r\n");
    let long_url = format!(
        "GET /api/v1/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(140_000)
    );
    let cases: [(&str, &[u8], u16); 9] = [
        (
            "invalid UTF-8 in the request line",
            b"GET /api/v1/health\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
            400,
        ),
        (
            "conflicting Content-Length",
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
              Content-Length: 6\r\n\r\nhello",
            400,
        ),
        (
            "Content-Length with Transfer-Encoding",
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
              Transfer-Encoding: chunked\r\n\r\nhello",
            400,
        ),
        ("too many headers", &many_headers, 431),
        ("an overlong URL", long_url.as_bytes(), 431),
        (
            "no Host header",
            b"GET /api/v1/health HTTP/1.1\r\n\r\n",
            400,
        ),
        (
            "an invalid method",
            b"G(T /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
            400,
        ),
        (
            "an unknown HTTP version",
            b"GET /api/v1/health HTTP/9.9\r\nHost: x\r\n\r\n",
            400,
        ),
        (
            "a control character in a header",
            b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
            400,
        ),
    ];
    for (label, request, status) in cases {
        assert_enveloped(label, &exchange(&app, request, None).await?, status);
    }
    // A head that does not arrive in time (the 5-second request timeout).
    let slow = exchange(
        &app,
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n",
        Some(Duration::from_secs(6)),
    )
    .await?;
    assert_enveloped("a head not sent in time", &slow, 408);
    Ok(())
}

#[tokio::test]
async fn ordinary_answers_pass_through_untouched() -> R {
    let app = TestApp::spawn().await?;
    // Two requests on one kept-alive connection.
    let answer = exchange(
        &app,
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /api/v1/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        None,
    )
    .await?;
    let answers: Vec<&str> = answer.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 2, "{answer}");
    assert!(answers[0].starts_with("200 OK"), "{answer}");
    assert!(
        answers[0].contains(r#"{"data":{"status":"ok"}}"#),
        "{answer}"
    );
    assert!(answers[1].starts_with("404 Not Found"), "{answer}");
    assert!(answers[1].contains(r#""code":"HTTP_404""#), "{answer}");
    // A HEAD of an error: its head says how long the body would be, and no body follows.
    let answer = exchange(
        &app,
        b"HEAD /api/v1/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        None,
    )
    .await?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_default();
    assert!(head.starts_with("HTTP/1.1 404 Not Found"), "{answer}");
    assert!(head.contains("content-length: 111"), "{head}");
    assert_eq!(body, "", "a HEAD answer has no body");
    Ok(())
}
