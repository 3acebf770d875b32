//! The post's text and its rich-text facets. Bluesky counts the text's limits in graphemes (what
//! a reader sees as one character: `é`, `👍🏽`) and in UTF-8 bytes, and a facet points into the
//! text with UTF-8 *byte* offsets (start inclusive, end exclusive): a char or UTF-16 offset
//! would tag the wrong letters as soon as the text holds anything beyond ASCII.

use serde_json::{Value, json};
use unicode_segmentation::UnicodeSegmentation;

pub const MAX_TEXT_GRAPHEMES: usize = 300;
pub const MAX_TEXT_BYTES: usize = 3000;
pub const MAX_TAG_GRAPHEMES: usize = 64;
pub const MAX_TAG_BYTES: usize = 640;
pub const MAX_ALT_GRAPHEMES: usize = 1000;

pub fn graphemes(text: &str) -> usize {
    text.graphemes(true).count()
}

/// A hashtag in the text: the byte range of `#tag`, and the tag without `#`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashtag {
    pub byte_start: usize,
    pub byte_end: usize,
    pub tag: String,
}

/// Title, description and tags as one post text: `title\n\ndescription #tag1 #tag2`.
pub fn compose(title: Option<&str>, description: Option<&str>, tags: &[String]) -> String {
    let mut text = String::new();
    for part in [title, description].into_iter().flatten() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(part);
    }
    for tag in tags {
        let tag = tag.trim().trim_start_matches('#');
        if tag.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push('#');
        text.push_str(tag);
    }
    text
}

/// Every `#tag` that starts the text or follows whitespace, as Bluesky's apps find them:
/// the tag runs to the next whitespace, trailing punctuation is not part of it, and a tag of
/// digits only is not one.
pub fn hashtags(text: &str) -> Vec<Hashtag> {
    let mut found = Vec::new();
    let mut previous: Option<char> = None;
    for (start, c) in text.char_indices() {
        let starts = c == '#' && previous.is_none_or(char::is_whitespace);
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[start + 1..];
        let word_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = rest[..word_len].trim_end_matches(|c: char| c.is_ascii_punctuation());
        if word.is_empty() || word.starts_with('#') || word.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        found.push(Hashtag {
            byte_start: start,
            byte_end: start + 1 + word.len(),
            tag: word.to_string(),
        });
    }
    found
}

/// The `facets` of `app.bsky.feed.post` for the hashtags.
pub fn facets(tags: &[Hashtag]) -> Vec<Value> {
    tags.iter()
        .map(|t| {
            json!({
                "index": {"byteStart": t.byte_start, "byteEnd": t.byte_end},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t.tag}],
            })
        })
        .collect()
}

/// What is wrong with a post text, if anything.
pub fn check_text(text: &str) -> Option<String> {
    let count = graphemes(text);
    if count > MAX_TEXT_GRAPHEMES {
        return Some(format!(
            "the post text is {count} graphemes; Bluesky takes at most {MAX_TEXT_GRAPHEMES}"
        ));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Some(format!(
            "the post text is {} bytes in UTF-8; Bluesky takes at most {MAX_TEXT_BYTES}",
            text.len()
        ));
    }
    for tag in hashtags(text) {
        if graphemes(&tag.tag) > MAX_TAG_GRAPHEMES || tag.tag.len() > MAX_TAG_BYTES {
            return Some(format!(
                "the hashtag #{} is longer than Bluesky's {MAX_TAG_GRAPHEMES} graphemes",
                tag.tag
            ));
        }
    }
    None
}

/// A BCP-47 tag's shape: letters, digits and `-`, starting with 2-3 letters (or `i-`/`x-`).
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let Some(first) = parts.next() else {
        return false;
    };
    let first_ok =
        (first.len() >= 2 && first.len() <= 8 && first.chars().all(|c| c.is_ascii_alphabetic()))
            || first == "i"
            || first == "x";
    first_ok
        && parts
            .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_point_at_utf8_bytes() {
        let text = compose(
            Some("Café ☕ at noon"),
            None,
            &["coffee".into(), "#morning".into()],
        );
        assert_eq!(text, "Café ☕ at noon #coffee #morning");
        let tags = hashtags(&text);
        assert_eq!(tags.len(), 2);
        for tag in &tags {
            assert_eq!(&text[tag.byte_start..tag.byte_end], format!("#{}", tag.tag));
        }
        // "Café ☕ at noon " is 14 chars but 18 bytes (é = 2, ☕ = 3).
        assert_eq!(tags[0].byte_start, 18);
    }

    #[test]
    fn inline_hashtags_count_and_punctuation_stays_out() {
        let tags = hashtags("a #video, and #1 and x#no #ok!");
        let words: Vec<&str> = tags.iter().map(|t| t.tag.as_str()).collect();
        assert_eq!(words, ["video", "ok"]);
    }

    #[test]
    fn limits_are_graphemes_and_bytes() {
        assert!(check_text(&"é".repeat(300)).is_none());
        assert!(check_text(&"👍🏽".repeat(200)).is_none());
        assert!(
            check_text(&"a".repeat(301))
                .unwrap()
                .contains("301 graphemes")
        );
        assert!(is_language_tag("en") && is_language_tag("pt-BR") && !is_language_tag("english!"));
    }
}
