//! Default privileges: `ALTER DEFAULT PRIVILEGES [FOR ROLE r] [IN SCHEMA s]
//! GRANT|REVOKE ... ON TABLES|SEQUENCES|FUNCTIONS|TYPES|SCHEMAS|LARGE OBJECTS`
//! from `pg_default_acl`.
//!
//! As pg_dump's `buildDefaultACLCommands`: a global entry (no schema) holds the
//! complete default ACL of the role for that object type, so it is diffed against
//! the built-in default (`acldefault`); a per-schema entry holds only privileges
//! added on top of the global ones, so it is diffed against an empty ACL.
//! Items are post-data (`DEFAULT ACL`), one per `pg_default_acl` row.

use super::acl::{parse_aclitem, priv_name, AclItem};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope};
use crate::error::Result;
use crate::quote::ident;

/// One `pg_default_acl` row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DefaultAclRow {
    oid: Oid,
    /// The role whose future objects get these privileges.
    role: String,
    /// Schema OID, 0 for a global entry.
    nsp: Oid,
    /// `defaclobjtype`: r, S, f, T, n (10+), L (18+).
    objtype: char,
    /// `defaclacl` as text.
    acl: Vec<String>,
    /// What the entry is diffed against: `acldefault` for global entries, empty per schema.
    base: Vec<String>,
}

/// The catalog query (same on every supported version: `defaclobjtype` 'n' exists
/// since 10, 'L' since 18; `acldefault` takes 's' for sequences, not 'S').
fn query_sql() -> &'static str {
    "SELECT d.oid, pg_catalog.pg_get_userbyid(d.defaclrole), d.defaclnamespace, \
            d.defaclobjtype::text, d.defaclacl::text[], \
            CASE WHEN d.defaclnamespace = 0 \
                 THEN pg_catalog.acldefault(CASE WHEN d.defaclobjtype = 'S' THEN 's'::\"char\" \
                                                 ELSE d.defaclobjtype END, d.defaclrole)::text[] \
                 ELSE '{}'::text[] END \
     FROM pg_catalog.pg_default_acl d \
     ORDER BY d.oid"
}

/// SQL keyword of the object type of a `defaclobjtype`.
pub(crate) fn objtype_sql(c: char) -> Option<&'static str> {
    Some(match c {
        'r' => "TABLES",
        'S' => "SEQUENCES",
        'f' => "FUNCTIONS",
        'T' => "TYPES",
        'n' => "SCHEMAS",
        'L' => "LARGE OBJECTS",
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

fn privs_sql(list: &[char]) -> String {
    list.iter()
        .filter_map(|c| priv_name(*c))
        .collect::<Vec<_>>()
        .join(",")
}

/// `ALTER DEFAULT PRIVILEGES` statements turning `base` into `acl` for the future
/// objects of `role` of type `objtype` (`TABLES`...), in `schema` or everywhere.
/// Default privileges are always granted by the role itself, so grantors are ignored.
pub(crate) fn default_acl_sql(
    role: &str,
    schema: Option<&str>,
    objtype: &str,
    acl: &[String],
    base: &[String],
) -> Result<String> {
    let cur: Vec<AclItem> = acl
        .iter()
        .map(|s| parse_aclitem(s))
        .collect::<Result<_>>()?;
    let def: Vec<AclItem> = base
        .iter()
        .map(|s| parse_aclitem(s))
        .collect::<Result<_>>()?;
    let mut prefix = format!("ALTER DEFAULT PRIVILEGES FOR ROLE {} ", ident(role));
    if let Some(s) = schema {
        prefix.push_str(&format!("IN SCHEMA {} ", ident(s)));
    }
    let mut sql = String::new();
    for d in def.iter().filter(|d| !cur.contains(d)) {
        sql.push_str(&format!(
            "{prefix}REVOKE ALL ON {objtype} FROM {};\n",
            role_sql(&d.grantee)
        ));
    }
    for c in cur.iter().filter(|c| !def.contains(c)) {
        let plain: Vec<char> = c
            .privs
            .iter()
            .copied()
            .filter(|p| !c.grantable.contains(p))
            .collect();
        if !plain.is_empty() {
            sql.push_str(&format!(
                "{prefix}GRANT {} ON {objtype} TO {};\n",
                privs_sql(&plain),
                role_sql(&c.grantee)
            ));
        }
        if !c.grantable.is_empty() {
            sql.push_str(&format!(
                "{prefix}GRANT {} ON {objtype} TO {} WITH GRANT OPTION;\n",
                privs_sql(&c.grantable),
                role_sql(&c.grantee)
            ));
        }
    }
    Ok(sql)
}

/// Are objects outside any schema dumped? Not when `-n`/`-t` select a part of the
/// database (pg_dump's `include_everything`).
fn include_everything(scope: &Scope) -> bool {
    scope.opts.schemas.include.is_empty() && scope.opts.tables.include.is_empty()
}

/// Should this entry be dumped: per-schema entries with their schema, global ones
/// in whole-database dumps.
fn wanted(row: &DefaultAclRow, scope: &Scope) -> bool {
    let obj = ObjRef::new(class::PG_DEFAULT_ACL, row.oid);
    if row.nsp == 0 {
        include_everything(scope) && !scope.ext_members.contains(&obj)
    } else {
        scope.dump_obj(row.nsp, obj)
    }
}

async fn load(l: &Loader<'_>) -> Result<Vec<DefaultAclRow>> {
    let rows = l.query("default privileges", query_sql(), &[]).await?;
    Ok(rows
        .iter()
        .map(|r| DefaultAclRow {
            oid: r.get(0),
            role: r.get(1),
            nsp: r.get(2),
            objtype: r.get::<_, String>(3).chars().next().unwrap_or(' '),
            acl: r.get::<_, Option<Vec<String>>>(4).unwrap_or_default(),
            base: r.get::<_, Option<Vec<String>>>(5).unwrap_or_default(),
        })
        .collect())
}

/// Turn one row into its item (None when it changes nothing).
fn make_item(row: &DefaultAclRow, scope: &Scope) -> Result<Option<Item>> {
    let Some(objtype) = objtype_sql(row.objtype) else {
        return Ok(None);
    };
    let schema = (row.nsp != 0).then(|| scope.ns_name(row.nsp).to_string());
    let sql = default_acl_sql(&row.role, schema.as_deref(), objtype, &row.acl, &row.base)?;
    if sql.is_empty() {
        return Ok(None);
    }
    let obj = ObjRef::new(class::PG_DEFAULT_ACL, row.oid);
    let mut item = Item::new(
        Kind::DefaultAcl,
        obj,
        format!("DEFAULT PRIVILEGES FOR {objtype}"),
        sql,
    )
    .primary()
    .sort_extra(row.role.clone());
    item.owner = Some(row.role.clone());
    if let Some(s) = schema {
        item = item
            .schema(s)
            .dep(Dep::Obj(ObjRef::new(class::PG_NAMESPACE, row.nsp)));
    }
    Ok(Some(item))
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for row in load(l).await?.iter().filter(|r| wanted(r, scope)) {
        if let Some(item) = make_item(row, scope)? {
            items.push(item);
        }
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`): entries of an object type this version does not know.
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    Ok(load(l)
        .await?
        .iter()
        .filter(|r| wanted(r, scope) && objtype_sql(r.objtype).is_none())
        .map(|r| {
            format!(
                "default privileges for role {} (object type '{}'): unknown object type",
                r.role, r.objtype
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn global_entry_revokes_public_execute() {
        let sql = default_acl_sql(
            "cov_owner",
            None,
            "FUNCTIONS",
            &v(&["cov_owner=X/cov_owner"]),
            &v(&["=X/cov_owner", "cov_owner=X/cov_owner"]),
        )
        .unwrap();
        assert_eq!(
            sql,
            "ALTER DEFAULT PRIVILEGES FOR ROLE cov_owner REVOKE ALL ON FUNCTIONS FROM PUBLIC;\n"
        );
    }

    #[test]
    fn global_entry_grants_on_top_of_defaults() {
        let sql = default_acl_sql(
            "Owner",
            None,
            "SEQUENCES",
            &v(&["\"Owner\"=rwU/\"Owner\"", "cov_writer=U*/\"Owner\""]),
            &v(&["\"Owner\"=rwU/\"Owner\""]),
        )
        .unwrap();
        assert_eq!(
            sql,
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"Owner\" GRANT USAGE ON SEQUENCES TO cov_writer WITH GRANT OPTION;\n"
        );
    }

    #[test]
    fn owner_privileges_reduced() {
        let sql =
            default_acl_sql("o", None, "TABLES", &v(&["o=r/o"]), &v(&["o=arwdDxt/o"])).unwrap();
        assert_eq!(
            sql,
            "ALTER DEFAULT PRIVILEGES FOR ROLE o REVOKE ALL ON TABLES FROM o;\n\
             ALTER DEFAULT PRIVILEGES FOR ROLE o GRANT SELECT ON TABLES TO o;\n"
        );
    }

    #[test]
    fn schema_entry_is_additions_only() {
        let sql = default_acl_sql(
            "cov_owner",
            Some("cov_app"),
            "TABLES",
            &v(&["cov_reader=r/cov_owner", "cov_writer=arw/cov_owner"]),
            &[],
        )
        .unwrap();
        assert_eq!(
            sql,
            "ALTER DEFAULT PRIVILEGES FOR ROLE cov_owner IN SCHEMA cov_app GRANT SELECT ON TABLES TO cov_reader;\n\
             ALTER DEFAULT PRIVILEGES FOR ROLE cov_owner IN SCHEMA cov_app GRANT INSERT,SELECT,UPDATE ON TABLES TO cov_writer;\n"
        );
    }

    #[test]
    fn public_grant_and_unchanged_entry() {
        let sql = default_acl_sql("r", Some("S"), "TYPES", &v(&["=U/r"]), &[]).unwrap();
        assert_eq!(
            sql,
            "ALTER DEFAULT PRIVILEGES FOR ROLE r IN SCHEMA \"S\" GRANT USAGE ON TYPES TO PUBLIC;\n"
        );
        let same = v(&["=U/r", "r=U/r"]);
        assert_eq!(
            default_acl_sql("r", None, "TYPES", &same, &same).unwrap(),
            ""
        );
    }

    #[test]
    fn objtypes() {
        assert_eq!(objtype_sql('S'), Some("SEQUENCES"));
        assert_eq!(objtype_sql('n'), Some("SCHEMAS"));
        assert_eq!(objtype_sql('L'), Some("LARGE OBJECTS"));
        assert_eq!(objtype_sql('x'), None);
    }

    #[test]
    fn bad_aclitem_is_an_error() {
        assert!(default_acl_sql("r", None, "TABLES", &v(&["nonsense"]), &[]).is_err());
    }
}
