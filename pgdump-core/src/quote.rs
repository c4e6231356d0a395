//! Quoting of identifiers and literals for the SQL we generate.
//!
//! Identifiers are quoted with the keyword list of the newest supported server
//! (not the source server's), so that DDL dumped from an old server still
//! parses on a newer one. Literals assume `standard_conforming_strings = on`,
//! which every session we open sets.

use crate::keywords::QUOTE_KEYWORDS;

/// Quote an identifier if it needs quoting: anything but lower-case ASCII
/// letters, digits and underscores (not starting with a digit), or a keyword
/// that is not unreserved.
pub fn ident(name: &str) -> String {
    if is_plain(name) {
        name.to_string()
    } else {
        let mut s = String::with_capacity(name.len() + 2);
        s.push('"');
        for c in name.chars() {
            if c == '"' {
                s.push('"');
            }
            s.push(c);
        }
        s.push('"');
        s
    }
}

fn is_plain(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() || c == '_' => {}
        _ => return false,
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return false;
    }
    QUOTE_KEYWORDS.binary_search(&name).is_err()
}

/// `schema.name`, each part quoted as needed.
pub fn qualify(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// A string literal: `'...'` with quotes doubled.
pub fn literal(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('\'');
    for c in value.chars() {
        if c == '\'' {
            s.push('\'');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// A literal or `NULL`.
pub fn literal_or_null(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_string(), literal)
}

/// Dollar-quote a body (function source) with a tag that does not occur in it.
pub fn dollar_quote(body: &str) -> String {
    // The closing tag must be the first occurrence of the tag after the opening one,
    // also when the body ends with part of the tag (a body ending in `$`).
    let mut n = 0usize;
    loop {
        let tag = format!("${}$", "_".repeat(n));
        let closed = format!("{body}{tag}");
        if closed.find(&tag) == Some(body.len()) {
            return format!("{tag}{closed}");
        }
        n += 1;
    }
}

/// Quote every element and join with `, `.
pub fn ident_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| ident(n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers_stay_bare() {
        assert_eq!(ident("orders"), "orders");
        assert_eq!(ident("_x1"), "_x1");
        assert_eq!(ident("name"), "name"); // unreserved keyword
    }

    #[test]
    fn identifiers_that_need_quotes() {
        assert_eq!(ident("Orders"), "\"Orders\"");
        assert_eq!(ident("select"), "\"select\"");
        assert_eq!(ident("user"), "\"user\"");
        assert_eq!(ident("1abc"), "\"1abc\"");
        assert_eq!(ident("a b"), "\"a b\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(ident(""), "\"\"");
        assert_eq!(ident("été"), "\"été\"");
        assert_eq!(qualify("public", "Tab"), "public.\"Tab\"");
    }

    #[test]
    fn keyword_list_is_sorted() {
        assert!(QUOTE_KEYWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn literals() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\\b"), "'a\\b'");
        assert_eq!(literal_or_null(None), "NULL");
    }

    #[test]
    fn dollar_quoting_avoids_the_body() {
        assert_eq!(dollar_quote("select 1"), "$$select 1$$");
        assert_eq!(dollar_quote("a $$ b"), "$_$a $$ b$_$");
        assert_eq!(dollar_quote("a $$ $_$ b"), "$__$a $$ $_$ b$__$");
        assert_eq!(dollar_quote("ends with $"), "$_$ends with $$_$");
        assert_eq!(dollar_quote("x $_"), "$$x $_$$");
        assert_eq!(dollar_quote("x $"), "$_$x $$_$");
    }
}
