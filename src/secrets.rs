//! The secrets a client knows (password, basic header, bearer token, every
//! access and refresh token it holds or has held), and the scrubbing of them
//! from any text the crate keeps: error messages, body excerpts, decode
//! messages. A server that echoes a request back cannot make them leak.

use std::{collections::VecDeque, sync::RwLock};

/// How many secrets are remembered. Tokens rotate; a server echoing one
/// that is hundreds of refreshes old is not a risk worth unbounded memory.
const REMEMBERED: usize = 512;

/// What replaces a secret in text.
const MASK: &str = "[redacted]";

/// What marks the place where a bounded text was cut (see `error::bounded`).
const CUT: char = '…';

/// The shortest start of a secret that is masked where a text was cut.
const MIN_PARTIAL: usize = 4;

/// Secrets shorter than this (in characters) are masked only where they
/// stand as a word of their own: a one-letter password must not turn
/// "updated" into "upda[redacted]ed", which would also tell the letter.
const MIN_INSIDE_WORDS: usize = 8;

/// The secrets of one client, shared by its clones.
#[derive(Default)]
pub(crate) struct Secrets {
    known: RwLock<VecDeque<String>>,
}

impl Secrets {
    /// Remembers `secret` in the forms a server may echo it in: as is, as a
    /// form-encoded value, and as a JSON string's content.
    pub(crate) fn add(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        // Form encoding writes a space as `+` (a `+` itself as `%2B`), so
        // every `+` it wrote stands for a space that URLs write as `%20`.
        let percent = form.replace('+', "%20");
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.trim_matches('"').to_owned();
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        for form in [secret.to_owned(), form, percent, json] {
            if !known.contains(&form) {
                known.push_back(form);
            }
        }
        while known.len() > REMEMBERED {
            known.pop_front();
        }
    }

    /// `text` with every known secret masked. Longer secrets go first, so a
    /// secret that contains another is masked whole. Where the text was cut
    /// (`…`), the start of a secret the cut fell inside is masked too.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<&String> = known.iter().filter(|s| text.contains(s.as_str())).collect();
        let cut = text.contains(CUT);
        if found.is_empty() && !cut {
            return text.to_owned();
        }
        found.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = text.to_owned();
        for secret in found {
            out = if secret.chars().count() < MIN_INSIDE_WORDS {
                replace_words(&out, secret)
            } else {
                out.replace(secret.as_str(), MASK)
            };
        }
        if cut {
            out = mask_cut_starts(&out, &known);
        }
        out
    }

    /// Scrubs `text` in place.
    pub(crate) fn scrub_in(&self, text: &mut String) {
        let clean = self.scrub(text);
        *text = clean;
    }
}

/// `text` with `secret` masked where no letter or digit touches it.
fn replace_words(text: &str, secret: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(secret) {
        let (before, after) = (&rest[..at], &rest[at + secret.len()..]);
        let alone = !word(before.chars().next_back()) && !word(after.chars().next());
        out.push_str(before);
        out.push_str(if alone { MASK } else { secret });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `text` with the start of a secret that ends just before a cut masked.
fn mask_cut_starts(text: &str, known: &VecDeque<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(CUT) {
        let before = &rest[..at];
        let start = known
            .iter()
            .filter_map(|secret| cut_start(before, secret))
            .max()
            .unwrap_or(0);
        out.push_str(&before[..before.len() - start]);
        if start > 0 {
            out.push_str(MASK);
        }
        out.push(CUT);
        rest = &rest[at + CUT.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// The length in bytes of the longest start of `secret` (shorter than the
/// whole, at least [`MIN_PARTIAL`] characters) that `text` ends with.
fn cut_start(text: &str, secret: &str) -> Option<usize> {
    let head_end = secret.char_indices().nth(MIN_PARTIAL)?.0;
    let head = &secret[..head_end];
    let mut from = text.len().saturating_sub(secret.len());
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let tail = &text[from..];
    tail.match_indices(head)
        .map(|(i, _)| &tail[i..])
        .find(|end| end.len() < secret.len() && secret.starts_with(end))
        .map(str::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_echoed_form_is_masked() {
        let s = Secrets::default();
        s.add("p@ss word\"x");
        for echo in [
            "p@ss word\"x",
            "p%40ss+word%22x",
            "p%40ss%20word%22x",
            "p@ss word\\\"x",
        ] {
            let text = format!("form was password={echo}&grant_type=password");
            assert!(!s.scrub(&text).contains("ss word"), "{echo}");
        }
        assert_eq!(s.scrub("nothing here"), "nothing here");
    }

    #[test]
    fn the_start_of_a_secret_a_cut_fell_inside_is_masked() {
        let s = Secrets::default();
        s.add("tok-123456789");
        assert_eq!(s.scrub("body: tok-1234…"), "body: [redacted]…");
        assert_eq!(s.scrub("to tok-12… (more)"), "to [redacted]… (more)");
        // Too short a start to mean anything, or no cut: left alone.
        assert_eq!(s.scrub("x tok…"), "x tok…");
        assert_eq!(s.scrub("x tok-1234"), "x tok-1234");
    }

    #[test]
    fn a_short_secret_is_masked_only_as_a_word_of_its_own() {
        let s = Secrets::default();
        s.add("d");
        assert_eq!(
            s.scrub("the account was updated"),
            "the account was updated"
        );
        assert_eq!(s.scrub("password=d&x"), "password=[redacted]&x");
        assert_eq!(s.scrub("d"), "[redacted]");
    }

    #[test]
    fn empty_secrets_are_ignored_and_memory_is_bounded() {
        let s = Secrets::default();
        s.add("");
        assert_eq!(s.scrub("abc"), "abc");
        for n in 0..2000 {
            s.add(&format!("token-{n}"));
        }
        assert!(s.known.read().unwrap().len() <= REMEMBERED);
        assert!(!s.scrub("token-1999").contains("1999"));
    }
}
