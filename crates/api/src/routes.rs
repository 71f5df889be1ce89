//! Route modules; each exposes `configure`. Paths are relative to `/api/v1`.

pub mod addresses;
pub mod admin_branches;
pub mod admin_catalog;
pub mod admin_settings;
pub mod admin_users;
pub mod audit;
pub mod auth;
pub mod branches;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod dto;
pub mod health;
pub mod images;
pub mod inventory_upload;
pub mod me;
pub mod ops;
pub mod orders;
pub mod profile;
pub mod recovery;
pub mod stock_requests;
pub mod store;

use mami_domain::identity::Role;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::require_roles;

/// Roles of the back office (MANAGER and ADMIN).
pub const BACK_OFFICE: &[Role] = &[Role::Manager, Role::Admin];

/// Staff (EMPLOYEE, MANAGER, ADMIN): the `/ops` routes.
pub const STAFF: &[Role] = &[Role::Employee, Role::Manager, Role::Admin];

/// The scopes whose every route is role-guarded, with the roles their guard lets in (a route
/// inside may narrow them). `configure` wraps each scope in its guard from here, and the OpenAPI
/// document's 403s come from here too, so the two cannot drift apart.
pub const GUARDED_SCOPES: [GuardedScope; 3] = [STOCK_REQUESTS, OPS, ADMIN];

/// A scope's path (under `/api/v1`) and the roles its guard lets in.
pub type GuardedScope = (&'static str, &'static [Role]);

pub const STOCK_REQUESTS: GuardedScope = ("/stock-requests", STAFF);
pub const OPS: GuardedScope = ("/ops", STAFF);
pub const ADMIN: GuardedScope = ("/admin", BACK_OFFICE);

/// A [`GuardedScope`] as a scope wrapped in its role guard.
macro_rules! guarded {
    ($scope:expr) => {
        scope($scope.0).wrap(actix_web::middleware::from_fn(require_roles($scope.1)))
    };
}

/// Every `/api/v1` route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(scope("/health").configure(health::configure))
        .service(
            scope("/auth")
                .configure(auth::configure)
                .configure(recovery::configure),
        )
        .service(scope("/catalog").configure(catalog::configure))
        .service(scope("/images").configure(images::configure))
        .service(scope("/store").configure(store::configure))
        .service(scope("/cart").configure(cart::configure))
        .service(
            scope("/me")
                .configure(me::configure)
                .configure(profile::configure)
                .configure(addresses::configure),
        )
        .service(scope("/checkout").configure(checkout::configure))
        .service(scope("/orders").configure(orders::configure))
        .configure(branches::configure)
        .service(guarded!(STOCK_REQUESTS).configure(stock_requests::configure))
        .service(
            guarded!(OPS)
                .configure(ops::configure)
                .configure(stock_requests::configure_ops),
        )
        .service(
            guarded!(ADMIN)
                .configure(audit::configure)
                .configure(admin_catalog::configure)
                .configure(admin_branches::configure)
                .configure(inventory_upload::configure)
                .configure(admin_settings::configure)
                .configure(admin_users::configure),
        );
}
