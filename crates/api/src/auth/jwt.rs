//! HS256 JWTs with the reference's claims (`sub`, uppercase `role`, `type`, `fresh`, `iat`,
//! `nbf`, `exp`, `jti`) plus `sid` (login session) and `ver` (the user's token version).

use chrono::{DateTime, Duration, TimeZone, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use mami_domain::identity::{TokenFacts, TokenKind, User, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub fresh: bool,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub sid: String,
    pub ver: i32,
}

/// Why a presented token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Token is invalid")]
    Invalid,
    #[error("Token has expired")]
    Expired,
}

/// A freshly issued access and refresh token.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub access_expires_at: DateTime<Utc>,
}

/// Signs and verifies tokens.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("access_ttl", &self.access_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat", "nbf"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    /// Issues an access and a refresh token for `user` in session `sid` (a new session when
    /// `None`).
    pub fn issue(
        &self,
        user: &User,
        sid: Option<&str>,
    ) -> Result<IssuedTokens, jsonwebtoken::errors::Error> {
        let now = Utc::now();
        let sid = sid.map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
        let claims = |kind: TokenKind, ttl: Duration| Claims {
            sub: user.id.0.to_string(),
            role: (kind == TokenKind::Access).then(|| user.role.as_str().to_owned()),
            kind: match kind {
                TokenKind::Access => "access".into(),
                TokenKind::Refresh => "refresh".into(),
            },
            fresh: false,
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + ttl).timestamp(),
            jti: Uuid::new_v4().to_string(),
            sid: sid.clone(),
            ver: user.token_version,
        };
        let header = Header::new(Algorithm::HS256);
        Ok(IssuedTokens {
            access_token: encode(
                &header,
                &claims(TokenKind::Access, self.access_ttl),
                &self.encoding,
            )?,
            refresh_token: encode(
                &header,
                &claims(TokenKind::Refresh, self.refresh_ttl),
                &self.encoding,
            )?,
            access_expires_at: now + self.access_ttl,
        })
    }

    /// Checks signature, algorithm and time claims, and reads the facts the domain needs.
    pub fn verify(&self, token: &str) -> Result<TokenFacts, TokenError> {
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        let c = data.claims;
        let user_id = c.sub.parse::<i64>().map_err(|_| TokenError::Invalid)?;
        let kind = match c.kind.as_str() {
            "access" => TokenKind::Access,
            "refresh" => TokenKind::Refresh,
            _ => return Err(TokenError::Invalid),
        };
        let expires_at = Utc
            .timestamp_opt(c.exp, 0)
            .single()
            .ok_or(TokenError::Invalid)?;
        Ok(TokenFacts {
            user_id: UserId(user_id),
            kind,
            jti: c.jti,
            sid: c.sid,
            version: c.ver,
            expires_at,
        })
    }

    /// Signs arbitrary claims (tests forge tokens with it).
    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }
}
