//! A small JSON reader for the output of the programs xtask runs (the
//! `nexudus` command's `-o json`, a Python one-liner's `json.dumps`), so that
//! a check reads values rather than searching text. Numbers keep their text.

use crate::Result;

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number as written (`12`, `-1.5e3`), so that Ids compare exactly.
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in the order written.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses one JSON value, with nothing but whitespace around it.
    pub fn parse(text: &str) -> Result<Json> {
        let mut p = Parser {
            chars: text.chars().collect(),
            at: 0,
        };
        let value = p.value()?;
        p.skip_space();
        if p.at < p.chars.len() {
            return Err(p.error("text after the JSON value"));
        }
        Ok(value)
    }

    /// The value of member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// An integer, when the number is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.parse().ok(),
            _ => None,
        }
    }

    /// The value written back as compact JSON, for messages.
    pub fn show(&self) -> String {
        match self {
            Json::Null => "null".into(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.clone(),
            Json::String(s) => quote(s),
            Json::Array(items) => {
                let items: Vec<String> = items.iter().map(Json::show).collect();
                format!("[{}]", items.join(","))
            }
            Json::Object(members) => {
                let members: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("{}:{}", quote(k), v.show()))
                    .collect();
                format!("{{{}}}", members.join(","))
            }
        }
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn error(&self, what: &str) -> String {
        format!("not JSON: {what} at character {}", self.at)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += 1;
        c
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result {
        self.skip_space();
        if self.next() == Some(c) {
            Ok(())
        } else {
            self.at -= 1;
            Err(self.error(&format!("expected `{c}`")))
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json> {
        for expected in word.chars() {
            if self.next() != Some(expected) {
                return Err(self.error(&format!("expected `{word}`")));
            }
        }
        Ok(value)
    }

    fn value(&mut self) -> Result<Json> {
        self.skip_space();
        match self.peek() {
            Some('n') => self.literal("null", Json::Null),
            Some('t') => self.literal("true", Json::Bool(true)),
            Some('f') => self.literal("false", Json::Bool(false)),
            Some('"') => self.string().map(Json::String),
            Some('[') => self.array(),
            Some('{') => self.object(),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(self.number()),
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end")),
        }
    }

    fn number(&mut self) -> Json {
        let start = self.at;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit() || "+-.eE".contains(c)) {
            self.at += 1;
        }
        Json::Number(self.chars[start..self.at].iter().collect())
    }

    fn string(&mut self) -> Result<String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            match self.next() {
                None => return Err(self.error("unterminated string")),
                Some('"') => return Ok(out),
                Some('\\') => match self.next() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('/') => out.push('/'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('u') => {
                        let high = self.hex4()?;
                        let code = if (0xD800..0xDC00).contains(&high) {
                            self.literal("\\u", Json::Null)?;
                            let low = self.hex4()?;
                            0x10000 + ((high - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF)
                        } else {
                            high
                        };
                        out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                    _ => return Err(self.error("bad escape")),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .next()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.error("bad \\u escape"))?;
            code = code * 16 + digit;
        }
        Ok(code)
    }

    fn array(&mut self) -> Result<Json> {
        self.expect('[')?;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_space();
            match self.next() {
                Some(',') => {}
                Some(']') => return Ok(Json::Array(items)),
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self) -> Result<Json> {
        self.expect('{')?;
        let mut members = Vec::new();
        self.skip_space();
        if self.peek() == Some('}') {
            self.at += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_space();
            let key = self.string()?;
            self.expect(':')?;
            members.push((key, self.value()?));
            self.skip_space();
            match self.next() {
                Some(',') => {}
                Some('}') => return Ok(Json::Object(members)),
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn reads_the_cli_json_output() {
        let text = "[\n{\"Id\":12,\"Description\":\"spec \\\"change\\\" \\u00e9\\ud83d\\ude00\",\"Price\":-1.5e2,\"Tags\":[],\"X\":null,\"Y\":true}\n]\n";
        let value = Json::parse(text).unwrap();
        let items = value.as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].get("Id").and_then(Json::as_i64), Some(12));
        assert_eq!(
            items[0].get("Description").and_then(Json::as_str),
            Some("spec \"change\" é😀")
        );
        assert_eq!(items[0].get("Price"), Some(&Json::Number("-1.5e2".into())));
        assert_eq!(items[0].get("X"), Some(&Json::Null));
        assert_eq!(
            items[0].show(),
            "{\"Id\":12,\"Description\":\"spec \\\"change\\\" é😀\",\"Price\":-1.5e2,\"Tags\":[],\"X\":null,\"Y\":true}"
        );
        assert_eq!(Json::parse("[]\n").unwrap(), Json::Array(vec![]));
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in ["", "[1,", "{\"a\" 1}", "[1] x", "nul", "\"open"] {
            assert!(Json::parse(text).is_err(), "{text:?}");
        }
    }
}
