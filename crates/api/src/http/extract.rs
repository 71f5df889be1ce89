//! Body and query extractors that answer every malformed input in the error envelope:
//! 415 for a non-JSON body, 400 `HTTP_400` for malformed JSON, 400 `BAD_REQUEST` for a
//! `null` body (or, with [`JsonOrEmpty`], the errors of `{}`), and 400 `VALIDATION_ERROR` with
//! `details.errors[] {loc, msg, type}` naming
//! every problem at once: a body is first checked against its type's schema
//! ([`super::shape`]: wrong types, missing and unknown fields, declared bounds, NUL
//! characters; integer strings read as integers), a query string reports every unknown
//! parameter.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use mami_domain::FieldError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::ToSchema;

use super::ApiError;
use super::shape::{self, Shape};

/// Largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// A JSON body deserialised into `T`; with `FILLED`, no body at all and every falsy one (`{}`,
/// `[]`, `null`, `""`, `0`, `false`) is 400 `BAD_REQUEST` "Missing JSON body".
#[derive(Debug)]
pub struct JsonBody<T, const FILLED: bool>(pub T);

/// A JSON body deserialised into `T` (which should `deny_unknown_fields`).
pub type ValidJson<T> = JsonBody<T, false>;

/// A JSON body as [`ValidJson`], refusing an absent or falsy body as the reference's checkout
/// routes do.
pub type FilledJson<T> = JsonBody<T, true>;

/// A JSON body as [`ValidJson`], except that a `null` body reads as `{}` (the reference's
/// `/ops` aliases).
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

/// Deserialises a parsed JSON body into `T`, every problem named.
pub fn from_json_value<T: DeserializeOwned + ToSchema + 'static>(
    mut value: Value,
) -> Result<T, ApiError> {
    if value.is_null() {
        return Err(missing_body());
    }
    let errors = Shape::of::<T>().conform(&mut value);
    match serde_path_to_error::deserialize::<_, T>(value) {
        // serde read it, so a complaint about the body's structure came from a schema that
        // knows less than serde (an `alias`, a hand-written `value_type`); the rules the
        // schema declares (bounds, lengths, formats, NUL) still stand, and so does the type of
        // the body itself: serde reads a struct from an array too (`[null, null]` as the
        // fields in order), which no client means.
        Ok(v) => {
            let rules: Vec<FieldError> = errors
                .into_iter()
                .filter(|e| !shape::is_structural(&e.kind) || e.loc.is_empty())
                .collect();
            if rules.is_empty() {
                Ok(v)
            } else {
                Err(ApiError::validation(rules))
            }
        }
        Err(_) if !errors.is_empty() => Err(ApiError::validation(errors)),
        // The schema saw nothing wrong but serde did: its (first) problem is still named.
        Err(e) => {
            let err = field_error(None, e.path(), &e.inner().to_string());
            Err(ApiError::validation(vec![err]))
        }
    }
}

/// Deserialises a raw query string into `T`, with every unknown parameter named.
pub fn from_query_str<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut errors = Vec::new();
    // Each round drops one unknown parameter, so the loop ends.
    loop {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        let err = match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) if errors.is_empty() => return Ok(v),
            Ok(_) => break,
            Err(e) => field_error(Some("query"), e.path(), &e.inner().to_string()),
        };
        let unknown = (err.kind == "extra_forbidden")
            .then(|| err.loc.last().cloned())
            .flatten();
        errors.push(err);
        match unknown {
            Some(name) if pairs.iter().any(|(k, _)| *k == name) => {
                pairs.retain(|(k, _)| *k != name);
            }
            _ => break,
        }
    }
    Err(ApiError::validation(errors))
}

fn missing_body() -> ApiError {
    ApiError::bad_request("Missing JSON body")
}

/// `{}`, `[]`, `null`, `""`, `0`, `false`: what the reference's `if not payload` refuses.
fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Reads the JSON body as a value; with `filled`, an absent or falsy body is refused first.
fn read_value(
    req: &HttpRequest,
    payload: &mut Payload,
    filled: bool,
) -> LocalBoxFuture<'static, Result<Value, ApiError>> {
    let json = is_json(req);
    let bytes = Bytes::from_request(req, payload);
    Box::pin(async move {
        if !json && !filled {
            return Err(ApiError::http(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        let bytes = bytes.await.map_err(|e| {
            if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::http(StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                ApiError::http(StatusCode::BAD_REQUEST)
            }
        })?;
        if filled && bytes.trim_ascii().is_empty() {
            return Err(missing_body());
        }
        if !json {
            return Err(ApiError::http(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        if bytes.len() > MAX_JSON_BYTES {
            return Err(ApiError::http(StatusCode::PAYLOAD_TOO_LARGE));
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|_| ApiError::http(StatusCode::BAD_REQUEST))?;
        if filled && is_falsy(&value) {
            return Err(missing_body());
        }
        Ok(value)
    })
}

impl<T: DeserializeOwned + ToSchema + 'static, const FILLED: bool> FromRequest
    for JsonBody<T, FILLED>
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_value(req, payload, FILLED);
        Box::pin(async move { from_json_value(body.await?).map(JsonBody) })
    }
}

impl<T: DeserializeOwned + ToSchema + 'static> FromRequest for JsonOrEmpty<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_value(req, payload, false);
        Box::pin(async move {
            let value = match body.await? {
                Value::Null => serde_json::json!({}),
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

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
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
    fn a_body_of_another_type_than_its_schema_is_refused() {
        #[derive(Debug, Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Patch {
            name: Option<String>,
            phone: Option<String>,
        }
        for body in [json!([null, null]), json!(["a", "b"]), json!("a"), json!(5)] {
            let e = from_json_value::<Patch>(body.clone()).err();
            assert_eq!(
                e.as_ref().map(first_error),
                Some((vec![], "dict_type".into())),
                "{body}"
            );
        }
        assert!(from_json_value::<Patch>(json!({"name": "a"})).is_ok());
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
        // Pydantic's error types, as the reference answers them.
        let e = from_json_value::<Body>(json!({"email": "a", "tags": [1, "x"]})).err();
        assert_eq!(
            e.as_ref().map(first_error),
            Some((vec!["tags".into(), "1".into()], "int_parsing".into()))
        );
        let e = from_json_value::<Body>(json!({"tags": ["2", -1], "role": 1})).err();
        let kinds: Vec<String> = e
            .iter()
            .flat_map(|e| e.details["errors"].as_array().cloned().unwrap_or_default())
            .map(|err| format!("{}:{}", err["loc"], err["type"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(
            kinds,
            [
                r#"["email"]:missing"#,
                r#"["role"]:extra_forbidden"#,
                r#"["tags","1"]:greater_than_equal"#,
            ]
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
        let e = from_query_str::<Query>("a=1&limit=5&b=2&a=3").err();
        let locs: Vec<Value> = e
            .iter()
            .flat_map(|e| e.details["errors"].as_array().cloned().unwrap_or_default())
            .map(|err| err["loc"].clone())
            .collect();
        assert_eq!(locs, [json!(["query", "a"]), json!(["query", "b"])]);
    }

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Aliased {
        #[serde(alias = "startTime")]
        #[schema(max_length = 5)]
        start_time: String,
    }

    #[test]
    fn serde_has_the_last_word_on_structure_and_the_schema_on_rules() {
        // The schema does not know the alias, serde does: accepted.
        assert!(from_json_value::<Aliased>(json!({"startTime": "08:00"})).is_ok());
        // A declared bound holds (under the name the schema knows: an alias escapes it).
        let e = from_json_value::<Aliased>(json!({"start_time": "08:00:00"})).err();
        assert_eq!(
            e.as_ref().map(first_error),
            Some((vec!["start_time".into()], "string_too_long".into()))
        );
        // Both wrong: every problem the schema saw.
        let e = from_json_value::<Aliased>(json!({"start": 1})).err();
        assert_eq!(
            e.map(|e| e.details["errors"].as_array().map_or(0, Vec::len)),
            Some(2)
        );
    }

    #[test]
    fn falsy_bodies_are_missing_bodies() {
        for v in [
            json!({}),
            json!([]),
            json!(null),
            json!(""),
            json!(0),
            json!(false),
        ] {
            assert!(is_falsy(&v), "{v}");
        }
        for v in [
            json!({"a": 1}),
            json!([0]),
            json!("x"),
            json!(1),
            json!(true),
        ] {
            assert!(!is_falsy(&v), "{v}");
        }
    }
}
