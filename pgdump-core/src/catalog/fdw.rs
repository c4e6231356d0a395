//! Foreign data wrappers, foreign servers and user mappings.
//!
//! - `CREATE FOREIGN DATA WRAPPER w [HANDLER h] [VALIDATOR v] [OPTIONS (...)]`
//!   (not for wrappers created by an extension, e.g. postgres_fdw's);
//! - `CREATE SERVER s [TYPE 't'] [VERSION 'v'] FOREIGN DATA WRAPPER w [OPTIONS (...)]`;
//! - `CREATE USER MAPPING FOR role|PUBLIC SERVER s [OPTIONS (...)]`, read from
//!   `pg_user_mappings`, for every mapping of a dumped server.
//!
//! Wrappers and servers come with their comments, owners and privileges
//! (`GRANT ... ON FOREIGN DATA WRAPPER|FOREIGN SERVER`). The catalogs are the
//! same on every supported version (10..18).
//!
//! User mapping options may hold passwords. pg_dump dumps them, and so do we,
//! but they only ever go into the item's SQL: no message, error or log line of
//! this module contains option values.

use std::collections::HashMap;

use super::acl::{acl_item, AclTarget};
use super::comment::{comment_item, CommentTarget};
use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope};
use crate::error::Result;
use crate::quote::{ident, literal, qualify};

/// A foreign data wrapper.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wrapper {
    oid: Oid,
    name: String,
    owner: String,
    /// Handler function `(schema, name)`.
    handler: Option<(String, String)>,
    /// Validator function `(schema, name)`.
    validator: Option<(String, String)>,
    /// `fdwoptions`: `name=value` strings.
    options: Vec<String>,
    acl: Option<Vec<String>>,
    acl_default: Vec<String>,
}

/// A foreign server.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Server {
    oid: Oid,
    name: String,
    owner: String,
    fdw_oid: Oid,
    fdw_name: String,
    srvtype: Option<String>,
    version: Option<String>,
    options: Vec<String>,
    acl: Option<Vec<String>>,
    acl_default: Vec<String>,
}

/// A user mapping (`pg_user_mappings`).
#[derive(Clone, PartialEq, Eq)]
struct UserMapping {
    oid: Oid,
    server_oid: Oid,
    server_name: String,
    /// The role, None for PUBLIC.
    user: Option<String>,
    /// `umoptions` (NULL when hidden from us, or when there are none).
    options: Vec<String>,
    /// False when `pg_user_mappings` hides the options from the current user.
    options_visible: bool,
}

// Never print option values (passwords) by accident.
impl std::fmt::Debug for UserMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserMapping")
            .field("oid", &self.oid)
            .field("server", &self.server_name)
            .field("user", &self.user)
            .field("options", &format_args!("<{} hidden>", self.options.len()))
            .finish()
    }
}

const WRAPPERS_SQL: &str = "\
    SELECT w.oid, w.fdwname, pg_catalog.pg_get_userbyid(w.fdwowner), \
           hn.nspname, h.proname, vn.nspname, v.proname, \
           w.fdwoptions, w.fdwacl::text[], pg_catalog.acldefault('F', w.fdwowner)::text[] \
    FROM pg_catalog.pg_foreign_data_wrapper w \
    LEFT JOIN pg_catalog.pg_proc h ON h.oid = w.fdwhandler \
    LEFT JOIN pg_catalog.pg_namespace hn ON hn.oid = h.pronamespace \
    LEFT JOIN pg_catalog.pg_proc v ON v.oid = w.fdwvalidator \
    LEFT JOIN pg_catalog.pg_namespace vn ON vn.oid = v.pronamespace \
    ORDER BY w.oid";

const SERVERS_SQL: &str = "\
    SELECT s.oid, s.srvname, pg_catalog.pg_get_userbyid(s.srvowner), s.srvfdw, w.fdwname, \
           s.srvtype, s.srvversion, s.srvoptions, s.srvacl::text[], \
           pg_catalog.acldefault('S', s.srvowner)::text[] \
    FROM pg_catalog.pg_foreign_server s \
    JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw \
    ORDER BY s.oid";

/// `pg_user_mappings` shows `umoptions` only under the condition below (the
/// view's own, unchanged since 10); we repeat it to tell "no options" from "hidden".
const MAPPINGS_SQL: &str = "\
    SELECT um.umid, um.srvid, um.srvname, um.umuser, um.usename::text, um.umoptions, \
           ((um.umuser <> 0 AND um.usename = CURRENT_USER \
             AND (pg_catalog.pg_has_role(s.srvowner, 'USAGE') \
                  OR pg_catalog.has_server_privilege(s.oid, 'USAGE'))) \
            OR (um.umuser = 0 AND pg_catalog.pg_has_role(s.srvowner, 'USAGE')) \
            OR coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r \
                         WHERE r.rolname = CURRENT_USER), false)) \
    FROM pg_catalog.pg_user_mappings um \
    JOIN pg_catalog.pg_foreign_server s ON s.oid = um.srvid \
    ORDER BY um.srvname, um.usename";

fn func(schema: Option<String>, name: Option<String>) -> Option<(String, String)> {
    Some((schema?, name?))
}

async fn load_wrappers(l: &Loader<'_>) -> Result<Vec<Wrapper>> {
    let rows = l.query("foreign data wrappers", WRAPPERS_SQL, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| Wrapper {
            oid: r.get(0),
            name: r.get(1),
            owner: r.get(2),
            handler: func(r.get(3), r.get(4)),
            validator: func(r.get(5), r.get(6)),
            options: r.get::<_, Option<Vec<String>>>(7).unwrap_or_default(),
            acl: r.get(8),
            acl_default: r.get::<_, Option<Vec<String>>>(9).unwrap_or_default(),
        })
        .collect())
}

async fn load_servers(l: &Loader<'_>) -> Result<Vec<Server>> {
    let rows = l.query("foreign servers", SERVERS_SQL, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| Server {
            oid: r.get(0),
            name: r.get(1),
            owner: r.get(2),
            fdw_oid: r.get(3),
            fdw_name: r.get(4),
            srvtype: r.get(5),
            version: r.get(6),
            options: r.get::<_, Option<Vec<String>>>(7).unwrap_or_default(),
            acl: r.get(8),
            acl_default: r.get::<_, Option<Vec<String>>>(9).unwrap_or_default(),
        })
        .collect())
}

async fn load_mappings(l: &Loader<'_>) -> Result<Vec<UserMapping>> {
    let rows = l.query("user mappings", MAPPINGS_SQL, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let umuser: Oid = r.get(3);
            UserMapping {
                oid: r.get(0),
                server_oid: r.get(1),
                server_name: r.get(2),
                user: (umuser != 0).then(|| r.get(4)),
                options: r.get::<_, Option<Vec<String>>>(5).unwrap_or_default(),
                options_visible: r.get::<_, Option<bool>>(6).unwrap_or(false),
            }
        })
        .collect())
}

/// ` OPTIONS (\n    name 'value',\n    ...\n)` from `name=value` strings (split at
/// the first `=`, as `pg_options_to_table` does), in catalog order; "" when none.
pub(crate) fn options_clause(options: &[String]) -> String {
    if options.is_empty() {
        return String::new();
    }
    let list: Vec<String> = options
        .iter()
        .map(|o| match o.split_once('=') {
            Some((name, value)) => format!("{} {}", ident(name), literal(value)),
            None => format!("{} ''", ident(o)),
        })
        .collect();
    format!(" OPTIONS (\n    {}\n)", list.join(",\n    "))
}

/// `CREATE FOREIGN DATA WRAPPER ...;`
fn wrapper_sql(w: &Wrapper) -> String {
    let mut sql = format!("CREATE FOREIGN DATA WRAPPER {}", ident(&w.name));
    if let Some((s, f)) = &w.handler {
        sql.push_str(&format!(" HANDLER {}", qualify(s, f)));
    }
    if let Some((s, f)) = &w.validator {
        sql.push_str(&format!(" VALIDATOR {}", qualify(s, f)));
    }
    sql.push_str(&options_clause(&w.options));
    sql.push_str(";\n");
    sql
}

/// `CREATE SERVER ...;`
fn server_sql(s: &Server) -> String {
    let mut sql = format!("CREATE SERVER {}", ident(&s.name));
    if let Some(t) = &s.srvtype {
        sql.push_str(&format!(" TYPE {}", literal(t)));
    }
    if let Some(v) = &s.version {
        sql.push_str(&format!(" VERSION {}", literal(v)));
    }
    sql.push_str(&format!(" FOREIGN DATA WRAPPER {}", ident(&s.fdw_name)));
    sql.push_str(&options_clause(&s.options));
    sql.push_str(";\n");
    sql
}

fn mapping_user_sql(m: &UserMapping) -> String {
    m.user
        .as_deref()
        .map_or_else(|| "PUBLIC".to_string(), ident)
}

/// `CREATE USER MAPPING FOR ... SERVER ...;`
fn mapping_sql(m: &UserMapping) -> String {
    format!(
        "CREATE USER MAPPING FOR {} SERVER {}{};\n",
        mapping_user_sql(m),
        ident(&m.server_name),
        options_clause(&m.options)
    )
}

/// The TOC name of a user mapping: `role SERVER server` (pg_dump's tag).
fn mapping_name(m: &UserMapping) -> String {
    format!(
        "{} SERVER {}",
        m.user.as_deref().unwrap_or("public"),
        m.server_name
    )
}

fn wrapper_items(w: &Wrapper, scope: &Scope) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_FOREIGN_DATA_WRAPPER, w.oid);
    let q = ident(&w.name);
    let mut items = vec![Item::new(
        Kind::ForeignDataWrapper,
        obj,
        w.name.clone(),
        wrapper_sql(w),
    )
    .primary()
    .owner(
        w.owner.clone(),
        format!(
            "ALTER FOREIGN DATA WRAPPER {q} OWNER TO {};\n",
            ident(&w.owner)
        ),
    )
    .drop(format!("DROP FOREIGN DATA WRAPPER IF EXISTS {q};\n"))];
    let ct = CommentTarget {
        obj,
        sql_kind: "FOREIGN DATA WRAPPER",
        sql_name: &q,
        schema: None,
        tag: &w.name,
        owner: Some(&w.owner),
    };
    items.extend(comment_item(scope, &ct));
    let at = AclTarget {
        obj,
        sql_kind: "FOREIGN DATA WRAPPER",
        sql_name: &q,
        schema: None,
        tag: &w.name,
        owner: &w.owner,
    };
    items.extend(acl_item(&at, w.acl.as_deref(), &w.acl_default)?);
    Ok(items)
}

fn server_items(s: &Server, scope: &Scope) -> Result<Vec<Item>> {
    let obj = ObjRef::new(class::PG_FOREIGN_SERVER, s.oid);
    let q = ident(&s.name);
    let mut items = vec![
        Item::new(Kind::ForeignServer, obj, s.name.clone(), server_sql(s))
            .primary()
            .owner(
                s.owner.clone(),
                format!("ALTER SERVER {q} OWNER TO {};\n", ident(&s.owner)),
            )
            .drop(format!("DROP SERVER IF EXISTS {q};\n"))
            .dep(Dep::Obj(ObjRef::new(
                class::PG_FOREIGN_DATA_WRAPPER,
                s.fdw_oid,
            ))),
    ];
    let ct = CommentTarget {
        obj,
        sql_kind: "SERVER",
        sql_name: &q,
        schema: None,
        tag: &s.name,
        owner: Some(&s.owner),
    };
    items.extend(comment_item(scope, &ct));
    let at = AclTarget {
        obj,
        sql_kind: "FOREIGN SERVER",
        sql_name: &q,
        schema: None,
        tag: &s.name,
        owner: &s.owner,
    };
    items.extend(acl_item(&at, s.acl.as_deref(), &s.acl_default)?);
    Ok(items)
}

fn mapping_item(m: &UserMapping, server_owner: &str) -> Item {
    let mut item = Item::new(
        Kind::UserMapping,
        ObjRef::new(class::PG_USER_MAPPING, m.oid),
        mapping_name(m),
        mapping_sql(m),
    )
    .primary()
    .drop(format!(
        "DROP USER MAPPING IF EXISTS FOR {} SERVER {};\n",
        mapping_user_sql(m),
        ident(&m.server_name)
    ))
    .dep(Dep::Obj(ObjRef::new(
        class::PG_FOREIGN_SERVER,
        m.server_oid,
    )));
    item.owner = Some(server_owner.to_string());
    item
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let (wrappers, servers, mappings) =
        futures::try_join!(load_wrappers(l), load_servers(l), load_mappings(l))?;
    let mut items = Vec::new();
    for w in wrappers
        .iter()
        .filter(|w| scope.dump_global(ObjRef::new(class::PG_FOREIGN_DATA_WRAPPER, w.oid)))
    {
        items.extend(wrapper_items(w, scope)?);
    }
    let mut dumped_servers: HashMap<Oid, &str> = HashMap::new();
    for s in servers
        .iter()
        .filter(|s| scope.dump_global(ObjRef::new(class::PG_FOREIGN_SERVER, s.oid)))
    {
        items.extend(server_items(s, scope)?);
        dumped_servers.insert(s.oid, &s.owner);
    }
    // Mappings whose options we cannot see are reported by `unsupported()` and left out.
    for m in mappings.iter().filter(|m| m.options_visible) {
        if let Some(owner) = dumped_servers.get(&m.server_oid) {
            items.push(mapping_item(m, owner));
        }
    }
    Ok(items)
}

/// Objects of this kind in scope that this module cannot reproduce, one line
/// each (`kind identity: why`): user mappings whose options `pg_user_mappings`
/// hides from the current user (they would be dumped without their options).
pub(crate) async fn unsupported(l: &Loader<'_>, scope: &Scope) -> Result<Vec<String>> {
    let mappings = load_mappings(l).await?;
    Ok(mappings
        .iter()
        .filter(|m| {
            !m.options_visible
                && scope.dump_global(ObjRef::new(class::PG_FOREIGN_SERVER, m.server_oid))
        })
        .map(|m| {
            format!(
                "user mapping for {} server {}: its options are hidden from this user \
                 (dump as a superuser or as the server's owner)",
                m.user.as_deref().unwrap_or("PUBLIC"),
                m.server_name
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
    fn wrapper_without_anything() {
        let w = Wrapper {
            oid: 1,
            name: "cov_dummy_fdw".into(),
            owner: "postgres".into(),
            handler: None,
            validator: None,
            options: vec![],
            acl: None,
            acl_default: vec![],
        };
        assert_eq!(
            wrapper_sql(&w),
            "CREATE FOREIGN DATA WRAPPER cov_dummy_fdw;\n"
        );
    }

    #[test]
    fn wrapper_with_handler_validator_options() {
        let w = Wrapper {
            oid: 1,
            name: "My FDW".into(),
            owner: "postgres".into(),
            handler: Some(("ext".into(), "my_handler".into())),
            validator: Some(("pg_catalog".into(), "postgresql_fdw_validator".into())),
            options: v(&["debug=true", "Path=/a=b", "q=it's"]),
            acl: None,
            acl_default: vec![],
        };
        assert_eq!(
            wrapper_sql(&w),
            "CREATE FOREIGN DATA WRAPPER \"My FDW\" HANDLER ext.my_handler \
             VALIDATOR pg_catalog.postgresql_fdw_validator OPTIONS (\n    debug 'true',\n    \
             \"Path\" '/a=b',\n    q 'it''s'\n);\n"
        );
    }

    #[test]
    fn server_with_type_version_options() {
        let s = Server {
            oid: 2,
            name: "cov_loopback".into(),
            owner: "postgres".into(),
            fdw_oid: 1,
            fdw_name: "postgres_fdw".into(),
            srvtype: Some("pg".into()),
            version: Some("15".into()),
            options: v(&["host=127.0.0.1", "port=5432"]),
            acl: None,
            acl_default: vec![],
        };
        assert_eq!(
            server_sql(&s),
            "CREATE SERVER cov_loopback TYPE 'pg' VERSION '15' FOREIGN DATA WRAPPER postgres_fdw \
             OPTIONS (\n    host '127.0.0.1',\n    port '5432'\n);\n"
        );
        let bare = Server {
            srvtype: None,
            version: None,
            options: vec![],
            ..s
        };
        assert_eq!(
            server_sql(&bare),
            "CREATE SERVER cov_loopback FOREIGN DATA WRAPPER postgres_fdw;\n"
        );
    }

    #[test]
    fn user_mappings() {
        let m = UserMapping {
            oid: 3,
            server_oid: 2,
            server_name: "srv".into(),
            user: Some("Reader".into()),
            options: v(&["user=r", "password=not-a-real-secret"]),
            options_visible: true,
        };
        assert_eq!(
            mapping_sql(&m),
            "CREATE USER MAPPING FOR \"Reader\" SERVER srv OPTIONS (\n    \"user\" 'r',\n    \
             password 'not-a-real-secret'\n);\n"
        );
        assert_eq!(mapping_name(&m), "Reader SERVER srv");
        assert!(!format!("{m:?}").contains("secret"));
        let public = UserMapping {
            user: None,
            options: vec![],
            ..m
        };
        assert_eq!(
            mapping_sql(&public),
            "CREATE USER MAPPING FOR PUBLIC SERVER srv;\n"
        );
        assert_eq!(mapping_name(&public), "public SERVER srv");
        let item = mapping_item(&public, "own");
        assert_eq!(item.owner.as_deref(), Some("own"));
        assert_eq!(
            item.drop.as_deref(),
            Some("DROP USER MAPPING IF EXISTS FOR PUBLIC SERVER srv;\n")
        );
    }
}
