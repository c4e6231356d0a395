//! The database itself, for `restore --create`: one `DATABASE` item (pre-data,
//! sorted first, named after the database, `meta("database", name)`):
//! - `create`: `CREATE DATABASE name WITH TEMPLATE = template0 ENCODING = ...
//!   [LOCALE_PROVIDER = ...] LC_COLLATE = ... LC_CTYPE = ... [ICU_LOCALE|BUILTIN_LOCALE = ...]
//!   [ICU_RULES = ...] [TABLESPACE = ...];` (provider 15+, `daticulocale` 15-16,
//!   `datlocale` 17+, `daticurules` 16+; no `LOCALE =`, which servers before 13 lack);
//! - `alter_owner`: `ALTER DATABASE name OWNER TO role;`; `drop`: `DROP DATABASE IF EXISTS name;`;
//! - `meta("create_options")`: what follows `CREATE DATABASE <name> ` in `create`
//!   (no semicolon), so that the restore can create it under another name;
//! - `meta("post_create")`: the statements to run once the database exists,
//!   connected to it, one statement per line start, with `{{DATABASE}}` where the
//!   (quoted) database name goes: `ALTER DATABASE ... OWNER TO` first (unless
//!   `--no-owner`), then `COMMENT ON DATABASE` (unless `--no-comments`), the
//!   GRANT/REVOKE of the database ACL against `acldefault('d', owner)` (unless
//!   `--no-privileges`), `ALTER DATABASE ... IS_TEMPLATE = true`, `... CONNECTION LIMIT = n`,
//!   and the settings of `pg_db_role_setting`: `ALTER DATABASE ... SET x TO v` and
//!   `ALTER ROLE r IN DATABASE ... SET x TO v`.
//!
//! A restore into an existing database never uses this item (as pg_restore
//! without `--create`); plain SQL output of the definitions must leave it out too.

use super::acl::{acl_sql, AclTarget};
use super::{class, Item, Kind, Loader, ObjRef, Oid, Scope, ServerVersion};
use crate::error::{CoreError, Result};
use crate::quote::{ident, literal};

/// The current database's `pg_database` row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DatabaseRow {
    oid: Oid,
    name: String,
    owner: String,
    encoding: String,
    collate: String,
    ctype: String,
    /// `datlocprovider` (15+): c, i, b (17+).
    provider: Option<char>,
    /// ICU (15+) or builtin (17+) locale.
    locale: Option<String>,
    /// `daticurules` (16+).
    icu_rules: Option<String>,
    acl: Option<Vec<String>>,
    acl_default: Vec<String>,
    is_template: bool,
    conn_limit: i32,
    tablespace: Option<String>,
    comment: Option<String>,
}

/// One `pg_db_role_setting` row of this database: role None = the database itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    role: Option<String>,
    config: Vec<String>,
}

/// The database query, by server version, for the database `which` (SQL: the
/// current database, or a parameter).
fn database_sql(v: ServerVersion, which: &str) -> String {
    let provider = if v.at_least(15) {
        "d.datlocprovider::text"
    } else {
        "NULL::text"
    };
    let locale = if v.at_least(17) {
        "d.datlocale"
    } else if v.at_least(15) {
        "d.daticulocale"
    } else {
        "NULL::text"
    };
    let rules = if v.at_least(16) {
        "d.daticurules"
    } else {
        "NULL::text"
    };
    format!(
        "SELECT d.oid, d.datname::text, pg_catalog.pg_get_userbyid(d.datdba)::text, \
                pg_catalog.pg_encoding_to_char(d.encoding)::text, \
                d.datcollate::text, d.datctype::text, {provider}, {locale}, {rules}, \
                d.datacl::text[], pg_catalog.acldefault('d', d.datdba)::text[], \
                d.datistemplate, d.datconnlimit, t.spcname::text, \
                pg_catalog.shobj_description(d.oid, 'pg_database') \
         FROM pg_catalog.pg_database d \
         LEFT JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace \
         WHERE d.datname = {which}"
    )
}

/// Settings of the database `which` and of roles in it (same on every version).
fn settings_query(which: &str) -> String {
    format!(
        "SELECT CASE WHEN s.setrole = 0 THEN NULL \
                     ELSE pg_catalog.pg_get_userbyid(s.setrole)::text END, \
                s.setconfig \
         FROM pg_catalog.pg_db_role_setting s \
         WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database \
                                WHERE datname = {which}) \
         ORDER BY s.setrole <> 0, 1"
    )
}

/// The options of `CREATE DATABASE <name> ...` (no semicolon).
fn create_options(d: &DatabaseRow) -> String {
    let mut sql = String::from("WITH TEMPLATE = template0");
    if !d.encoding.is_empty() {
        sql.push_str(&format!(" ENCODING = {}", literal(&d.encoding)));
    }
    if let Some(p) = d.provider {
        sql.push_str(match p {
            'i' => " LOCALE_PROVIDER = icu",
            'b' => " LOCALE_PROVIDER = builtin",
            _ => " LOCALE_PROVIDER = libc",
        });
    }
    if !d.collate.is_empty() {
        sql.push_str(&format!(" LC_COLLATE = {}", literal(&d.collate)));
    }
    if !d.ctype.is_empty() {
        sql.push_str(&format!(" LC_CTYPE = {}", literal(&d.ctype)));
    }
    if let Some(l) = &d.locale {
        let key = if d.provider == Some('b') {
            "BUILTIN_LOCALE"
        } else {
            "ICU_LOCALE"
        };
        sql.push_str(&format!(" {key} = {}", literal(l)));
    }
    if let Some(r) = &d.icu_rules {
        sql.push_str(&format!(" ICU_RULES = {}", literal(r)));
    }
    if let Some(t) = d.tablespace.as_deref().filter(|t| *t != "pg_default") {
        sql.push_str(&format!(" TABLESPACE = {}", ident(t)));
    }
    sql
}

/// `CREATE DATABASE ...;`
fn create_sql(d: &DatabaseRow) -> String {
    format!(
        "CREATE DATABASE {} {};\n",
        ident(&d.name),
        create_options(d)
    )
}

/// Settings whose value is a list of quoted elements (pg_dump's
/// `variable_is_guc_list_quote`): `SET search_path TO 'a', 'b'`.
fn is_list_quote(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "local_preload_libraries"
            | "search_path"
            | "session_preload_libraries"
            | "shared_preload_libraries"
            | "temp_tablespaces"
            | "unix_socket_directories"
    )
}

/// Split a stored list setting (`"$user", public`) into its elements, as the
/// server's `SplitGUCList`: comma separated, blanks trimmed, double quotes
/// removed (`""` inside quotes is one quote). None if malformed.
pub(crate) fn split_guc_list(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    let skip_ws = |c: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while c.peek().is_some_and(|x| x.is_whitespace()) {
            c.next();
        }
    };
    skip_ws(&mut chars);
    if chars.peek().is_none() {
        return Some(out);
    }
    loop {
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        item.push('"');
                    }
                    '"' => break,
                    c => item.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                item.push(c);
                chars.next();
            }
            if item.is_empty() {
                return None;
            }
        }
        out.push(item);
        skip_ws(&mut chars);
        match chars.next() {
            None => return Some(out),
            Some(',') => skip_ws(&mut chars),
            Some(_) => return None,
        }
    }
}

/// `ALTER DATABASE d [..] SET name TO value;` (pg_dump's `makeAlterConfigCommand`)
/// for one `name=value` entry of `setconfig`; `role` gives `ALTER ROLE r IN DATABASE d`.
/// `db` is the database as SQL (quoted name, or the placeholder).
fn alter_config_sql(db: &str, role: Option<&str>, entry: &str) -> Result<String> {
    let (name, value) = entry.split_once('=').ok_or_else(|| {
        CoreError::Catalog("cannot parse a database setting: no '=' in it".to_string())
    })?;
    let mut sql = match role {
        Some(r) => format!("ALTER ROLE {} IN DATABASE {db} ", ident(r)),
        None => format!("ALTER DATABASE {db} "),
    };
    sql.push_str(&format!("SET {} TO ", ident(name)));
    if is_list_quote(name) {
        let items = split_guc_list(value).ok_or_else(|| {
            CoreError::Catalog(format!("cannot parse the list of database setting {name}"))
        })?;
        if items.is_empty() {
            sql.push_str("''");
        } else {
            let quoted: Vec<String> = items.iter().map(|i| literal(i)).collect();
            sql.push_str(&quoted.join(", "));
        }
    } else {
        sql.push_str(&literal(value));
    }
    sql.push_str(";\n");
    Ok(sql)
}

/// Template flag, connection limit and configuration; `q` is the database as SQL.
fn settings_sql(d: &DatabaseRow, settings: &[Setting], q: &str) -> Result<String> {
    let mut sql = String::new();
    if d.is_template {
        sql.push_str(&format!("ALTER DATABASE {q} IS_TEMPLATE = true;\n"));
    }
    if d.conn_limit != -1 {
        sql.push_str(&format!(
            "ALTER DATABASE {q} CONNECTION LIMIT = {};\n",
            d.conn_limit
        ));
    }
    for s in settings {
        for entry in &s.config {
            sql.push_str(&alter_config_sql(q, s.role.as_deref(), entry)?);
        }
    }
    Ok(sql)
}

/// Where the database name goes in `post_create`.
pub const DATABASE_PLACEHOLDER: &str = "{{DATABASE}}";

/// What `post_create` leaves out.
#[derive(Debug, Clone, Copy, Default)]
struct Leave {
    owner: bool,
    comments: bool,
    privileges: bool,
}

/// The statements of `meta("post_create")` (see the module documentation).
fn post_create_sql(d: &DatabaseRow, settings: &[Setting], leave: Leave) -> Result<String> {
    let q = DATABASE_PLACEHOLDER;
    let mut sql = String::new();
    if !leave.owner {
        sql.push_str(&format!(
            "ALTER DATABASE {q} OWNER TO {};\n",
            ident(&d.owner)
        ));
    }
    if let Some(c) = d.comment.as_deref().filter(|_| !leave.comments) {
        sql.push_str(&format!("COMMENT ON DATABASE {q} IS {};\n", literal(c)));
    }
    if !leave.privileges {
        let target = AclTarget {
            obj: ObjRef::new(class::PG_DATABASE, d.oid),
            sql_kind: "DATABASE",
            sql_name: q,
            schema: None,
            tag: &d.name,
            owner: &d.owner,
        };
        sql.push_str(&acl_sql(&target, d.acl.as_deref(), &d.acl_default, None)?);
    }
    sql.push_str(&settings_sql(d, settings, q)?);
    Ok(sql)
}

/// The database item.
fn database_item(d: &DatabaseRow, settings: &[Setting], scope: &Scope) -> Result<Item> {
    let q = ident(&d.name);
    let obj = ObjRef::new(class::PG_DATABASE, d.oid);
    let mut item = Item::new(Kind::Database, obj, d.name.clone(), create_sql(d))
        .primary()
        .owner(
            d.owner.clone(),
            format!("ALTER DATABASE {q} OWNER TO {};\n", ident(&d.owner)),
        )
        .drop(format!("DROP DATABASE IF EXISTS {q};\n"))
        .meta("database", d.name.clone())
        .meta("create_options", create_options(d));
    let leave = Leave {
        owner: scope.opts.no_owner,
        comments: scope.opts.no_comments,
        privileges: scope.opts.no_privileges,
    };
    let post = post_create_sql(d, settings, leave)?;
    if !post.is_empty() {
        item = item.meta("post_create", post);
    }
    Ok(item)
}

/// Load this kind's objects and turn them into items.
pub(crate) async fn collect(l: &Loader<'_>, scope: &Scope) -> Result<Vec<Item>> {
    let sql = database_sql(l.version, "pg_catalog.current_database()");
    let settings_sql = settings_query("pg_catalog.current_database()");
    let (rows, setting_rows) = futures::try_join!(
        l.query("the database", &sql, &[]),
        l.query("database settings", &settings_sql, &[])
    )?;
    let Some(r) = rows.first() else {
        return Err(CoreError::Catalog(
            "the current database is missing from pg_database".into(),
        ));
    };
    let (d, settings) = (database_row(r), settings_rows(&setting_rows));
    Ok(vec![database_item(&d, &settings, scope)?])
}

fn database_row(r: &tokio_postgres::Row) -> DatabaseRow {
    DatabaseRow {
        oid: r.get(0),
        name: r.get(1),
        owner: r.get(2),
        encoding: r.get(3),
        collate: r.get::<_, Option<String>>(4).unwrap_or_default(),
        ctype: r.get::<_, Option<String>>(5).unwrap_or_default(),
        provider: r.get::<_, Option<String>>(6).and_then(|s| s.chars().next()),
        locale: r.get(7),
        icu_rules: r.get(8),
        acl: r.get(9),
        acl_default: r.get::<_, Option<Vec<String>>>(10).unwrap_or_default(),
        is_template: r.get(11),
        conn_limit: r.get(12),
        tablespace: r.get(13),
        comment: r.get(14),
    }
}

fn settings_rows(rows: &[tokio_postgres::Row]) -> Vec<Setting> {
    rows.iter()
        .map(|r| Setting {
            role: r.get(0),
            config: r.get::<_, Option<Vec<String>>>(1).unwrap_or_default(),
        })
        .collect()
}

/// A database as a restore that replaces it needs it: how to create a database like
/// it, and what to run once a copy exists to give it the same properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseProperties {
    /// Its owner.
    pub owner: String,
    /// What follows `CREATE DATABASE <name> ` (encoding, locale, tablespace).
    pub create_options: String,
    /// Owner, comment, privileges, template flag, connection limit and settings (its
    /// own and its roles'), with [`DATABASE_PLACEHOLDER`] where the name goes.
    pub post_create: String,
}

/// The properties of database `name` (any database: the queries read shared
/// catalogs), or `None` if there is none of that name.
pub async fn properties(
    client: &tokio_postgres::Client,
    version: ServerVersion,
    name: &str,
) -> Result<Option<DatabaseProperties>> {
    use crate::error::QueryContext;
    let sql = database_sql(version, "$1");
    let settings_sql = settings_query("$1");
    let (rows, setting_rows) = futures::try_join!(
        async {
            client
                .query(&sql, &[&name])
                .await
                .context(|| format!("reading the properties of database {name}"))
        },
        async {
            client
                .query(&settings_sql, &[&name])
                .await
                .context(|| format!("reading the settings of database {name}"))
        }
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let (d, settings) = (database_row(r), settings_rows(&setting_rows));
    Ok(Some(DatabaseProperties {
        owner: d.owner.clone(),
        create_options: create_options(&d),
        post_create: post_create_sql(&d, &settings, Leave::default())?,
    }))
}

/// Objects of this kind in scope that this module cannot reproduce: none
/// (security labels on the database are reported by the census).
pub(crate) async fn unsupported(_l: &Loader<'_>, _scope: &Scope) -> Result<Vec<String>> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> DatabaseRow {
        DatabaseRow {
            oid: 16384,
            name: "covdb".into(),
            owner: "postgres".into(),
            encoding: "UTF8".into(),
            collate: "C.UTF-8".into(),
            ctype: "C.UTF-8".into(),
            provider: None,
            locale: None,
            icu_rules: None,
            acl: None,
            acl_default: vec!["=Tc/postgres".into(), "postgres=CTc/postgres".into()],
            is_template: false,
            conn_limit: -1,
            tablespace: Some("pg_default".into()),
            comment: None,
        }
    }

    fn scope() -> Scope {
        Scope {
            version: ServerVersion(150000),
            opts: crate::options::DumpOptions::default(),
            namespaces: Default::default(),
            relations: Default::default(),
            ext_members: Default::default(),
            comments: Default::default(),
        }
    }

    #[test]
    fn create_database_old_server() {
        assert_eq!(
            create_sql(&db()),
            "CREATE DATABASE covdb WITH TEMPLATE = template0 ENCODING = 'UTF8' \
             LC_COLLATE = 'C.UTF-8' LC_CTYPE = 'C.UTF-8';\n"
        );
        let split = DatabaseRow {
            name: "My DB".into(),
            collate: "de_DE.UTF-8".into(),
            ctype: "en_US.UTF-8".into(),
            tablespace: Some("Fast".into()),
            ..db()
        };
        assert_eq!(
            create_sql(&split),
            "CREATE DATABASE \"My DB\" WITH TEMPLATE = template0 ENCODING = 'UTF8' \
             LC_COLLATE = 'de_DE.UTF-8' LC_CTYPE = 'en_US.UTF-8' TABLESPACE = \"Fast\";\n"
        );
    }

    #[test]
    fn create_database_providers() {
        let libc = DatabaseRow {
            provider: Some('c'),
            ..db()
        };
        assert_eq!(
            create_sql(&libc),
            "CREATE DATABASE covdb WITH TEMPLATE = template0 ENCODING = 'UTF8' \
             LOCALE_PROVIDER = libc LC_COLLATE = 'C.UTF-8' LC_CTYPE = 'C.UTF-8';\n"
        );
        let icu = DatabaseRow {
            provider: Some('i'),
            locale: Some("und-u-ks-level2".into()),
            icu_rules: Some("&a < b".into()),
            ..db()
        };
        assert_eq!(
            create_sql(&icu),
            "CREATE DATABASE covdb WITH TEMPLATE = template0 ENCODING = 'UTF8' \
             LOCALE_PROVIDER = icu LC_COLLATE = 'C.UTF-8' LC_CTYPE = 'C.UTF-8' ICU_LOCALE = 'und-u-ks-level2' \
             ICU_RULES = '&a < b';\n"
        );
        let builtin = DatabaseRow {
            provider: Some('b'),
            locale: Some("C.UTF-8".into()),
            ..db()
        };
        assert_eq!(
            create_sql(&builtin),
            "CREATE DATABASE covdb WITH TEMPLATE = template0 ENCODING = 'UTF8' \
             LOCALE_PROVIDER = builtin LC_COLLATE = 'C.UTF-8' LC_CTYPE = 'C.UTF-8' BUILTIN_LOCALE = 'C.UTF-8';\n"
        );
    }

    #[test]
    fn guc_lists() {
        assert_eq!(
            split_guc_list("\"$user\", public").unwrap(),
            vec!["$user".to_string(), "public".to_string()]
        );
        assert_eq!(
            split_guc_list(" a ,\"b\"\"c\",d").unwrap(),
            vec!["a".to_string(), "b\"c".to_string(), "d".to_string()]
        );
        assert_eq!(split_guc_list("\"\"").unwrap(), vec![String::new()]);
        assert!(split_guc_list("").unwrap().is_empty());
        assert!(split_guc_list("\"open").is_none());
        assert!(split_guc_list("a,,b").is_none());
    }

    #[test]
    fn settings() {
        assert_eq!(
            alter_config_sql("covdb", None, "work_mem=64MB").unwrap(),
            "ALTER DATABASE covdb SET work_mem TO '64MB';\n"
        );
        assert_eq!(
            alter_config_sql("covdb", None, "search_path=\"$user\", public, cov_core").unwrap(),
            "ALTER DATABASE covdb SET search_path TO '$user', 'public', 'cov_core';\n"
        );
        assert_eq!(
            alter_config_sql("covdb", Some("cov_reader"), "myapp.mode=it's=on").unwrap(),
            "ALTER ROLE cov_reader IN DATABASE covdb SET \"myapp.mode\" TO 'it''s=on';\n"
        );
        assert_eq!(
            alter_config_sql("d", None, "search_path=\"\"").unwrap(),
            "ALTER DATABASE d SET search_path TO '';\n"
        );
        assert!(alter_config_sql("d", None, "garbage").is_err());
    }

    #[test]
    fn item_with_properties() {
        let d = DatabaseRow {
            name: "Cov DB".into(),
            comment: Some("coverage corpus database".into()),
            acl: Some(vec!["=T/postgres".into(), "postgres=CTc/postgres".into()]),
            is_template: true,
            conn_limit: 5,
            ..db()
        };
        let settings = vec![
            Setting {
                role: None,
                config: vec!["work_mem=8MB".into()],
            },
            Setting {
                role: Some("r".into()),
                config: vec!["statement_timeout=5s".into()],
            },
        ];
        let item = database_item(&d, &settings, &scope()).unwrap();
        assert_eq!(item.key.kind, Kind::Database);
        assert!(item.primary);
        assert_eq!(item.name, "Cov DB");
        assert_eq!(item.meta["database"], "Cov DB");
        assert_eq!(
            item.create,
            format!(
                "CREATE DATABASE \"Cov DB\" {};\n",
                item.meta["create_options"]
            )
        );
        assert_eq!(
            item.meta["post_create"],
            "ALTER DATABASE {{DATABASE}} OWNER TO postgres;\n\
             COMMENT ON DATABASE {{DATABASE}} IS 'coverage corpus database';\n\
             REVOKE ALL ON DATABASE {{DATABASE}} FROM PUBLIC;\n\
             GRANT TEMPORARY ON DATABASE {{DATABASE}} TO PUBLIC;\n\
             ALTER DATABASE {{DATABASE}} IS_TEMPLATE = true;\n\
             ALTER DATABASE {{DATABASE}} CONNECTION LIMIT = 5;\n\
             ALTER DATABASE {{DATABASE}} SET work_mem TO '8MB';\n\
             ALTER ROLE r IN DATABASE {{DATABASE}} SET statement_timeout TO '5s';\n"
        );
        assert_eq!(
            item.alter_owner.as_deref(),
            Some("ALTER DATABASE \"Cov DB\" OWNER TO postgres;\n")
        );
        let mut quiet = scope();
        quiet.opts.no_owner = true;
        quiet.opts.no_privileges = true;
        quiet.opts.no_comments = true;
        let plain = database_item(&d, &[], &quiet).unwrap();
        assert_eq!(
            plain.meta["post_create"],
            "ALTER DATABASE {{DATABASE}} IS_TEMPLATE = true;\n\
             ALTER DATABASE {{DATABASE}} CONNECTION LIMIT = 5;\n"
        );
        let bare = database_item(&db(), &[], &quiet).unwrap();
        assert_eq!(bare.meta.len(), 2);
    }

    #[test]
    fn version_branches() {
        assert!(
            database_sql(ServerVersion(140000), "pg_catalog.current_database()")
                .contains("NULL::text, NULL::text, NULL::text")
        );
        let q15 = database_sql(ServerVersion(150000), "pg_catalog.current_database()");
        assert!(q15.contains("d.datlocprovider::text, d.daticulocale, NULL::text"));
        assert!(
            database_sql(ServerVersion(160000), "pg_catalog.current_database()")
                .contains("d.daticulocale, d.daticurules")
        );
        assert!(
            database_sql(ServerVersion(170000), "pg_catalog.current_database()")
                .contains("d.datlocale, d.daticurules")
        );
    }
}
