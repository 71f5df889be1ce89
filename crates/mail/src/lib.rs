//! [`Mailer`](mami_domain::mail::Mailer) adapters: Brevo's transactional e-mail API for real
//! mail, and a development mailer that writes each message to a file (and a log line) where a
//! developer can read it.

mod brevo;
mod file;

pub use brevo::{BrevoConfig, BrevoMailer};
pub use file::FileMailer;
