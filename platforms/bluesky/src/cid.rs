//! The CID of a blob as the PDS names it: CIDv1, codec `raw` (0x55), multihash sha2-256,
//! in multibase base32 lower case (`bafkrei…`). keryx computes it from the file and compares it
//! with the server's answer, so a blob that arrived altered is never posted.

/// CIDv1 raw sha2-256 of a digest (32 bytes).
pub fn raw_sha256(digest: &[u8; 32]) -> String {
    // version 1, codec raw, multihash code sha2-256, length 32
    let mut bytes = vec![0x01, 0x55, 0x12, 0x20];
    bytes.extend_from_slice(digest);
    format!("b{}", base32_lower(&bytes))
}

/// CIDv1 dag-cbor sha2-256 of a digest (the shape of record CIDs, `bafyrei…`).
pub fn dag_cbor_sha256(digest: &[u8; 32]) -> String {
    let mut bytes = vec![0x01, 0x71, 0x12, 0x20];
    bytes.extend_from_slice(digest);
    format!("b{}", base32_lower(&bytes))
}

/// RFC 4648 base32, lower case, no padding (multibase `b`).
pub fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The SHA-256 digest of a lowercase hex string (core's file fingerprint).
pub fn digest_from_hex(hex_digest: &str) -> Option<[u8; 32]> {
    hex::decode(hex_digest).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32_lower(b""), "");
        assert_eq!(base32_lower(b"f"), "my");
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn raw_cid_of_empty_bytes_is_the_known_one() {
        // The CIDv1 raw sha2-256 of zero bytes, as `ipfs add --raw-leaves --cid-version 1` gives it.
        let digest: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(
            raw_sha256(&digest),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
    }
}
