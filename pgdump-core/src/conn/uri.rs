//! Parser for `postgresql://` / `postgres://` connection URIs (libpq rules).
//!
//! ```text
//! postgresql://[user[:password]@][host[:port][,host[:port]...]][/dbname][?param=value[&...]]
//! ```
//!
//! * user, password, hosts, dbname and query parameters are percent-decoded
//!   (`%2F` etc.; `+` is not a space; `%00` is refused);
//! * a host in brackets is an IPv6 address (`[::1]:5433`);
//! * a host starting with `/` (after decoding, e.g. `%2Ftmp`) is a Unix-socket
//!   directory; so is `?host=/tmp`;
//! * query parameters override the parts before `?`; `ssl=true` means
//!   `sslmode=require` (JDBC compatibility, as libpq).

use crate::error::{CoreError, Result};

const PREFIXES: [&str; 2] = ["postgresql://", "postgres://"];

/// Length of the URI prefix if `s` starts with one.
fn prefix_len(s: &str) -> Option<usize> {
    PREFIXES.iter().find(|p| s.starts_with(*p)).map(|p| p.len())
}

/// Whether `s` is a connection URI (by its prefix).
pub(crate) fn is_uri(s: &str) -> bool {
    prefix_len(s).is_some()
}

fn err(msg: String) -> CoreError {
    CoreError::Config(msg)
}

/// Percent-decodes one URI component.
pub(crate) fn decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(err(format!(
                    "invalid percent-encoded token in URI: \"{}\"",
                    &s[i..s.len().min(i + 3)]
                )));
            };
            let v = (h * 16 + l) as u8;
            if v == 0 {
                return Err(err(
                    "forbidden value %00 in percent-encoded value in URI".into()
                ));
            }
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| err("percent-encoded value in URI is not valid UTF-8".into()))
}

/// Parses a URI into `(keyword, value)` pairs. The caller validates keywords.
pub(crate) fn parse(s: &str) -> Result<Vec<(String, String)>> {
    let plen = prefix_len(s)
        .ok_or_else(|| err("URI must start with postgresql:// or postgres://".into()))?;
    let rest = &s[plen..];
    let mut out: Vec<(String, String)> = Vec::new();

    // The part before '?' holds user info, hosts and the database name.
    let (main, query) = match rest.find('?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };

    // userinfo: up to the first '@' that comes before any '/' (as libpq).
    let mut hostpart = main;
    let at = main
        .find(['@', '/'])
        .filter(|&i| main.as_bytes()[i] == b'@');
    if let Some(at) = at {
        let userinfo = &main[..at];
        hostpart = &main[at + 1..];
        let (user, password) = match userinfo.find(':') {
            Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            out.push(("user".into(), decode(user)?));
        }
        if let Some(pw) = password {
            if !pw.is_empty() {
                out.push(("password".into(), decode(pw)?));
            }
        }
    }

    // hosts: up to '/'
    let (hosts, dbname) = match hostpart.find('/') {
        Some(sl) => (&hostpart[..sl], Some(&hostpart[sl + 1..])),
        None => (hostpart, None),
    };
    let mut host_list = Vec::new();
    let mut port_list = Vec::new();
    let mut any_host = false;
    let mut any_port = false;
    let hb = hosts.as_bytes();
    let mut i = 0;
    loop {
        let (host, after) = if hb.get(i) == Some(&b'[') {
            let close = hosts[i..].find(']').map(|c| c + i).ok_or_else(|| {
                err(format!(
                    "missing \"]\" after IPv6 host address in URI: \"{}\"",
                    &hosts[i..]
                ))
            })?;
            let h = &hosts[i + 1..close];
            if h.is_empty() {
                return Err(err("IPv6 host address may not be empty in URI".into()));
            }
            let next = close + 1;
            match hb.get(next) {
                None | Some(b':') | Some(b',') => {}
                Some(_) => {
                    return Err(err(format!(
                        "unexpected character \"{}\" after IPv6 host address in URI (expected \":\", \",\" or \"/\")",
                        &hosts[next..].chars().next().unwrap_or(' ')
                    )))
                }
            }
            (h, next)
        } else {
            let end = hosts[i..].find([':', ',']).map_or(hosts.len(), |e| e + i);
            (&hosts[i..end], end)
        };
        i = after;
        let mut port = "";
        if hb.get(i) == Some(&b':') {
            let end = hosts[i + 1..].find(',').map_or(hosts.len(), |e| e + i + 1);
            port = &hosts[i + 1..end];
            i = end;
        }
        let host = decode(host)?;
        let port = decode(port)?;
        any_host |= !host.is_empty();
        any_port |= !port.is_empty();
        host_list.push(host);
        port_list.push(port);
        if hb.get(i) == Some(&b',') {
            i += 1;
            continue;
        }
        break;
    }
    if any_host {
        out.push(("host".into(), host_list.join(",")));
    }
    if any_port {
        out.push(("port".into(), port_list.join(",")));
    }
    if let Some(db) = dbname {
        if !db.is_empty() {
            out.push(("dbname".into(), decode(db)?));
        }
    }

    if let Some(q) = query {
        for param in q.split('&') {
            if param.is_empty() {
                continue;
            }
            let mut kv = param.splitn(2, '=');
            let k = kv.next().unwrap_or_default();
            let Some(v) = kv.next() else {
                return Err(err(format!(
                    "missing key/value separator \"=\" in URI query parameter: \"{}\"",
                    decode(k).unwrap_or_else(|_| k.to_string())
                )));
            };
            if v.contains('=') {
                return Err(err(format!(
                    "extra key/value separator \"=\" in URI query parameter: \"{}\"",
                    decode(k).unwrap_or_else(|_| k.to_string())
                )));
            }
            let k = decode(k)?;
            let v = decode(v)?;
            if k == "ssl" {
                if v == "true" {
                    out.push(("sslmode".into(), "require".into()));
                    continue;
                }
                return Err(err(format!(
                    "invalid URI query parameter value ssl=\"{v}\" (only ssl=true is accepted)"
                )));
            }
            out.push((k, v));
        }
    }
    Ok(out)
}

/// Replaces the password of a URI (user info and `password=` / `sslpassword=`
/// query parameters) by `********`. Never fails; when in doubt, hides more.
pub(crate) fn redact(s: &str) -> String {
    let Some(plen) = prefix_len(s) else {
        return s.to_string();
    };
    let rest = &s[plen..];
    let (main, query) = match rest.find('?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    let mut out = String::from(&s[..plen]);
    // The last '@' before the query: conservative when the password holds a
    // raw '@' or '/'.
    match main.rfind('@') {
        Some(at) => {
            let userinfo = &main[..at];
            match userinfo.find(':') {
                Some(c) => {
                    out.push_str(&userinfo[..c]);
                    out.push_str(":********");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&main[at..]);
        }
        None => out.push_str(main),
    }
    if let Some(q) = query {
        out.push('?');
        let parts: Vec<String> = q
            .split('&')
            .map(|p| {
                let mut kv = p.splitn(2, '=');
                let k = kv.next().unwrap_or_default();
                let dk = decode(k).unwrap_or_else(|_| k.to_string());
                match kv.next() {
                    Some(_) if super::conninfo::is_secret_keyword(&dk) => {
                        format!("{k}=********")
                    }
                    _ => p.to_string(),
                }
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<(String, String)> {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn config_err(s: &str) -> String {
        match parse(s) {
            Err(CoreError::Config(m)) => m,
            other => panic!("{s}: expected a Config error, got {other:?}"),
        }
    }

    #[test]
    fn prefixes() {
        assert!(is_uri("postgresql://h"));
        assert!(is_uri("postgres://"));
        assert!(!is_uri("postgre://h"));
        assert!(!is_uri("host=h"));
        assert!(!is_uri("mydb"));
    }

    #[test]
    fn full_uri() {
        assert_eq!(
            p("postgresql://alice:s3cret@db.example.com:5433/sales?sslmode=require&application_name=x"),
            kv(&[
                ("user", "alice"),
                ("password", "s3cret"),
                ("host", "db.example.com"),
                ("port", "5433"),
                ("dbname", "sales"),
                ("sslmode", "require"),
                ("application_name", "x"),
            ])
        );
    }

    #[test]
    fn minimal_forms() {
        assert!(p("postgresql://").is_empty());
        assert!(p("postgres://").is_empty());
        assert!(p("postgresql:///").is_empty());
        assert_eq!(p("postgresql://localhost"), kv(&[("host", "localhost")]));
        assert_eq!(
            p("postgresql://localhost:5433"),
            kv(&[("host", "localhost"), ("port", "5433")])
        );
        assert_eq!(
            p("postgresql://localhost/mydb"),
            kv(&[("host", "localhost"), ("dbname", "mydb")])
        );
        assert_eq!(p("postgresql:///mydb"), kv(&[("dbname", "mydb")]));
        assert_eq!(
            p("postgresql://user@localhost"),
            kv(&[("user", "user"), ("host", "localhost")])
        );
        assert_eq!(p("postgresql://user@"), kv(&[("user", "user")]));
        assert_eq!(
            p("postgresql://h?connect_timeout=10"),
            kv(&[("host", "h"), ("connect_timeout", "10")])
        );
    }

    #[test]
    fn empty_password_is_unset() {
        assert_eq!(p("postgresql://u:@h"), kv(&[("user", "u"), ("host", "h")]));
    }

    #[test]
    fn password_with_colon_and_encoded_chars() {
        assert_eq!(
            p("postgresql://u:a:b%40c%2Fd@h/db"),
            kv(&[
                ("user", "u"),
                ("password", "a:b@c/d"),
                ("host", "h"),
                ("dbname", "db")
            ])
        );
    }

    #[test]
    fn percent_decoding_everywhere() {
        assert_eq!(
            p("postgresql://us%65r@h/my%20db?application_name=a%26b&options=-c%20x%3Dy"),
            kv(&[
                ("user", "user"),
                ("host", "h"),
                ("dbname", "my db"),
                ("application_name", "a&b"),
                ("options", "-c x=y"),
            ])
        );
        // '+' is not a space.
        assert_eq!(p("postgresql:///a+b"), kv(&[("dbname", "a+b")]));
        // UTF-8
        assert_eq!(p("postgresql:///b%C3%A4r"), kv(&[("dbname", "bär")]));
    }

    #[test]
    fn unix_socket_hosts() {
        assert_eq!(
            p("postgresql://%2Fvar%2Frun%2Fpostgresql/db"),
            kv(&[("host", "/var/run/postgresql"), ("dbname", "db")])
        );
        assert_eq!(
            p("postgresql:///db?host=/tmp&port=5433"),
            kv(&[("dbname", "db"), ("host", "/tmp"), ("port", "5433")])
        );
    }

    #[test]
    fn ipv6_hosts() {
        assert_eq!(p("postgresql://[::1]"), kv(&[("host", "::1")]));
        assert_eq!(
            p("postgresql://[::1]:5433/db"),
            kv(&[("host", "::1"), ("port", "5433"), ("dbname", "db")])
        );
        assert_eq!(
            p("postgresql://u@[2001:db8::1]:6000,[::1]/d"),
            kv(&[
                ("user", "u"),
                ("host", "2001:db8::1,::1"),
                ("port", "6000,"),
                ("dbname", "d")
            ])
        );
        assert_eq!(
            p("postgresql://[fe80::1%25eth0]:1"),
            kv(&[("host", "fe80::1%eth0"), ("port", "1")])
        );
        assert_eq!(
            p("postgresql://[::1]?sslmode=disable"),
            kv(&[("host", "::1"), ("sslmode", "disable")])
        );
    }

    #[test]
    fn multiple_hosts() {
        assert_eq!(
            p("postgresql://h1:5432,h2:5433,h3/db"),
            kv(&[
                ("host", "h1,h2,h3"),
                ("port", "5432,5433,"),
                ("dbname", "db")
            ])
        );
        assert_eq!(p("postgresql://h1,h2"), kv(&[("host", "h1,h2")]));
        assert_eq!(
            p("postgresql://:5433,:5434/db"),
            kv(&[("port", "5433,5434"), ("dbname", "db")])
        );
    }

    #[test]
    fn query_overrides_and_ssl_true() {
        assert_eq!(
            p("postgresql://h/db?ssl=true&target_session_attrs=read-write&dbname=other"),
            kv(&[
                ("host", "h"),
                ("dbname", "db"),
                ("sslmode", "require"),
                ("target_session_attrs", "read-write"),
                ("dbname", "other"),
            ])
        );
        assert_eq!(
            p("postgresql://h/?&sslmode=verify-full&"),
            kv(&[("host", "h"), ("sslmode", "verify-full")])
        );
    }

    #[test]
    fn errors() {
        assert!(config_err("postgresql://h/db?sslmode").contains("missing key/value separator"));
        assert!(config_err("postgresql://h/db?a=b=c").contains("extra key/value separator"));
        assert!(config_err("postgresql://h/d%zzb").contains("invalid percent-encoded token"));
        assert!(config_err("postgresql://h/d%4").contains("invalid percent-encoded token"));
        assert!(config_err("postgresql://h/d%00b").contains("%00"));
        assert!(config_err("postgresql://h/d%FF").contains("UTF-8"));
        assert!(config_err("postgresql://[::1/db").contains("missing \"]\""));
        assert!(config_err("postgresql://[]/db").contains("may not be empty"));
        assert!(config_err("postgresql://[::1]x/db").contains("unexpected character \"x\""));
        assert!(config_err("postgresql://h?ssl=maybe").contains("ssl="));
    }

    #[test]
    fn error_messages_never_show_the_password() {
        let e = config_err("postgresql://u:topsecret@h/d%zz");
        assert!(!e.contains("topsecret"), "{e}");
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("postgresql://u:secret@h:5432/db?sslmode=require"),
            "postgresql://u:********@h:5432/db?sslmode=require"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
        assert_eq!(
            redact("postgresql://h/db?password=secret&user=u"),
            "postgresql://h/db?password=********&user=u"
        );
        assert_eq!(
            redact("postgresql://h/db?pass%77ord=secret"),
            "postgresql://h/db?pass%77ord=********"
        );
        // A raw '@' or '/' in the password hides up to the last '@'.
        assert_eq!(
            redact("postgresql://u:p@s/s@h/db"),
            "postgresql://u:********@h/db"
        );
    }
}
