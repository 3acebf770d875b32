//! DPoP (RFC 9449) proofs with ES256, as the atproto OAuth provider demands (reference §2.6):
//! header `{"typ":"dpop+jwt","alg":"ES256","jwk":<public key>}`, claims `jti`, `htm`, `htu`
//! (the request's origin and path, exactly as the server names itself), `iat`, the server's
//! latest `nonce`, and on resource requests `ath` (the access token's SHA-256). The signature
//! is the raw 64-byte r‖s, not DER. One key per authorisation, kept with the session as a
//! secret: every later token, refresh and PDS request must be signed by it.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use keryx_core::{Error, Result, Secret};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url(SHA-256(text)), no padding: PKCE S256 challenges, `ath`, JWK thumbprints.
pub fn sha256_b64(text: &str) -> String {
    b64(&Sha256::digest(text.as_bytes()))
}

/// A P-256 key for DPoP proofs. Its `Debug` shows only the public thumbprint.
pub struct DpopKey {
    key: SigningKey,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DpopKey(jkt {})", self.thumbprint())
    }
}

impl DpopKey {
    pub fn generate() -> DpopKey {
        loop {
            // A random 32-byte string is a valid scalar except with negligible probability.
            let bytes: [u8; 32] = rand::random();
            if let Ok(key) = SigningKey::from_bytes(&bytes.into()) {
                return DpopKey { key };
            }
        }
    }

    /// The private key as a secret to store (base64url of the scalar).
    pub fn to_secret(&self) -> Secret {
        Secret::new(b64(&self.key.to_bytes()))
    }

    pub fn from_secret(secret: &Secret) -> Result<DpopKey> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(secret.expose())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| Error::platform("the stored DPoP key is unreadable"))?;
        let key = SigningKey::from_slice(&bytes)
            .map_err(|_| Error::platform("the stored DPoP key is not a P-256 key"))?;
        Ok(DpopKey { key })
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": b64(point.x().expect("an uncompressed point has x")),
            "y": b64(point.y().expect("an uncompressed point has y")),
        })
    }

    /// RFC 7638 thumbprint (`jkt`): members in lexicographic order, no whitespace.
    pub fn thumbprint(&self) -> String {
        let jwk = self.jwk();
        sha256_b64(&format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap_or_default(),
            jwk["y"].as_str().unwrap_or_default()
        ))
    }

    /// A proof for one request (a fresh `jti` each time: a re-sent proof is refused).
    pub fn proof(
        &self,
        htm: &str,
        url: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> String {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()});
        let mut claims = json!({
            "jti": b64(&rand::random::<[u8; 16]>()),
            "htm": htm,
            "htu": htu(url),
            "iat": keryx_core::tokens::unix_now(),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(token) = access_token {
            claims["ath"] = json!(sha256_b64(token));
        }
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&signature.to_bytes()))
    }
}

/// `htu`: scheme, host, port and path; no query, no fragment.
pub fn htu(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_string()
}

/// The origin of a URL (`http://localhost:2583`), the key of its server's nonce.
pub fn origin(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.to_string())
}

/// The newest `DPoP-Nonce` of each server (origin): the auth server and the PDS are different
/// hosts on bsky.social, and each rotates its own.
#[derive(Debug, Default)]
pub struct Nonces {
    by_origin: Mutex<HashMap<String, String>>,
}

impl Nonces {
    pub fn get(&self, url: &str) -> Option<String> {
        self.by_origin
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&origin(url))
            .cloned()
    }

    /// Keeps the reply's nonce, if it has one.
    pub fn take_from(&self, url: &str, headers: &reqwest::header::HeaderMap) {
        if let Some(nonce) = headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
            self.by_origin
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(origin(url), nonce.to_string());
        }
    }

    pub fn snapshot(&self) -> HashMap<String, String> {
        self.by_origin
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;

    #[test]
    fn a_proof_verifies_with_its_jwk_and_strips_the_query() {
        let key = DpopKey::generate();
        let proof = key.proof(
            "POST",
            "http://localhost:2583/oauth/par?x=1#f",
            Some("n1"),
            Some("tok"),
        );
        let parts: Vec<&str> = proof.split('.').collect();
        let decode = |s: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap()
        };
        let header: Value = serde_json::from_slice(&decode(parts[0])).unwrap();
        let claims: Value = serde_json::from_slice(&decode(parts[1])).unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["jwk"], key.jwk());
        assert_eq!(claims["htu"], "http://localhost:2583/oauth/par");
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(claims["ath"], sha256_b64("tok"));
        let signature = Signature::from_slice(&decode(parts[2])).unwrap();
        let message = format!("{}.{}", parts[0], parts[1]);
        key.key
            .verifying_key()
            .verify(message.as_bytes(), &signature)
            .unwrap();
        // The key survives the secret store.
        let again = DpopKey::from_secret(&key.to_secret()).unwrap();
        assert_eq!(again.thumbprint(), key.thumbprint());
        assert!(!format!("{key:?}").contains(key.to_secret().expose()));
    }
}
