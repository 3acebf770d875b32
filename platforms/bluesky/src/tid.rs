//! TIDs, the record keys of `app.bsky.feed.post`: 13 characters of sortable base32 encoding
//! microseconds since 1970 (53 bits) and a 10-bit clock id. keryx picks the post's rkey itself
//! and saves it before `createRecord`, so a repeated request cannot make a second post: the PDS
//! refuses a second record at the same key.

const SORTABLE: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// A TID for now, with a random clock id.
pub fn now() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    encode((micros << 10) | u64::from(rand::random::<u16>() & 0x3ff))
}

/// The 13-character form of a 63-bit value.
pub fn encode(value: u64) -> String {
    let value = value & (u64::MAX >> 1);
    (0..13)
        .map(|i| SORTABLE[((value >> (60 - 5 * i)) & 31) as usize] as char)
        .collect()
}

/// The syntax the PDS checks (`Invalid TID string`).
pub fn is_valid(tid: &str) -> bool {
    tid.len() == 13
        && tid.bytes().all(|b| SORTABLE.contains(&b))
        && b"234567abcdefghij".contains(&tid.as_bytes()[0])
}

#[cfg(test)]
mod tests {
    #[test]
    fn tids_are_valid_and_sort_by_time() {
        let (a, b) = (super::encode(1 << 20), super::encode(2 << 20));
        assert!(super::is_valid(&a) && super::is_valid(&b) && a < b);
        assert!(super::is_valid(&super::now()));
        assert!(!super::is_valid("notatid"));
    }
}
