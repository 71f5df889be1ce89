//! RBAC: every route of the OpenAPI document, for anonymous callers and each role, answers
//! as the table says; the table, the document and docs/api.md list the same routes.

use std::collections::BTreeSet;

use mami_domain::identity::Role;
use mami_tests::{TestApp, repo_root, send};
use serde_json::json;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    /// Any active signed-in user.
    Authenticated,
    Roles(&'static [Role]),
    /// Takes a refresh token, not an access token.
    RefreshToken,
}

const BACK_OFFICE: &[Role] = &[Role::Manager, Role::Admin];
const ADMIN_ONLY: &[Role] = &[Role::Admin];
const STAFF: &[Role] = &[Role::Employee, Role::Manager, Role::Admin];

/// (method, path, access). Paths use `{id}`-style parameters exactly as in the document.
const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/api/v1/health", Access::Public),
    ("GET", "/api/v1/health/ready", Access::Public),
    ("POST", "/api/v1/auth/register", Access::Public),
    ("POST", "/api/v1/auth/login", Access::Public),
    ("POST", "/api/v1/auth/refresh", Access::RefreshToken),
    ("POST", "/api/v1/auth/logout", Access::Authenticated),
    ("GET", "/api/v1/auth/me", Access::Authenticated),
    (
        "POST",
        "/api/v1/auth/change-password",
        Access::Authenticated,
    ),
    ("POST", "/api/v1/auth/forgot-password", Access::Public),
    ("POST", "/api/v1/auth/reset-password", Access::Public),
    ("POST", "/api/v1/auth/register/send-otp", Access::Public),
    ("POST", "/api/v1/auth/register/verify-otp", Access::Public),
    ("GET", "/api/v1/me", Access::Authenticated),
    ("PATCH", "/api/v1/me", Access::Authenticated),
    ("PATCH", "/api/v1/me/phone", Access::Authenticated),
    ("GET", "/api/v1/me/addresses", Access::Authenticated),
    ("POST", "/api/v1/me/addresses", Access::Authenticated),
    (
        "PUT",
        "/api/v1/me/addresses/{address_id}",
        Access::Authenticated,
    ),
    (
        "DELETE",
        "/api/v1/me/addresses/{address_id}",
        Access::Authenticated,
    ),
    (
        "PATCH",
        "/api/v1/me/addresses/{address_id}/default",
        Access::Authenticated,
    ),
    ("GET", "/api/v1/catalog/categories", Access::Public),
    (
        "GET",
        "/api/v1/catalog/categories/{category_id}/products",
        Access::Public,
    ),
    ("GET", "/api/v1/catalog/products/search", Access::Public),
    ("GET", "/api/v1/catalog/products/featured", Access::Public),
    (
        "GET",
        "/api/v1/catalog/products/autocomplete",
        Access::Public,
    ),
    (
        "GET",
        "/api/v1/catalog/products/{product_id}",
        Access::Public,
    ),
    (
        "GET",
        "/api/v1/catalog/products/{product_id}/reviews",
        Access::Public,
    ),
    (
        "GET",
        "/api/v1/images/products/{product_id}.svg",
        Access::Public,
    ),
    ("GET", "/api/v1/store/shipping-info", Access::Public),
    ("GET", "/api/v1/store/notifications", Access::Authenticated),
    ("GET", "/api/v1/store/wishlist", Access::Authenticated),
    ("POST", "/api/v1/store/wishlist", Access::Authenticated),
    (
        "DELETE",
        "/api/v1/store/wishlist/{product_id}",
        Access::Authenticated,
    ),
    ("GET", "/api/v1/cart", Access::Authenticated),
    ("DELETE", "/api/v1/cart", Access::Authenticated),
    ("POST", "/api/v1/cart/items", Access::Authenticated),
    ("PUT", "/api/v1/cart/items/{item_id}", Access::Authenticated),
    (
        "DELETE",
        "/api/v1/cart/items/{item_id}",
        Access::Authenticated,
    ),
    ("POST", "/api/v1/me/payment-tokens", Access::Authenticated),
    ("GET", "/api/v1/me/payment-tokens", Access::Authenticated),
    (
        "DELETE",
        "/api/v1/me/payment-tokens/{id}",
        Access::Authenticated,
    ),
    ("POST", "/api/v1/checkout/preview", Access::Authenticated),
    ("POST", "/api/v1/checkout/confirm", Access::Authenticated),
    ("GET", "/api/v1/orders", Access::Authenticated),
    ("GET", "/api/v1/orders/{order_id}", Access::Authenticated),
    (
        "POST",
        "/api/v1/orders/{order_id}/cancel",
        Access::Authenticated,
    ),
    ("GET", "/api/v1/branches", Access::Public),
    ("GET", "/api/v1/branches/delivery-source", Access::Public),
    ("GET", "/api/v1/delivery-slots", Access::Public),
    ("POST", "/api/v1/stock-requests", Access::Roles(STAFF)),
    ("GET", "/api/v1/stock-requests/my", Access::Roles(STAFF)),
    (
        "GET",
        "/api/v1/stock-requests/admin",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "GET",
        "/api/v1/stock-requests/admin/{id}",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/stock-requests/admin/{id}/resolve",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/stock-requests/admin/bulk-review",
        Access::Roles(BACK_OFFICE),
    ),
    ("GET", "/api/v1/ops/stock-requests", Access::Roles(STAFF)),
    ("POST", "/api/v1/ops/stock-requests", Access::Roles(STAFF)),
    ("GET", "/api/v1/ops/orders", Access::Roles(STAFF)),
    ("GET", "/api/v1/ops/orders/{order_id}", Access::Roles(STAFF)),
    (
        "PATCH",
        "/api/v1/ops/orders/{order_id}/status",
        Access::Roles(STAFF),
    ),
    (
        "PATCH",
        "/api/v1/ops/orders/{order_id}/items/{item_id}/picked-status",
        Access::Roles(STAFF),
    ),
    (
        "POST",
        "/api/v1/ops/orders/{order_id}/items/{item_id}/report-damage",
        Access::Roles(ADMIN_ONLY),
    ),
    ("POST", "/api/v1/ops/batches", Access::Roles(STAFF)),
    ("GET", "/api/v1/ops/performance", Access::Roles(BACK_OFFICE)),
    ("GET", "/api/v1/ops/alerts", Access::Roles(STAFF)),
    ("GET", "/api/v1/admin/audit", Access::Roles(BACK_OFFICE)),
    (
        "POST",
        "/api/v1/admin/categories",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/admin/categories/{id}",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/admin/categories/{id}/toggle",
        Access::Roles(BACK_OFFICE),
    ),
    ("POST", "/api/v1/admin/products", Access::Roles(BACK_OFFICE)),
    (
        "PATCH",
        "/api/v1/admin/products/{id}",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/admin/products/{id}/toggle",
        Access::Roles(BACK_OFFICE),
    ),
    ("POST", "/api/v1/admin/branches", Access::Roles(BACK_OFFICE)),
    (
        "PATCH",
        "/api/v1/admin/branches/{id}",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/admin/branches/{id}/toggle",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "GET",
        "/api/v1/admin/delivery-slots",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "POST",
        "/api/v1/admin/delivery-slots",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/admin/delivery-slots/{id}",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/admin/delivery-slots/{id}/toggle",
        Access::Roles(BACK_OFFICE),
    ),
    ("GET", "/api/v1/admin/inventory", Access::Roles(BACK_OFFICE)),
    (
        "POST",
        "/api/v1/admin/inventory",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/admin/inventory/{id}",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "POST",
        "/api/v1/admin/inventory/bulk",
        Access::Roles(BACK_OFFICE),
    ),
    ("GET", "/api/v1/admin/settings", Access::Roles(ADMIN_ONLY)),
    ("PUT", "/api/v1/admin/settings", Access::Roles(BACK_OFFICE)),
    (
        "GET",
        "/api/v1/admin/analytics/revenue",
        Access::Roles(ADMIN_ONLY),
    ),
    ("GET", "/api/v1/admin/users", Access::Roles(BACK_OFFICE)),
    (
        "GET",
        "/api/v1/admin/users/{id}",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/admin/users/{id}",
        Access::Roles(BACK_OFFICE),
    ),
    (
        "PATCH",
        "/api/v1/admin/users/{id}/toggle",
        Access::Roles(BACK_OFFICE),
    ),
];

/// A 404 of the resource (someone else's token…) is fine; the router's own 404/405 is not.
fn route_exists(body: &serde_json::Value) -> bool {
    !matches!(
        body["error"]["code"].as_str(),
        Some("HTTP_404" | "HTTP_405")
    )
}

fn concrete(path: &str) -> String {
    // Every id 1 exists in the seeded demo data. Every placeholder is filled: a non-integer
    // id does not match its route (404 `HTTP_404`, as an unknown path).
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        out.push('1');
        rest = rest[start..]
            .find('}')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    out + rest
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_table_says() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let roles: Vec<Option<Role>> = Role::ALL.into_iter().map(Some).chain([None]).collect();
    for (method, path, access) in ROUTES {
        for role in &roles {
            // A fresh session per request: some routes (logout) end the session they are
            // called with.
            let token = match role {
                Some(r) => Some(app.token(*r).await?),
                None => None,
            };
            let mut req = app
                .client
                .request(
                    reqwest::Method::from_bytes(method.as_bytes())?,
                    app.url(&concrete(path)),
                )
                .json(&json!({}));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let (status, _, body) = send(req).await?;
            let label = format!("{method} {path} as {role:?}: {status} {body}");
            match (access, role) {
                (Access::Public, _) => {
                    assert!(
                        status != 401 && status != 403 && route_exists(&body),
                        "{label}"
                    )
                }
                (Access::Authenticated, None)
                | (Access::Roles(_), None)
                | (Access::RefreshToken, _) => {
                    assert_eq!(status, 401, "{label}");
                }
                (Access::Authenticated, Some(_)) => {
                    assert!(
                        status != 401 && status != 403 && route_exists(&body),
                        "{label}"
                    )
                }
                (Access::Roles(allowed), Some(r)) if allowed.contains(r) => {
                    assert!(
                        status != 401 && status != 403 && route_exists(&body),
                        "{label}"
                    );
                }
                (Access::Roles(_), Some(_)) => {
                    assert_eq!(status, 403, "{label}");
                    assert_eq!(body["error"]["code"], "AUTHORIZATION_ERROR", "{label}");
                }
            }
        }
    }
    Ok(())
}

fn table() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

#[test]
fn the_table_covers_every_documented_route() {
    let documented: BTreeSet<(String, String)> =
        mami_api::openapi::operations(&mami_api::openapi_document())
            .into_iter()
            .collect();
    assert_eq!(
        documented,
        table(),
        "left: OpenAPI document, right: RBAC table"
    );
}

/// The role guard's 403 is documented on exactly the routes that answer it to some role (the
/// table's `Access::Roles`, which the test above checks against the running API); another
/// route documents a 403 only as its own (registering a privileged role).
#[test]
fn the_document_lists_the_guards_403_on_exactly_the_role_guarded_routes() -> anyhow::Result<()> {
    let doc = serde_json::to_value(mami_api::openapi_document())?;
    for (method, path, access) in ROUTES {
        let responses = &doc["paths"][*path][method.to_lowercase()]["responses"];
        let label = format!("{method} {path} ({access:?}): {responses}");
        if matches!(access, Access::Roles(_)) {
            assert!(responses.get("403").is_some(), "{label}");
        } else {
            assert_ne!(
                responses["403"]["$ref"], "#/components/responses/Error403",
                "{label}"
            );
        }
    }
    Ok(())
}

#[test]
fn docs_api_md_lists_every_route() -> anyhow::Result<()> {
    let doc = std::fs::read_to_string(repo_root().join("docs/api.md"))?;
    let missing: Vec<String> = table()
        .into_iter()
        .map(|(m, p)| format!("{m} {p}"))
        .filter(|line| !doc.contains(&format!("`{line}`")))
        .collect();
    assert!(missing.is_empty(), "docs/api.md does not list: {missing:?}");
    Ok(())
}
