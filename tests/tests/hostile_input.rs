//! No input may panic or end in a 500 (issue 8, points 10 and 11): every query parameter,
//! path parameter and body field of every route in the OpenAPI document is sent hostile
//! values — multi-byte and control characters, invalid UTF-8, NUL, huge and negative numbers,
//! long text — and every answer must be below 500 and, when an error, in the envelope.
//! The document is the generated one, so a route added later is covered without a change here.

use mami_domain::identity::Role;
use mami_tests::reqwest::Method;
use mami_tests::{Reply, Session, TestApp, error_code};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

/// Query and path values, already percent-encoded as they go on the wire.
const HOSTILE_URL_VALUES: &[&str] = &[
    "%C2%80",       // U+0080, a C1 control: two bytes
    "30%C2%80",     // a number, then a two-byte character (the byte-index split)
    "7%C3%A9",      // é at the end
    "%F0%9F%98%80", // a four-byte emoji
    "%E2%80%AE",    // right-to-left override
    "%D7%90%D7%91", // Hebrew
    "%FF%FE",       // not UTF-8 at all
    "%00",          // NUL
    "a%00b",
    "%0A%0D%09%1B", // newline, return, tab, escape
    "%20",
    "",
    "-1",
    "0",
    "-0",
    "1.5",
    "1e309",
    "NaN",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "%27%3B%20DROP%20TABLE%20users%3B--",
    "true",
    "%5B%5D",
];

/// Values for a path segment (an id in every route today).
const HOSTILE_PATH_VALUES: &[&str] = &[
    "%C2%80",
    "%FF",
    "%00",
    "-1",
    "0",
    "1.5",
    "99999999999999999999",
    "%F0%9F%98%80",
    "9223372036854775807",
];

fn hostile_json() -> Vec<Value> {
    vec![
        json!("\u{0}"),
        json!("a\u{0}b"),
        json!("\u{80}"),
        json!("😀".repeat(300)),
        json!("\u{202e}\u{5d0}\u{1b}\n"),
        json!("x".repeat(5000)),
        json!("99999999999999999999"),
        json!("-1"),
        json!(-1),
        json!(0),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(0.5),
        json!(false),
        json!(null),
        json!([]),
        json!({"\u{0}": "\u{0}"}),
    ]
}

/// An operation of the document: method, path template, parameters, body schema name.
struct Operation {
    method: Method,
    path: String,
    query: Vec<String>,
    path_params: Vec<String>,
    body: Option<String>,
}

fn operations(doc: &Value) -> anyhow::Result<Vec<Operation>> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let named = |place: &str| -> Vec<String> {
                params
                    .iter()
                    .filter(|p| p["in"] == place)
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect()
            };
            let body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.rsplit('/').next())
                .map(str::to_owned);
            out.push(Operation {
                method,
                query: named("query"),
                path_params: named("path"),
                path: path.clone(),
                body,
            });
        }
    }
    anyhow::ensure!(out.len() > 50, "the document lists the routes");
    Ok(out)
}

/// `path` with every `{placeholder}` set to `value`.
fn fill(path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = rest[start..]
            .find('}')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    out + rest
}

/// Sends one request and checks the answer: below 500, and an error in the envelope.
async fn probe(session: &Session, method: &Method, url: &str, body: Option<&Value>) -> R {
    let mut req = session.request(method.clone(), url);
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = Reply::of(req).await?;
    assert!(
        r.status < 500,
        "{method} {url} {body:?}: {} {}",
        r.status,
        r.body
    );
    if r.status >= 400 {
        error_code(r.status, &r.body);
    }
    Ok(())
}

/// Routes that end the caller's session are left out: they take no input to fuzz.
fn ends_the_session(op: &Operation) -> bool {
    op.path.ends_with("/auth/logout") || op.path.ends_with("/auth/refresh")
}

#[tokio::test]
async fn no_hostile_input_panics_or_answers_500() -> R {
    let app = TestApp::spawn().await?;
    let doc = serde_json::to_value(mami_api::openapi_document())?;
    let schemas = &doc["components"]["schemas"];
    let mut probes = 0usize;
    for op in operations(&doc)?.iter().filter(|op| !ends_the_session(op)) {
        // A fresh session per route: a probe may change the caller (never deactivate them:
        // an admin cannot deactivate themselves).
        let admin = app.session(Role::Admin).await?;
        let base = fill(&op.path, "1");
        for name in &op.query {
            for v in HOSTILE_URL_VALUES {
                probe(&admin, &op.method, &format!("{base}?{name}={v}"), None).await?;
                probes += 1;
            }
        }
        if !op.path_params.is_empty() {
            for v in HOSTILE_PATH_VALUES {
                probe(&admin, &op.method, &fill(&op.path, v), None).await?;
                probes += 1;
            }
        }
        let Some(schema) = op.body.as_deref().map(|name| &schemas[name]) else {
            continue;
        };
        for field in schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|p| p.0)
        {
            for v in hostile_json() {
                probe(&admin, &op.method, &base, Some(&json!({ field: v }))).await?;
                probes += 1;
            }
        }
    }
    assert!(probes > 1000, "{probes} probes");
    Ok(())
}
