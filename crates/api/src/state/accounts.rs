//! The accounts services (profile, address book, password reset, registration codes) and the
//! mail they send: the outbox's postman over the configured mailer, and the signal that wakes
//! the mail worker when a request has queued a message.

use std::sync::Arc;

use mami_domain::InfraError;
use mami_domain::addresses::AddressService;
use mami_domain::identity::{
    IdentityStore, PasswordHasher, ProfileService, RecoveryService, RecoverySettings,
};
use mami_domain::mail::{Clock, Mailer, Postman};
use mami_mail::{BrevoConfig, BrevoMailer, FileMailer};
use mami_postgres::{Database, PgAddressStore, PgOutboxStore, PgProfileStore, PgRecoveryStore};
use tokio::sync::Notify;

use crate::auth::HmacSecrets;
use crate::config::{Config, MailConfig};

/// Accounts and mail, wired once.
pub struct Accounts {
    pub profile: ProfileService,
    pub addresses: AddressService,
    pub recovery: RecoveryService,
    /// Delivers the outbox (the mail worker of `mami-api serve` runs it; tests call it).
    pub postman: Postman,
    /// Nudged after a request queued mail, so this process's worker sends it at once.
    pub mail_wake: Arc<Notify>,
}

/// The system's clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// The mailer `config` names, and the longest one send can take.
fn mailer(config: &MailConfig) -> Result<(Arc<dyn Mailer>, std::time::Duration), InfraError> {
    match config {
        MailConfig::Files { dir } => Ok((
            Arc::new(FileMailer::new(dir.clone())),
            std::time::Duration::from_secs(5),
        )),
        MailConfig::Brevo(b) => {
            let mailer = BrevoMailer::new(BrevoConfig {
                base_url: b.api_url.clone(),
                api_key: b.api_key.clone(),
                sender_email: b.sender_email.clone(),
                sender_name: b.sender_name.clone(),
                reset_template_id: b.reset_template_id,
                registration_template_id: b.registration_template_id,
                connect_timeout: std::time::Duration::from_secs(2).min(b.timeout),
                request_timeout: b.timeout,
            })
            .map_err(InfraError::new)?;
            Ok((Arc::new(mailer), b.timeout))
        }
    }
}

impl Accounts {
    pub fn new(
        config: &Config,
        db: &Database,
        users: Arc<dyn IdentityStore>,
        hasher: Arc<dyn PasswordHasher>,
    ) -> Result<Self, InfraError> {
        let (mailer, send_timeout) = mailer(&config.mail)?;
        let store = Arc::new(PgOutboxStore::new(db.clone()));
        let mut postman = Postman::new(store, mailer, Arc::new(SystemClock));
        // A live deliverer must never lose its claim: the lease outlasts a send by far.
        postman.policy.lease = chrono::Duration::from_std(send_timeout * 3)
            .map_or(postman.policy.lease, |d| d + chrono::Duration::seconds(30));
        let recovery = RecoveryService::new(
            users.clone(),
            Arc::new(PgRecoveryStore::new(db.clone())),
            hasher,
            Arc::new(HmacSecrets::new(&config.jwt_secret)),
            RecoverySettings {
                frontend_base_url: config.frontend_base_url.clone(),
                registration_codes: config.registration_codes,
            },
        );
        Ok(Self {
            profile: ProfileService::new(users, Arc::new(PgProfileStore::new(db.clone()))),
            addresses: AddressService::new(Arc::new(PgAddressStore::new(db.clone()))),
            recovery,
            postman,
            mail_wake: Arc::new(Notify::new()),
        })
    }
}
