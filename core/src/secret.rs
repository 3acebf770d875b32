//! A string that must never be printed (tokens, client secrets, PKCE verifiers), and where a
//! platform's client secret is looked for (its environment variable and stored name).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Holds a secret value. `Debug` and `Display` print `[redacted]`, so a secret that ends up in a
/// log line, an error message or a `{:?}` of a struct that contains it gives nothing away.
/// The value is reachable only through [`Secret::expose`], which makes every use greppable.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for the one place that must send it (an HTTP form, the keychain).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// Secrets serialise as their value: they are written only to the secret store, whose files are 0600.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// The environment variable for a platform's client secret: `TIKTOK_CLIENT_SECRET` for `tiktok`,
/// unless the registered platform names its own ([`crate::Platform::client_secret_env`]: some
/// providers call it an app secret, and their users look for that word).
pub fn client_secret_env(platform: &str) -> String {
    crate::platform::find(platform)
        .and_then(|p| p.client_secret_env())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}_CLIENT_SECRET", platform.to_ascii_uppercase()))
}

/// The secret name a platform's client secret is stored under: `tiktok/client_secret`.
pub fn client_secret_name(platform: &str) -> String {
    format!("{platform}/client_secret")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("act.very-secret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            token: Secret,
        }
        assert!(!format!("{:?}", Holder { token: s.clone() }).contains("very-secret"));
        assert_eq!(s.expose(), "act.very-secret");
    }
}
