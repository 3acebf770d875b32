//! Changing one setting on disk without losing what the user wrote: the change is made as a
//! line edit ([`super::lines`]), then verified by parsing the result, which must read back as
//! the old document plus exactly the one change; written atomically, under a lock, mode kept.

use super::*;

/// Sets `platforms.<platform>.<key>` to `yaml_scalar` in the file on disk, creating the file and
/// sections if missing, keeping comments and key order; written atomically (temp + rename) with
/// the file's mode kept (0600 for a new file).
///
/// `yaml_scalar` is YAML text for one scalar: `true`, `SELF_ONLY`, or a quoted string made with
/// [`quote_yaml_string`]. The file is re-read here (the loaded [`Config`] may be stale). When the
/// file is written in a way a line edit cannot change safely (flow style, anchors, a multi-line
/// value), this refuses and says what to change by hand rather than risk damaging it.
pub fn set_platform_key(path: &Path, platform: &str, key: &str, yaml_scalar: &str) -> Result<()> {
    set_key_path(path, platform, &["platforms", platform, key], yaml_scalar)
}

/// [`set_platform_key`] for one account: `platforms.<platform>.accounts.<account>.<key>`.
pub fn set_account_key(
    path: &Path,
    platform: &str,
    account: &str,
    key: &str,
    yaml_scalar: &str,
) -> Result<()> {
    check_account_name(account).map_err(|(problem, hint)| {
        Error::input(format!("{}: {problem}", path.display())).with_hint(hint)
    })?;
    set_key_path(
        path,
        platform,
        &["platforms", platform, ACCOUNTS_KEY, account, key],
        yaml_scalar,
    )
}

fn set_key_path(path: &Path, platform: &str, keys: &[&str], yaml_scalar: &str) -> Result<()> {
    let dotted = keys.join(".");
    for name in &keys[1..] {
        check_plain_name(path, "key", name)?;
    }
    let key = keys[keys.len() - 1];
    if let Some((problem, hint)) = secret_key_problem(platform, key) {
        return Err(Error::input(format!(
            "{}: refusing to write {dotted}: {problem}",
            path.display()
        ))
        .with_hint(hint));
    }
    let value = parse_scalar(path, yaml_scalar)?;
    let target = resolve_target(path)?;
    let _lock = EditLock::acquire(&target)?;
    let old_text = read_text(&target)?.unwrap_or_default();
    let refuse = |reason: String| {
        Error::input(format!(
            "{}: cannot safely set {dotted}: {reason}",
            target.display()
        ))
        .with_hint(format!(
            "edit the file by hand: set `{dotted}` to `{yaml_scalar}`. keryx changes only plain \
             block-style YAML (no {{...}} flow style, anchors or multi-line values on the lines \
             it edits)"
        ))
    };
    let old = parse_value(&target, &old_text)?;
    let mut expected = old.clone();
    {
        let root = root_mapping(&mut expected).map_err(refuse)?;
        let new_platforms = !root.contains_key("platforms");
        let mut map = &mut *root;
        let mut parent = "the top level".to_owned();
        for name in &keys[..keys.len() - 1] {
            map = child_mapping_in(map, &parent, name).map_err(refuse)?;
            parent = name.to_string();
        }
        map.insert(Value::String(key.to_owned()), value);
        if new_platforms && root.contains_key(STORED_SECRETS_KEY) {
            // The line edit puts a new `platforms:` above keryx's managed block.
            move_before(root, "platforms", STORED_SECRETS_KEY);
        }
    }
    if expected == old && !old_text.is_empty() {
        // Already so: nothing to write, even where the file's style (flow mappings) would
        // refuse a line edit.
        return Ok(());
    }
    let mut lines = Lines::parse(&old_text);
    edit_key_path(&mut lines, keys, yaml_scalar).map_err(refuse)?;
    let new_text = lines.render();
    if new_text == old_text {
        return Ok(());
    }
    verify_edit(&new_text, &expected).map_err(refuse)?;
    write_atomically(&target, &new_text, file_mode_for(&target, &expected))
}

/// `value` as a double-quoted YAML scalar that reads back as exactly `value`: for
/// [`set_platform_key`] with text from a user, and for stored secrets (JSON included).
pub fn quote_yaml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // YAML 1.1 parsers treat NEL, LS and PS as line breaks and BOM as noise: escape them
            // with the control characters so the value survives any reader.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Checks that `yaml_scalar` is one YAML scalar on one line, and returns its value.
pub(super) fn parse_scalar(path: &Path, yaml_scalar: &str) -> Result<Value> {
    let refuse = || {
        Error::input(format!(
            "{}: {yaml_scalar:?} is not a single YAML scalar on one line",
            path.display()
        ))
        .with_hint("pass `true`, a number, a plain word, or a string quoted with quote_yaml_string")
    };
    if yaml_scalar.is_empty() || yaml_scalar.contains(['\n', '\r']) {
        return Err(refuse());
    }
    // Placed after a key, the whole text must be the value: no comment, nothing after a quote.
    let line = format!("k: {yaml_scalar}");
    match value_span(&line, 2) {
        ValueSpan::Scalar { start: 3, end } if end == line.len() => {}
        _ => return Err(refuse()),
    }
    match serde_yaml::from_str::<Value>(yaml_scalar) {
        Ok(v @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_))) => Ok(v),
        _ => Err(refuse()),
    }
}

/// The document as a value, for checking edits (`Null` for an empty file).
pub(super) fn parse_value(path: &Path, text: &str) -> Result<Value> {
    serde_yaml::from_str::<Value>(without_bom(text)).map_err(|e| {
        let error = yaml_error(path, &e);
        let hint = error.hint().unwrap_or_default().to_owned();
        Error::input(format!("cannot edit the config file: {}", error.message()))
            .with_hint(format!("{hint}, then run the command again"))
    })
}

pub(super) fn root_mapping(doc: &mut Value) -> std::result::Result<&mut Mapping, String> {
    if doc.is_null() {
        *doc = Value::Mapping(Mapping::new());
    }
    match doc {
        Value::Mapping(m) => Ok(m),
        _ => Err("the file is not a mapping of `key: value` lines".to_owned()),
    }
}

/// Moves the entry `key` to just before the entry `before`.
pub(super) fn move_before(map: &mut Mapping, key: &str, before: &str) {
    let Some(moved) = map.shift_remove(key) else {
        return;
    };
    let mut rebuilt = Mapping::with_capacity(map.len() + 1);
    let mut moved = Some(moved);
    for (k, v) in std::mem::take(map) {
        if k.as_str() == Some(before)
            && let Some(value) = moved.take()
        {
            rebuilt.insert(Value::String(key.to_owned()), value);
        }
        rebuilt.insert(k, v);
    }
    if let Some(value) = moved {
        rebuilt.insert(Value::String(key.to_owned()), value);
    }
    *map = rebuilt;
}

/// `parent[key]` as a mapping, created when missing or empty.
pub(super) fn child_mapping_in<'m>(
    parent: &'m mut Mapping,
    parent_name: &str,
    key: &str,
) -> std::result::Result<&'m mut Mapping, String> {
    let entry = parent
        .entry(Value::String(key.to_owned()))
        .or_insert(Value::Null);
    if entry.is_null() {
        *entry = Value::Mapping(Mapping::new());
    }
    match entry {
        Value::Mapping(m) => Ok(m),
        _ => Err(format!("`{key}` in {parent_name} is not a mapping")),
    }
}

/// The edited text must read back as the expected document, key order included.
pub(super) fn verify_edit(new_text: &str, expected: &Value) -> std::result::Result<(), String> {
    let actual: Value = serde_yaml::from_str(without_bom(new_text))
        .map_err(|_| "the edited text would not parse as YAML".to_owned())?;
    // An empty file reads as null; an empty mapping is the same settings.
    let normal = |v: &Value| {
        if v.is_null() {
            Value::Mapping(Mapping::new())
        } else {
            v.clone()
        }
    };
    let (actual, expected) = (normal(&actual), normal(expected));
    let same_order = serde_yaml::to_string(&actual).ok() == serde_yaml::to_string(&expected).ok();
    if actual == expected && same_order {
        Ok(())
    } else {
        Err(
            "the edited file would not read back as the old settings plus this one change"
                .to_owned(),
        )
    }
}

/// Edits go to the file a symlinked config points at, so a dotfiles link stays a link.
pub(super) fn resolve_target(path: &Path) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).map_err(|e| {
            Error::input(format!(
                "{} is a symbolic link whose target cannot be reached",
                path.display()
            ))
            .with_source(e)
            .with_hint("fix or remove the link")
        }),
        _ => Ok(path.to_path_buf()),
    }
}

pub(super) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The mode the written file gets: 0600 when it holds stored secrets or is new, else its own.
pub(super) fn file_mode_for(target: &Path, new_doc: &Value) -> u32 {
    let holds_secrets = matches!(
        new_doc.get(STORED_SECRETS_KEY),
        Some(Value::Mapping(m)) if !m.is_empty()
    );
    if holds_secrets {
        return 0o600;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(target) {
            return meta.permissions().mode() & 0o7777;
        }
    }
    #[cfg(not(unix))]
    let _ = target;
    0o600
}

/// Replaces `target` with `text` so that a crash leaves either the old file or the new one:
/// a temporary file in the same directory, flushed to disk, then renamed over it.
pub(super) fn write_atomically(target: &Path, text: &str, mode: u32) -> Result<()> {
    let dir = parent_dir(target);
    let fail = |what: &str, e: std::io::Error| {
        Error::input(format!(
            "cannot write the config file {}: {what}",
            target.display()
        ))
        .with_source(e)
        .with_hint(format!(
            "check that {} is writable and the disk is not full",
            dir.display()
        ))
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".keryx-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail("cannot create a temporary file next to it", e))?;
    temp.write_all(text.as_bytes())
        .map_err(|e| fail("writing failed", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| fail("cannot set its permissions", e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    temp.as_file()
        .sync_all()
        .map_err(|e| fail("flushing to disk failed", e))?;
    temp.persist(target)
        .map_err(|e| fail("renaming the new file into place failed", e.error))?;
    // The rename is durable only once the directory is flushed too.
    #[cfg(unix)]
    {
        if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
            tracing::debug!("could not flush directory {}: {e}", dir.display());
        }
    }
    Ok(())
}

/// Serialises read-modify-write edits of one config file across threads and processes (two
/// platforms refreshing tokens at once must not lose one of them). The lock is a hidden sibling
/// file because the config itself is replaced by rename, which a lock on it would not survive.
pub(super) struct EditLock {
    file: File,
}

impl EditLock {
    pub(super) fn acquire(target: &Path) -> Result<EditLock> {
        let dir = parent_dir(target);
        if !dir.exists() {
            crate::paths::create_private_dir(dir)?;
        }
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
        let lock_path = dir.join(format!(
            ".{}.lock",
            name.unwrap_or_else(|| "config".to_owned())
        ));
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&lock_path).map_err(|e| {
            Error::input(format!("cannot open the lock file {}", lock_path.display()))
                .with_source(e)
                .with_hint(format!("check that {} is writable", dir.display()))
        })?;
        let deadline = Instant::now() + EDIT_LOCK_TIMEOUT;
        loop {
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => return Ok(EditLock { file }),
                Err(fs4::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(fs4::TryLockError::WouldBlock) => {
                    return Err(Error::input(format!(
                        "another keryx process has been editing {} for {} s",
                        target.display(),
                        EDIT_LOCK_TIMEOUT.as_secs()
                    ))
                    .with_hint(format!(
                        "let the other keryx command finish, then try again (lock: {})",
                        lock_path.display()
                    )));
                }
                Err(fs4::TryLockError::Error(e)) => {
                    return Err(Error::input(format!("cannot lock {}", lock_path.display()))
                        .with_source(e)
                        .with_hint("the file system must support file locks (flock)"));
                }
            }
        }
    }
}

impl Drop for EditLock {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first just makes it prompt.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}
