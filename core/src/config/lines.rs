//! Line-based editing of block-style YAML: an edit touches only the lines it means to, and
//! refuses what it cannot change safely (flow style, anchors, multi-line values).

use super::*;

/// A text file as lines, so an edit touches only the lines it means to.
pub(super) struct Lines {
    bom: bool,
    crlf: bool,
    lines: Vec<String>,
}

impl Lines {
    pub(super) fn parse(text: &str) -> Lines {
        let (bom, text) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let crlf = text
            .split('\n')
            .next()
            .is_some_and(|first| first.ends_with('\r'))
            && text.contains('\n');
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| {
                if crlf {
                    l.strip_suffix('\r').unwrap_or(l)
                } else {
                    l
                }
                .to_owned()
            })
            .collect();
        // `split` yields one empty piece after the final newline (or for an empty text).
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        Lines { bom, crlf, lines }
    }

    /// The text again; it always ends with a newline.
    pub(super) fn render(&self) -> String {
        let newline = if self.crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        for line in &self.lines {
            out.push_str(line);
            out.push_str(newline);
        }
        out
    }

    pub(super) fn len(&self) -> usize {
        self.lines.len()
    }

    pub(super) fn is_content(&self, i: usize) -> bool {
        is_content(&self.lines[i])
    }

    /// The end (exclusive) of the block that the key on line `at`, indented `indent`, opens:
    /// the next line with content at that indentation or less.
    pub(super) fn block_end(&self, at: usize, indent: usize) -> usize {
        (at + 1..self.len())
            .find(|&j| self.is_content(j) && indent_of(&self.lines[j]) <= indent)
            .unwrap_or(self.len())
    }

    /// The last line inside that block: comments indented no deeper than the key belong to
    /// whatever follows, so new keys go before them.
    pub(super) fn last_body_line(&self, at: usize, end: usize, indent: usize) -> Option<usize> {
        (at + 1..end)
            .rev()
            .find(|&j| !is_blank(&self.lines[j]) && indent_of(&self.lines[j]) > indent)
    }

    /// The indentation of the first entry in the block, if it has any.
    pub(super) fn child_indent(&self, at: usize, end: usize) -> Option<usize> {
        (at + 1..end)
            .find(|&j| self.is_content(j))
            .map(|j| indent_of(&self.lines[j]))
    }

    /// The line in `start..end` holding `key:` at exactly `indent`.
    pub(super) fn find_key(
        &self,
        start: usize,
        end: usize,
        indent: usize,
        key: &str,
    ) -> Option<usize> {
        (start..end)
            .find(|&j| key_line(&self.lines[j]).is_some_and(|(i, k, _)| i == indent && k == key))
    }

    /// The indentation step the file uses (the first nested block's), 2 if none.
    pub(super) fn indent_unit(&self) -> usize {
        for (i, line) in self.lines.iter().enumerate() {
            let Some((indent, _, after_colon)) = key_line(line) else {
                continue;
            };
            if !matches!(value_span(line, after_colon), ValueSpan::Empty) {
                continue;
            }
            if let Some(j) = (i + 1..self.len()).find(|&j| self.is_content(j)) {
                let child = indent_of(&self.lines[j]);
                if child > indent {
                    return child - indent;
                }
            }
        }
        2
    }

    /// Checks that the key on line `at` opens an indented block (nothing after the colon).
    pub(super) fn ensure_block(&self, at: usize) -> std::result::Result<(), String> {
        let line = &self.lines[at];
        let Some((_, key, after_colon)) = key_line(line) else {
            return Err(format!("line {} is not a `key:` line", at + 1));
        };
        match value_span(line, after_colon) {
            ValueSpan::Empty => Ok(()),
            _ => Err(format!(
                "line {}: `{key}:` has its value on the same line, not as indented lines below",
                at + 1
            )),
        }
    }

    /// Replaces the one-line scalar value of the key on line `at` (indented `indent`), keeping
    /// the spacing and any trailing comment.
    pub(super) fn replace_scalar(
        &mut self,
        at: usize,
        indent: usize,
        scalar: &str,
    ) -> std::result::Result<(), String> {
        let end = self.block_end(at, indent);
        if (at + 1..end).any(|j| self.is_content(j)) {
            return Err(format!(
                "line {}: the current value spans several lines",
                at + 1
            ));
        }
        let line = &self.lines[at];
        let Some((_, _, after_colon)) = key_line(line) else {
            return Err(format!("line {} is not a `key:` line", at + 1));
        };
        let new_line = match value_span(line, after_colon) {
            ValueSpan::Empty => {
                format!("{} {scalar}{}", &line[..after_colon], &line[after_colon..])
            }
            ValueSpan::Scalar { start, end } => {
                format!("{}{scalar}{}", &line[..start], &line[end..])
            }
            ValueSpan::Unsupported(what) => {
                return Err(format!("line {}: the current value is {what}", at + 1));
            }
        };
        self.lines[at] = new_line;
        Ok(())
    }

    pub(super) fn insert(&mut self, at: usize, new_lines: Vec<String>) {
        let at = at.min(self.len());
        self.lines.splice(at..at, new_lines);
    }

    /// Where a new top-level block goes: before keryx's managed `stored_secrets` block (so that
    /// stays last, under its comment), else at the end.
    pub(super) fn top_level_insert_point(&self) -> (usize, bool) {
        match self.find_key(0, self.len(), 0, STORED_SECRETS_KEY) {
            Some(si) => {
                let at = if si > 0 && self.lines[si - 1].trim() == STORED_SECRETS_COMMENT {
                    si - 1
                } else {
                    si
                };
                (at, true)
            }
            None => (self.len(), false),
        }
    }
}

/// The 1-based line and column of the `<platform>:` key under `platforms:`.
pub(super) fn locate_section(text: &str, platform: &str) -> Option<(usize, usize)> {
    locate_key_path(text, &["platforms", platform])
}

/// The 1-based line and column of the last key of `path` in block-style YAML; `None` when it
/// is not written as `key:` lines (flow style) or not there.
pub(super) fn locate_key_path(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let lines = Lines::parse(text);
    let (mut start, mut end, mut indent) = (0, lines.len(), 0);
    let mut found = None;
    for name in path {
        let at = lines.find_key(start, end, indent, name)?;
        found = Some((at + 1, indent + 1));
        start = at + 1;
        end = lines.block_end(at, indent);
        indent = lines.child_indent(at, end).unwrap_or(indent + 1);
    }
    found
}

pub(super) fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

pub(super) fn is_content(line: &str) -> bool {
    let trimmed = line.trim_start();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

pub(super) fn pad(indent: usize) -> String {
    " ".repeat(indent)
}

/// A `key:` line with a plain key: its indentation, the key, and the byte after the colon.
pub(super) fn key_line(line: &str) -> Option<(usize, &str, usize)> {
    let indent = indent_of(line);
    let rest = &line[indent..];
    let first = rest.chars().next()?;
    if "-?:,[]{}#&*!|>'\"%@`\t".contains(first) {
        return None;
    }
    let bytes = rest.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let after_blank = i > 0 && matches!(bytes[i - 1], b' ' | b'\t');
        if b == b'#' && after_blank {
            return None;
        }
        if b == b':' && bytes.get(i + 1).is_none_or(|n| matches!(n, b' ' | b'\t')) {
            let key = rest[..i].trim_end();
            return (!key.is_empty()).then_some((indent, key, indent + i + 1));
        }
    }
    None
}

/// What follows the colon of a `key:` line.
#[derive(Debug, PartialEq)]
pub(super) enum ValueSpan {
    /// Nothing but blanks and perhaps a comment: the value is null or an indented block.
    Empty,
    /// A one-line scalar at `start..end`; after it only blanks and perhaps a comment.
    Scalar { start: usize, end: usize },
    /// Something a line edit must not touch.
    Unsupported(&'static str),
}

pub(super) fn value_span(line: &str, after_colon: usize) -> ValueSpan {
    let bytes = line.as_bytes();
    let mut start = after_colon;
    while start < bytes.len() && matches!(bytes[start], b' ' | b'\t') {
        start += 1;
    }
    let Some(&first) = bytes.get(start) else {
        return ValueSpan::Empty;
    };
    let end = match first {
        b'#' => return ValueSpan::Empty,
        b'"' => {
            let mut i = start + 1;
            loop {
                match bytes.get(i) {
                    None => return ValueSpan::Unsupported("a quoted string that goes on"),
                    Some(b'\\') => i += 2,
                    Some(b'"') => break i + 1,
                    Some(_) => i += 1,
                }
            }
        }
        b'\'' => {
            let mut i = start + 1;
            loop {
                match (bytes.get(i), bytes.get(i + 1)) {
                    (None, _) => return ValueSpan::Unsupported("a quoted string that goes on"),
                    (Some(b'\''), Some(b'\'')) => i += 2,
                    (Some(b'\''), _) => break i + 1,
                    _ => i += 1,
                }
            }
        }
        b'|' | b'>' => return ValueSpan::Unsupported("a block scalar (| or >)"),
        b'[' | b'{' => return ValueSpan::Unsupported("in flow style ([...] or {...})"),
        b'&' => return ValueSpan::Unsupported("an anchor (&name)"),
        b'*' => return ValueSpan::Unsupported("an alias (*name)"),
        b'!' => return ValueSpan::Unsupported("tagged (!tag)"),
        _ => {
            // A plain scalar ends where a comment starts: `#` after a blank.
            let rest = &line[start..];
            let comment = rest
                .match_indices('#')
                .map(|(i, _)| i)
                .find(|&i| i > 0 && matches!(rest.as_bytes()[i - 1], b' ' | b'\t'))
                .unwrap_or(rest.len());
            start + rest[..comment].trim_end().len()
        }
    };
    let after = line[end..].trim_start();
    if after.is_empty() || (after.starts_with('#') && line[end..].starts_with([' ', '\t'])) {
        ValueSpan::Scalar { start, end }
    } else {
        ValueSpan::Unsupported("followed by more text on the same line")
    }
}

/// The line edit behind [`set_platform_key`] and [`set_account_key`]: sets the scalar at
/// `path` (e.g. `platforms`, `youtube`, `accounts`, `shorts`, `enabled`), creating the blocks
/// that are missing at the indentation the file uses.
pub(super) fn edit_key_path(
    lines: &mut Lines,
    path: &[&str],
    scalar: &str,
) -> std::result::Result<(), String> {
    let unit = lines.indent_unit();
    // The key line and indentation of the block being searched; `None` is the top level.
    let mut parent: Option<(usize, usize)> = None;
    for (depth, name) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        let (start, end) = match parent {
            None => (0, lines.len()),
            Some((at, indent)) => {
                lines.ensure_block(at)?;
                (at + 1, lines.block_end(at, indent))
            }
        };
        let indent = match parent {
            None => Some(0),
            Some((at, _)) => lines.child_indent(at, end),
        };
        if let Some(found) = indent.and_then(|ind| lines.find_key(start, end, ind, name)) {
            let indent = indent.unwrap_or_default();
            if last {
                return lines.replace_scalar(found, indent, scalar);
            }
            parent = Some((found, indent));
            continue;
        }
        // Missing from here on: one new block holding the rest of the path.
        let (at, indent, before_managed) = match parent {
            None => {
                let (at, before_managed) = lines.top_level_insert_point();
                (at, 0, before_managed)
            }
            Some((key_at, key_indent)) => {
                let at = lines
                    .last_body_line(key_at, end, key_indent)
                    .map_or(key_at + 1, |j| j + 1);
                (at, indent.unwrap_or(key_indent + unit), false)
            }
        };
        let rest = &path[depth..];
        let mut block: Vec<String> = rest
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let pad = pad(indent + k * unit);
                match k + 1 == rest.len() {
                    true => format!("{pad}{name}: {scalar}"),
                    false => format!("{pad}{name}:"),
                }
            })
            .collect();
        if before_managed {
            block.push(String::new());
        }
        lines.insert(at, block);
        return Ok(());
    }
    Err("an empty key path".to_owned())
}

/// The line edit behind [`write_stored_secret`]; `quoted` is the new value, `None` removes.
pub(super) fn edit_stored_secret(
    lines: &mut Lines,
    name: &str,
    quoted: Option<&str>,
) -> std::result::Result<(), String> {
    let unit = lines.indent_unit();
    let Some(si) = lines.find_key(0, lines.len(), 0, STORED_SECRETS_KEY) else {
        let Some(quoted) = quoted else { return Ok(()) };
        if lines.lines.last().is_some_and(|l| !is_blank(l)) {
            lines.lines.push(String::new());
        }
        lines.lines.push(STORED_SECRETS_COMMENT.to_owned());
        lines.lines.push(format!("{STORED_SECRETS_KEY}:"));
        lines.lines.push(format!("{}{name}: {quoted}", pad(unit)));
        return Ok(());
    };
    lines.ensure_block(si)?;
    let end = lines.block_end(si, 0);
    let entry_indent = lines.child_indent(si, end);
    let entry = entry_indent.and_then(|ind| lines.find_key(si + 1, end, ind, name));
    match (quoted, entry) {
        (Some(quoted), Some(ei)) => {
            lines.replace_scalar(ei, entry_indent.unwrap_or_default(), quoted)
        }
        (Some(quoted), None) => {
            let at = lines.last_body_line(si, end, 0).map_or(si + 1, |j| j + 1);
            let indent = entry_indent.unwrap_or(unit);
            lines.insert(at, vec![format!("{}{name}: {quoted}", pad(indent))]);
            Ok(())
        }
        (None, Some(ei)) => {
            let entry_end = lines.block_end(ei, entry_indent.unwrap_or_default());
            if (ei + 1..entry_end).any(|j| lines.is_content(j)) {
                return Err(format!("line {}: the value spans several lines", ei + 1));
            }
            let others = (si + 1..end).any(|j| j != ei && lines.is_content(j));
            if others {
                lines.lines.remove(ei);
                return Ok(());
            }
            // The last entry: the block, its comment and the blank line keryx put before them go.
            let mut start = si;
            if si > 0 && lines.lines[si - 1].trim() == STORED_SECRETS_COMMENT {
                start = si - 1;
            }
            let stop = lines.last_body_line(si, end, 0).map_or(si + 1, |j| j + 1);
            if start > 0
                && is_blank(&lines.lines[start - 1])
                && (stop == lines.len() || is_blank(&lines.lines[stop]))
            {
                start -= 1;
            }
            lines.lines.drain(start..stop);
            Ok(())
        }
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_are_recognised() {
        assert_eq!(key_line("platforms:"), Some((0, "platforms", 10)));
        assert_eq!(
            key_line("  base_url: http://x:1 # c"),
            Some((2, "base_url", 11))
        );
        assert_eq!(
            key_line("    tiktok/token: \"a\""),
            Some((4, "tiktok/token", 17))
        );
        assert_eq!(key_line("  - item: 1"), None);
        assert_eq!(key_line("# platforms:"), None);
        assert_eq!(key_line("  just text"), None);
        assert_eq!(key_line("  a #b: c"), None);
    }

    #[test]
    fn value_spans_cover_exactly_the_scalar() {
        let span = |l: &str| value_span(l, key_line(l).map(|k| k.2).unwrap_or(0));
        assert_eq!(span("k: v"), ValueSpan::Scalar { start: 3, end: 4 });
        assert_eq!(
            span("k: v   # note"),
            ValueSpan::Scalar { start: 3, end: 4 }
        );
        assert_eq!(span("k: a#b c"), ValueSpan::Scalar { start: 3, end: 8 });
        assert_eq!(
            span(r#"k: "a \" # b"  # c"#),
            ValueSpan::Scalar { start: 3, end: 13 }
        );
        assert_eq!(
            span("k: 'it''s' # c"),
            ValueSpan::Scalar { start: 3, end: 10 }
        );
        assert_eq!(span("k:"), ValueSpan::Empty);
        assert_eq!(span("k:   # c"), ValueSpan::Empty);
        assert!(matches!(span("k: {a: 1}"), ValueSpan::Unsupported(_)));
        assert!(matches!(span("k: |"), ValueSpan::Unsupported(_)));
        assert!(matches!(span("k: &x 1"), ValueSpan::Unsupported(_)));
        assert!(matches!(span("k: \"open"), ValueSpan::Unsupported(_)));
        assert!(matches!(span("k: \"a\"b"), ValueSpan::Unsupported(_)));
    }

    #[test]
    fn lines_round_trip() {
        for text in ["", "a: 1\n", "a: 1\n\n# c\n", "\u{feff}a: 1\r\nb: 2\r\n"] {
            assert_eq!(Lines::parse(text).render(), text);
        }
        assert_eq!(Lines::parse("a: 1").render(), "a: 1\n");
    }

    #[test]
    fn quoted_strings_read_back_exactly() {
        for s in [
            "",
            "plain",
            "{\"json\": [1, \"x\\y\"]}",
            "tab\tnl\ncr\r",
            "\u{2028}\u{85}é🙂",
        ] {
            let quoted = quote_yaml_string(s);
            assert!(!quoted.contains('\n'));
            let back: String = serde_yaml::from_str(&quoted).expect("parses");
            assert_eq!(back, s);
        }
    }

    #[test]
    fn serde_wording_is_reworded() {
        assert_eq!(
            reword_serde_message(
                "platforms.tiktok: unknown field `privcy`, expected one of `enabled`, `privacy`"
            ),
            "platforms.tiktok: unknown key \"privcy\"; allowed: enabled, privacy"
        );
        assert_eq!(
            reword_serde_message("secrets: unknown variant `x`, expected `auto` or `file`"),
            "secrets: unknown value \"x\"; allowed: auto, file"
        );
        assert_eq!(
            reword_serde_message("p: missing field `client_key`"),
            "p: missing key \"client_key\""
        );
        assert_eq!(reword_serde_message("invalid type: x"), "invalid type: x");
    }

    #[test]
    fn secret_names_are_checked() {
        assert!(validate_secret_name("tiktok/token").is_ok());
        assert!(validate_secret_name("youtube/client_secret").is_ok());
        for bad in ["", "/x", "a b", "a:b", "a\n"] {
            assert!(validate_secret_name(bad).is_err(), "{bad:?}");
        }
    }
}
