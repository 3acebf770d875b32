//! The serde seeds that walk the original text: each looks only at the part it needs, so
//! serde_yaml's line numbers always point into the user's file.

use super::*;

/// Deserialises a mapping key as a string, refusing duplicates and whatever `check` refuses.
/// Errors raised here carry the key's own line and column (serde_yaml marks the key's event),
/// which errors raised later in `visit_map` would not.
pub(super) struct KeySeed<'a> {
    seen: &'a mut BTreeSet<String>,
    check: &'a dyn Fn(&str) -> std::result::Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if !self.seen.insert(key.to_owned()) {
            return Err(E::custom(with_hint(
                format!("key {key:?} appears twice"),
                "keep one of them (YAML keeps only one, and which is not obvious)",
            )));
        }
        (self.check)(key).map_err(E::custom)?;
        Ok(key.to_owned())
    }
}

pub(super) struct TopSeed<'a> {
    pub(super) known: Option<&'a [String]>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        // An empty file (or one with only comments) is a YAML null: an empty config.
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of settings (`secrets:`, `platforms:`)")
    }

    fn visit_none<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut out = Parsed::default();
        let mut seen = BTreeSet::new();
        let strict = self.known.is_some();
        let check = |key: &str| {
            if !strict || key == STORED_SECRETS_KEY || TOP_LEVEL_KEYS.contains(&key) {
                Ok(())
            } else {
                Err(with_hint(
                    format!(
                        "unknown key {key:?}; allowed: {}",
                        TOP_LEVEL_KEYS.join(", ")
                    ),
                    "fix the name, or move the setting under `platforms:` → `<platform>:`",
                ))
            }
        };
        while let Some(key) = map.next_key_seed(KeySeed {
            seen: &mut seen,
            check: &check,
        })? {
            match (key.as_str(), self.known) {
                ("secrets", Some(_)) => out.secrets = map.next_value::<Option<SecretsMode>>()?,
                ("platforms", Some(known)) => {
                    out.sections = map.next_value_seed(PlatformsSeed { known })?;
                }
                (STORED_SECRETS_KEY, _) => out.stored = map.next_value_seed(StoredSeed)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// `platforms:` at load: every name registered, every section a mapping without secrets.
pub(super) struct PlatformsSeed<'a> {
    known: &'a [String],
}

impl<'de> DeserializeSeed<'de> for PlatformsSeed<'_> {
    type Value = BTreeMap<String, SectionInfo>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for PlatformsSeed<'_> {
    type Value = BTreeMap<String, SectionInfo>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping from platform name to its settings")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let known = self.known;
        let check = |name: &str| {
            if known.iter().any(|k| k == name) {
                return Ok(());
            }
            let registered = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            Err(with_hint(
                format!("unknown platform {name:?}; registered platforms: {registered}"),
                "fix the name, or remove the section if that platform is not part of this keryx",
            ))
        };
        while let Some(name) = map.next_key_seed(KeySeed {
            seen: &mut seen,
            check: &check,
        })? {
            let section = map.next_value_seed(SectionCheckSeed {
                platform: &name,
                account: None,
            })?;
            out.insert(name, section);
        }
        Ok(out)
    }
}

/// One platform's section at load (or one account's, with `account`): a mapping (or empty),
/// `enabled` a bool, no secrets, and for a platform its `accounts:`.
pub(super) struct SectionCheckSeed<'a> {
    platform: &'a str,
    account: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for SectionCheckSeed<'_> {
    type Value = SectionInfo;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<SectionInfo, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for SectionCheckSeed<'_> {
    type Value = SectionInfo;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.account {
            None => write!(f, "the settings of {} as `key: value` lines", self.platform),
            Some(account) => write!(
                f,
                "the settings of {}'s account {account} as `key: value` lines",
                self.platform
            ),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<SectionInfo, E> {
        Ok(SectionInfo::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<SectionInfo, E> {
        Ok(SectionInfo::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<SectionInfo, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SectionInfo, A::Error> {
        let platform = self.platform;
        let nested = self.account.is_some();
        let check = |key: &str| {
            if nested && key == ACCOUNTS_KEY {
                return Err(with_hint(
                    "an account cannot have accounts of its own",
                    format!("list every account directly under `{platform}:` → `accounts:`"),
                ));
            }
            match secret_key_problem(platform, key) {
                Some((problem, hint)) => Err(with_hint(problem, hint)),
                None => Ok(()),
            }
        };
        let mut seen = BTreeSet::new();
        let mut section = SectionInfo::default();
        while let Some(key) = map.next_key_seed(KeySeed {
            seen: &mut seen,
            check: &check,
        })? {
            if key == "enabled" {
                section.enabled = Some(map.next_value::<bool>()?);
            } else if key == ACCOUNTS_KEY {
                section.accounts = Some(map.next_value_seed(AccountsSeed { platform })?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(section)
    }
}

/// `platforms.<platform>.accounts`: account names to their settings (or nothing), each name
/// checked where it is written.
struct AccountsSeed<'a> {
    platform: &'a str,
}

impl<'de> DeserializeSeed<'de> for AccountsSeed<'_> {
    type Value = BTreeMap<String, Option<bool>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for AccountsSeed<'_> {
    type Value = BTreeMap<String, Option<bool>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}'s accounts, each `name:` with its settings indented below",
            self.platform
        )
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let check = |name: &str| check_account_name(name).map_err(|(p, h)| with_hint(p, h));
        while let Some(name) = map.next_key_seed(KeySeed {
            seen: &mut seen,
            check: &check,
        })? {
            let account = map.next_value_seed(SectionCheckSeed {
                platform: self.platform,
                account: Some(&name),
            })?;
            out.insert(name, account.enabled);
        }
        Ok(out)
    }
}

/// `stored_secrets:`: names to strings.
pub(super) struct StoredSeed;

impl<'de> DeserializeSeed<'de> for StoredSeed {
    type Value = BTreeMap<String, String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for StoredSeed {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping from secret name to a quoted string (written by keryx)")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let check = |_: &str| -> std::result::Result<(), String> { Ok(()) };
        while let Some(name) = map.next_key_seed(KeySeed {
            seen: &mut seen,
            check: &check,
        })? {
            let value = map.next_value::<String>()?;
            out.insert(name, value);
        }
        Ok(out)
    }
}

/// Walks nested mappings along `path` (e.g. `["platforms", "tiktok"]`), skipping every other
/// key unparsed, and deserialises what is at the end as `T`. Going through the document itself
/// (not a `Value`) keeps serde_yaml's line and column in `T`'s errors.
pub(super) struct PathSeed<'a, T> {
    pub(super) path: &'a [&'a str],
    pub(super) marker: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for PathSeed<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for PathSeed<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of settings")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let Some((wanted, rest)) = self.path.split_first() else {
            return Ok(None);
        };
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != *wanted {
                map.next_value::<IgnoredAny>()?;
            } else if rest.is_empty() {
                found = Some(map.next_value_seed(NullableSection::<T>(PhantomData))?);
            } else {
                found = map.next_value_seed(PathSeed::<T> {
                    path: rest,
                    marker: PhantomData,
                })?;
            }
        }
        Ok(found)
    }
}

/// A section that may be written as `tiktok:` with nothing under it: that is an empty mapping.
pub(super) struct NullableSection<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for NullableSection<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for NullableSection<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the platform's settings as `key: value` lines")
    }

    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        T::deserialize(de::value::MapDeserializer::<_, E>::new(
            std::iter::empty::<((), ())>(),
        ))
        .map_err(|e| E::custom(format!("{EMPTY_SECTION_MARK}{e}")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_map(WithoutAccounts::<T>(PhantomData))
    }
}

/// Hands `T` the section's mapping without its `accounts:` entry, which is keryx's own (see
/// [`Config::account_section`]), so a platform's struct can deny unknown fields and still see
/// every other key where it is written.
struct WithoutAccounts<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for WithoutAccounts<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the platform's settings as `key: value` lines")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(SkipKey {
            inner: map,
            skip: ACCOUNTS_KEY,
        }))
    }
}

/// A [`MapAccess`] that leaves out the entry `skip`.
struct SkipKey<A> {
    inner: A,
    skip: &'static str,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipKey<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = seed;
        loop {
            let filter = KeyFilter {
                seed,
                skip: self.skip,
            };
            match self.inner.next_key_seed(filter)? {
                None => return Ok(None),
                Some(Filtered::Key(key)) => return Ok(Some(key)),
                Some(Filtered::Skipped(returned)) => {
                    self.inner.next_value::<IgnoredAny>()?;
                    seed = returned;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

enum Filtered<V, K> {
    Key(V),
    Skipped(K),
}

/// Reads a key and hands it to `seed` unless it is `skip`. The seed runs inside serde_yaml's
/// reading of the key, so its errors ("unknown field") keep the key's line and column.
struct KeyFilter<K> {
    seed: K,
    skip: &'static str,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeyFilter<K> {
    type Value = Filtered<K::Value, K>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeyFilter<K> {
    type Value = Filtered<K::Value, K>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if key == self.skip {
            return Ok(Filtered::Skipped(self.seed));
        }
        use serde::de::IntoDeserializer;
        self.seed
            .deserialize(key.into_deserializer())
            .map(Filtered::Key)
    }
}
