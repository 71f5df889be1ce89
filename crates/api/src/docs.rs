//! The OpenAPI document (`/api/v1/openapi.json`) and its interactive page (`/api/v1/docs`):
//! Swagger UI, whose every asset is compiled into the binary (utoipa-swagger-ui's `vendored`
//! copy, Apache-2.0) and served under `/api/v1/docs/`, so the page works on a machine with no
//! internet. Everything is made once per process and served as shared bytes.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, ResponseError, web};
use utoipa_swagger_ui::Config;

use crate::http::ApiError;

pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";
pub const PAGE_PATH: &str = "/api/v1/docs";

/// The assets the page loads, by name under `/api/v1/docs/`.
pub const ASSETS: [&str; 7] = [
    "swagger-ui.css",
    "index.css",
    "favicon-32x32.png",
    "favicon-16x16.png",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-initializer.js",
];

/// The page: Swagger UI's own `index.html`, with the API's title and its assets named by
/// absolute path (the page has no trailing slash, so Swagger's `./` would miss them).
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Mami supermarket API</title>
<link rel="stylesheet" type="text/css" href="/api/v1/docs/swagger-ui.css">
<link rel="stylesheet" type="text/css" href="/api/v1/docs/index.css">
<link rel="icon" type="image/png" href="/api/v1/docs/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/api/v1/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/v1/docs/swagger-ui-bundle.js" charset="utf-8"></script>
<script src="/api/v1/docs/swagger-ui-standalone-preset.js" charset="utf-8"></script>
<script src="/api/v1/docs/swagger-initializer.js" charset="utf-8"></script>
</body>
</html>
"#;

struct Asset {
    name: &'static str,
    content_type: String,
    bytes: web::Bytes,
}

/// The document, the page and its assets.
pub struct Docs {
    json: web::Bytes,
    assets: Vec<Asset>,
}

impl Docs {
    /// Serializes `api` and loads every asset; fails if the build lacks one.
    pub fn new(api: &utoipa::openapi::OpenApi) -> Result<Self, String> {
        let json = serde_json::to_vec(api).map_err(|e| e.to_string())?;
        // No validator: Swagger UI would otherwise send the document to swagger.io for a badge.
        let config = Arc::new(
            Config::new([DOCUMENT_PATH])
                .validator_url("none")
                .try_it_out_enabled(true)
                .persist_authorization(true),
        );
        let assets = ASSETS
            .into_iter()
            .map(|name| {
                let file = utoipa_swagger_ui::serve(name, config.clone())
                    .map_err(|e| format!("docs asset {name}: {e}"))?
                    .ok_or_else(|| format!("docs asset {name} is missing from the build"))?;
                Ok(Asset {
                    name,
                    content_type: file.content_type,
                    bytes: web::Bytes::from(file.bytes.into_owned()),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            json: web::Bytes::from(json),
            assets,
        })
    }
}

async fn document(docs: web::Data<Docs>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(docs.json.clone())
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PAGE)
}

async fn asset(docs: web::Data<Docs>, name: web::Path<String>) -> HttpResponse {
    match docs.assets.iter().find(|a| a.name == name.as_str()) {
        Some(a) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, a.content_type.as_str()))
            .insert_header((CACHE_CONTROL, "public, max-age=3600"))
            .body(a.bytes.clone()),
        None => ApiError::http(StatusCode::NOT_FOUND).error_response(),
    }
}

/// The document, the page and its assets (outside the `/api/v1` scope, which would otherwise
/// answer for their paths; register before it).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(DOCUMENT_PATH, web::get().to(document))
        .route(PAGE_PATH, web::get().to(page))
        .route("/api/v1/docs/{name}", web::get().to(asset));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_in_the_binary_and_the_page_names_each() -> Result<(), String> {
        let docs = Docs::new(&utoipa::openapi::OpenApi::default())?;
        for a in &docs.assets {
            assert!(!a.bytes.is_empty(), "{}", a.name);
            assert!(
                PAGE.contains(&format!("/api/v1/docs/{}", a.name)),
                "{}",
                a.name
            );
        }
        let init = docs
            .assets
            .iter()
            .find(|a| a.name == "swagger-initializer.js")
            .map(|a| String::from_utf8_lossy(&a.bytes).into_owned())
            .unwrap_or_default();
        assert!(init.contains(DOCUMENT_PATH), "{init}");
        assert!(!init.contains("petstore"), "{init}");
        Ok(())
    }
}
