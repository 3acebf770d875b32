//! The accounts of the emulated PDS. A studio posts to several handles, so the PDS hosts two:
//! each signs in with its own passwords, has its own sessions and its own repo and blobs, and
//! cannot write into the other's (reference §4.3: another account's DID as `repo` is 401
//! `AuthenticationRequired`).
//!
//! At the OAuth consent page the person signs in as the account the client's `login_hint`
//! names (it pre-fills the form, reference §2.3), or as the first account without one; the
//! `browser_user` knob makes them sign in as another account whatever the hint says.

/// One account on the PDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub handle: &'static str,
    pub did: &'static str,
    pub email: &'static str,
    /// Its main password (accepted by createSession like the real server's, never used by keryx).
    pub password: &'static str,
    /// Its app password: public on purpose, it opens only this fake.
    pub app_password: &'static str,
}

/// The PDS's accounts; the first is the default one (`keryx emulator`'s config names it).
pub const ACCOUNTS: [Account; 2] = [
    Account {
        handle: "alice.test",
        did: "did:plc:kxemulatoraliceaaaaaaaaa",
        email: "alice@example.com",
        password: "alice-main-password",
        app_password: "kery-xemu-lato-r2bs",
    },
    Account {
        handle: "bob.test",
        did: "did:plc:kxemulatorbobbbbbbbbbbbb",
        email: "bob@example.com",
        password: "bob-main-password",
        app_password: "bobx-emul-ator-2bsk",
    },
];

/// The account a handle, DID or email names (handles and emails are case-insensitive).
pub fn find(identifier: &str) -> Option<&'static Account> {
    let lower = identifier.to_lowercase();
    ACCOUNTS
        .iter()
        .find(|a| a.handle == lower || a.email == lower || a.did == identifier)
}

/// The account of a DID.
pub fn by_did(did: &str) -> Option<&'static Account> {
    ACCOUNTS.iter().find(|a| a.did == did)
}

/// Whether `repo` (a DID or a handle) is `did`'s repo.
pub fn is_repo_of(repo: &str, did: &str) -> bool {
    find(repo).is_some_and(|a| a.did == did && (repo == a.did || repo == a.handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_distinct_and_well_formed() {
        let [a, b] = ACCOUNTS;
        assert_ne!(a.did, b.did);
        assert_ne!(a.handle, b.handle);
        assert_ne!(a.app_password, b.app_password);
        for account in ACCOUNTS {
            // did:plc identifiers are 24 base32 characters (a-z, 2-7).
            let id = account.did.strip_prefix("did:plc:").unwrap();
            assert_eq!(id.len(), 24, "{account:?}");
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c))
            );
            // App passwords have the shape of reference §1: xxxx-xxxx-xxxx-xxxx.
            let groups: Vec<&str> = account.app_password.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups.iter().all(|g| g.len() == 4));
        }
    }

    #[test]
    fn identifiers_find_their_account_only() {
        assert_eq!(find("Bob.Test").unwrap().did, ACCOUNTS[1].did);
        assert_eq!(find("alice@example.com").unwrap().handle, "alice.test");
        assert_eq!(find(ACCOUNTS[1].did).unwrap().handle, "bob.test");
        assert!(find("carol.test").is_none());
        assert!(is_repo_of("bob.test", ACCOUNTS[1].did));
        assert!(is_repo_of(ACCOUNTS[1].did, ACCOUNTS[1].did));
        assert!(!is_repo_of("alice.test", ACCOUNTS[1].did));
        assert!(
            !is_repo_of("bob@example.com", ACCOUNTS[1].did),
            "an email is no repo"
        );
    }
}
