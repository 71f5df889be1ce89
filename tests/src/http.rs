//! Talking to a running API: a client, answers as named fields, the error envelope, and
//! signed-in sessions (the demo users' or a scenario's shoppers').

use std::time::Duration;

use anyhow::{Context, Result, bail};
use mami_domain::identity::Role;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::{DEMO_PASSWORD, DEMO_USERS};

/// A reqwest client that never follows redirects and has a generous timeout.
pub fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// An answer: its status, headers and JSON body (`Value::Null` if none).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Sends `req` and reads the whole answer.
    pub async fn of(req: RequestBuilder) -> Result<Self> {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    /// The error envelope's code, once its shape is asserted (see [`error_code`]).
    pub fn code(&self) -> String {
        error_code(self.status, &self.body)
    }
}

/// The `Content-Type` of an answer (empty when it has none).
pub fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Sends `req` and returns status, headers and the JSON body (`Value::Null` if none).
pub async fn send(req: RequestBuilder) -> Result<(u16, HeaderMap, Value)> {
    let r = Reply::of(req).await?;
    Ok((r.status, r.headers, r.body))
}

/// Asserts the error envelope and returns its code.
pub fn error_code(status: u16, body: &Value) -> String {
    let e = &body["error"];
    assert_eq!(
        e["status_code"].as_u64(),
        Some(u64::from(status)),
        "status_code in envelope: {body}"
    );
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message in envelope: {body}"
    );
    assert!(e["details"].is_object(), "details in envelope: {body}");
    e["code"].as_str().unwrap_or_default().to_owned()
}

/// The elements of a JSON array, none if `v` is not one: `each(&body["data"])`.
pub fn each(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

/// The e-mail of the demo user of `role`.
pub fn demo_email(role: Role) -> &'static str {
    DEMO_USERS
        .iter()
        .find(|(_, _, r)| *r == role)
        .map_or("", |(e, _, _)| e)
}

/// Logs in as the demo user of `role`; returns the `data` object of the response.
pub async fn login(client: &reqwest::Client, address: &str, role: Role) -> Result<Value> {
    log_in(client, address, demo_email(role), DEMO_PASSWORD).await
}

/// Logs in with an e-mail and password; returns the `data` object of the response.
pub async fn log_in(
    client: &reqwest::Client,
    address: &str,
    email: &str,
    password: &str,
) -> Result<Value> {
    let r = Reply::of(
        client
            .post(format!("{address}/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password })),
    )
    .await?;
    if r.status != 200 {
        bail!("login as {email} failed: {} {}", r.status, r.body);
    }
    Ok(r.body["data"].clone())
}

/// The access token in a login or registration answer's `data`.
pub fn access_token(data: &Value) -> Result<String> {
    Ok(data["access_token"]
        .as_str()
        .context("no access_token")?
        .to_owned())
}

/// A signed-in caller of one API instance: every request carries its bearer token.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    client: reqwest::Client,
    address: String,
}

impl Session {
    pub fn new(client: reqwest::Client, address: &str, token: String) -> Self {
        Self {
            token,
            client,
            address: address.to_owned(),
        }
    }

    /// The same caller talking to another instance of the API (`http://host:port`).
    pub fn at(&self, address: &str) -> Self {
        Self::new(self.client.clone(), address, self.token.clone())
    }

    /// A request to `path` on this session's instance, with the bearer token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&self.token)
    }

    /// A request without a body.
    pub async fn call(&self, method: Method, path: &str) -> Result<Reply> {
        Reply::of(self.request(method, path)).await
    }

    pub async fn get(&self, path: &str) -> Result<Reply> {
        self.call(Method::GET, path).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply> {
        Reply::of(self.request(Method::POST, path).json(body)).await
    }
}
