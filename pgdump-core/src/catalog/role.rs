//! Roles the dumped objects refer to (owners, grantees and grantors, policy
//! roles, default-privilege roles, user mappings) and the groups they belong
//! to. Roles are cluster-wide, so a restore into another cluster would fail
//! with "role does not exist": the archive carries them and the restore
//! creates the ones that are missing, with their attributes and memberships
//! but never a password.

use super::{class, Dep, Item, Kind, Loader, ObjRef, Oid, Scope, FIRST_NORMAL_OID};
use crate::error::Result;
use crate::quote::{dollar_quote, ident, literal};

/// A role and what the restore needs to recreate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// OID.
    pub oid: Oid,
    /// Name.
    pub name: String,
    /// Attributes.
    pub superuser: bool,
    /// INHERIT.
    pub inherit: bool,
    /// CREATEROLE.
    pub createrole: bool,
    /// CREATEDB.
    pub createdb: bool,
    /// LOGIN.
    pub login: bool,
    /// REPLICATION.
    pub replication: bool,
    /// BYPASSRLS.
    pub bypassrls: bool,
    /// CONNECTION LIMIT (-1 = none).
    pub connlimit: i32,
    /// VALID UNTIL, as text.
    pub valid_until: Option<String>,
    /// Roles this role is a member of: (group oid, group name, admin option).
    pub member_of: Vec<(Oid, String, bool)>,
}

const OWNERS: &[(&str, &str)] = &[
    ("pg_namespace", "nspowner"),
    ("pg_class", "relowner"),
    ("pg_proc", "proowner"),
    ("pg_type", "typowner"),
    ("pg_collation", "collowner"),
    ("pg_conversion", "conowner"),
    ("pg_operator", "oprowner"),
    ("pg_opclass", "opcowner"),
    ("pg_opfamily", "opfowner"),
    ("pg_ts_config", "cfgowner"),
    ("pg_ts_dict", "dictowner"),
    ("pg_foreign_data_wrapper", "fdwowner"),
    ("pg_foreign_server", "srvowner"),
    ("pg_language", "lanowner"),
    ("pg_extension", "extowner"),
    ("pg_event_trigger", "evtowner"),
    ("pg_publication", "pubowner"),
    ("pg_statistic_ext", "stxowner"),
    ("pg_largeobject_metadata", "lomowner"),
    ("pg_default_acl", "defaclrole"),
    // the view: the catalog itself is readable by superusers only
    ("pg_user_mappings", "umuser"),
];

const ACLS: &[(&str, &str)] = &[
    ("pg_namespace", "nspacl"),
    ("pg_class", "relacl"),
    ("pg_attribute", "attacl"),
    ("pg_proc", "proacl"),
    ("pg_type", "typacl"),
    ("pg_foreign_data_wrapper", "fdwacl"),
    ("pg_foreign_server", "srvacl"),
    ("pg_language", "lanacl"),
    ("pg_largeobject_metadata", "lomacl"),
    ("pg_default_acl", "defaclacl"),
];

fn roles_sql() -> String {
    let mut refs: Vec<String> = OWNERS
        .iter()
        .map(|(t, c)| format!("SELECT {c} FROM pg_catalog.{t}"))
        .collect();
    for (t, c) in ACLS {
        // One scan per catalog for grantees and grantors; NULL (default) ACLs skipped
        // before aclexplode, which matters on pg_attribute.
        refs.push(format!(
            "SELECT r FROM pg_catalog.{t} x, LATERAL pg_catalog.aclexplode(x.{c}) a, \
             LATERAL (VALUES (a.grantee), (a.grantor)) v(r) WHERE x.{c} IS NOT NULL"
        ));
    }
    refs.push("SELECT pg_catalog.unnest(polroles) FROM pg_catalog.pg_policy".into());
    refs.push(
        "SELECT datdba FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()"
            .into(),
    );
    refs.push(
        "SELECT a.grantee FROM pg_catalog.pg_database d, LATERAL pg_catalog.aclexplode(d.datacl) a \
         WHERE d.datname = pg_catalog.current_database()"
            .into(),
    );
    format!(
        "WITH RECURSIVE refs(r) AS ({}), \
         closure(r) AS (SELECT r FROM refs UNION SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN closure c ON m.member = c.r) \
         SELECT r.oid, r.rolname::text, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, \
                r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil::text, \
                coalesce((SELECT pg_catalog.array_agg(m.roleid::int8 ORDER BY m.roleid) FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid), '{{}}'), \
                coalesce((SELECT pg_catalog.array_agg(g.rolname::text ORDER BY m.roleid) FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '{{}}'), \
                coalesce((SELECT pg_catalog.array_agg(m.admin_option ORDER BY m.roleid) FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid), '{{}}') \
         FROM pg_catalog.pg_roles r WHERE r.oid IN (SELECT r FROM closure) AND r.oid >= {FIRST_NORMAL_OID} \
         ORDER BY r.rolname",
        refs.join(" UNION ")
    )
}

/// The SQL that creates a role if it does not exist and adds its memberships.
pub fn role_sql(r: &Role) -> String {
    let yes = |b: bool, on: &str, off: &str| if b { on.to_string() } else { off.to_string() };
    let mut attrs = vec![
        yes(r.superuser, "SUPERUSER", "NOSUPERUSER"),
        yes(r.inherit, "INHERIT", "NOINHERIT"),
        yes(r.createrole, "CREATEROLE", "NOCREATEROLE"),
        yes(r.createdb, "CREATEDB", "NOCREATEDB"),
        yes(r.login, "LOGIN", "NOLOGIN"),
        yes(r.replication, "REPLICATION", "NOREPLICATION"),
        yes(r.bypassrls, "BYPASSRLS", "NOBYPASSRLS"),
    ];
    if r.connlimit >= 0 {
        attrs.push(format!("CONNECTION LIMIT {}", r.connlimit));
    }
    if let Some(v) = &r.valid_until {
        attrs.push(format!("VALID UNTIL {}", literal(v)));
    }
    let mut body = format!(
        "BEGIN\n  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {}) THEN\n    CREATE ROLE {} WITH {};\n  END IF;\n",
        literal(&r.name),
        ident(&r.name),
        attrs.join(" ")
    );
    for (_, group, admin) in &r.member_of {
        body.push_str(&format!(
            "  IF NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members m \
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member \
             WHERE g.rolname = {} AND u.rolname = {}) THEN\n    GRANT {} TO {}{};\n  END IF;\n",
            literal(group),
            literal(&r.name),
            ident(group),
            ident(&r.name),
            if *admin { " WITH ADMIN OPTION" } else { "" }
        ));
    }
    body.push_str("END\n");
    format!("DO {};\n", dollar_quote(&body))
}

/// Load the roles and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    if scope.opts.no_roles {
        return Ok(Vec::new());
    }
    let rows = l.query("roles", &roles_sql(), &[]).await?;
    let mut items = Vec::new();
    for row in rows {
        let groups: Vec<i64> = row.get(11);
        let names: Vec<String> = row.get(12);
        let admin: Vec<bool> = row.get(13);
        let role = Role {
            oid: row.get(0),
            name: row.get(1),
            superuser: row.get(2),
            inherit: row.get(3),
            createrole: row.get(4),
            createdb: row.get(5),
            login: row.get(6),
            replication: row.get(7),
            bypassrls: row.get(8),
            connlimit: row.get(9),
            valid_until: row.get(10),
            member_of: groups
                .iter()
                .zip(names)
                .zip(admin)
                .filter(|((g, _), _)| **g >= i64::from(FIRST_NORMAL_OID))
                .map(|((g, n), a)| (u32::try_from(*g).unwrap_or(0), n, a))
                .collect(),
        };
        let obj = ObjRef::new(class::PG_AUTHID, role.oid);
        let mut item = Item::new(Kind::Role, obj, role.name.clone(), role_sql(&role)).primary();
        for (g, _, _) in &role.member_of {
            item = item.dep(Dep::Obj(ObjRef::new(class::PG_AUTHID, *g)));
        }
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_if_missing_with_memberships() {
        let r = Role {
            oid: 20000,
            name: "App Reader".into(),
            superuser: false,
            inherit: true,
            createrole: false,
            createdb: false,
            login: true,
            replication: false,
            bypassrls: false,
            connlimit: 5,
            valid_until: None,
            member_of: vec![(20001, "readers".into(), false)],
        };
        let sql = role_sql(&r);
        assert!(sql.starts_with("DO $$BEGIN\n"), "{sql}");
        assert!(sql.contains("WHERE rolname = 'App Reader') THEN\n    CREATE ROLE \"App Reader\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5;"), "{sql}");
        assert!(sql.contains("GRANT readers TO \"App Reader\";"), "{sql}");
        assert!(!sql.to_lowercase().contains("password"));
    }

    #[test]
    fn reference_query_mentions_every_owner_column() {
        let q = roles_sql();
        for (t, c) in OWNERS {
            assert!(q.contains(&format!("SELECT {c} FROM pg_catalog.{t}")));
        }
    }
}
