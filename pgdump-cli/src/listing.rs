//! The text form of `pgdump list`, which `restore --use-list` reads back.
//!
//! Lines starting with `;` are comments. Every entry is one line:
//!
//! ```text
//! ID; KIND SCHEMA NAME OWNER [ROWS rows, SIZE, N stream(s)]
//! ```
//!
//! (the part in brackets for entries with data, from an archive file). A missing schema
//! or owner is `-`. SCHEMA, NAME and OWNER are one word each: shown as they are when
//! they hold no white space, control character, `"`, `\` or `;`, are not `-` or empty,
//! and are not only upper-case ASCII letters (those are kind words); otherwise in
//! double quotes, with `\\`, `\"`, `\n`, `\r`, `\t` and `\u{HEX}` (any other control
//! or white-space character but the space) escaped. KIND is shown as it is when it is
//! upper-case ASCII words (`TABLE DATA`), quoted the same way otherwise. So an entry
//! never spans two lines, and [`parse_entry`] gives back every name exactly.
//!
//! `--use-list` reads only the ID before the first `;` of each line that is not a
//! comment ([`selected_ids`]), as pg_restore does.

use std::fmt::Write as _;

use pgdump_format::{EntryId, TocEntry};

/// The line of an entry, without the data statistics.
pub fn entry_line(e: &TocEntry) -> String {
    format!(
        "{}; {} {} {} {}",
        e.id,
        kind_words(&e.kind),
        optional_word(e.schema.as_deref()),
        word(&e.name),
        optional_word(e.owner.as_deref())
    )
}

/// `s` for a comment line: control and white-space characters but the space escaped.
pub fn comment_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(s, false, &mut out);
    out
}

/// A name as one word.
fn word(s: &str) -> String {
    let plain = !s.is_empty()
        && s != "-"
        && !s.bytes().all(|b| b.is_ascii_uppercase())
        && s.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | '\\' | ';'));
    if plain {
        s.to_string()
    } else {
        quoted(s)
    }
}

fn optional_word(s: Option<&str>) -> String {
    s.map_or_else(|| "-".to_string(), word)
}

/// A kind: upper-case words as they are, anything else quoted.
fn kind_words(s: &str) -> String {
    if s.split(' ').all(is_kind_word) {
        s.to_string()
    } else {
        quoted(s)
    }
}

fn is_kind_word(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase())
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    escape_into(s, true, &mut out);
    out.push('"');
    out
}

fn escape_into(s: &str, quote: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if quote => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// The entry id of each line that is not a comment, in order; the number (from 1) of
/// the first line without an id otherwise.
pub fn selected_ids(text: &str) -> Result<Vec<EntryId>, usize> {
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        let id = line.split(';').next().unwrap_or("").trim();
        ids.push(id.parse().map_err(|_| n + 1)?);
    }
    Ok(ids)
}

/// An entry line read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: EntryId,
    pub kind: String,
    pub schema: Option<String>,
    pub name: String,
    pub owner: Option<String>,
    /// What follows the owner (the data statistics), trimmed.
    pub rest: String,
}

/// Reads an entry line back: the inverse of [`entry_line`] (for tools and tests;
/// `--use-list` needs only the id).
#[cfg_attr(not(test), allow(dead_code))]
pub fn parse_entry(line: &str) -> Result<Listed, String> {
    let (id, rest) = line.split_once(';').ok_or("no ';' after the id")?;
    let id = id.trim().parse().map_err(|_| format!("bad id {id:?}"))?;
    let (first, mut rest) = next_word(rest)?;
    let mut kind = first.text;
    if !first.quoted {
        // the kind's other words: a bare word of upper-case letters is never a name
        loop {
            match next_word(rest) {
                Ok((w, after)) if !w.quoted && is_kind_word(&w.text) => {
                    kind.push(' ');
                    kind.push_str(&w.text);
                    rest = after;
                }
                _ => break,
            }
        }
    }
    let (schema, rest) = next_word(rest)?;
    let (name, rest) = next_word(rest)?;
    let (owner, rest) = next_word(rest)?;
    Ok(Listed {
        id,
        kind,
        schema: schema.optional(),
        name: name.text,
        owner: owner.optional(),
        rest: rest.trim().to_string(),
    })
}

struct Word {
    text: String,
    quoted: bool,
}

impl Word {
    fn optional(self) -> Option<String> {
        (self.quoted || self.text != "-").then_some(self.text)
    }
}

/// The word at the start of `s` (after spaces), and what follows it.
fn next_word(s: &str) -> Result<(Word, &str), String> {
    let s = s.trim_start_matches(' ');
    if let Some(body) = s.strip_prefix('"') {
        let (text, len) = unescape(body)?;
        let rest = body.get(len..).unwrap_or("");
        return Ok((Word { text, quoted: true }, rest));
    }
    let end = s.find(' ').unwrap_or(s.len());
    if end == 0 {
        return Err("a word is missing".into());
    }
    let (text, rest) = s.split_at(end);
    Ok((
        Word {
            text: text.to_string(),
            quoted: false,
        },
        rest,
    ))
}

/// The text of a quoted word from just after its opening `"`, and the length of
/// what it took up to and including the closing `"`.
pub fn unescape(body: &str) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => {
                let (_, e) = chars.next().ok_or("a '\\' at the end")?;
                match e {
                    '\\' | '"' => out.push(e),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let hex: String = chars
                            .by_ref()
                            .map(|(_, c)| c)
                            .take_while(|&c| c != '}')
                            .collect();
                        let code = hex
                            .strip_prefix('{')
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("bad escape \\u{hex}}}"))?;
                        out.push(code);
                    }
                    e => return Err(format!("unknown escape \\{e}")),
                }
            }
            c => out.push(c),
        }
    }
    Err("no closing '\"'".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(
        id: EntryId,
        kind: &str,
        schema: Option<&str>,
        name: &str,
        owner: Option<&str>,
    ) -> TocEntry {
        TocEntry {
            id,
            kind: kind.into(),
            schema: schema.map(Into::into),
            name: name.into(),
            owner: owner.map(Into::into),
            ..TocEntry::default()
        }
    }

    #[test]
    fn plain_names_as_they_are_others_quoted() {
        let e = entry(7, "TABLE DATA", Some("app"), "events", Some("postgres"));
        assert_eq!(entry_line(&e), "7; TABLE DATA app events postgres");
        let e = entry(8, "CONSTRAINT", None, "people people_pkey", Some("Ünïcode"));
        assert_eq!(
            entry_line(&e),
            "8; CONSTRAINT - \"people people_pkey\" Ünïcode"
        );
        let e = entry(9, "TABLE", Some("-"), "APP", Some(""));
        assert_eq!(entry_line(&e), "9; TABLE \"-\" \"APP\" \"\"");
        let e = entry(10, "Odd kind", Some("s"), "a\"b\\c;d", None);
        assert_eq!(entry_line(&e), "10; \"Odd kind\" s \"a\\\"b\\\\c;d\" -");
        let e = entry(
            11,
            "TABLE",
            Some("s"),
            "x\n42; TABLE public t x\r\t\u{7}\u{2028}\u{a0}",
            None,
        );
        assert_eq!(
            entry_line(&e),
            "11; TABLE s \"x\\n42; TABLE public t x\\r\\t\\u{7}\\u{2028}\\u{a0}\" -"
        );
        assert_eq!(selected_ids(&entry_line(&e)), Ok(vec![11]));
        assert_eq!(comment_text("a \"b\"\nc\\"), "a \"b\"\\nc\\\\");
    }

    #[test]
    fn unescape_reads_every_escape() {
        assert_eq!(
            unescape("a\\\\b\\\"c\\n\\r\\t\\u{1f600}\" rest"),
            Ok(("a\\b\"c\n\r\t😀".into(), 23))
        );
        assert!(unescape("abc").is_err());
        assert!(unescape("a\\x\"").is_err());
        assert!(unescape("a\\u{d800}\"").is_err());
        assert!(unescape("a\\u{12\"").is_err());
        assert!(unescape("a\\").is_err());
    }

    #[test]
    fn ids_of_lines_not_commented_out() {
        let text = ";\n; header\n\n1; TABLE a b c\n ;2; TABLE x y z\n  3;\r\n4 ; x\n";
        assert_eq!(selected_ids(text), Ok(vec![1, 3, 4]));
        assert_eq!(selected_ids("1; x\nnot an id; y\n"), Err(2));
    }

    /// Names of every sort, with the characters that matter often.
    fn name() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '\n', '\r', '\t', ';', '"', '\\', ' ', '-', '0', '9', 'A', 'Z', 'a', '\u{0}', '\u{85}',
            '\u{2028}', '\u{a0}', '\u{feff}', 'é', '😀', '{', '}', 'u',
        ]);
        prop_oneof![
            prop::collection::vec(prop_oneof![any::<char>(), special], 0..12)
                .prop_map(|v| v.into_iter().collect()),
            Just("-".to_string()),
            "[A-Z]{1,3}( [A-Z]{1,3}){0,2}",
            "[a-z_][a-z0-9_]{0,8}",
        ]
    }

    fn toc_entry() -> impl Strategy<Value = TocEntry> {
        (
            name(),
            prop::option::of(name()),
            name(),
            prop::option::of(name()),
            any::<bool>(),
        )
            .prop_map(|(kind, schema, name, owner, stats)| {
                let kind = if stats {
                    "TABLE DATA".to_string()
                } else {
                    kind
                };
                TocEntry {
                    kind,
                    schema,
                    name,
                    owner,
                    ..TocEntry::default()
                }
            })
    }

    proptest! {
        #[test]
        fn every_name_round_trips_and_comments_select(
            entries in prop::collection::vec((toc_entry(), any::<bool>()), 0..20),
            header in name(),
        ) {
            let mut text = format!(";\n; database: {}\n;\n", comment_text(&header));
            let mut want = Vec::new();
            for (i, (e, commented)) in entries.iter().enumerate() {
                let id = EntryId::try_from(i).unwrap() * 7 + 1;
                let e = TocEntry { id, ..e.clone() };
                let stats = if e.kind == "TABLE DATA" { "[1,000 rows, 3 KiB, 1 stream(s)]" } else { "" };
                let line = format!("{} {stats}", entry_line(&e)).trim_end().to_string();
                prop_assert!(!line.contains(['\n', '\r']), "{line:?}");
                let back = parse_entry(&line).map_err(|err| TestCaseError::fail(format!("{line:?}: {err}")))?;
                prop_assert_eq!(
                    (back.id, &back.kind, &back.schema, &back.name, &back.owner, back.rest.as_str()),
                    (e.id, &e.kind, &e.schema, &e.name, &e.owner, stats),
                    "{:?}", line
                );
                if *commented {
                    text.push(';');
                } else {
                    want.push(e.id);
                }
                text.push_str(&line);
                text.push('\n');
            }
            prop_assert_eq!(selected_ids(&text), Ok(want));
        }
    }
}
