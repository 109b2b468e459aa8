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
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.trim_matches('"').to_owned();
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        for form in [secret.to_owned(), form, json] {
            if !known.contains(&form) {
                known.push_back(form);
            }
        }
        while known.len() > REMEMBERED {
            known.pop_front();
        }
    }

    /// `text` with every known secret masked. Longer secrets go first, so a
    /// secret that contains another is masked whole.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<&String> = known.iter().filter(|s| text.contains(s.as_str())).collect();
        if found.is_empty() {
            return text.to_owned();
        }
        found.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = text.to_owned();
        for secret in found {
            out = out.replace(secret.as_str(), MASK);
        }
        out
    }

    /// Scrubs `text` in place.
    pub(crate) fn scrub_in(&self, text: &mut String) {
        let clean = self.scrub(text);
        *text = clean;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_echoed_form_is_masked() {
        let s = Secrets::default();
        s.add("p@ss word\"x");
        for echo in ["p@ss word\"x", "p%40ss+word%22x", "p@ss word\\\"x"] {
            let text = format!("form was password={echo}&grant_type=password");
            assert!(!s.scrub(&text).contains("ss word"), "{echo}");
        }
        assert_eq!(s.scrub("nothing here"), "nothing here");
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
