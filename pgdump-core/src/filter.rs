//! Object name patterns as pg_dump and psql accept them (`-n`, `-t`, ...).
//!
//! A pattern is one or two dot-separated parts (`schema.table` or `table`).
//! Unquoted parts are folded to lower case; `*` matches any run of characters
//! and `?` one character; double quotes keep case and make `*`, `?` and `.`
//! literal (`""` inside quotes is one `"`). A pattern matches whole names.

use crate::error::{CoreError, Result};

/// A parsed name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    /// The pattern as given (for messages).
    pub text: String,
    schema: Option<Vec<Tok>>,
    name: Vec<Tok>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Char(char),
    Any,
    One,
}

impl NamePattern {
    /// Parse a pattern for a schema-qualified object (`[schema.]name`).
    pub fn qualified(text: &str) -> Result<Self> {
        let parts = split(text)?;
        match parts.len() {
            1 => Ok(NamePattern {
                text: text.to_string(),
                schema: None,
                name: parts.into_iter().next().unwrap_or_default(),
            }),
            2 => {
                let mut it = parts.into_iter();
                let schema = it.next().unwrap_or_default();
                let name = it.next().unwrap_or_default();
                Ok(NamePattern {
                    text: text.to_string(),
                    schema: Some(schema),
                    name,
                })
            }
            _ => Err(CoreError::Usage(format!(
                "improper qualified name (too many dotted names): {text}"
            ))),
        }
    }

    /// Parse a pattern for an unqualified object (a schema name).
    pub fn unqualified(text: &str) -> Result<Self> {
        let mut parts = split(text)?;
        if parts.len() != 1 {
            return Err(CoreError::Usage(format!(
                "improper name (too many dotted names): {text}"
            )));
        }
        Ok(NamePattern {
            text: text.to_string(),
            schema: None,
            name: parts.pop().unwrap_or_default(),
        })
    }

    /// Does the pattern match an unqualified name?
    pub fn matches_name(&self, name: &str) -> bool {
        self.schema.is_none() && glob(&self.name, name)
    }

    /// Does the pattern match `schema.name`? An unqualified pattern matches in any schema.
    pub fn matches(&self, schema: &str, name: &str) -> bool {
        self.schema.as_ref().is_none_or(|s| glob(s, schema)) && glob(&self.name, name)
    }
}

fn split(text: &str) -> Result<Vec<Vec<Tok>>> {
    let mut parts = vec![Vec::new()];
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    push(&mut parts, Tok::Char('"'));
                } else {
                    in_quotes = false;
                }
            } else {
                push(&mut parts, Tok::Char(c));
            }
        } else {
            match c {
                '"' => in_quotes = true,
                '.' => parts.push(Vec::new()),
                '*' => push(&mut parts, Tok::Any),
                '?' => push(&mut parts, Tok::One),
                c => {
                    for l in c.to_lowercase() {
                        push(&mut parts, Tok::Char(l));
                    }
                }
            }
        }
    }
    if in_quotes {
        return Err(CoreError::Usage(format!(
            "unterminated quoted identifier in pattern: {text}"
        )));
    }
    Ok(parts)
}

fn push(parts: &mut [Vec<Tok>], t: Tok) {
    if let Some(last) = parts.last_mut() {
        last.push(t);
    }
}

fn glob(pat: &[Tok], s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < chars.len() {
        match pat.get(p) {
            Some(Tok::Any) => {
                star = Some((p, i));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                i += 1;
            }
            Some(Tok::Char(c)) if chars.get(i) == Some(c) => {
                p += 1;
                i += 1;
            }
            _ => match star {
                Some((sp, si)) => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            },
        }
    }
    pat.get(p..)
        .is_some_and(|rest| rest.iter().all(|t| *t == Tok::Any))
}

/// A set of include and exclude patterns for one object class.
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    /// Objects must match one of these (when not empty).
    pub include: Vec<NamePattern>,
    /// Objects matching one of these are left out.
    pub exclude: Vec<NamePattern>,
}

impl PatternSet {
    /// Is `schema.name` selected? (No include patterns means everything is included.)
    pub fn selects(&self, schema: &str, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(schema, name)))
            && !self.exclude.iter().any(|p| p.matches(schema, name))
    }

    /// Is the unqualified `name` selected?
    pub fn selects_name(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches_name(name)))
            && !self.exclude.iter().any(|p| p.matches_name(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(p: &str) -> NamePattern {
        NamePattern::qualified(p).unwrap()
    }

    #[test]
    fn unquoted_parts_fold_case() {
        assert!(q("Orders").matches("public", "orders"));
        assert!(!q("Orders").matches("public", "Orders"));
        assert!(q("\"Orders\"").matches("public", "Orders"));
    }

    #[test]
    fn wildcards() {
        assert!(q("ord*").matches("s", "orders"));
        assert!(q("*").matches("s", ""));
        assert!(q("o?ders").matches("s", "orders"));
        assert!(!q("o?ders").matches("s", "oders"));
        assert!(q("cov_*.*s").matches("cov_core", "orders"));
        assert!(!q("cov_*.*s").matches("public", "orders"));
        assert!(q("*a*b*").matches("s", "xxaxxbxx"));
        assert!(!q("*a*b").matches("s", "xxaxxbxx"));
    }

    #[test]
    fn quotes_make_wildcards_and_dots_literal() {
        assert!(q("\"a.b\"").matches("s", "a.b"));
        assert!(!q("\"a*\"").matches("s", "abc"));
        assert!(q("\"a*\"").matches("s", "a*"));
        assert!(q("\"say \"\"hi\"\"\"").matches("s", "say \"hi\""));
    }

    #[test]
    fn errors() {
        assert!(NamePattern::qualified("a.b.c").is_err());
        assert!(NamePattern::qualified("\"open").is_err());
        assert!(NamePattern::unqualified("a.b").is_err());
    }

    #[test]
    fn sets() {
        let set = PatternSet {
            include: vec![q("cov_*.*")],
            exclude: vec![q("cov_bulk.*")],
        };
        assert!(set.selects("cov_core", "orders"));
        assert!(!set.selects("cov_bulk", "readings"));
        assert!(!set.selects("public", "x"));
        assert!(PatternSet::default().selects("a", "b"));
    }
}
