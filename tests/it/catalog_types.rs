//! Catalog kinds of the "types and pre-data" group against real servers: schemas
//! (the `public` schema included), extensions, enum/composite/range/shell types,
//! domains, collations, casts, operators with their families and classes, text
//! search dictionaries and configurations, procedural languages.
//!
//! Each round trip builds a source database from a base script (roles, and the
//! functions the objects use: objects of another kind module) plus a script of the
//! objects under test, reads it with pgdump, and replays the items of these kinds
//! (with their comments and ACLs, in the dump's order) into a database holding only
//! the base script: first the pre-data items, then a table using the domains with a
//! row that violates a NOT VALID domain constraint (as a restore loads data), then
//! the post-data items. Both databases must then read the same, with pgdump and
//! with `pg_dump --schema-only` (the reference client, PostgreSQL 18). The same
//! items are replayed into PostgreSQL 18 and compared with the objects created
//! there natively; for sources before 15 the `public` schema must keep its old
//! owner and `CREATE` privilege for PUBLIC, as pg_dump restores it.

use std::collections::HashSet;

use pgdump_core::catalog::{Item, Kind};
use pgdump_core::dump::{read_catalog, CatalogDump};
use pgdump_core::DumpOptions;
use pgdump_format::Section;
use pgdump_tests::{binaries, block_on, fixture, psql, shared_cluster, Cluster, Fixture};

/// Kinds produced by the modules under test (plus domain constraints, see [`mine`]).
const KINDS: &[Kind] = &[
    Kind::Schema,
    Kind::Extension,
    Kind::Type,
    Kind::Domain,
    Kind::Collation,
    Kind::Cast,
    Kind::Operator,
    Kind::OperatorFamily,
    Kind::OperatorClass,
    Kind::TsDictionary,
    Kind::TsConfiguration,
    Kind::Language,
];

/// Roles and the functions the objects use; identical in source and target.
const BASE: &str = r#"
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['ct_owner', 'ct_reader', 'CT Writer'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END LOOP;
END $$;
CREATE FUNCTION public.ct_approx_eq(float8, float8) RETURNS bool
  LANGUAGE sql IMMUTABLE AS 'SELECT abs($1 - $2) < 1e-9';
CREATE FUNCTION public.ct_approx_ne(float8, float8) RETURNS bool
  LANGUAGE sql IMMUTABLE AS 'SELECT abs($1 - $2) >= 1e-9';
CREATE FUNCTION public.ct_shout(text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT upper($1) || '!' $$;
CREATE FUNCTION public.ct_int4_desc_cmp(int4, int4) RETURNS int4
  LANGUAGE sql IMMUTABLE STRICT AS 'SELECT btint4cmp($2, $1)';
CREATE FUNCTION public.ct_int8_desc_cmp(int8, int8) RETURNS int4
  LANGUAGE sql IMMUTABLE STRICT AS 'SELECT btint8cmp($2, $1)';
CREATE FUNCTION public.ct_int48_desc_cmp(int4, int8) RETURNS int4
  LANGUAGE sql IMMUTABLE STRICT AS 'SELECT -btint48cmp($1, $2)';
CREATE FUNCTION public.ct_bytea_uuid(bytea) RETURNS uuid
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT encode($1, 'hex')::uuid $$;
"#;

/// The objects under test, every server (run statement by statement: `ALTER TYPE
/// ... ADD VALUE` cannot run in a transaction block before 12).
const OBJECTS: &str = r#"
CREATE SCHEMA ct_types;
CREATE SCHEMA "CT Ops" AUTHORIZATION ct_owner;
CREATE SCHEMA ct_empty;
COMMENT ON SCHEMA ct_types IS 'types live here';
COMMENT ON SCHEMA "CT Ops" IS 'it''s operators';
GRANT USAGE ON SCHEMA ct_types TO ct_reader;
GRANT CREATE ON SCHEMA ct_types TO "CT Writer" WITH GRANT OPTION;
REVOKE ALL ON SCHEMA ct_empty FROM postgres;
COMMENT ON SCHEMA public IS 'the changed public schema';
GRANT USAGE ON SCHEMA public TO ct_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE EXTENSION hstore WITH SCHEMA ct_types;
CREATE EXTENSION citext;
CREATE EXTENSION "uuid-ossp" WITH SCHEMA "CT Ops";
COMMENT ON EXTENSION hstore IS 'key/value pairs (changed)';

CREATE COLLATION ct_types.c_libc (locale = 'C');
CREATE COLLATION ct_types."C Split" (lc_collate = 'C', lc_ctype = 'C.UTF-8');
CREATE COLLATION ct_types.de_icu (provider = icu, locale = 'de-DE');
COMMENT ON COLLATION ct_types.de_icu IS 'german';
ALTER COLLATION ct_types.c_libc OWNER TO ct_owner;

CREATE TYPE ct_types.mood AS ENUM ('sad', 'ok', 'happy');
ALTER TYPE ct_types.mood ADD VALUE 'ecstatic' AFTER 'happy';
ALTER TYPE ct_types.mood ADD VALUE 'meh' BEFORE 'ok';
ALTER TYPE ct_types.mood RENAME VALUE 'sad' TO 'blue';
COMMENT ON TYPE ct_types.mood IS 'values added out of order, one renamed';
REVOKE USAGE ON TYPE ct_types.mood FROM PUBLIC;
GRANT USAGE ON TYPE ct_types.mood TO ct_reader;
CREATE TYPE ct_types."Address" AS (street text, "Zip" varchar(10) COLLATE "C", geo point, tags ct_types.hstore);
COMMENT ON TYPE ct_types."Address" IS 'composite type';
COMMENT ON COLUMN ct_types."Address"."Zip" IS 'zip code';
ALTER TYPE ct_types."Address" OWNER TO ct_owner;
CREATE TYPE ct_types.empty_type AS ();
CREATE TYPE ct_types.dropped AS (a int, b text, c int);
ALTER TYPE ct_types.dropped DROP ATTRIBUTE b;
CREATE TYPE ct_types.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
COMMENT ON TYPE ct_types.floatrange IS 'range type';
CREATE TYPE ct_types.textrange AS RANGE (subtype = text, collation = "C");
CREATE TYPE ct_types.later;

CREATE DOMAIN ct_types.posint AS integer NOT NULL DEFAULT 1 CHECK (VALUE > 0);
CREATE DOMAIN ct_types.us_zip AS text COLLATE "C"
  CONSTRAINT "Zip Format" CHECK (VALUE ~ '^[0-9]{5}$') CONSTRAINT zip_len CHECK (length(VALUE) = 5);
COMMENT ON DOMAIN ct_types.us_zip IS 'zip';
COMMENT ON CONSTRAINT "Zip Format" ON DOMAIN ct_types.us_zip IS 'five digits';
ALTER DOMAIN ct_types.us_zip OWNER TO ct_owner;
GRANT USAGE ON DOMAIN ct_types.us_zip TO "CT Writer";
CREATE DOMAIN ct_types.email AS public.citext CHECK (VALUE ~ '@');
CREATE DOMAIN ct_types.moods AS ct_types.mood[] DEFAULT '{}';
CREATE TABLE public.ct_users (id int, qty ct_types.posint, zip ct_types.us_zip);
INSERT INTO public.ct_users VALUES (1, 5, '12345'), (2, 2000000, '54321');
CREATE DOMAIN ct_types.even AS int;
CREATE FUNCTION ct_types.is_even(ct_types.even) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT true';
ALTER DOMAIN ct_types.even ADD CONSTRAINT even_check CHECK (VALUE % 2 = 0 AND CASE WHEN false THEN ct_types.is_even(NULL) ELSE true END);
ALTER DOMAIN ct_types.posint ADD CONSTRAINT posint_small CHECK (VALUE < 1000000) NOT VALID;
COMMENT ON CONSTRAINT posint_small ON DOMAIN ct_types.posint IS 'not valid yet';

CREATE CAST (ct_types.mood AS public.citext) WITH INOUT AS ASSIGNMENT;
CREATE CAST (bytea AS uuid) WITH FUNCTION public.ct_bytea_uuid(bytea);
COMMENT ON CAST (bytea AS uuid) IS 'custom cast';

CREATE OPERATOR "CT Ops".=~= (LEFTARG = float8, RIGHTARG = float8, PROCEDURE = public.ct_approx_eq,
  COMMUTATOR = OPERATOR("CT Ops".=~=), NEGATOR = OPERATOR("CT Ops".!~=), RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE OPERATOR "CT Ops".!~= (LEFTARG = float8, RIGHTARG = float8, PROCEDURE = public.ct_approx_ne,
  COMMUTATOR = OPERATOR("CT Ops".!~=), NEGATOR = OPERATOR("CT Ops".=~=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR "CT Ops".### (RIGHTARG = text, PROCEDURE = public.ct_shout);
CREATE OPERATOR "CT Ops".== (LEFTARG = int4, RIGHTARG = int4, PROCEDURE = int4eq, HASHES, MERGES);
COMMENT ON OPERATOR "CT Ops".=~= (float8, float8) IS 'approximately equal';
ALTER OPERATOR "CT Ops".### (NONE, text) OWNER TO ct_owner;

CREATE OPERATOR FAMILY "CT Ops".int_desc USING btree;
CREATE OPERATOR CLASS "CT Ops".int4_desc_ops FOR TYPE int4 USING btree FAMILY "CT Ops".int_desc AS
  OPERATOR 1 >, OPERATOR 2 >=, OPERATOR 3 =, OPERATOR 4 <=, OPERATOR 5 <,
  FUNCTION 1 public.ct_int4_desc_cmp(int4, int4);
CREATE OPERATOR CLASS "CT Ops".int8_desc_ops FOR TYPE int8 USING btree FAMILY "CT Ops".int_desc AS
  OPERATOR 1 >, OPERATOR 2 >=, OPERATOR 3 =, OPERATOR 4 <=, OPERATOR 5 <,
  FUNCTION 1 public.ct_int8_desc_cmp(int8, int8);
ALTER OPERATOR FAMILY "CT Ops".int_desc USING btree ADD
  OPERATOR 1 > (int4, int8), FUNCTION 1 (int4, int8) public.ct_int48_desc_cmp(int4, int8);
CREATE OPERATOR CLASS "CT Ops".solo_ops FOR TYPE int4 USING hash AS
  OPERATOR 1 =, FUNCTION 1 hashint4(int4);
COMMENT ON OPERATOR FAMILY "CT Ops".int_desc USING btree IS 'descending';
COMMENT ON OPERATOR CLASS "CT Ops".int4_desc_ops USING btree IS 'reverse ordering';
ALTER OPERATOR CLASS "CT Ops".int8_desc_ops USING btree OWNER TO ct_owner;

CREATE TEXT SEARCH DICTIONARY ct_types.english_stem_all (TEMPLATE = snowball, LANGUAGE = english);
CREATE TEXT SEARCH DICTIONARY ct_types."Simple NoStop" (TEMPLATE = pg_catalog.simple, STOPWORDS = english, ACCEPT = true);
CREATE TEXT SEARCH CONFIGURATION ct_types.cfg (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION ct_types.cfg
  ALTER MAPPING FOR asciiword, word WITH ct_types.english_stem_all, ct_types."Simple NoStop";
ALTER TEXT SEARCH CONFIGURATION ct_types.cfg DROP MAPPING FOR email, url, url_path, host;
CREATE TEXT SEARCH CONFIGURATION ct_types.bare (PARSER = "default");
COMMENT ON TEXT SEARCH CONFIGURATION ct_types.cfg IS 'english without URL tokens';
COMMENT ON TEXT SEARCH DICTIONARY ct_types.english_stem_all IS 'snowball english';
ALTER TEXT SEARCH CONFIGURATION ct_types.cfg OWNER TO ct_owner;

CREATE TRUSTED LANGUAGE ct_lang HANDLER plpgsql_call_handler
  INLINE plpgsql_inline_handler VALIDATOR plpgsql_validator;
COMMENT ON LANGUAGE ct_lang IS 'plpgsql again';
REVOKE USAGE ON LANGUAGE ct_lang FROM PUBLIC;
GRANT USAGE ON LANGUAGE ct_lang TO ct_reader;
"#;

/// Nondeterministic collations (12+).
const OBJECTS_12: &str = r#"
CREATE COLLATION ct_types.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
COMMENT ON COLLATION ct_types.ci IS 'case-insensitive';
"#;

/// Explicit multirange type names (14+).
const OBJECTS_14: &str = r#"
CREATE TYPE ct_types.intrange AS RANGE (subtype = int4, multirange_type_name = ct_types."Int Ranges");
"#;

/// ICU tailoring rules (16+).
const OBJECTS_16: &str = r#"
CREATE COLLATION ct_types.ruled (provider = icu, locale = 'und', rules = '&a < g');
"#;

/// The builtin provider and named NOT NULL domain constraints (17+).
const OBJECTS_17: &str = r#"
CREATE COLLATION ct_types.bl (provider = builtin, locale = 'C.UTF-8');
CREATE DOMAIN ct_types.named_nn AS int CONSTRAINT nn NOT NULL;
COMMENT ON CONSTRAINT nn ON DOMAIN ct_types.named_nn IS 'named';
"#;

/// What a restore loads between pre-data and post-data: a table with a row that
/// violates the NOT VALID domain constraint (table DDL belongs to another module),
/// and a function taking a domain that the domain's own CHECK calls (a function
/// item of another module, restored after the domain).
const DATA: &str = r#"
CREATE TABLE public.ct_users (id int, qty ct_types.posint, zip ct_types.us_zip);
INSERT INTO public.ct_users VALUES (1, 5, '12345'), (2, 2000000, '54321');
CREATE FUNCTION ct_types.is_even(ct_types.even) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT true';
"#;

fn objects_sql(major: u32) -> String {
    let mut s = OBJECTS.to_string();
    for (min, part) in [
        (12, OBJECTS_12),
        (14, OBJECTS_14),
        (16, OBJECTS_16),
        (17, OBJECTS_17),
    ] {
        if major >= min {
            s.push_str(part);
        }
    }
    s
}

/// Is this item produced by the modules under test (attachments aside)?
fn mine(it: &Item) -> bool {
    KINDS.contains(&it.key.kind)
        || (it.key.kind == Kind::CheckConstraint && it.meta.contains_key("domain"))
}

/// The items of the kinds under test with their comments and ACLs, in dump order.
fn selected(cat: &CatalogDump) -> Vec<&Item> {
    let owners: HashSet<_> = cat
        .graph
        .items
        .iter()
        .filter(|it| it.primary && mine(it))
        .map(|it| it.key.obj)
        .collect();
    cat.graph
        .items
        .iter()
        .filter(|it| mine(it) || (it.key.kind.is_attachment() && owners.contains(&it.key.obj)))
        .collect()
}

/// A comparable listing of the selected items (sorted: OIDs differ between databases).
fn listing(cat: &CatalogDump) -> Vec<String> {
    let mut v: Vec<String> = selected(cat)
        .iter()
        .map(|it| {
            // GRANTs follow the order of the aclitems, which is not semantic.
            let create = if it.key.kind == Kind::Acl {
                let mut lines: Vec<&str> = it.create.lines().collect();
                lines.sort_unstable();
                lines.join("\n")
            } else {
                it.create.clone()
            };
            format!(
                "-- {} {}.{} [{}]\n{}{}",
                it.key.kind.tag(),
                it.schema.as_deref().unwrap_or("-"),
                it.name,
                it.sort_extra,
                create,
                it.alter_owner.as_deref().unwrap_or("")
            )
        })
        .collect();
    v.sort();
    v
}

/// A new database in `pg` with `scripts` run in it by psql (statement by statement).
fn make_db(pg: &Cluster, prefix: &str, scripts: &[&str]) -> String {
    let db = pg.create_db(prefix).expect("create database");
    for s in scripts {
        psql(pg, &db, s).unwrap_or_else(|e| panic!("setting up {db} on {}: {e:#}", pg.major()));
    }
    db
}

/// pgdump's catalog of a database (nothing in it may be unsupported).
fn read(pg: &Cluster, db: &str) -> CatalogDump {
    block_on(async {
        let client = pg.connect(db).await.expect("connect");
        read_catalog(&client, &DumpOptions::default())
            .await
            .unwrap_or_else(|e| panic!("read_catalog of {db} on {}: {e}", pg.major()))
    })
}

/// Run items' SQL in `db`, in order, as a restore session would.
fn replay(pg: &Cluster, db: &str, items: &[&Item]) {
    block_on(async {
        let client = pg.connect(db).await.expect("connect");
        let (version, _) = pgdump_core::session::server_version(&client).await.unwrap();
        pgdump_core::session::setup_restore(&client, version)
            .await
            .unwrap();
        for it in items {
            let sql = format!("{}{}", it.create, it.alter_owner.as_deref().unwrap_or(""));
            if let Err(e) = client.batch_execute(&sql).await {
                panic!(
                    "replaying {} {} into {db} on {} failed: {e:?}\n{sql}",
                    it.key.kind.tag(),
                    it.name,
                    pg.major()
                );
            }
        }
    });
}

/// Replay as a restore does: pre-data (and attachments of pre-data items), the
/// data step, then post-data.
fn restore(pg: &Cluster, db: &str, items: &[&Item]) {
    let post: HashSet<_> = items
        .iter()
        .filter(|it| !it.key.kind.is_attachment() && it.key.kind.section() == Section::PostData)
        .map(|it| it.key.obj)
        .collect();
    let (late, early): (Vec<&Item>, Vec<&Item>) = items.iter().copied().partition(|it| {
        it.key.kind.section() == Section::PostData
            || (it.key.kind.is_attachment() && post.contains(&it.key.obj))
    });
    replay(pg, db, &early);
    psql(pg, db, DATA).unwrap_or_else(|e| panic!("data step in {db} on {}: {e:#}", pg.major()));
    replay(pg, db, &late);
}

/// `pg_dump --schema-only` of the reference client, lines sorted (aclitem order
/// and OIDs are not semantic), without its random `\restrict` keys.
fn pg_dump_schema(pg: &Cluster, db: &str) -> Vec<String> {
    let out = std::process::Command::new(binaries::pg_dump_path().expect("reference pg_dump"))
        .args(["--schema-only", "--no-sync", "-d"])
        .arg(pg.conn_string(db))
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "pg_dump of {db} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .filter(|l| !l.starts_with("-- Dumped from"))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Line-by-line difference, for readable assertion messages.
fn diff(a: &[String], b: &[String]) -> String {
    let mut out = String::new();
    for l in a.iter().filter(|l| !b.contains(l)) {
        out.push_str(&format!("- {l}\n"));
    }
    for l in b.iter().filter(|l| !a.contains(l)) {
        out.push_str(&format!("+ {l}\n"));
    }
    out
}

/// Facts a restore must reproduce beyond what the DDL says: enum label order, the
/// domain constraint still NOT VALID with the violating row loaded, the public schema.
const FACTS: &str = "SELECT concat_ws(E'\\n', \
     (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum \
       WHERE enumtypid = 'ct_types.mood'::regtype), \
     (SELECT string_agg(conname || ':' || convalidated, ',' ORDER BY conname) FROM pg_constraint \
       WHERE contypid = 'ct_types.posint'::regtype AND contype = 'c'), \
     (SELECT string_agg(id || ':' || qty, ',' ORDER BY id) FROM public.ct_users), \
     (SELECT pg_get_userbyid(nspowner) || ' ' || obj_description(oid, 'pg_namespace') \
       FROM pg_namespace WHERE nspname = 'public'), \
     (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM pg_namespace n, unnest(n.nspacl) a \
       WHERE n.nspname = 'public'))";

fn assert_same_db(pg_a: &Cluster, a: &str, pg_b: &Cluster, b: &str) {
    let la = listing(&read(pg_a, a));
    let lb = listing(&read(pg_b, b));
    assert!(
        la == lb,
        "pgdump reads {a} and {b} differently:\n{}",
        diff(&la, &lb)
    );
    let da = pg_dump_schema(pg_a, a);
    let db = pg_dump_schema(pg_b, b);
    assert!(
        da == db,
        "pg_dump -s of {a} and {b} differ:\n{}",
        diff(&da, &db)
    );
    assert_eq!(
        pg_a.query_value(a, FACTS).unwrap(),
        pg_b.query_value(b, FACTS).unwrap(),
        "facts of {a} and {b}"
    );
}

/// Source on `major`, replay into the same major and into 18.
fn round_trip(major: u32) {
    let pg = shared_cluster(major);
    let src = make_db(pg, &format!("ct_src_{major}"), &[BASE, &objects_sql(major)]);
    let cat = read(pg, &src);
    let items = selected(&cat);
    check_items(major, &items);

    let dst = make_db(pg, &format!("ct_dst_{major}"), &[BASE]);
    restore(pg, &dst, &items);
    assert_same_db(pg, &src, pg, &dst);

    if major < 18 {
        let new = shared_cluster(18);
        let reference = make_db(
            new,
            &format!("ct_ref_from_{major}"),
            &[BASE, &objects_sql(major)],
        );
        if major < 15 {
            // What a database of an older major keeps: public owned by the bootstrap
            // superuser.
            // (CREATE was revoked from PUBLIC by the objects script.)
            new.execute(&reference, "ALTER SCHEMA public OWNER TO postgres;")
                .unwrap();
        }
        let upgraded = make_db(new, &format!("ct_up_from_{major}"), &[BASE]);
        restore(new, &upgraded, &items);
        assert_same_db(new, &reference, new, &upgraded);
        new.drop_db(&reference).unwrap();
        new.drop_db(&upgraded).unwrap();
    }
    pg.drop_db(&src).unwrap();
    pg.drop_db(&dst).unwrap();
}

/// The exact SQL of the items where it matters.
fn check_items(major: u32, items: &[&Item]) {
    let find = |kind: Kind, name: &str| {
        items
            .iter()
            .find(|i| i.key.kind == kind && i.name == name)
            .unwrap_or_else(|| panic!("PostgreSQL {major}: no {kind:?} {name}"))
    };
    let mood = find(Kind::Type, "mood");
    assert_eq!(
        mood.create,
        "CREATE TYPE ct_types.mood AS ENUM (\n    'blue',\n    'meh',\n    'ok',\n    'happy',\n    'ecstatic'\n);\n"
    );
    assert_eq!(
        find(Kind::Type, "Address").create,
        "CREATE TYPE ct_types.\"Address\" AS (\n\tstreet text,\n\t\"Zip\" character varying(10) COLLATE pg_catalog.\"C\",\n\t\
         geo point,\n\ttags ct_types.hstore\n);\n"
    );
    assert_eq!(
        find(Kind::Type, "dropped").create,
        "CREATE TYPE ct_types.dropped AS (\n\ta integer,\n\tc integer\n);\n"
    );
    assert_eq!(
        find(Kind::Type, "later").create,
        "CREATE TYPE ct_types.later;\n"
    );
    let textrange = &find(Kind::Type, "textrange").create;
    assert!(
        textrange.contains("collation = pg_catalog.\"C\""),
        "{textrange}"
    );
    assert_eq!(
        textrange.contains("multirange_type_name = ct_types.textmultirange"),
        major >= 14,
        "{textrange}"
    );
    assert!(!items
        .iter()
        .any(|i| i.name.contains("multirange") || i.name.starts_with('_')));
    let posint = find(Kind::Domain, "posint");
    assert_eq!(
        posint.create,
        "CREATE DOMAIN ct_types.posint AS integer NOT NULL DEFAULT 1\n\tCONSTRAINT posint_check CHECK ((VALUE > 0));\n"
    );
    let small = find(Kind::CheckConstraint, "posint posint_small");
    assert_eq!(
        small.create,
        "ALTER DOMAIN ct_types.posint\n    ADD CONSTRAINT posint_small CHECK ((VALUE < 1000000)) NOT VALID;\n"
    );
    assert_eq!(small.key.kind.section(), Section::PostData);
    assert_eq!(
        find(Kind::Domain, "even").create,
        "CREATE DOMAIN ct_types.even AS integer;\n"
    );
    let even = find(Kind::CheckConstraint, "even even_check");
    assert!(
        even.create
            .starts_with("ALTER DOMAIN ct_types.even\n    ADD CONSTRAINT even_check CHECK ("),
        "{}",
        even.create
    );
    assert!(!even.create.contains("NOT VALID"), "{}", even.create);
    let zip = find(Kind::Domain, "us_zip");
    assert!(zip.create.starts_with("CREATE DOMAIN ct_types.us_zip AS text COLLATE pg_catalog.\"C\"\n\tCONSTRAINT \"Zip Format\" CHECK"), "{}", zip.create);
    let cast = find(Kind::Cast, "bytea AS uuid");
    assert_eq!(
        cast.create,
        "CREATE CAST (bytea AS uuid) WITH FUNCTION public.ct_bytea_uuid(bytea);\n"
    );
    assert_eq!(
        find(Kind::Cast, "ct_types.mood AS public.citext").create,
        "CREATE CAST (ct_types.mood AS public.citext) WITH INOUT AS ASSIGNMENT;\n"
    );
    let fam = items
        .iter()
        .find(|i| i.key.kind == Kind::OperatorFamily && !i.primary)
        .expect("loose members of int_desc");
    assert_eq!(
        fam.create,
        "ALTER OPERATOR FAMILY \"CT Ops\".int_desc USING btree ADD\n    OPERATOR 1 >(integer,bigint),\n    \
         FUNCTION 1 (integer, bigint) public.ct_int48_desc_cmp(integer,bigint);\n"
    );
    let ext = find(Kind::Extension, "uuid-ossp");
    assert_eq!(
        ext.create,
        "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\" WITH SCHEMA \"CT Ops\";\n"
    );
    assert!(!items
        .iter()
        .any(|i| i.key.kind == Kind::Extension && i.name == "plpgsql"));
    let public = find(Kind::Schema, "public");
    assert_eq!(public.create, "");
    assert_eq!(
        public.alter_owner.is_some(),
        major < 15,
        "public is owned by pg_database_owner from 15 on"
    );
    let lang = find(Kind::Language, "ct_lang");
    assert_eq!(
        lang.create,
        "CREATE TRUSTED LANGUAGE ct_lang HANDLER pg_catalog.plpgsql_call_handler \
         INLINE pg_catalog.plpgsql_inline_handler VALIDATOR pg_catalog.plpgsql_validator;\n"
    );
    if major >= 17 {
        assert_eq!(
            find(Kind::Domain, "named_nn").create,
            "CREATE DOMAIN ct_types.named_nn AS integer CONSTRAINT nn NOT NULL;\n"
        );
    }
}

#[test]
fn types_round_trip_pg10() {
    round_trip(10);
}

#[test]
fn types_round_trip_pg13() {
    round_trip(13);
}

#[test]
fn types_round_trip_pg15() {
    round_trip(15);
}

#[test]
fn types_round_trip_pg17() {
    round_trip(17);
}

#[test]
fn types_round_trip_pg18() {
    round_trip(18);
}

/// The `public` schema of each source major, left alone or changed, replayed into a
/// fresh database of the same major and of 18: owner, privileges and comment come
/// out as in the source (a pre-15 default keeps CREATE for PUBLIC on 18; a pre-15
/// REVOKE CREATE stays revoked on the same major).
#[test]
fn public_schema_round_trip() {
    const PUBLIC_FACTS: &str = "SELECT concat_ws(' | ', pg_get_userbyid(n.nspowner), \
         coalesce(obj_description(n.oid, 'pg_namespace'), '<none>'), \
         (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(n.nspacl) a)) \
         FROM pg_namespace n WHERE n.nspname = 'public'";
    let variants = [
        "",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC; COMMENT ON SCHEMA public IS NULL; \
         GRANT USAGE ON SCHEMA public TO ct_reader WITH GRANT OPTION;",
        "ALTER SCHEMA public OWNER TO ct_owner; COMMENT ON SCHEMA public IS 'changed'; \
         REVOKE USAGE ON SCHEMA public FROM PUBLIC;",
    ];
    for major in [10, 13, 15, 18] {
        for (n, variant) in variants.iter().enumerate() {
            let pg = shared_cluster(major);
            let src = make_db(pg, &format!("ct_pub_src_{major}_{n}"), &[BASE, variant]);
            let cat = read(pg, &src);
            let items: Vec<&Item> = selected(&cat)
                .into_iter()
                .filter(|i| i.key.obj.oid == 2200)
                .collect();
            let want = pg.query_value(&src, PUBLIC_FACTS).unwrap();
            for target in [major, 18] {
                let tpg = shared_cluster(target);
                let dst = make_db(tpg, &format!("ct_pub_dst_{major}_{n}_{target}"), &[BASE]);
                replay(tpg, &dst, &items);
                let got = tpg.query_value(&dst, PUBLIC_FACTS).unwrap();
                assert_eq!(
                    want, got,
                    "public schema {major} -> {target}, variant {n:?}: {items:#?}"
                );
                tpg.drop_db(&dst).unwrap();
            }
            pg.drop_db(&src).unwrap();
        }
    }
}

/// A schema selection (`-n`) keeps only the selected schemas' objects: no
/// extensions, casts or languages (as pg_dump), and nothing at all of a schema
/// that is not selected.
#[test]
fn schema_selection() {
    let pg = shared_cluster(15);
    let db = make_db(pg, "ct_select", &[BASE, &objects_sql(15)]);
    let cat = block_on(async {
        let client = pg.connect(&db).await.expect("connect");
        let mut opts = DumpOptions::default();
        opts.schemas.include =
            vec![pgdump_core::filter::NamePattern::unqualified("ct_types").unwrap()];
        read_catalog(&client, &opts).await.unwrap()
    });
    let items = selected(&cat);
    assert!(items
        .iter()
        .any(|i| i.key.kind == Kind::Type && i.name == "mood"));
    for it in &items {
        assert!(
            !matches!(it.key.kind, Kind::Extension | Kind::Cast | Kind::Language),
            "{:?} {} with -n",
            it.key.kind,
            it.name
        );
        assert!(
            it.schema.as_deref() != Some("CT Ops") && it.name != "public",
            "{} with -n",
            it.name
        );
    }
    pg.drop_db(&db).unwrap();
}

/// The coverage fixture (sections 1-3 and the operators and casts of 10): the
/// expected items, and a replay of them (with the functions they call) into empty
/// databases of PostgreSQL 15 and 18 that pgdump reads back the same.
#[test]
fn coverage_fixture_types() {
    let (pg, db) = fixture(15, Fixture::Coverage);
    let cat = block_on(async {
        let client = pg.connect(&db).await.expect("connect");
        let opts = DumpOptions {
            skip_unsupported: true,
            ..DumpOptions::default()
        };
        read_catalog(&client, &opts).await.unwrap()
    });
    let items = selected(&cat);
    let sql: String = items
        .iter()
        .map(|i| format!("{}{}", i.create, i.alter_owner.as_deref().unwrap_or("")))
        .collect();
    for want in [
        "CREATE TYPE cov_types.mood AS ENUM (\n    'blue',\n    'meh',\n    'ok',\n    'happy',\n    'ecstatic'\n);\n",
        "CREATE TYPE cov_types.empty_type AS (\n);\n",
        "CREATE TYPE cov_types.floatrange AS RANGE (\n    subtype = double precision,\n    \
         multirange_type_name = cov_types.floatmultirange,\n    subtype_diff = pg_catalog.float8mi\n);\n",
        "CREATE COLLATION cov_types.ci (provider = icu, deterministic = false, locale = 'und-u-ks-level2');\n",
        "CREATE COLLATION cov_types.plain_c (provider = libc, locale = 'C');\n",
        "CREATE DOMAIN cov_types.posint AS integer NOT NULL DEFAULT 1\n\tCONSTRAINT posint_check CHECK ((VALUE > 0));\n",
        "ALTER DOMAIN cov_types.posint\n    ADD CONSTRAINT posint_small CHECK ((VALUE < 1000000)) NOT VALID;\n",
        "COMMENT ON CONSTRAINT us_zip_format ON DOMAIN cov_types.us_zip IS 'zip or zip+4';",
        "COMMENT ON COLUMN cov_types.address.zip IS 'five characters';",
        "CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA cov_ext;\n",
        "COMMENT ON EXTENSION hstore IS 'key/value pairs (comment changed by coverage.sql)';",
        "CREATE CAST (cov_types.address AS text) WITH FUNCTION cov_logic.address_to_text(cov_types.address) AS ASSIGNMENT;\n",
        "CREATE CAST (cov_types.mood AS cov_ext.citext) WITH INOUT;\n",
        "COMMENT ON CAST (cov_types.address AS text) IS 'custom cast';",
        "CREATE OPERATOR cov_logic.### (\n    FUNCTION = cov_logic.shout,\n    RIGHTARG = text\n);\n",
        "CREATE OPERATOR FAMILY cov_logic.int4_desc_fam USING btree;\n",
        "COMMENT ON OPERATOR CLASS cov_logic.int4_desc_ops USING btree IS 'reverse ordering';",
        "ALTER TEXT SEARCH CONFIGURATION cov_types.cov_english\n    ADD MAPPING FOR asciiword WITH cov_types.english_stem_all;\n",
        "ALTER TEXT SEARCH CONFIGURATION cov_types.cov_english OWNER TO cov_owner;\n",
        "GRANT CREATE ON SCHEMA cov_misc TO cov_writer;\n",
        "ALTER SCHEMA cov_misc OWNER TO cov_owner;\n",
    ] {
        assert!(sql.contains(want), "missing {want:?} in\n{sql}");
    }
    assert!(!sql.contains("url_path"), "dropped mappings come back");
    assert!(
        !items.iter().any(|i| i.name == "public"),
        "the fixture leaves public as it is"
    );
    let count = |k: Kind| items.iter().filter(|i| i.key.kind == k).count();
    assert_eq!(count(Kind::Extension), 7);
    assert_eq!(count(Kind::Collation), 3);
    assert_eq!(count(Kind::Cast), 2);
    assert_eq!(count(Kind::TsDictionary), 2);
    assert_eq!(count(Kind::TsConfiguration), 1);

    // Replay with the functions these items call (and what those need), in dump order.
    let g = &cat.graph;
    let mut keep = vec![false; g.items.len()];
    let mut stack: Vec<usize> = (0..g.items.len()).filter(|&i| mine(&g.items[i])).collect();
    while let Some(i) = stack.pop() {
        if keep[i] {
            continue;
        }
        keep[i] = true;
        for &d in &g.deps[i] {
            if !keep[d] && (mine(&g.items[d]) || g.items[d].key.kind == Kind::Function) {
                stack.push(d);
            }
        }
    }
    let owners: HashSet<_> = (0..g.items.len())
        .filter(|&i| keep[i] && g.items[i].primary)
        .map(|i| g.items[i].key.obj)
        .collect();
    let replayed: Vec<&Item> = g
        .items
        .iter()
        .enumerate()
        .filter(|(i, it)| keep[*i] || (it.key.kind.is_attachment() && owners.contains(&it.key.obj)))
        .map(|(_, it)| it)
        .collect();
    let base_roles = "DO $$ DECLARE r text; BEGIN \
        FOREACH r IN ARRAY ARRAY['cov_owner', 'cov_reader', 'cov_writer', 'cov_auditor'] LOOP \
          BEGIN EXECUTE format('CREATE ROLE %I NOLOGIN', r); \
          EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END; \
        END LOOP; END $$;";
    let want = listing(&cat);
    for major in [15, 18] {
        let dst_pg = shared_cluster(major);
        let dst = make_db(dst_pg, &format!("ct_cov_{major}"), &[base_roles]);
        replay(dst_pg, &dst, &replayed);
        let got = listing(&read(dst_pg, &dst));
        assert!(
            want == got,
            "coverage types replayed into {major}:\n{}",
            diff(&want, &got)
        );
        dst_pg.drop_db(&dst).unwrap();
    }
}
