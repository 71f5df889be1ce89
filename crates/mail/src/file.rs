//! The development mailer: each message becomes one text file in a folder (`.local/mail` by
//! default), named after its template, recipient and key, plus a log line saying where. A
//! repeated attempt of one message rewrites its file rather than adding another.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use mami_domain::identity::recovery::{registration_code_ttl, reset_token_ttl};
use mami_domain::mail::{MailError, MailMessage, MailTemplate, Mailer};

/// Writes messages to files in `dir` (created when needed).
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Letters, digits and `.-_@` of `s`; anything else becomes `_`.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn param<'a>(message: &'a MailMessage, name: &str) -> &'a str {
    message.params.get(name).map_or("", String::as_str)
}

/// The message as a person would read it.
fn render(key: &str, message: &MailMessage) -> String {
    let body = match message.template {
        MailTemplate::PasswordReset => format!(
            "Reset your Mami password:\n\n  {}\n\nThe link works once, for {} minutes.",
            param(message, "reset_url"),
            reset_token_ttl().num_minutes()
        ),
        MailTemplate::RegistrationCode => format!(
            "Your Mami registration code: {}\n\nIt works once, for {} minutes.",
            param(message, "code"),
            registration_code_ttl().num_minutes()
        ),
    };
    let params: String = message
        .params
        .iter()
        .map(|(k, v)| format!("  {k}: {v}\n"))
        .collect();
    format!(
        "To: {}\nTemplate: {}\nMessage-Key: {key}\nDate: {}\n\n{body}\n\nParameters:\n{params}",
        message.to,
        message.template.as_str(),
        Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, key: &str, message: &MailMessage) -> Result<(), MailError> {
        let name = format!(
            "{}-{}-{}.txt",
            message.template.as_str(),
            file_safe(&message.to),
            file_safe(key)
        );
        let path = self.dir.join(name);
        let failed = |e: std::io::Error| {
            MailError::Retryable(format!("cannot write {}: {e}", path.display()))
        };
        tokio::fs::create_dir_all(&self.dir).await.map_err(failed)?;
        tokio::fs::write(&path, render(key, message))
            .await
            .map_err(failed)?;
        tracing::info!(
            to = %message.to,
            template = message.template.as_str(),
            file = %path.display(),
            "development mail written (not sent)"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_message_is_one_readable_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!(
            "mami-mail-test-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let mailer = FileMailer::new(&dir);
        let reset =
            MailMessage::password_reset("Dana@Example.com", "http://x/reset-password?token=T");
        mailer.send("k1", &reset).await?;
        mailer.send("k1", &reset).await?;
        mailer
            .send("k2", &MailMessage::registration_code("a/b@c.co", "4821"))
            .await?;
        let mut names: Vec<String> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "password_reset-Dana@Example.com-k1.txt",
                "registration_code-a_b@c.co-k2.txt"
            ]
        );
        let text = std::fs::read_to_string(dir.join(&names[0]))?;
        assert!(text.contains("To: Dana@Example.com"), "{text}");
        assert!(text.contains("http://x/reset-password?token=T"), "{text}");
        let code = std::fs::read_to_string(dir.join(&names[1]))?;
        assert!(code.contains("registration code: 4821"), "{code}");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
