//! Body and query extractors that answer every malformed input in the error envelope:
//! 415 for a non-JSON body, 400 `HTTP_400` for malformed JSON, 400 `BAD_REQUEST` for a
//! `null` body (or, with [`JsonOrEmpty`], the errors of `{}`), and 400 `VALIDATION_ERROR`
//! with `details.errors[] {loc, msg, type}` for wrong types, missing fields and unknown
//! fields (in bodies and query strings alike).

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use mami_domain::FieldError;
use serde::de::DeserializeOwned;

use super::ApiError;

/// Largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// A JSON body deserialised into `T` (which should `deny_unknown_fields`).
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

/// A JSON body deserialised into `T` like [`ValidJson`], except that `null` reads as `{}` (the
/// reference's routes that parsed `get_json() or {}`), so it fails on the missing fields.
#[derive(Debug)]
pub struct JsonOrEmpty<T>(pub T);

/// A query string deserialised into `T` (which should `deny_unknown_fields`).
#[derive(Debug)]
pub struct ValidQuery<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// The name between the first pair of backticks of a serde message.
fn quoted_name(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(&msg[start..start + len])
}

/// Turns a serde error at `path` into a field error located under `root`.
fn field_error(root: Option<&str>, path: &serde_path_to_error::Path, message: &str) -> FieldError {
    let mut loc: Vec<String> = root.map(|r| vec![r.to_owned()]).unwrap_or_default();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => loc.push(index.to_string()),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => {
                loc.push(key.clone());
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    // serde_json appends " at line L column C"; the location is already in `loc`.
    let message = message.split(" at line ").next().unwrap_or(message);
    let (kind, msg) = if message.starts_with("unknown field") {
        if let Some(name) = quoted_name(message)
            && loc.last().map(String::as_str) != Some(name)
        {
            loc.push(name.to_owned());
        }
        (
            "extra_forbidden",
            "Extra inputs are not permitted".to_owned(),
        )
    } else if message.starts_with("missing field") {
        if let Some(name) = quoted_name(message)
            && loc.last().map(String::as_str) != Some(name)
        {
            loc.push(name.to_owned());
        }
        ("missing", "Field required".to_owned())
    } else if message.starts_with("invalid type") {
        ("type_error", message.to_owned())
    } else if message.starts_with("unknown variant") {
        ("enum", message.to_owned())
    } else {
        ("value_error", message.to_owned())
    };
    FieldError {
        loc,
        msg,
        kind: kind.to_owned(),
    }
}

/// Deserialises a parsed JSON body into `T`, with the failing field named.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if value.is_null() {
        return Err(ApiError::bad_request("Missing JSON body"));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let err = field_error(None, e.path(), &e.inner().to_string());
        ApiError::validation(vec![err])
    })
}

/// Deserialises a raw query string into `T`, with the failing parameter named.
pub fn from_query_str<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let err = field_error(Some("query"), e.path(), &e.inner().to_string());
        ApiError::validation(vec![err])
    })
}

/// The request's JSON body as a value: 415 without a JSON content type, 413 when too large,
/// 400 `HTTP_400` when malformed.
fn json_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<serde_json::Value, ApiError>> {
    let json = is_json(req);
    let bytes = Bytes::from_request(req, payload);
    Box::pin(async move {
        if !json {
            return Err(ApiError::http(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        let bytes = bytes.await.map_err(|e| {
            if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::http(StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                ApiError::http(StatusCode::BAD_REQUEST)
            }
        })?;
        if bytes.len() > MAX_JSON_BYTES {
            return Err(ApiError::http(StatusCode::PAYLOAD_TOO_LARGE));
        }
        serde_json::from_slice(&bytes).map_err(|_| ApiError::http(StatusCode::BAD_REQUEST))
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload);
        Box::pin(async move { from_json_value(body.await?).map(ValidJson) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonOrEmpty<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload);
        Box::pin(async move {
            let value = match body.await? {
                serde_json::Value::Null => serde_json::json!({}),
                value => value,
            };
            from_json_value(value).map(JsonOrEmpty)
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ValidQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(from_query_str(req.query_string()).map(ValidQuery))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        tags: Option<Vec<u32>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Query {
        limit: Option<u32>,
    }

    fn first_error(e: &ApiError) -> (Vec<String>, String) {
        let err = &e.details["errors"][0];
        let loc = err["loc"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        (loc, err["type"].as_str().unwrap_or_default().to_owned())
    }

    #[test]
    fn body_errors_name_the_field() {
        let e = from_json_value::<Body>(json!({"email": "a", "role": "ADMIN"})).err();
        let e = e.as_ref().map(first_error);
        assert_eq!(e, Some((vec!["role".into()], "extra_forbidden".into())));
        let e = from_json_value::<Body>(json!({})).err();
        assert_eq!(
            e.as_ref().map(first_error),
            Some((vec!["email".into()], "missing".into()))
        );
        let e = from_json_value::<Body>(json!({"email": "a", "tags": [1, "x"]})).err();
        assert_eq!(
            e.as_ref().map(first_error),
            Some((vec!["tags".into(), "1".into()], "type_error".into()))
        );
        let e = from_json_value::<Body>(json!(null)).err();
        assert_eq!(e.map(|e| e.code), Some("BAD_REQUEST"));
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let e = from_query_str::<Query>("limit=abc").err();
        assert_eq!(
            e.as_ref().map(|e| first_error(e).0),
            Some(vec!["query".into(), "limit".into()])
        );
        let e = from_query_str::<Query>("limit=5&sort=up").err();
        assert_eq!(
            e.as_ref().map(first_error),
            Some((
                vec!["query".into(), "sort".into()],
                "extra_forbidden".into()
            ))
        );
        assert!(from_query_str::<Query>("limit=5").is_ok());
    }
}
