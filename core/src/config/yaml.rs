//! serde_yaml errors as `file:line:column: message` with a hint, in the words of a config
//! user (keys, values, what is allowed).

use super::*;

/// Where a serde_yaml error is, and its message without the position serde_yaml appends:
/// keryx puts `file:line:column` in front, as compilers do. Shared by the config and the
/// sidecar ([`crate::metadata`]), which word their hints differently.
pub(crate) struct Located {
    /// `file:line:column`, or the file alone when serde_yaml knows no position.
    pub place: String,
    pub line: Option<usize>,
    pub message: String,
}

pub(crate) fn locate(path: &Path, err: &serde_yaml::Error) -> Located {
    let mut message = err.to_string();
    let location = err.location();
    if let Some(at) = &location {
        let suffix = format!(" at line {} column {}", at.line(), at.column());
        if let Some(i) = message.find(&suffix) {
            message.replace_range(i..i + suffix.len(), "");
        }
    }
    let place = match &location {
        Some(at) => format!("{}:{}:{}", path.display(), at.line(), at.column()),
        None => path.display().to_string(),
    };
    Located {
        place,
        line: location.map(|at| at.line()),
        message,
    }
}

/// Turns a serde_yaml error into `file:line:column: path: message`, with a hint.
pub(super) fn yaml_error(path: &Path, err: &serde_yaml::Error) -> Error {
    let Located {
        place,
        line,
        message,
    } = locate(path, err);
    let (message, hint) = match message.split_once(HINT_SEPARATOR) {
        Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
        None => (message, None),
    };
    let message = reword_serde_message(&message);
    let hint = hint.unwrap_or_else(|| match line {
        Some(line) => format!("fix line {line} of {}", path.display()),
        None => format!("fix {}", path.display()),
    });
    Error::input(format!("{place}: {message}")).with_hint(hint)
}

/// Says serde's "unknown field `x`, expected one of `a`, `b`" the way a config user thinks:
/// `unknown key "x"; allowed: a, b`. Anything else is kept as it is.
pub(super) fn reword_serde_message(message: &str) -> String {
    for (pattern, noun) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        let Some(start) = message.find(pattern) else {
            continue;
        };
        let after = &message[start + pattern.len()..];
        let Some(name_end) = after.find('`') else {
            continue;
        };
        let name = &after[..name_end];
        let rest = &after[name_end + 1..];
        let allowed = if let Some(list) = rest.strip_prefix(", expected one of ") {
            list.replace('`', "")
        } else if let Some(list) = rest.strip_prefix(", expected ") {
            list.replace('`', "").replace(" or ", ", ")
        } else if rest.starts_with(", there are no") {
            "none".to_owned()
        } else {
            continue;
        };
        return format!(
            "{}unknown {noun} {name:?}; allowed: {allowed}",
            &message[..start]
        );
    }
    for (pattern, replacement) in [
        ("missing field `", "missing key "),
        ("duplicate field `", "duplicate key "),
    ] {
        if let Some(start) = message.find(pattern) {
            let after = &message[start + pattern.len()..];
            if let Some(name_end) = after.find('`') {
                return format!(
                    "{}{replacement}{:?}{}",
                    &message[..start],
                    &after[..name_end],
                    &after[name_end + 1..]
                );
            }
        }
    }
    message.to_owned()
}

/// A message and hint for a serde error, joined so [`yaml_error`] can split them again.
pub(super) fn with_hint(message: impl fmt::Display, hint: impl fmt::Display) -> String {
    format!("{message}{HINT_SEPARATOR}{hint}")
}
