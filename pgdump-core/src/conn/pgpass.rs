//! The libpq password file (`~/.pgpass`, `PGPASSFILE`, `passfile=`).
//!
//! Each line is `hostname:port:database:username:password`. A field that is
//! exactly `*` matches anything; `\:` and `\\` stand for `:` and `\`; lines
//! starting with `#` are comments; the first matching line wins. The host of a
//! Unix-socket connection matches `localhost` (and the socket directory
//! itself). The file is ignored, with a warning, when it is not a regular file
//! or when its group or others have any permission (`mode & 0o077`), as libpq
//! does.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One parsed line: four match fields (`None` = the `*` wildcard) and the password.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<String>,
    pub(crate) database: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) password: String,
}

/// What a connection attempt is matched with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key<'a> {
    /// Host name, IP address or Unix-socket directory of the attempt.
    pub(crate) host: &'a str,
    /// Whether `host` is a Unix-socket directory (then `localhost` matches too).
    pub(crate) unix_socket: bool,
    pub(crate) port: u16,
    pub(crate) database: &'a str,
    pub(crate) user: &'a str,
}

/// Splits a line into its fields, honouring `\` escapes. Returns `None` for
/// comments, blank lines and lines with fewer than five fields.
pub(crate) fn parse_line(line: &str) -> Option<Entry> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields: Vec<(String, bool)> = Vec::with_capacity(5);
    let mut cur = String::new();
    let mut raw_star = true; // the raw text of the current field is exactly "*"
    let mut raw_len = 0usize;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if fields.len() == 4 {
            // password: rest of the line up to an unescaped ':'
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    } else {
                        cur.push('\\');
                    }
                }
                ':' => break,
                c => cur.push(c),
            }
            continue;
        }
        match c {
            '\\' => {
                raw_star = false;
                raw_len += 1;
                if let Some(n) = chars.next() {
                    cur.push(n);
                } else {
                    cur.push('\\');
                }
            }
            ':' => {
                let wildcard = raw_star && raw_len == 1 && cur == "*";
                fields.push((std::mem::take(&mut cur), wildcard));
                raw_star = true;
                raw_len = 0;
            }
            c => {
                raw_len += 1;
                cur.push(c);
            }
        }
    }
    if fields.len() < 4 {
        return None;
    }
    let f = |(v, wild): (String, bool)| if wild { None } else { Some(v) };
    let mut it = fields.into_iter();
    Some(Entry {
        host: f(it.next()?),
        port: f(it.next()?),
        database: f(it.next()?),
        user: f(it.next()?),
        password: cur,
    })
}

impl Entry {
    fn matches(&self, key: &Key<'_>) -> bool {
        let host_ok = match &self.host {
            None => true,
            Some(h) => h == key.host || (key.unix_socket && h == "localhost"),
        };
        let eq = |field: &Option<String>, v: &str| field.as_deref().is_none_or(|f| f == v);
        host_ok
            && eq(&self.port, &key.port.to_string())
            && eq(&self.database, key.database)
            && eq(&self.user, key.user)
    }
}

/// Finds the password for `key` in the text of a password file.
pub(crate) fn find_in(text: &str, key: &Key<'_>) -> Option<String> {
    text.lines()
        .filter_map(parse_line)
        .find(|e| e.matches(key))
        .map(|e| e.password)
}

/// Warn once per file about bad permissions (parallel jobs connect many times).
fn warn_once(path: &Path, msg: &str) {
    static WARNED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let mut g = WARNED.lock().unwrap_or_else(|p| p.into_inner());
    if g.get_or_insert_with(HashSet::new)
        .insert(path.to_path_buf())
    {
        tracing::warn!("password file \"{}\" {msg}", path.display());
    }
}

/// Reads the password file at `path` and looks `key` up. Missing file: `None`
/// silently; insecure or non-regular file: `None` with a warning.
pub(crate) fn lookup(path: &Path, key: &Key<'_>) -> Option<String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::debug!("cannot read password file \"{}\": {e}", path.display());
            }
            return None;
        }
    };
    if !meta.is_file() {
        warn_once(path, "is not a plain file; ignoring it");
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            warn_once(
                path,
                "has group or world access; permissions should be u=rw (0600) or less; ignoring it",
            );
            return None;
        }
    }
    let mut text = String::new();
    if let Err(e) = std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text)) {
        tracing::debug!("cannot read password file \"{}\": {e}", path.display());
        return None;
    }
    let found = find_in(&text, key);
    if found.is_some() {
        tracing::debug!(
            "using a password from \"{}\" for {}:{}",
            path.display(),
            key.host,
            key.port
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(host: &'a str, port: u16, db: &'a str, user: &'a str) -> Key<'a> {
        Key {
            host,
            unix_socket: host.starts_with('/'),
            port,
            database: db,
            user,
        }
    }

    #[test]
    fn parse_simple_and_wildcards() {
        assert_eq!(
            parse_line("h:5432:db:u:pw"),
            Some(Entry {
                host: Some("h".into()),
                port: Some("5432".into()),
                database: Some("db".into()),
                user: Some("u".into()),
                password: "pw".into()
            })
        );
        let e = parse_line("*:*:*:*:pw").unwrap();
        assert_eq!(
            (e.host, e.port, e.database, e.user),
            (None, None, None, None)
        );
    }

    #[test]
    fn parse_escapes() {
        let e = parse_line(r"h\:x:5432:d\\b:u:p\:w\\d").unwrap();
        assert_eq!(e.host.as_deref(), Some("h:x"));
        assert_eq!(e.database.as_deref(), Some(r"d\b"));
        assert_eq!(e.password, r"p:w\d");
        // an escaped star is a literal star
        let e = parse_line(r"\*:5432:db:u:pw").unwrap();
        assert_eq!(e.host.as_deref(), Some("*"));
        // a star inside a field is literal
        let e = parse_line("a*:5432:db:u:pw").unwrap();
        assert_eq!(e.host.as_deref(), Some("a*"));
    }

    #[test]
    fn password_ends_at_unescaped_colon_and_keeps_spaces() {
        assert_eq!(parse_line("h:1:d:u:a b:c").unwrap().password, "a b");
        assert_eq!(parse_line("h:1:d:u:").unwrap().password, "");
        assert_eq!(parse_line("h:1:d:u:pw\r").unwrap().password, "pw");
    }

    #[test]
    fn parse_skips_comments_blank_and_short_lines() {
        assert_eq!(parse_line("# h:1:d:u:pw"), None);
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("h:1:d:u"), None);
        assert_eq!(parse_line("h:1:d"), None);
    }

    #[test]
    fn first_match_wins() {
        let text = "\
# comment
other:5432:*:*:no
db.example.com:5432:sales:alice:first
*:*:*:alice:second
*:*:*:*:third
";
        assert_eq!(
            find_in(text, &key("db.example.com", 5432, "sales", "alice")).as_deref(),
            Some("first")
        );
        assert_eq!(
            find_in(text, &key("db.example.com", 5433, "sales", "alice")).as_deref(),
            Some("second")
        );
        assert_eq!(
            find_in(text, &key("x", 1, "y", "bob")).as_deref(),
            Some("third")
        );
        assert_eq!(find_in("h:1:d:u:pw", &key("h", 2, "d", "u")), None);
        assert_eq!(find_in("h:1:d:u:pw", &key("h", 1, "d", "v")), None);
        assert_eq!(find_in("h:1:d:u:pw", &key("h", 1, "e", "u")), None);
    }

    #[test]
    fn localhost_matches_unix_sockets() {
        let text = "localhost:5432:*:u:sock\n";
        assert_eq!(
            find_in(text, &key("/var/run/postgresql", 5432, "d", "u")).as_deref(),
            Some("sock")
        );
        assert_eq!(find_in(text, &key("127.0.0.1", 5432, "d", "u")), None);
        // the socket directory itself matches too
        let text = "/tmp:5432:*:u:dir\n";
        assert_eq!(
            find_in(text, &key("/tmp", 5432, "d", "u")).as_deref(),
            Some("dir")
        );
    }

    #[test]
    fn escaped_colon_in_host_matches() {
        let text = r"fe80\:\:1:5432:*:u:v6";
        assert_eq!(
            find_in(text, &key("fe80::1", 5432, "d", "u")).as_deref(),
            Some("v6")
        );
    }

    #[cfg(unix)]
    #[test]
    fn file_permissions_are_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:filepw\n").unwrap();
        let k = key("h", 5432, "d", "u");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(lookup(&path, &k).as_deref(), Some("filepw"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(lookup(&path, &k).as_deref(), Some("filepw"));
        for mode in [0o640, 0o604, 0o644, 0o660, 0o601] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(lookup(&path, &k), None, "mode {mode:o}");
        }
        // missing file, directory
        assert_eq!(lookup(&dir.path().join("nope"), &k), None);
        assert_eq!(lookup(dir.path(), &k), None);
    }
}
