//! `/images`: a generated picture per product (SVG: the name's initials on a colour of its
//! category), so the demo store shows images with no image host and no network.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use sha2::{Digest, Sha256};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::ApiError;
use crate::openapi::ErrorEnvelope;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(product_image);
}

/// Where the picture of product `id` is served (relative: it works through any proxy of `/api`).
pub fn product_image_path(id: i64) -> String {
    format!("/api/v1/images/products/{id}.svg")
}

/// Browsers and proxies may keep a picture an hour, then revalidate it with its `ETag`.
const CACHE_CONTROL: &str = "public, max-age=3600";

/// An SVG opened on its own must not run anything: no scripts, no outside resources.
const SVG_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// The picture of an active product: its initials on its category's colour, its name below.
/// `ETag` and `If-None-Match` (304) make it cheap to revalidate; 404 `NOT_FOUND` for a missing
/// or inactive product.
#[utoipa::path(
    tag = "images",
    params(("If-None-Match" = Option<String>, Header, description = "An `ETag` of the picture")),
    responses(
        (status = 200, content_type = "image/svg+xml", body = String,
            description = "The picture (SVG)"),
        (status = 304, description = "`If-None-Match` matched the picture's `ETag`"),
        (status = 400, body = ErrorEnvelope, description = "The id is not a number"),
        (status = 404, body = ErrorEnvelope, description = "`NOT_FOUND`: no such active product")
    )
)]
#[get("/products/{product_id}.svg")]
pub async fn product_image(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let view = state.catalog.product(path.into_inner(), None).await?;
    let svg = picture(&view.product.name, view.product.category_id);
    let etag = format!("\"{}\"", &hex(&Sha256::digest(svg.as_bytes()))[..32]);
    let matched = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if matched {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::Ok().body(svg)
    };
    let headers = resp.headers_mut();
    if !matched {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(SVG_CSP),
        );
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    Ok(resp)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first letter or digit of the name's first two words, upper-cased ("Whole Milk 3%" →
/// "WM"); "?" when there is none.
pub fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        "?".to_owned()
    } else {
        letters
    }
}

/// A colour per category: hues a golden angle apart, so neighbouring ids differ clearly.
pub fn category_hue(category_id: i64) -> i64 {
    (category_id.rem_euclid(360) * 137).rem_euclid(360)
}

/// `text` safe inside XML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The SVG of a product called `name` in category `category_id` (400 × 400).
pub fn picture(name: &str, category_id: i64) -> String {
    let hue = category_hue(category_id);
    let label: String = if name.chars().count() > 28 {
        name.chars().take(27).chain(['…']).collect()
    } else {
        name.to_owned()
    };
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" "#,
            r#"viewBox="0 0 400 400" role="img" aria-label="{title}">"#,
            r#"<title>{title}</title>"#,
            r#"<rect width="400" height="400" fill="hsl({hue}, 55%, 45%)"/>"#,
            r#"<circle cx="200" cy="180" r="120" fill="hsl({hue}, 60%, 35%)"/>"#,
            r#"<text x="200" y="180" text-anchor="middle" dominant-baseline="central" "#,
            r#"font-family="sans-serif" font-size="96" font-weight="bold" "#,
            r#"fill="white">{initials}</text>"#,
            r#"<text x="200" y="352" text-anchor="middle" font-family="sans-serif" "#,
            r#"font-size="24" fill="white">{label}</text>"#,
            "</svg>\n"
        ),
        title = escape(name),
        hue = hue,
        initials = escape(&initials(name)),
        label = escape(&label),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_letter_or_digit_of_two_words() {
        assert_eq!(initials("Whole Milk 3%"), "WM");
        assert_eq!(initials("bananas"), "B");
        assert_eq!(initials("  (Organic)  eggs "), "OE");
        assert_eq!(initials("חלב טרי"), "חט");
        assert_eq!(initials("3% Milk"), "3M");
        assert_eq!(initials("— & —"), "?");
        assert_eq!(initials(""), "?");
    }

    #[test]
    fn hues_differ_between_neighbouring_categories_and_stay_in_range() {
        let hues: Vec<i64> = (1..=15).map(category_hue).collect();
        assert!(hues.iter().all(|h| (0..360).contains(h)), "{hues:?}");
        for pair in hues.windows(2) {
            assert!((pair[0] - pair[1]).abs() >= 30, "{hues:?}");
        }
        assert!((0..360).contains(&category_hue(-7)));
        assert!((0..360).contains(&category_hue(i64::MAX)));
    }

    #[test]
    fn markup_in_a_name_stays_text() {
        let svg = picture("<script>alert(1)</script> & \"Fish\" 'n' chips\u{0}", 3);
        assert!(!svg.contains("<script"), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Fish&quot;"),
            "{svg}"
        );
        assert!(!svg.contains('\u{0}'), "{svg}");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn a_long_name_is_shortened_on_the_picture_but_kept_in_its_title() {
        let name = "Extra Virgin Olive Oil From The Galilee Hills";
        let svg = picture(name, 1);
        assert!(svg.contains(&format!("<title>{name}</title>")), "{svg}");
        assert!(
            svg.contains(">Extra Virgin Olive Oil From…</text>"),
            "{svg}"
        );
    }
}
