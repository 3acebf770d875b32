//! The `secrets: file` backend: the keryx-managed `stored_secrets:` mapping.

use super::*;

/// The file secret backend: reads `name` from the keryx-managed `stored_secrets:` mapping.
/// A missing file holds nothing. The rest of the file is not checked here, so a typo in a
/// platform section does not hide a stored token.
pub fn read_stored_secret(path: &Path, name: &str) -> Result<Option<Secret>> {
    validate_secret_name(name)?;
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    let mut parsed = parse_top(path, &text, None)?;
    Ok(parsed.stored.remove(name).map(Secret::new))
}

/// The file secret backend: sets (or with `None` removes) `name` in `stored_secrets:`; atomic,
/// comments kept, file left 0600.
pub fn write_stored_secret(path: &Path, name: &str, value: Option<&Secret>) -> Result<()> {
    validate_secret_name(name)?;
    let target = resolve_target(path)?;
    if value.is_none() && !target.exists() {
        // Nothing to remove; do not create the directory or the lock file for it.
        return Ok(());
    }
    let _lock = EditLock::acquire(&target)?;
    let Some(old_text) = read_text(&target)? else {
        if value.is_none() {
            return Ok(());
        }
        return write_stored_secret_locked(&target, name, value, "");
    };
    write_stored_secret_locked(&target, name, value, &old_text)
}

pub(super) fn write_stored_secret_locked(
    target: &Path,
    name: &str,
    value: Option<&Secret>,
    old_text: &str,
) -> Result<()> {
    let action = if value.is_some() { "store" } else { "remove" };
    // Messages name the secret, never its value.
    let refuse = |reason: String| {
        Error::input(format!(
            "{}: cannot safely {action} the secret {name:?} in `{STORED_SECRETS_KEY}`: {reason}",
            target.display()
        ))
        .with_hint(format!(
            "keep `{STORED_SECRETS_KEY}:` as keryx wrote it (a plain block mapping of quoted \
             strings), or use the OS keychain instead (`secrets: keychain`)"
        ))
    };
    let mut expected = parse_value(target, old_text)?;
    let changed = {
        let root = root_mapping(&mut expected).map_err(refuse)?;
        match value {
            Some(secret) => {
                let stored =
                    child_mapping_in(root, "the top level", STORED_SECRETS_KEY).map_err(refuse)?;
                let new = Value::String(secret.expose().to_owned());
                stored.insert(Value::String(name.to_owned()), new.clone()) != Some(new)
            }
            None => match root.get_mut(STORED_SECRETS_KEY) {
                Some(Value::Mapping(stored)) => {
                    let removed = stored.shift_remove(name).is_some();
                    if stored.is_empty() {
                        root.shift_remove(STORED_SECRETS_KEY);
                    }
                    removed
                }
                Some(Value::Null) | None => false,
                Some(_) => return Err(refuse(format!("`{STORED_SECRETS_KEY}` is not a mapping"))),
            },
        }
    };
    if !changed {
        return Ok(());
    }
    let mut lines = Lines::parse(old_text);
    let quoted = value.map(|v| quote_yaml_string(v.expose()));
    edit_stored_secret(&mut lines, name, quoted.as_deref()).map_err(refuse)?;
    let new_text = lines.render();
    verify_edit(&new_text, &expected).map_err(refuse)?;
    write_atomically(target, &new_text, file_mode_for(target, &expected))
}
