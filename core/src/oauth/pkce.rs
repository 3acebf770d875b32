//! PKCE (RFC 7636) verifiers and challenges, and the anti-CSRF `state`.
//!
//! Two challenge encodings exist in the wild: RFC 7636's base64url (Google and most providers)
//! and lowercase hex of the same SHA-256 digest (TikTok's Desktop Login Kit). Both are offered;
//! the platform picks the one its provider checks. A wrong encoding is accepted by the browser
//! step and only fails at token exchange, so the choice matters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// The shortest verifier RFC 7636 allows.
pub const VERIFIER_MIN_LEN: usize = 43;
/// The longest verifier RFC 7636 allows.
pub const VERIFIER_MAX_LEN: usize = 128;

/// A fresh PKCE code verifier: 32 random bytes as unpadded base64url, i.e. 43 characters of
/// `A-Z a-z 0-9 - _`, a subset of the unreserved set both Google and TikTok accept.
/// Generate one per authorisation attempt; never print it.
pub fn verifier() -> Secret {
    let bytes: [u8; 32] = rand::random();
    verifier_from_bytes(&bytes)
}

/// The verifier for `bytes` of randomness. Split out of [`verifier`] so the encoding can be
/// property-tested over arbitrary input.
pub(crate) fn verifier_from_bytes(bytes: &[u8]) -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `verifier` is one RFC 7636 allows: 43–128 characters of `A-Z a-z 0-9 - . _ ~`.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (VERIFIER_MIN_LEN..=VERIFIER_MAX_LEN).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// TikTok Desktop's challenge: the lowercase hex SHA-256 of the verifier's ASCII bytes (64 chars).
pub fn challenge_hex(verifier: &str) -> String {
    hex::encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 `S256`: unpadded base64url of the verifier's SHA-256 (43 chars).
pub fn challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh `state` value: 192 random bits as unpadded base64url (32 characters, URL-safe so it
/// survives any query encoding unchanged). It is compared on return to reject redirects that
/// belong to another authorisation (CSRF, or a stale URL pasted by mistake).
pub fn state() -> String {
    let bytes: [u8; 24] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tiktok_hex_vector() {
        assert_eq!(
            challenge_hex("gaeCq5mVvbhA8Ce6w5O9XBVIKMkySgv-_9A-rnhm9Ns"),
            "e6a178b120743d08509508f269652b0bdf91e29332921bc9e9744fd3dd41bfef"
        );
    }

    #[test]
    fn tiktok_vector_in_base64url_is_not_the_hex_one() {
        // The reference's warning: the same digest in base64url is what TikTok rejects.
        assert_eq!(
            challenge_s256("gaeCq5mVvbhA8Ce6w5O9XBVIKMkySgv-_9A-rnhm9Ns"),
            "5qF4sSB0PQhQlQjyaWUrC9-R4pMykhvJ6XRP091Bv-8"
        );
    }

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn fresh_values_are_valid_and_differ() {
        let a = verifier();
        let b = verifier();
        assert!(is_valid_verifier(a.expose()), "{}", a.expose().len());
        assert_ne!(a.expose(), b.expose());
        let s = state();
        assert!(s.len() * 6 >= 128, "state carries at least 128 bits");
        assert_ne!(s, state());
        assert!(
            s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn verifier_validation_rejects_bad_ones() {
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"~".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
        assert!(!is_valid_verifier(&format!("{}=", "a".repeat(43))));
    }

    proptest! {
        #[test]
        fn verifiers_from_any_randomness_are_valid(bytes in proptest::collection::vec(any::<u8>(), 32..=96)) {
            let v = verifier_from_bytes(&bytes);
            prop_assert!(is_valid_verifier(v.expose()), "invalid verifier {:?}", v.expose());
        }

        #[test]
        fn generated_verifiers_are_valid(_round in 0u8..=255) {
            let v = verifier();
            prop_assert!(is_valid_verifier(v.expose()));
            prop_assert_eq!(challenge_hex(v.expose()).len(), 64);
            prop_assert!(challenge_hex(v.expose()).bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
            let s256 = challenge_s256(v.expose());
            prop_assert_eq!(s256.len(), 43);
            prop_assert!(is_valid_verifier(&s256), "an S256 challenge uses the same alphabet");
        }
    }
}
