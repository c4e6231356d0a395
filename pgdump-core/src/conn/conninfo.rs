//! Parser for libpq `key=value` connection strings ("conninfo").
//!
//! Grammar (as in libpq's `conninfo_parse`): pairs of `keyword = value`
//! separated by whitespace; whitespace around `=` is allowed. A value is either
//! single-quoted (`'it\'s here'`, where `\` escapes the next character, so
//! `\'` is a quote and `\\` a backslash) or runs up to the next whitespace
//! (a `\` escapes the next character there too). An empty string is valid and
//! sets nothing.

use crate::error::{CoreError, Result};

/// Parses a conninfo string into `(keyword, value)` pairs, in order of
/// appearance. Keywords are not validated here (see `config`).
pub(crate) fn parse(s: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    loop {
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        if it.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = it.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        if it.next_if_eq(&'=').is_none() {
            return Err(CoreError::Config(format!(
                "missing \"=\" after \"{key}\" in connection info string"
            )));
        }
        if key.is_empty() {
            return Err(CoreError::Config(
                "missing keyword before \"=\" in connection info string".into(),
            ));
        }
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if it.next_if_eq(&'\'').is_some() {
            let mut closed = false;
            while let Some(c) = it.next() {
                match c {
                    '\\' => {
                        if let Some(n) = it.next() {
                            value.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(CoreError::Config(format!(
                    "unterminated quoted string in connection info string (value of \"{key}\")"
                )));
            }
        } else {
            while let Some(c) = it.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(n) = it.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Keywords whose values are secrets.
pub(crate) fn is_secret_keyword(key: &str) -> bool {
    matches!(key, "password" | "sslpassword")
}

/// Replaces the values of `password` / `sslpassword` in a conninfo string by
/// `********`, keeping everything else as written. Never fails: a malformed
/// string is redacted as far as it can be tokenized, and an unterminated
/// quoted secret hides everything up to the end.
pub(crate) fn redact(s: &str) -> String {
    let b: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let n = b.len();
    while i < n {
        // whitespace
        while i < n && b[i].is_whitespace() {
            out.push(b[i]);
            i += 1;
        }
        // keyword
        let ks = i;
        while i < n && !b[i].is_whitespace() && b[i] != '=' {
            i += 1;
        }
        let key: String = b[ks..i].iter().collect();
        out.push_str(&key);
        while i < n && b[i].is_whitespace() {
            out.push(b[i]);
            i += 1;
        }
        if i >= n || b[i] != '=' {
            // Not a pair: copy the rest as is (there is no value to hide, but
            // be careful: if the keyword looked secret, hide what follows).
            if is_secret_keyword(&key) && i < n {
                out.push_str("********");
                return out;
            }
            continue;
        }
        out.push('=');
        i += 1;
        while i < n && b[i].is_whitespace() {
            out.push(b[i]);
            i += 1;
        }
        let vs = i;
        if i < n && b[i] == '\'' {
            i += 1;
            while i < n && b[i] != '\'' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(n);
        } else {
            while i < n && !b[i].is_whitespace() {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = i.min(n);
        }
        if is_secret_keyword(&key) {
            out.push_str("********");
        } else {
            out.extend(&b[vs..i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<(String, String)> {
        parse(s).unwrap()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn simple_pairs() {
        assert_eq!(
            p("host=localhost port=5432 dbname=mydb"),
            kv(&[("host", "localhost"), ("port", "5432"), ("dbname", "mydb")])
        );
    }

    #[test]
    fn empty_and_blank() {
        assert!(p("").is_empty());
        assert!(p("   \t\n ").is_empty());
    }

    #[test]
    fn whitespace_around_equals() {
        assert_eq!(
            p("  host = h1\tport\t=\t5433  "),
            kv(&[("host", "h1"), ("port", "5433")])
        );
    }

    #[test]
    fn quoted_values_and_escapes() {
        assert_eq!(
            p(r"password='it\'s a \\ secret' dbname = 'my db'"),
            kv(&[("password", r"it's a \ secret"), ("dbname", "my db")])
        );
        assert_eq!(p("options=''"), kv(&[("options", "")]));
        assert_eq!(
            p("options='-c search_path=public'"),
            kv(&[("options", "-c search_path=public")])
        );
    }

    #[test]
    fn unquoted_backslash_escapes() {
        assert_eq!(p(r"password=a\ b\\c"), kv(&[("password", r"a b\c")]));
    }

    #[test]
    fn equals_inside_value() {
        assert_eq!(p("options=-cfoo=bar"), kv(&[("options", "-cfoo=bar")]));
    }

    #[test]
    fn quoted_value_followed_directly_by_next_pair() {
        assert_eq!(p("a='x'b=y"), kv(&[("a", "x"), ("b", "y")]));
    }

    #[test]
    fn unicode_values() {
        assert_eq!(p("dbname='bäse ü'"), kv(&[("dbname", "bäse ü")]));
    }

    #[test]
    fn missing_equals() {
        let e = parse("host=a dbname").unwrap_err();
        assert!(matches!(e, CoreError::Config(_)));
        assert!(
            e.to_string().contains("missing \"=\" after \"dbname\""),
            "{e}"
        );
        assert!(parse("host localhost").is_err());
    }

    #[test]
    fn missing_keyword() {
        let e = parse("=x").unwrap_err();
        assert!(e.to_string().contains("missing keyword"), "{e}");
    }

    #[test]
    fn unterminated_quote() {
        let e = parse("password='abc").unwrap_err();
        assert!(matches!(e, CoreError::Config(_)));
        assert!(e.to_string().contains("unterminated quoted string"), "{e}");
        // The message names the keyword, never the value.
        assert!(!e.to_string().contains("abc"));
        assert!(parse(r"password='abc\'").is_err());
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("host=h password=secret user=u"),
            "host=h password=******** user=u"
        );
        assert_eq!(
            redact(r"password = 'se cr\'et' dbname=x"),
            "password = ******** dbname=x"
        );
        assert_eq!(redact("password='unterminated"), "password=********");
        assert_eq!(redact("host=h"), "host=h");
        assert_eq!(
            redact("sslpassword=k host=h"),
            "sslpassword=******** host=h"
        );
        assert_eq!(redact("password"), "password");
        assert_eq!(redact("password secret"), "password ********");
    }
}
