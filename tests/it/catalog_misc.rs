//! Catalog kinds of the "global and misc" group: default privileges, foreign data
//! wrappers / servers / user mappings, publications, extended statistics, large
//! objects, the database itself, and the census of unsupported objects.
//!
//! The round trip: build objects in a database, read its catalog, replay the SQL of
//! these kinds into an empty database of the same major and of the newest one (after
//! a prelude creating the schemas and tables they hang on, so that the test does not
//! depend on the table modules), read the target back and compare the SQL of these
//! kinds on both sides, plus the large objects' metadata and the database properties.

use std::sync::Mutex;

use pgdump_core::catalog::{class, Item, Kind};
use pgdump_core::dump::{read_catalog, schema_sql, CatalogDump};
use pgdump_core::graph::Graph;
use pgdump_core::{CoreError, DumpOptions};
use pgdump_tests::{fixture, pg_dump_path, psql, shared_cluster, Cluster, Fixture};

/// Majors the round trip starts from; each is replayed into itself and into [`NEWEST`].
const SOURCES: [u32; 5] = [10, 13, 15, 17, 18];
const NEWEST: u32 = 18;

/// Kinds these modules produce.
const KINDS: [Kind; 10] = [
    Kind::DefaultAcl,
    Kind::ForeignDataWrapper,
    Kind::ForeignServer,
    Kind::UserMapping,
    Kind::Publication,
    Kind::PublicationTable,
    Kind::PublicationSchema,
    Kind::Statistics,
    Kind::LargeObject,
    Kind::LargeObjectData,
];

/// Catalogs whose comments and ACLs these modules produce.
const CLASSES: [u32; 5] = [
    class::PG_FOREIGN_DATA_WRAPPER,
    class::PG_FOREIGN_SERVER,
    class::PG_PUBLICATION,
    class::PG_STATISTIC_EXT,
    class::PG_LARGEOBJECT,
];

fn ours(item: &Item) -> bool {
    KINDS.contains(&item.key.kind)
        || (item.key.kind.is_attachment() && CLASSES.contains(&item.key.obj.class))
}

/// Our items of a graph (database item excluded), in order.
fn our_graph(g: &Graph) -> Graph {
    let keep: Vec<bool> = g.items.iter().map(ours).collect();
    g.clone().retain(&keep)
}

/// The SQL of our items in order, as `schema_sql` prints it but with the large
/// object metadata (section data) included; their contents are not ours.
fn our_sql(g: &Graph) -> String {
    let mut sql = String::new();
    for item in our_graph(g)
        .items
        .iter()
        .filter(|i| i.key.kind != Kind::LargeObjectData)
    {
        let schema = item
            .schema
            .as_deref()
            .map(|s| format!("{s}."))
            .unwrap_or_default();
        sql.push_str(&format!(
            "\n-- {} {schema}{}\n",
            item.key.kind.tag(),
            item.name
        ));
        sql.push_str(&item.create);
        if !item.create.ends_with('\n') {
            sql.push('\n');
        }
        sql.push_str(item.alter_owner.as_deref().unwrap_or(""));
    }
    sql
}

/// Roles are cluster-wide: create them once per cluster, never concurrently.
fn ensure_roles(pg: &Cluster) {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    pg.execute(
        "postgres",
        "DO $$ DECLARE r text; BEGIN \
           FOREACH r IN ARRAY ARRAY['cm_owner', 'cm_reader', 'CM Writer'] LOOP \
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN \
               EXECUTE format('CREATE ROLE %I NOLOGIN', r); \
             END IF; \
           END LOOP; END $$",
    )
    .unwrap();
}

/// Schemas, tables and grants the objects need; run in source and target alike.
fn prelude(major: u32) -> String {
    let mut sql = String::from(
        "CREATE SCHEMA cm_app;\n\
         CREATE SCHEMA \"CM Part\";\n\
         GRANT CREATE ON SCHEMA cm_app TO cm_owner;\n\
         DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO cm_owner', current_database()); END $$;\n\
         CREATE TABLE cm_app.orders (id int PRIMARY KEY, customer int, placed date, total numeric, note text);\n\
         CREATE TABLE cm_app.products (code text PRIMARY KEY, price numeric, \"Name\" text);\n\
         CREATE TABLE \"CM Part\".events (id int, at date);\n",
    );
    if major >= 18 {
        sql.push_str("ALTER TABLE cm_app.products ADD COLUMN gross numeric GENERATED ALWAYS AS (price * 2) STORED;\n");
    }
    sql
}

/// The objects of our kinds, as supported by `major`.
fn objects(major: u32) -> String {
    let mut sql = String::from(
        "ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner IN SCHEMA cm_app GRANT SELECT ON TABLES TO cm_reader;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner IN SCHEMA cm_app GRANT SELECT, INSERT ON TABLES TO \"CM Writer\";\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner GRANT USAGE ON SEQUENCES TO \"CM Writer\" WITH GRANT OPTION;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner GRANT USAGE ON TYPES TO cm_reader;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner GRANT USAGE ON SCHEMAS TO cm_reader;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner REVOKE ALL ON TABLES FROM cm_owner;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner GRANT SELECT ON TABLES TO cm_owner;\n\
         ALTER DEFAULT PRIVILEGES IN SCHEMA \"CM Part\" GRANT SELECT ON TABLES TO PUBLIC;\n\
         \n\
         CREATE FOREIGN DATA WRAPPER cm_fdw OPTIONS (debug 'true', \"Odd Name\" 'a=b');\n\
         CREATE FOREIGN DATA WRAPPER \"CM Plain\" VALIDATOR postgresql_fdw_validator;\n\
         COMMENT ON FOREIGN DATA WRAPPER cm_fdw IS 'a wrapper';\n\
         GRANT USAGE ON FOREIGN DATA WRAPPER cm_fdw TO cm_owner, cm_reader;\n\
         CREATE SERVER cm_srv TYPE 'kind' VERSION '1.0' FOREIGN DATA WRAPPER cm_fdw OPTIONS (host 'h', \"Port\" '5432');\n\
         ALTER SERVER cm_srv OWNER TO cm_owner;\n\
         CREATE SERVER \"CM Bare\" FOREIGN DATA WRAPPER cm_fdw;\n\
         GRANT USAGE ON FOREIGN SERVER cm_srv TO cm_reader;\n\
         GRANT USAGE ON FOREIGN SERVER cm_srv TO \"CM Writer\" WITH GRANT OPTION;\n\
         REVOKE USAGE ON FOREIGN SERVER \"CM Bare\" FROM postgres;\n\
         COMMENT ON SERVER cm_srv IS 'it''s a server';\n\
         CREATE USER MAPPING FOR cm_reader SERVER cm_srv OPTIONS (user 'r', password 'not-a-real-secret');\n\
         CREATE USER MAPPING FOR PUBLIC SERVER cm_srv;\n\
         CREATE USER MAPPING FOR \"CM Writer\" SERVER \"CM Bare\" OPTIONS (\"Key\" 'v');\n\
         \n\
         CREATE PUBLICATION cm_pub FOR TABLE cm_app.orders WITH (publish = 'insert, update');\n\
         CREATE PUBLICATION \"CM All\" FOR ALL TABLES;\n\
         CREATE PUBLICATION cm_empty WITH (publish = '');\n\
         COMMENT ON PUBLICATION cm_pub IS 'orders';\n\
         ALTER PUBLICATION cm_empty OWNER TO cm_owner;\n\
         \n\
         CREATE STATISTICS cm_app.orders_stats (dependencies, ndistinct) ON customer, placed FROM cm_app.orders;\n\
         COMMENT ON STATISTICS cm_app.orders_stats IS 'stats';\n\
         ALTER STATISTICS cm_app.orders_stats OWNER TO cm_owner;\n\
         \n\
         SELECT lo_from_bytea(90001, 'hello');\n\
         SELECT lo_from_bytea(90002, '');\n\
         SELECT lo_create(90003);\n\
         ALTER LARGE OBJECT 90003 OWNER TO cm_owner;\n\
         GRANT SELECT ON LARGE OBJECT 90001 TO cm_reader;\n\
         GRANT SELECT, UPDATE ON LARGE OBJECT 90003 TO \"CM Writer\";\n\
         COMMENT ON LARGE OBJECT 90001 IS 'greeting';\n\
         COMMENT ON LARGE OBJECT 90003 IS 'owned elsewhere';\n\
         SELECT lo_create(100000 + i) FROM generate_series(1, 1500) i;\n\
         SELECT lo_create(200);\n\
         COMMENT ON LARGE OBJECT 200 IS 'a large object with a small oid';\n",
    );
    if major >= 13 {
        sql.push_str(
            "ALTER STATISTICS cm_app.orders_stats SET STATISTICS 500;\n\
             CREATE PUBLICATION cm_root FOR TABLE cm_app.products WITH (publish_via_partition_root = true, publish = 'delete');\n",
        );
    }
    if major >= 14 {
        sql.push_str(
            "CREATE STATISTICS cm_app.expr_stats ON lower(note), customer FROM cm_app.orders;\n",
        );
    }
    if major >= 15 {
        sql.push_str(
            "CREATE PUBLICATION cm_filtered FOR TABLE cm_app.products (code, price, \"Name\") WHERE (price > 0) WITH (publish = 'insert');\n\
             CREATE PUBLICATION cm_schema FOR TABLES IN SCHEMA \"CM Part\", cm_app WITH (publish = 'insert, truncate');\n\
             ALTER PUBLICATION cm_pub ADD TABLE cm_app.products WHERE (code <> 'x');\n",
        );
    }
    if major >= 18 {
        sql.push_str(
            "CREATE PUBLICATION cm_gen FOR TABLE cm_app.products WITH (publish_generated_columns = stored);\n\
             ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner GRANT SELECT ON LARGE OBJECTS TO cm_reader;\n",
        );
    }
    sql
}

/// `pg_dump --schema-only` (the reference, PostgreSQL 18) of a database, without
/// its header lines (they name the server version).
fn reference_dump(pg: &Cluster, db: &str) -> String {
    let mut cmd = std::process::Command::new(pg_dump_path().unwrap());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .args(["--schema-only", "--no-sync", "-d"])
        .arg(pg.url(db))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| {
            !l.starts_with("-- Dumped ")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn catalog(pg: &Cluster, db: &str, opts: &DumpOptions) -> Result<CatalogDump, CoreError> {
    let client = pg.connect(db).await.unwrap();
    read_catalog(&client, opts).await
}

const LO_FACTS: &str =
    "SELECT string_agg(format('%s %s %s %s', m.oid, pg_get_userbyid(m.lomowner), \
     m.lomacl, obj_description(m.oid, 'pg_largeobject')), E'\\n' ORDER BY m.oid) \
     FROM pg_largeobject_metadata m";

/// Build the objects in a fresh database of `source`, replay our SQL into a fresh
/// database of `target`, and compare both sides.
async fn round_trip(source: u32, target: u32) {
    let src = shared_cluster(source);
    let dst = shared_cluster(target);
    ensure_roles(src);
    ensure_roles(dst);
    let sdb = src.create_db(&format!("cm_src_{source}_{target}")).unwrap();
    psql(
        src,
        &sdb,
        &format!("{}{}", prelude(source), objects(source)),
    )
    .unwrap();
    let before = catalog(src, &sdb, &DumpOptions::default()).await.unwrap();
    let sql = our_sql(&before.graph);
    // Passwords of user mappings are dumped (as pg_dump does).
    assert!(sql.contains("password 'not-a-real-secret'"), "{sql}");

    let tdb = dst.create_db(&format!("cm_dst_{source}_{target}")).unwrap();
    psql(dst, &tdb, &prelude(target)).unwrap();
    psql(dst, &tdb, &sql)
        .unwrap_or_else(|e| panic!("replaying {source} -> {target} failed: {e:#}\n{sql}"));
    let after = catalog(dst, &tdb, &DumpOptions::default()).await.unwrap();
    let sql_after = our_sql(&after.graph);
    assert_eq!(sql, sql_after, "PostgreSQL {source} -> {target}");

    // The reference sees the same database on both sides (same major: byte for byte).
    if source == target {
        assert_eq!(
            reference_dump(src, &sdb),
            reference_dump(dst, &tdb),
            "pg_dump of source and target, PostgreSQL {source}"
        );
    }

    let lo_src = src.query_value(&sdb, LO_FACTS).unwrap();
    let lo_dst = dst.query_value(&tdb, LO_FACTS).unwrap();
    assert_eq!(lo_src, lo_dst, "large objects {source} -> {target}");
    src.drop_db(&sdb).unwrap();
    dst.drop_db(&tdb).unwrap();
}

#[tokio::test]
async fn round_trip_same_major() {
    for major in SOURCES {
        round_trip(major, major).await;
    }
}

#[tokio::test]
async fn round_trip_to_newest_major() {
    for major in SOURCES.into_iter().filter(|m| *m != NEWEST) {
        round_trip(major, NEWEST).await;
    }
}

/// The items themselves: kinds, names, dependencies and the exact SQL of a few.
#[tokio::test]
async fn items_on_15() {
    let pg = shared_cluster(15);
    ensure_roles(pg);
    let db = pg.create_db("cm_items").unwrap();
    psql(pg, &db, &format!("{}{}", prelude(15), objects(15))).unwrap();
    let cat = catalog(pg, &db, &DumpOptions::default()).await.unwrap();
    let g = &cat.graph;
    let find = |kind: Kind, name: &str| {
        g.items
            .iter()
            .find(|i| i.key.kind == kind && i.name == name)
            .unwrap_or_else(|| panic!("no {kind:?} {name}"))
    };
    let fdw = find(Kind::ForeignDataWrapper, "cm_fdw");
    assert_eq!(
        fdw.create,
        "CREATE FOREIGN DATA WRAPPER cm_fdw OPTIONS (\n    debug 'true',\n    \"Odd Name\" 'a=b'\n);\n"
    );
    let srv = find(Kind::ForeignServer, "cm_srv");
    assert_eq!(
        srv.create,
        "CREATE SERVER cm_srv TYPE 'kind' VERSION '1.0' FOREIGN DATA WRAPPER cm_fdw OPTIONS (\n    host 'h',\n    \"Port\" '5432'\n);\n"
    );
    assert_eq!(
        srv.alter_owner.as_deref(),
        Some("ALTER SERVER cm_srv OWNER TO cm_owner;\n")
    );
    let um = find(Kind::UserMapping, "public SERVER cm_srv");
    assert_eq!(um.create, "CREATE USER MAPPING FOR PUBLIC SERVER cm_srv;\n");
    assert_eq!(um.owner.as_deref(), Some("cm_owner"));
    let pt = find(Kind::PublicationTable, "cm_filtered products");
    assert_eq!(
        pt.create,
        "ALTER PUBLICATION cm_filtered ADD TABLE ONLY cm_app.products (code, price, \"Name\") WHERE ((price > (0)::numeric));\n"
    );
    assert_eq!(pt.meta["table"], "cm_app.products");
    let ps = g
        .items
        .iter()
        .find(|i| i.key.kind == Kind::PublicationSchema && i.schema.as_deref() == Some("CM Part"))
        .unwrap();
    assert_eq!(
        ps.create,
        "ALTER PUBLICATION cm_schema ADD TABLES IN SCHEMA \"CM Part\";\n"
    );
    let st = find(Kind::Statistics, "orders_stats");
    assert_eq!(
        st.create,
        "CREATE STATISTICS cm_app.orders_stats (ndistinct, dependencies) ON customer, placed FROM cm_app.orders;\n\
         ALTER STATISTICS cm_app.orders_stats SET STATISTICS 500;\n"
    );
    assert_eq!(st.meta["table"], "cm_app.orders");
    let da: Vec<&str> = g
        .items
        .iter()
        .filter(|i| i.key.kind == Kind::DefaultAcl)
        .map(|i| i.create.as_str())
        .collect();
    assert_eq!(da.len(), 7, "{da:?}");
    for want in [
        "ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner REVOKE ALL ON FUNCTIONS FROM PUBLIC;\n",
        "ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner GRANT USAGE ON SEQUENCES TO \"CM Writer\" WITH GRANT OPTION;\n",
        "ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner REVOKE ALL ON TABLES FROM cm_owner;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner GRANT SELECT ON TABLES TO cm_owner;\n",
        "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA \"CM Part\" GRANT SELECT ON TABLES TO PUBLIC;\n",
        "ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner IN SCHEMA cm_app GRANT SELECT ON TABLES TO cm_reader;\n\
         ALTER DEFAULT PRIVILEGES FOR ROLE cm_owner IN SCHEMA cm_app GRANT INSERT,SELECT ON TABLES TO \"CM Writer\";\n",
    ] {
        assert!(da.contains(&want), "missing {want:?} in {da:?}");
    }
    // large objects: groups by owner and ACL, at most 1000 each
    let groups: Vec<&Item> = g
        .items
        .iter()
        .filter(|i| i.key.kind == Kind::LargeObjectData)
        .collect();
    let sizes: Vec<usize> = groups
        .iter()
        .map(|i| match &i.data {
            Some(pgdump_core::catalog::DataSource::LargeObjects(oids)) => oids.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    // postgres/no ACL: 90002, 200 and the 1500 others -> 1000 + 502; 90001 (ACL); 90003 (cm_owner)
    assert_eq!(sorted, vec![1, 1, 502, 1000], "{sizes:?}");
    for data in groups {
        let meta_pos = g
            .items
            .iter()
            .position(|i| i.key.kind == Kind::LargeObject && i.key.obj == data.key.obj)
            .unwrap();
        let data_pos = g.items.iter().position(|i| std::ptr::eq(i, data)).unwrap();
        assert!(meta_pos < data_pos);
        assert!(g.deps[data_pos].contains(&meta_pos));
    }
    // the database item
    let dbi = g
        .items
        .iter()
        .find(|i| i.key.kind == Kind::Database)
        .unwrap();
    assert_eq!(dbi.name, db);
    assert_eq!(dbi.meta["database"], db);
    assert!(
        dbi.create.starts_with(&format!(
            "CREATE DATABASE {db} WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = "
        )),
        "{}",
        dbi.create
    );
    pg.drop_db(&db).unwrap();
}

/// Properties of the database, as a list of facts read from `postgres`.
fn database_facts(pg: &Cluster, db: &str) -> String {
    let lit = db.replace('\'', "''");
    let major = pg.major();
    let provider = if major >= 15 {
        "d.datlocprovider::text"
    } else {
        "'c'"
    };
    let locale = match major {
        17.. => "d.datlocale",
        15 | 16 => "d.daticulocale",
        _ => "NULL::text",
    };
    let rules = if major >= 16 {
        "d.daticurules"
    } else {
        "NULL::text"
    };
    pg.query_value(
        "postgres",
        &format!(
            "SELECT concat_ws(E'\\n', pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, \
                    {provider}, {locale}, {rules}, \
                    pg_get_userbyid(d.datdba), d.datacl::text, d.datistemplate, d.datconnlimit, \
                    shobj_description(d.oid, 'pg_database'), \
                    (SELECT string_agg(coalesce(pg_get_userbyid(NULLIF(s.setrole, 0)), '-') || ' ' || s.setconfig::text, '; ' ORDER BY s.setrole) \
                     FROM pg_db_role_setting s WHERE s.setdatabase = d.oid)) \
             FROM pg_database d WHERE d.datname = '{lit}'"
        ),
    )
    .unwrap()
}

/// How the source database is created: each locale provider the major knows.
fn create_options_for(major: u32) -> &'static str {
    match major {
        ..=14 => "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C'",
        15 | 16 => {
            "TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'und-u-ks-level2' \
             LOCALE 'C.UTF-8'"
        }
        17 => {
            "TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'und' \
             ICU_RULES '&a < b' LOCALE 'C.UTF-8'"
        }
        _ => "TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8' LOCALE 'C.UTF-8'",
    }
}

/// The database item recreates the database: drop it, run the item, compare.
async fn database_round_trip(source: u32, target: u32) {
    let src = shared_cluster(source);
    let dst = shared_cluster(target);
    ensure_roles(src);
    ensure_roles(dst);
    let db = format!("CM_misc_{source}_{target}");
    src.drop_db(&db).unwrap();
    let q = format!("\"{db}\"");
    src.execute(
        "postgres",
        &format!("CREATE DATABASE {q} {}", create_options_for(source)),
    )
    .unwrap();
    src.execute(
        &db,
        &format!(
            "COMMENT ON DATABASE {q} IS 'the ''misc'' database';\n\
             ALTER DATABASE {q} SET work_mem TO '8MB';\n\
             ALTER DATABASE {q} SET search_path TO \"$user\", public, \"CM Part\";\n\
             ALTER ROLE cm_reader IN DATABASE {q} SET statement_timeout TO '5s';\n\
             ALTER DATABASE {q} CONNECTION LIMIT 7;\n\
             REVOKE CONNECT, TEMPORARY ON DATABASE {q} FROM PUBLIC;\n\
             GRANT CONNECT ON DATABASE {q} TO cm_reader WITH GRANT OPTION;\n\
             ALTER DATABASE {q} OWNER TO cm_owner;"
        ),
    )
    .unwrap();
    let facts = database_facts(src, &db);
    let cat = catalog(src, &db, &DumpOptions::default()).await.unwrap();
    let item = cat
        .graph
        .items
        .iter()
        .find(|i| i.key.kind == Kind::Database)
        .unwrap()
        .clone();
    src.drop_db(&db).unwrap();

    // as the restore does: CREATE DATABASE <name> <create_options>, then post_create
    // inside it with the name in place of the placeholder
    assert_eq!(
        item.create,
        format!("CREATE DATABASE {q} {};\n", item.meta["create_options"])
    );
    dst.execute("postgres", &item.create)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", item.create));
    let post = item.meta["post_create"].replace("{{DATABASE}}", &q);
    psql(dst, &db, &post).unwrap_or_else(|e| panic!("{e:#}\n{post}"));
    assert_eq!(facts, database_facts(dst, &db), "{source} -> {target}");
    dst.drop_db(&db).unwrap();
}

#[tokio::test]
async fn database_properties_round_trip() {
    for major in SOURCES {
        database_round_trip(major, major).await;
        if major != NEWEST {
            database_round_trip(major, NEWEST).await;
        }
    }
}

/// `read_catalog` refuses objects nobody can dump, naming them, and goes on
/// without them under `skip_unsupported`.
#[tokio::test]
async fn unsupported_objects_are_named() {
    for major in [10, 15, 18] {
        let pg = shared_cluster(major);
        ensure_roles(pg);
        let db = pg.create_db(&format!("cm_unsupported_{major}")).unwrap();
        let mut sql = String::from(
            "CREATE SCHEMA cm_odd;\n\
             CREATE CONVERSION cm_odd.cm_conv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;\n\
             CREATE PUBLICATION cm_p;\n\
             CREATE SUBSCRIPTION cm_sub CONNECTION 'host=127.0.0.1 dbname=nowhere' PUBLICATION cm_p \
               WITH (connect = false, enabled = false, create_slot = false, slot_name = NONE);\n\
             CREATE EXTENSION citext;\n\
             GRANT EXECUTE ON FUNCTION citext_eq(citext, citext) TO cm_reader;\n",
        );
        // a transform needs a FROM SQL function (internal) -> internal: borrow a built-in
        let from_sql = if major >= 12 {
            sql.push_str(
                "CREATE ACCESS METHOD cm_heap2 TYPE TABLE HANDLER heap_tableam_handler;\n",
            );
            "varchar_support"
        } else {
            "varchar_transform"
        };
        sql.push_str(&format!(
            "CREATE TRANSFORM FOR int4 LANGUAGE sql (FROM SQL WITH FUNCTION {from_sql}(internal), \
             TO SQL WITH FUNCTION int4recv(internal));\n"
        ));
        psql(pg, &db, &sql).unwrap();
        let err = catalog(pg, &db, &DumpOptions::default()).await.unwrap_err();
        let CoreError::Unsupported { objects } = &err else {
            panic!("expected Unsupported, got {err}");
        };
        let text = objects.join("\n");
        // reported by this group's modules
        let mut expected = vec![
            "conversion cm_odd.cm_conv: conversions are not dumped yet".to_string(),
            "transform for integer language sql: transforms are not dumped yet".to_string(),
            "subscription cm_sub: subscriptions are not dumped".to_string(),
            "function public.citext_eq(public.citext,public.citext): its privileges were \
             changed after CREATE EXTENSION"
                .to_string(),
        ];
        if major >= 12 {
            expected.push(
                "access method cm_heap2: user-defined access methods are not dumped yet".into(),
            );
        }
        let text = format!("\n{text}");
        for e in &expected {
            assert!(
                text.contains(e.as_str()),
                "PostgreSQL {major}: missing {e:?} in{text}"
            );
        }
        let opts = DumpOptions {
            skip_unsupported: true,
            ..DumpOptions::default()
        };
        let cat = catalog(pg, &db, &opts).await.unwrap();
        assert!(cat
            .skipped
            .iter()
            .any(|s| s.starts_with("conversion cm_odd.cm_conv")));
        assert!(cat
            .graph
            .items
            .iter()
            .any(|i| i.key.kind == Kind::Publication && i.name == "cm_p"));
        pg.execute(
            &db,
            "ALTER SUBSCRIPTION cm_sub SET (slot_name = NONE); DROP SUBSCRIPTION cm_sub;",
        )
        .unwrap();
        pg.drop_db(&db).unwrap();
    }
}

/// The coverage fixture: sections 14 (default privileges), 15 (FDW), 16
/// (publications), 17 (large objects), extended statistics and the database comment.
#[tokio::test]
async fn coverage_fixture_kinds() {
    let (pg, db) = fixture(15, Fixture::Coverage);
    let opts = DumpOptions {
        skip_unsupported: true,
        ..DumpOptions::default()
    };
    let cat = catalog(pg, &db, &opts).await.unwrap();
    let g = &cat.graph;
    let count = |k: Kind| g.items.iter().filter(|i| i.key.kind == k).count();
    // six statements, five pg_default_acl rows (two share cov_owner/cov_app/TABLES)
    assert_eq!(count(Kind::DefaultAcl), 5);
    assert_eq!(
        count(Kind::ForeignDataWrapper),
        1,
        "postgres_fdw belongs to its extension"
    );
    assert_eq!(count(Kind::ForeignServer), 2);
    assert_eq!(count(Kind::UserMapping), 2);
    assert_eq!(count(Kind::Publication), 4);
    assert_eq!(count(Kind::PublicationTable), 3);
    assert_eq!(count(Kind::PublicationSchema), 1);
    assert_eq!(count(Kind::Statistics), 2);
    assert_eq!(count(Kind::LargeObject), 3);
    assert_eq!(count(Kind::LargeObjectData), 3);
    let sql = schema_sql(&our_graph(g));
    for want in [
        "ALTER DEFAULT PRIVILEGES FOR ROLE cov_owner IN SCHEMA cov_app GRANT INSERT,SELECT,UPDATE ON TABLES TO cov_writer;\n",
        "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA cov_logic GRANT EXECUTE ON FUNCTIONS TO cov_auditor;\n",
        "CREATE FOREIGN DATA WRAPPER cov_dummy_fdw;\n",
        "COMMENT ON FOREIGN DATA WRAPPER cov_dummy_fdw IS 'wrapper without handler or validator';",
        "CREATE SERVER cov_dummy_server FOREIGN DATA WRAPPER cov_dummy_fdw OPTIONS (\n    anything 'goes'\n);\n",
        "GRANT USAGE ON FOREIGN SERVER cov_loopback TO cov_reader;\n",
        "CREATE USER MAPPING FOR cov_reader SERVER cov_loopback OPTIONS (\n    \"user\" 'cov_reader',\n    password 'not-a-real-secret'\n);\n",
        "CREATE PUBLICATION cov_pub_schema WITH (publish = 'insert, truncate', publish_via_partition_root = true);\n",
        "ALTER PUBLICATION cov_pub_schema ADD TABLES IN SCHEMA cov_part;\n",
        "ALTER PUBLICATION cov_pub_orders ADD TABLE ONLY cov_core.orders;\n",
        "COMMENT ON PUBLICATION cov_pub_orders IS 'two tables';",
        "ALTER STATISTICS cov_core.orders_stats SET STATISTICS 500;\n",
        "COMMENT ON STATISTICS cov_core.orders_stats IS 'multi-column statistics';",
    ] {
        assert!(sql.contains(want), "missing {want:?} in\n{sql}");
    }
    let lo: Vec<&Item> = g
        .items
        .iter()
        .filter(|i| i.key.obj.class == class::PG_LARGEOBJECT)
        .collect();
    let all: String = lo.iter().map(|i| i.create.as_str()).collect();
    assert!(
        all.contains("COMMENT ON LARGE OBJECT 424201 IS 'greeting blob';"),
        "{all}"
    );
    assert!(
        all.contains("GRANT SELECT,UPDATE ON LARGE OBJECT 424203 TO cov_writer;"),
        "{all}"
    );
    let dbi = g
        .items
        .iter()
        .find(|i| i.key.kind == Kind::Database)
        .unwrap();
    assert!(
        dbi.meta["post_create"]
            .contains("COMMENT ON DATABASE {{DATABASE}} IS 'coverage corpus database';\n"),
        "{:?}",
        dbi.meta
    );
}
