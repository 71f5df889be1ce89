//! [`SecretSource`]: reset tokens and registration codes from the operating system's random
//! source, and their digests as HMAC-SHA256 keyed with the JWT secret, so that the stored
//! digests are useless without the server's key (a four-digit code's plain hash would not be).

use mami_domain::identity::SecretSource;
use rand::Rng;
use rand::rngs::OsRng;
use ring::hmac;

/// Random secrets and their keyed digests.
pub struct HmacSecrets {
    key: hmac::Key,
}

impl std::fmt::Debug for HmacSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSecrets(***)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl HmacSecrets {
    /// Digests keyed with `secret` (the JWT secret: every process of a deployment shares it;
    /// changing it voids the outstanding reset links and codes).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }
}

impl SecretSource for HmacSecrets {
    fn reset_token(&self) -> String {
        let bytes: [u8; 32] = OsRng.r#gen();
        hex(&bytes)
    }

    fn registration_code(&self) -> String {
        OsRng.gen_range(1000..=9999).to_string()
    }

    fn digest(&self, secret: &str) -> String {
        let tag = hmac::sign(&self.key, format!("mami-secret-v1:{secret}").as_bytes());
        hex(tag.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_their_shape_and_digests_depend_on_the_key() {
        let s = HmacSecrets::new(b"key-one");
        let token = s.reset_token();
        assert_eq!(token.len(), 64);
        assert_ne!(token, s.reset_token());
        for _ in 0..100 {
            let code: u32 = s.registration_code().parse().unwrap_or(0);
            assert!((1000..=9999).contains(&code), "{code}");
        }
        let d = s.digest("1234");
        assert_eq!(d.len(), 64);
        assert_eq!(d, s.digest("1234"));
        assert_ne!(d, HmacSecrets::new(b"key-two").digest("1234"));
    }
}
