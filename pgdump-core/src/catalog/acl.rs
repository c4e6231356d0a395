//! Privileges: turn an object's ACL into GRANT/REVOKE statements by diffing it
//! against the default ACL the object would get at creation (`acldefault`).
//!
//! ACLs are read as `aclitem::text` (`grantee=privs/grantor`, empty grantee =
//! PUBLIC, names double-quoted when needed, `*` after a privilege = with grant
//! option). Privileges granted by someone other than the owner are replayed
//! under `SET SESSION AUTHORIZATION` of that grantor, as pg_dump does.

use super::{Dep, Item, Kind, ObjRef};
use crate::error::{CoreError, Result};
use crate::quote::ident;

/// One parsed `aclitem`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AclItem {
    /// Grantee role; empty = PUBLIC.
    pub grantee: String,
    /// Grantor role.
    pub grantor: String,
    /// Privilege letters, in the server's order.
    pub privs: Vec<char>,
    /// Privilege letters held WITH GRANT OPTION.
    pub grantable: Vec<char>,
}

/// Parse one `aclitem` text.
pub fn parse_aclitem(s: &str) -> Result<AclItem> {
    let bad = || CoreError::Catalog(format!("cannot parse aclitem {s:?}"));
    let (grantee, rest) = take_name(s).ok_or_else(bad)?;
    let rest = rest.strip_prefix('=').ok_or_else(bad)?;
    let slash = rest.find('/').ok_or_else(bad)?;
    let (letters, rest) = rest.split_at(slash);
    let (grantor, tail) = take_name(rest.get(1..).unwrap_or("")).ok_or_else(bad)?;
    if !tail.is_empty() {
        return Err(bad());
    }
    let mut privs = Vec::new();
    let mut grantable = Vec::new();
    for c in letters.chars() {
        if c == '*' {
            if let Some(last) = privs.last() {
                grantable.push(*last);
            } else {
                return Err(bad());
            }
        } else if priv_name(c).is_some() {
            privs.push(c);
        } else {
            return Err(bad());
        }
    }
    Ok(AclItem {
        grantee,
        grantor,
        privs,
        grantable,
    })
}

/// Read a possibly double-quoted role name; returns the name and the rest.
fn take_name(s: &str) -> Option<(String, &str)> {
    if let Some(rest) = s.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if let Some((_, '"')) = chars.peek() {
                    chars.next();
                    name.push('"');
                } else {
                    return Some((name, rest.get(i + 1..)?));
                }
            } else {
                name.push(c);
            }
        }
        None
    } else {
        let end = s.find(['=', '/']).unwrap_or(s.len());
        Some((s.get(..end)?.to_string(), s.get(end..)?))
    }
}

/// SQL name of a privilege letter.
pub fn priv_name(c: char) -> Option<&'static str> {
    Some(match c {
        'r' => "SELECT",
        'w' => "UPDATE",
        'a' => "INSERT",
        'd' => "DELETE",
        'D' => "TRUNCATE",
        'x' => "REFERENCES",
        't' => "TRIGGER",
        'X' => "EXECUTE",
        'U' => "USAGE",
        'C' => "CREATE",
        'c' => "CONNECT",
        'T' => "TEMPORARY",
        'm' => "MAINTAIN",
        's' => "SET",
        'A' => "ALTER SYSTEM",
        _ => return None,
    })
}

fn role_sql(name: &str) -> String {
    if name.is_empty() {
        "PUBLIC".to_string()
    } else {
        ident(name)
    }
}

/// The object a GRANT applies to.
#[derive(Debug, Clone, Copy)]
pub struct AclTarget<'a> {
    /// The object's catalog identity (the ACL item attaches to it).
    pub obj: ObjRef,
    /// SQL object type in `GRANT ... ON <type>`: TABLE, SEQUENCE, FUNCTION, PROCEDURE,
    /// SCHEMA, TYPE, DOMAIN, LANGUAGE, FOREIGN DATA WRAPPER, FOREIGN SERVER, LARGE OBJECT, DATABASE.
    pub sql_kind: &'a str,
    /// Quoted, qualified name as SQL (with argument types for routines).
    pub sql_name: &'a str,
    /// Schema (unquoted), for the TOC.
    pub schema: Option<&'a str>,
    /// Display name for the TOC tag (unquoted).
    pub tag: &'a str,
    /// The owner (unquoted).
    pub owner: &'a str,
}

/// GRANT/REVOKE statements turning `base` (the default ACL) into `acl`.
/// `acl = None` means the catalog column is NULL: default privileges, nothing to do.
/// `columns` are column privileges: `(attnum, quoted column name, aclitems)`.
pub fn acl_sql(
    target: &AclTarget<'_>,
    acl: Option<&[String]>,
    base: &[String],
    column: Option<&str>,
) -> Result<String> {
    let Some(acl) = acl else {
        return Ok(String::new());
    };
    let cur: Vec<AclItem> = acl
        .iter()
        .map(|s| parse_aclitem(s))
        .collect::<Result<_>>()?;
    let def: Vec<AclItem> = base
        .iter()
        .map(|s| parse_aclitem(s))
        .collect::<Result<_>>()?;
    let on = format!("{} {}", target.sql_kind, target.sql_name);
    let mut sql = String::new();
    // Revoke whatever default item is not there as such any more.
    for d in def.iter().filter(|d| !cur.contains(d)) {
        match column {
            None => sql.push_str(&format!(
                "REVOKE ALL ON {on} FROM {};\n",
                role_sql(&d.grantee)
            )),
            Some(col) => {
                let privs: Vec<String> = d
                    .privs
                    .iter()
                    .filter_map(|c| priv_name(*c))
                    .map(|p| format!("{p}({col})"))
                    .collect();
                sql.push_str(&format!(
                    "REVOKE {} ON {on} FROM {};\n",
                    privs.join(","),
                    role_sql(&d.grantee)
                ));
            }
        }
    }
    // Grant every item that is not a default one.
    for c in cur.iter().filter(|c| !def.contains(c)) {
        let fmt_privs = |list: &[char]| -> String {
            list.iter()
                .filter_map(|p| priv_name(*p))
                .map(|p| match column {
                    Some(col) => format!("{p}({col})"),
                    None => p.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let plain: Vec<char> = c
            .privs
            .iter()
            .copied()
            .filter(|p| !c.grantable.contains(p))
            .collect();
        let by_other = c.grantor != target.owner;
        if by_other {
            sql.push_str(&format!(
                "SET SESSION AUTHORIZATION {};\n",
                ident(&c.grantor)
            ));
        }
        if !plain.is_empty() {
            sql.push_str(&format!(
                "GRANT {} ON {on} TO {};\n",
                fmt_privs(&plain),
                role_sql(&c.grantee)
            ));
        }
        if !c.grantable.is_empty() {
            sql.push_str(&format!(
                "GRANT {} ON {on} TO {} WITH GRANT OPTION;\n",
                fmt_privs(&c.grantable),
                role_sql(&c.grantee)
            ));
        }
        if by_other {
            sql.push_str("RESET SESSION AUTHORIZATION;\n");
        }
    }
    Ok(sql)
}

/// The ACL of an object as an item (None when nothing differs from the default).
pub fn acl_item(
    target: &AclTarget<'_>,
    acl: Option<&[String]>,
    base: &[String],
) -> Result<Option<Item>> {
    let sql = acl_sql(target, acl, base, None)?;
    Ok(make_item(
        target,
        0,
        sql,
        format!("{} {}", target.sql_kind, target.tag),
    ))
}

/// Column privileges of a relation: `columns` are `(attnum, quoted name, unquoted name, attacl)`.
pub fn column_acl_items(
    target: &AclTarget<'_>,
    columns: &[(i32, String, String, Option<Vec<String>>)],
) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for (attnum, quoted, plain, acl) in columns {
        let Some(acl) = acl else { continue };
        let sql = acl_sql(target, Some(acl), &[], Some(quoted))?;
        let sub = u32::try_from(*attnum).unwrap_or(0);
        if let Some(item) = make_item(target, sub, sql, format!("COLUMN {}.{}", target.tag, plain))
        {
            items.push(item);
        }
    }
    Ok(items)
}

fn make_item(target: &AclTarget<'_>, sub: u32, sql: String, tag: String) -> Option<Item> {
    if sql.is_empty() {
        return None;
    }
    let mut item = Item::new(Kind::Acl, target.obj, tag, sql)
        .with_sub(sub)
        .dep(Dep::Obj(target.obj));
    item.schema = target.schema.map(str::to_string);
    item.owner = Some(target.owner.to_string());
    Some(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::class;

    fn target() -> AclTarget<'static> {
        AclTarget {
            obj: ObjRef::new(class::PG_CLASS, 1),
            sql_kind: "TABLE",
            sql_name: "s.t",
            schema: Some("s"),
            tag: "t",
            owner: "own",
        }
    }

    #[test]
    fn parses_items() {
        let a = parse_aclitem("alice=arw*/own").unwrap();
        assert_eq!(a.grantee, "alice");
        assert_eq!(a.grantor, "own");
        assert_eq!(a.privs, vec!['a', 'r', 'w']);
        assert_eq!(a.grantable, vec!['w']);
        let p = parse_aclitem("=U/own").unwrap();
        assert_eq!(p.grantee, "");
        let q = parse_aclitem("\"we\"\"ird=\"=r/\"Own er\"").unwrap();
        assert_eq!(q.grantee, "we\"ird=");
        assert_eq!(q.grantor, "Own er");
        assert!(parse_aclitem("bad").is_err());
        assert!(parse_aclitem("a=z/b").is_err());
    }

    #[test]
    fn null_acl_means_defaults() {
        assert_eq!(
            acl_sql(&target(), None, &["own=arwdDxt/own".into()], None).unwrap(),
            ""
        );
    }

    #[test]
    fn diff_against_default() {
        let base = vec!["own=arwdDxt/own".to_string()];
        let acl = vec![
            "own=arwdDxt/own".to_string(),
            "reader=r/own".to_string(),
            "writer=aw*/own".to_string(),
            "aud=a/writer".to_string(),
        ];
        let sql = acl_sql(&target(), Some(&acl), &base, None).unwrap();
        assert_eq!(
            sql,
            "GRANT SELECT ON TABLE s.t TO reader;\n\
             GRANT INSERT ON TABLE s.t TO writer;\n\
             GRANT UPDATE ON TABLE s.t TO writer WITH GRANT OPTION;\n\
             SET SESSION AUTHORIZATION writer;\n\
             GRANT INSERT ON TABLE s.t TO aud;\n\
             RESET SESSION AUTHORIZATION;\n"
        );
    }

    #[test]
    fn revokes_public_defaults() {
        let base = vec!["=X/own".to_string(), "own=X/own".to_string()];
        let acl = vec!["own=X/own".to_string(), "r=X/own".to_string()];
        let t = AclTarget {
            sql_kind: "FUNCTION",
            sql_name: "s.f(integer)",
            ..target()
        };
        let sql = acl_sql(&t, Some(&acl), &base, None).unwrap();
        assert_eq!(
            sql,
            "REVOKE ALL ON FUNCTION s.f(integer) FROM PUBLIC;\nGRANT EXECUTE ON FUNCTION s.f(integer) TO r;\n"
        );
    }

    #[test]
    fn column_privileges() {
        let cols = vec![(
            2,
            "\"Name\"".to_string(),
            "Name".to_string(),
            Some(vec!["w=rw/own".to_string()]),
        )];
        let items = column_acl_items(&target(), &cols).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].create,
            "GRANT SELECT(\"Name\"),UPDATE(\"Name\") ON TABLE s.t TO w;\n"
        );
        assert_eq!(items[0].key.sub, 2);
    }
}
