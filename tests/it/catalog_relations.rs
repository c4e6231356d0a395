//! Catalog kinds of the "relations" group against real servers: tables (plain,
//! partitioned, foreign, inheritance children, partitions), their columns,
//! defaults, CHECK and NOT NULL constraints, partition attachment, PRIMARY KEY /
//! UNIQUE / EXCLUDE / FOREIGN KEY constraints, indexes and their attachment,
//! sequences (plain, owned, identity) and their values, and the data sources of
//! tables.
//!
//! Each round trip builds a source database from a base script (roles) plus a
//! script of the objects under test (version-gated), reads it with pgdump, and
//! replays every item's SQL (the whole schema, in the dump's order, with the
//! sequence values) into an empty database: on the same server, and on
//! PostgreSQL 18. Then pgdump must read the relations of both databases the same,
//! `pg_dump --schema-only` (the reference client, PostgreSQL 18) must print the
//! same schema for both, and sequences must hold the same values. Full dumps and
//! restores (with data) of the objects and of the coverage fixture compare every
//! table's rows.

use std::collections::BTreeMap;

use pgdump_core::catalog::{class, DataSource, Item, Kind};
use pgdump_core::conn::ConnConfig;
use pgdump_core::dump::{read_catalog, schema_sql, CatalogDump};
use pgdump_core::progress::quiet;
use pgdump_core::restore::{Input, RestoreOptions};
use pgdump_core::{CancellationToken, CoreError, DumpOptions, Output};
use pgdump_format::Section;
use pgdump_tests::{binaries, block_on, fixture, psql, shared_cluster, Cluster, Fixture};

/// Roles the objects use; identical in every database of a cluster.
const BASE: &str = r#"
DO $$
BEGIN
  CREATE ROLE cr_reader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
"#;

/// Objects every server (10+) has.
const OBJECTS_10: &str = r#"
CREATE SCHEMA cr;
CREATE SCHEMA "CR Odd";
CREATE TYPE cr.color AS ENUM ('red', 'green', 'blue');
CREATE FUNCTION cr.next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'c' || 1 $$;
CREATE FUNCTION cr.ok(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT $1 > 0 $$;

-- inheritance: local and inherited columns, defaults dropped or changed on children
CREATE TABLE cr.par (a int DEFAULT 1, b text NOT NULL, c int CONSTRAINT par_c_check CHECK (c > 0), d int);
COMMENT ON CONSTRAINT par_c_check ON cr.par IS 'inline check';
CREATE TABLE cr.ch (x int) INHERITS (cr.par);
ALTER TABLE cr.ch ALTER COLUMN a DROP DEFAULT;
ALTER TABLE cr.ch ALTER COLUMN d SET NOT NULL;
CREATE TABLE cr.ch2 () INHERITS (cr.par);
ALTER TABLE cr.ch2 ALTER COLUMN a SET DEFAULT 3;
ALTER TABLE cr.ch2 ADD CONSTRAINT ch2_own CHECK (d < 100);
CREATE TABLE cr.other_parent (z int, b text);
CREATE TABLE cr.multi (b text NOT NULL DEFAULT 'm', w int) INHERITS (cr.par, cr.other_parent);
INSERT INTO cr.par VALUES (1, 'p', 1, 1);
INSERT INTO cr.ch VALUES (2, 'c', 2, 2, 2);
INSERT INTO cr.multi (a, b, z, w) VALUES (3, 'm', 3, 3);

-- partitions: created apart with another column order and a dropped column, CHECKs
CREATE TABLE cr.pp (id int NOT NULL, a int CHECK (a > 0), b int DEFAULT 5, r int) PARTITION BY RANGE (id);
COMMENT ON TABLE cr.pp IS 'partitioned';
CREATE TABLE cr.pp1 PARTITION OF cr.pp FOR VALUES FROM (0) TO (10);
CREATE TABLE cr.pp2 (b int DEFAULT 7, junk int, id int NOT NULL, a int, r int,
  CONSTRAINT pp_a_check CHECK (a > 0), CONSTRAINT own_chk CHECK (r > 1));
ALTER TABLE cr.pp2 DROP COLUMN junk;
ALTER TABLE cr.pp ATTACH PARTITION cr.pp2 FOR VALUES FROM (10) TO (20);
INSERT INTO cr.pp (id, a, b, r) VALUES (1, 1, 1, 2), (11, 1, NULL, 3), (12, 2, DEFAULT, 4);
ALTER TABLE cr.pp ADD CONSTRAINT nv CHECK (r > 0) NOT VALID;
COMMENT ON CONSTRAINT nv ON cr.pp IS 'not valid check';
CREATE TABLE cr.lp (k text, v int) PARTITION BY LIST (lower(k));
CREATE TABLE cr.lp_a PARTITION OF cr.lp FOR VALUES IN ('a', NULL);
INSERT INTO cr.lp VALUES ('A', 1), (NULL, 2);

-- keys: circular, self-referencing and NOT VALID foreign keys, UNIQUE variants, EXCLUDE
CREATE TABLE cr.a (id int PRIMARY KEY, b_id int);
CREATE TABLE cr.b (id int PRIMARY KEY, a_id int REFERENCES cr.a DEFERRABLE INITIALLY DEFERRED);
INSERT INTO cr.a VALUES (1, 999);
ALTER TABLE cr.a ADD CONSTRAINT a_b_fk FOREIGN KEY (b_id) REFERENCES cr.b NOT VALID;
COMMENT ON CONSTRAINT a_b_fk ON cr.a IS 'violated by row 1';
CREATE TABLE cr.selfref (id int PRIMARY KEY, parent int REFERENCES cr.selfref ON DELETE CASCADE);
INSERT INTO cr.selfref VALUES (1, NULL), (2, 1);
CREATE TABLE cr.uq2 (p int, q int NOT NULL, CONSTRAINT uq2_pq UNIQUE (p, q),
  CONSTRAINT uq2_p UNIQUE (p) DEFERRABLE INITIALLY DEFERRED, CONSTRAINT uq2_q UNIQUE (q) WITH (fillfactor = 70));
ALTER TABLE cr.uq2 CLUSTER ON uq2_q;
ALTER TABLE cr.uq2 REPLICA IDENTITY USING INDEX uq2_q;
CREATE TABLE cr.fk_multi (x int, y int, FOREIGN KEY (x, y) REFERENCES cr.uq2 (p, q) MATCH FULL ON UPDATE CASCADE);
CREATE TABLE cr.ex (r int4range, EXCLUDE USING gist (r WITH &&));

-- sequences
CREATE SEQUENCE cr.s1 AS smallint INCREMENT BY -2 MINVALUE -1000 MAXVALUE -1 START -1 CYCLE CACHE 10;
SELECT nextval('cr.s1');
CREATE SEQUENCE cr.s2 AS integer;
COMMENT ON SEQUENCE cr.s2 IS 'a sequence';
CREATE SEQUENCE "CR Odd"."Odd Seq";
SELECT setval('"CR Odd"."Odd Seq"', 42, false);
CREATE TABLE cr.ser (id serial PRIMARY KEY, big bigserial, v text);
INSERT INTO cr.ser (v) VALUES ('x'), ('y');
CREATE TABLE cr.idt (id bigint GENERATED BY DEFAULT AS IDENTITY (START 10 INCREMENT 5 CYCLE MAXVALUE 1000 MINVALUE 10), v text);
INSERT INTO cr.idt (v) VALUES ('a');
CREATE TABLE cr.ida (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
INSERT INTO cr.ida (v) VALUES ('a'), ('b');
CREATE UNLOGGED TABLE cr.uli (id int GENERATED ALWAYS AS IDENTITY, v text);
INSERT INTO cr.uli (v) VALUES ('a');

-- defaults and CHECKs calling user functions
CREATE TABLE cr.uf (id int DEFAULT (cr.ok(1))::int, code text DEFAULT cr.next_code(),
  v int CONSTRAINT uf_v_ok CHECK (cr.ok(v)));
INSERT INTO cr.uf (v) VALUES (5);

-- indexes
CREATE TABLE cr.ix (id int PRIMARY KEY, a int, b text, c int);
CREATE INDEX ix_expr ON cr.ix ((a + 1), lower(b)) WHERE c IS NOT NULL;
CREATE UNIQUE INDEX ix_b_uniq ON cr.ix (b DESC NULLS LAST);
CREATE INDEX ix_hash ON cr.ix USING hash (b);
CREATE INDEX "Ix Brin" ON cr.ix USING brin (c) WITH (pages_per_range = 16);
ALTER TABLE cr.ix CLUSTER ON ix_pkey;
ALTER TABLE cr.ix REPLICA IDENTITY FULL;
COMMENT ON INDEX cr.ix_expr IS 'expression index';
COMMENT ON CONSTRAINT ix_pkey ON cr.ix IS 'pk comment';
COMMENT ON INDEX cr.ix_pkey IS 'the index of the pk';
INSERT INTO cr.ix VALUES (1, 1, 'one', 1), (2, 2, 'two', NULL);
CREATE TABLE cr.ri (id int NOT NULL, k int NOT NULL);
CREATE UNIQUE INDEX ri_k ON cr.ri (k);
ALTER TABLE cr.ri REPLICA IDENTITY USING INDEX ri_k;
ALTER TABLE cr.ri CLUSTER ON ri_k;

-- privileges, quoting, comments, persistence, storage settings, dropped columns
GRANT SELECT (a, b), UPDATE (c) ON cr.ix TO cr_reader;
GRANT SELECT ON cr.par TO cr_reader WITH GRANT OPTION;
GRANT USAGE ON SEQUENCE cr.s2 TO cr_reader;
GRANT INSERT, DELETE ON cr.selfref TO cr_reader;
CREATE TABLE "CR Odd"."Mixed Case" ("Col" int PRIMARY KEY, "select" text COLLATE "C", "user" int DEFAULT 0);
COMMENT ON COLUMN "CR Odd"."Mixed Case"."select" IS 'it''s a keyword';
INSERT INTO "CR Odd"."Mixed Case" VALUES (1, 'x', 2);
CREATE UNLOGGED TABLE cr.ul (id int PRIMARY KEY, v text) WITH (fillfactor = 50, toast.autovacuum_enabled = false);
INSERT INTO cr.ul VALUES (1, 'unlogged');
CREATE TABLE cr.tuned (id int, doc text, small text);
ALTER TABLE cr.tuned ALTER COLUMN doc SET STORAGE EXTERNAL;
ALTER TABLE cr.tuned ALTER COLUMN id SET STATISTICS 500;
ALTER TABLE cr.tuned ALTER COLUMN small SET (n_distinct = -0.5);
ALTER TABLE cr.tuned REPLICA IDENTITY NOTHING;
ALTER TABLE cr.tuned FORCE ROW LEVEL SECURITY;
CREATE TABLE cr.evolving (id int, gone int, v text, added int DEFAULT 9);
INSERT INTO cr.evolving VALUES (1, 2, 'v', 3);
ALTER TABLE cr.evolving DROP COLUMN gone;
CREATE TABLE cr.no_columns ();
INSERT INTO cr.no_columns DEFAULT VALUES;

-- foreign tables, also as a partition
CREATE FOREIGN DATA WRAPPER cr_fdw;
CREATE SERVER cr_srv FOREIGN DATA WRAPPER cr_fdw;
CREATE TABLE cr.fp (id int, v text) PARTITION BY LIST (id);
CREATE FOREIGN TABLE cr.fp1 PARTITION OF cr.fp FOR VALUES IN (1) SERVER cr_srv OPTIONS (table_name 'x');
CREATE FOREIGN TABLE cr.ft (id int OPTIONS (column_name 'ID'), v text NOT NULL DEFAULT 'q')
  SERVER cr_srv OPTIONS (schema_name 'r', table_name 'it''s');
COMMENT ON FOREIGN TABLE cr.ft IS 'foreign';
COMMENT ON COLUMN cr.ft.id IS 'foreign column';
"#;

/// 11+: INCLUDE, default partitions, partitioned indexes and keys, hash
/// partitioning (on an enum: rows load through the root), FKs on partitioned
/// tables, index column statistics.
const OBJECTS_11: &str = r#"
CREATE TABLE cr.inc (id int, v text, CONSTRAINT inc_pk PRIMARY KEY (id) INCLUDE (v) WITH (fillfactor = 80));
CREATE TABLE cr.lp_def PARTITION OF cr.lp DEFAULT;
INSERT INTO cr.lp VALUES ('zz', 3);
CREATE INDEX pp_b ON cr.pp (b);
CREATE TABLE cr.ml (k int, r text, v int, PRIMARY KEY (k, r)) PARTITION BY RANGE (k);
CREATE TABLE cr.ml1 PARTITION OF cr.ml FOR VALUES FROM (0) TO (100) PARTITION BY LIST (r);
CREATE TABLE cr.ml1a PARTITION OF cr.ml1 FOR VALUES IN ('a');
CREATE TABLE cr.ml1b PARTITION OF cr.ml1 FOR VALUES IN ('b');
CREATE INDEX ml_v ON cr.ml (v);
INSERT INTO cr.ml VALUES (1, 'a', 1), (2, 'b', 2);
CREATE TABLE cr.eh (c cr.color, v int) PARTITION BY HASH (c);
CREATE TABLE cr.eh0 PARTITION OF cr.eh FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE cr.eh1 PARTITION OF cr.eh FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO cr.eh VALUES ('red', 1), ('green', 2), ('blue', 3);
CREATE TABLE cr.pfk (x int REFERENCES cr.a, id int) PARTITION BY LIST (id);
CREATE TABLE cr.pfk1 PARTITION OF cr.pfk FOR VALUES IN (1);
ALTER INDEX cr.ix_expr ALTER COLUMN 1 SET STATISTICS 200;
"#;

/// 12+: stored generated columns.
const OBJECTS_12: &str = r#"
CREATE TABLE cr.gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
INSERT INTO cr.gen (a) VALUES (1), (2);
"#;

/// 14+: column compression, and a function with an SQL-standard body that reads
/// the table whose default and CHECK call it (a loop unless they are split off).
const OBJECTS_14: &str = r#"
CREATE TABLE cr.comp (t text COMPRESSION pglz);
CREATE TABLE cr.loopt (id int, n int);
CREATE FUNCTION cr.cnt() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT count(*)::int FROM cr.loopt; END;
ALTER TABLE cr.loopt ALTER COLUMN n SET DEFAULT cr.cnt();
ALTER TABLE cr.loopt ADD CONSTRAINT loopt_chk CHECK (cr.cnt() >= 0);
INSERT INTO cr.loopt (id) VALUES (1);
"#;

/// 15+: NULLS NOT DISTINCT, unlogged sequences.
const OBJECTS_15: &str = r#"
CREATE TABLE cr.nnd (a int, b int, UNIQUE NULLS NOT DISTINCT (a, b));
CREATE UNLOGGED SEQUENCE cr.useq;
SELECT setval('cr.useq', 9);
"#;

/// 17+: identity columns of partitioned tables.
const OBJECTS_17: &str = r#"
CREATE TABLE cr.pid (id int GENERATED ALWAYS AS IDENTITY, v text) PARTITION BY RANGE (id);
CREATE TABLE cr.pid1 PARTITION OF cr.pid FOR VALUES FROM (1) TO (100);
INSERT INTO cr.pid (v) VALUES ('x');
"#;

/// 18+: virtual generated columns, named / NO INHERIT / NOT VALID NOT NULL
/// constraints (also on a parent of a child), WITHOUT OVERLAPS.
const OBJECTS_18: &str = r#"
CREATE TABLE cr.v (a int, b int GENERATED ALWAYS AS (a + 1) VIRTUAL);
INSERT INTO cr.v (a) VALUES (1);
CREATE TABLE cr.nn18 (a int CONSTRAINT a_is_set NOT NULL, b int NOT NULL NO INHERIT, c int);
COMMENT ON CONSTRAINT a_is_set ON cr.nn18 IS 'named not null';
INSERT INTO cr.nn18 VALUES (1, 1, NULL);
ALTER TABLE cr.nn18 ADD CONSTRAINT c_nn NOT NULL c NOT VALID;
CREATE TABLE cr.nnp (a int, d int);
ALTER TABLE cr.nnp ADD CONSTRAINT d_nn NOT NULL d NOT VALID;
CREATE TABLE cr.nnc (e int) INHERITS (cr.nnp);
CREATE EXTENSION btree_gist;
CREATE TABLE cr.wo (id int, valid_at daterange, PRIMARY KEY (id, valid_at WITHOUT OVERLAPS));
"#;

/// The objects for a server major.
fn objects_sql(major: u32) -> String {
    let mut s = OBJECTS_10.to_string();
    for (since, part) in [
        (11, OBJECTS_11),
        (12, OBJECTS_12),
        (14, OBJECTS_14),
        (15, OBJECTS_15),
        (17, OBJECTS_17),
        (18, OBJECTS_18),
    ] {
        if major >= since {
            s.push_str(part);
        }
    }
    s
}

/// Kinds produced by the modules under test.
const KINDS: &[Kind] = &[
    Kind::Table,
    Kind::ForeignTable,
    Kind::TableAttach,
    Kind::Default,
    Kind::Sequence,
    Kind::SequenceOwnedBy,
    Kind::SequenceSet,
    Kind::TableData,
    Kind::Constraint,
    Kind::CheckConstraint,
    Kind::FkConstraint,
    Kind::Index,
    Kind::IndexAttach,
];

/// Items of the modules under test, with the comments and ACLs of relations and constraints.
fn mine(it: &Item) -> bool {
    KINDS.contains(&it.key.kind)
        || (it.key.kind.is_attachment()
            && (it.key.obj.class == class::PG_CLASS || it.key.obj.class == class::PG_CONSTRAINT))
}

/// What pgdump reads of the relations: one line per item (kind, schema, name,
/// SQL, owner statement, data source), sorted.
fn listing(cat: &CatalogDump) -> Vec<String> {
    let mut v: Vec<String> = cat
        .graph
        .items
        .iter()
        .filter(|it| mine(it))
        .map(|it| {
            let data = match &it.data {
                Some(DataSource::Copy(c)) => format!(
                    " COPY {:?} binary={} load={:?} filter={:?} key={:?}",
                    c.columns, c.binary_safe, c.load_target, c.filter, c.int_key
                ),
                _ => String::new(),
            };
            format!(
                "{} {}.{} | {}{}{}",
                it.key.kind.tag(),
                it.schema.as_deref().unwrap_or("-"),
                it.name,
                it.create,
                it.alter_owner.as_deref().unwrap_or(""),
                data
            )
        })
        .collect();
    v.sort();
    v
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

fn make_db(pg: &Cluster, prefix: &str, scripts: &[&str]) -> String {
    let db = pg.create_db(prefix).expect("create database");
    for s in scripts {
        psql(pg, &db, s).unwrap_or_else(|e| panic!("setting up {db} on {}: {e:#}", pg.major()));
    }
    db
}

/// pgdump's catalog of a database.
fn try_read(pg: &Cluster, db: &str, opts: &DumpOptions) -> Result<CatalogDump, CoreError> {
    block_on(async {
        let client = pg.connect(db).await.expect("connect");
        read_catalog(&client, opts).await
    })
}

fn read(pg: &Cluster, db: &str) -> CatalogDump {
    try_read(pg, db, &DumpOptions::default())
        .unwrap_or_else(|e| panic!("read_catalog of {db} on {}: {e}", pg.major()))
}

/// Run every item's SQL in `db`, in the dump's order, as a restore session would:
/// the whole schema, the sequence values and the large objects' metadata (no
/// table rows or large object contents, no database item).
fn replay(pg: &Cluster, db: &str, cat: &CatalogDump) {
    block_on(async {
        let client = pg.connect(db).await.expect("connect");
        let (version, _) = pgdump_core::session::server_version(&client).await.unwrap();
        pgdump_core::session::setup_restore(&client, version)
            .await
            .unwrap();
        for it in &cat.graph.items {
            let sql_data = matches!(it.key.kind, Kind::SequenceSet | Kind::LargeObject);
            if it.key.kind == Kind::Database
                || (it.key.kind.section() == Section::Data && !sql_data)
            {
                continue;
            }
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

/// `pg_dump --schema-only` of the reference client for the test's schemas, as a
/// sorted list of its entries (entry order is not semantic; aclitem order within
/// an entry neither: lines are sorted within entries too).
fn pg_dump_schema(pg: &Cluster, db: &str, schemas: &[&str]) -> Vec<String> {
    let mut cmd = std::process::Command::new(binaries::pg_dump_path().expect("reference pg_dump"));
    cmd.args(["--schema-only", "--no-sync"]);
    for s in schemas {
        cmd.arg("-n").arg(s);
    }
    let out = cmd
        .arg("-d")
        .arg(pg.conn_string(db))
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "pg_dump of {db} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut entries: Vec<String> = text
        .split("\n--\n-- Name: ")
        .skip(1)
        .map(|e| {
            let mut lines: Vec<&str> = e
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with("--"))
                .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
                // session settings (SET default_table_access_method ... precede tables
                // only when the server has table access methods)
                .filter(|l| {
                    !l.starts_with("SET ") && !l.starts_with("SELECT pg_catalog.set_config")
                })
                .collect();
            // the header line ("x; Type: ...; Schema: ...; Owner: ...") stays first
            let head = lines.remove(0).to_string();
            lines.sort_unstable();
            format!("{head}\n{}", lines.join("\n"))
        })
        .collect();
    entries.sort();
    entries
}

/// `(sequence, last_value, is_called)` of every sequence of the test's schemas.
fn sequence_values(pg: &Cluster, db: &str) -> Vec<String> {
    let seqs = pg
        .query(
            db,
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'S' AND n.nspname IN ('cr', 'CR Odd') ORDER BY 1",
        )
        .unwrap();
    seqs.iter()
        .filter_map(|r| r[0].clone())
        .map(|s| {
            let v = pg
                .query_value(
                    db,
                    &format!("SELECT last_value || ' ' || is_called FROM {s}"),
                )
                .unwrap();
            format!("{s} {v}")
        })
        .collect()
}

/// NOT NULL columns of the test's schemas (the one fact whose spelling differs
/// between servers before and since 18).
fn not_null_columns(pg: &Cluster, db: &str) -> Vec<String> {
    pg.query(
        db,
        "SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname) FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname IN ('cr', 'CR Odd') AND a.attnum > 0 AND a.attnotnull AND NOT a.attisdropped \
           AND c.relkind IN ('r', 'p', 'f') ORDER BY 1",
    )
    .unwrap()
    .into_iter()
    .filter_map(|r| r[0].clone())
    .collect()
}

/// Spellings that differ between sources before and since a major, for the same
/// result: before 18 a child's own NOT NULL on an inherited column is an `ALTER
/// ... SET NOT NULL`, from 18 a table constraint (checked with
/// [`not_null_columns`] instead); before 15 the persistence of an unlogged
/// table's identity sequence is set by a block that only acts on 15+.
fn normalize_cross_version(listing: &[String]) -> Vec<String> {
    const GUARD: &str =
        "DO $$BEGIN IF pg_catalog.current_setting('server_version_num')::pg_catalog.int4 \
                         >= 150000 THEN EXECUTE '";
    listing
        .iter()
        .map(|l| {
            l.lines()
                .filter(|x| {
                    !x.trim_start().starts_with("NOT NULL ") && !x.ends_with("SET NOT NULL;")
                })
                .map(|x| x.trim_end_matches(','))
                .map(|x| match x.strip_prefix(GUARD) {
                    Some(rest) => format!("{};", rest.trim_end_matches("'; END IF; END$$;")),
                    None => x.to_string(),
                })
                // the integer split key is read before 14 only (TID ranges from 14)
                .map(|x| match x.find(" key=") {
                    Some(i) if x.starts_with("TABLE DATA ") => x[..i].to_string(),
                    _ => x,
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

const SCHEMAS: &[&str] = &["cr", "\"CR Odd\""];

/// Checks of the items of the source itself.
fn check_items(major: u32, cat: &CatalogDump) {
    let find = |kind: Kind, name: &str| -> &Item {
        cat.graph
            .items
            .iter()
            .find(|it| it.key.kind == kind && it.name == name)
            .unwrap_or_else(|| panic!("{major}: no {} {name}", kind.tag()))
    };
    let copy = |name: &str| match &find(Kind::TableData, name).data {
        Some(DataSource::Copy(c)) => c.clone(),
        other => panic!("{major}: {name} has data {other:?}"),
    };
    // partitions are created standalone and attached
    assert!(!find(Kind::Table, "pp2").create.contains("PARTITION OF"));
    assert_eq!(
        find(Kind::TableAttach, "pp2").create,
        "ALTER TABLE ONLY cr.pp ATTACH PARTITION cr.pp2 FOR VALUES FROM (10) TO (20);\n"
    );
    assert!(find(Kind::TableAttach, "fp1")
        .create
        .contains("FOR VALUES IN (1)"));
    // the dropped column is gone, the partition's own order stays
    assert_eq!(copy("pp2").columns, ["b", "id", "a", "r"]);
    assert_eq!(copy("evolving").columns, ["id", "v", "added"]);
    assert!(copy("no_columns").columns.is_empty());
    // identity columns are created plain and made identity by their sequence's item
    assert!(find(Kind::Table, "ida")
        .create
        .contains("    id integer NOT NULL,\n"));
    assert!(find(Kind::Sequence, "ida_id_seq")
        .create
        .starts_with("ALTER TABLE cr.ida ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (\n"));
    assert!(find(Kind::Sequence, "ida_id_seq").alter_owner.is_none());
    assert_eq!(
        find(Kind::SequenceOwnedBy, "ser_id_seq").create,
        "ALTER SEQUENCE cr.ser_id_seq OWNED BY cr.ser.id;\n"
    );
    assert_eq!(
        find(Kind::SequenceSet, "Odd Seq").create,
        "SELECT pg_catalog.setval('\"CR Odd\".\"Odd Seq\"', 42, false);\n"
    );
    // a comment on a constraint's index comes with the constraint
    assert!(cat.graph.items.iter().any(|it| it.key.kind == Kind::Comment
        && it.create == "COMMENT ON INDEX cr.ix_pkey IS 'the index of the pk';\n"));
    // user-function defaults and CHECKs are set apart
    assert!(find(Kind::Default, "uf code")
        .create
        .contains("SET DEFAULT cr.next_code()"));
    assert!(find(Kind::CheckConstraint, "uf uf_v_ok")
        .create
        .contains("CHECK (cr.ok(v))"));
    assert!(find(Kind::CheckConstraint, "pp nv")
        .create
        .ends_with("NOT VALID;\n"));
    // data sources
    // the integer key splits big tables before 14 (TID ranges from 14)
    let key = (major < 14).then_some("id");
    assert_eq!(copy("ix").int_key.as_deref(), key);
    assert!(copy("ix").binary_safe);
    assert!(copy("pp1").load_target.is_none());
    assert_eq!(
        find(Kind::FkConstraint, "a a_b_fk").create,
        "ALTER TABLE ONLY cr.a\n    ADD CONSTRAINT a_b_fk FOREIGN KEY (b_id) REFERENCES cr.b(id) NOT VALID;\n"
    );
    if major >= 11 {
        assert!(copy("eh0").binary_safe, "enums are binary safe");
        assert_eq!(
            copy("eh0").load_target,
            Some(("cr".to_string(), "eh".to_string()))
        );
        assert_eq!(
            find(Kind::IndexAttach, "pp1_b_idx").create,
            "ALTER INDEX cr.pp_b ATTACH PARTITION cr.pp1_b_idx;\n"
        );
        assert_eq!(
            find(Kind::IndexAttach, "ml1a_pkey").create,
            "ALTER INDEX cr.ml1_pkey ATTACH PARTITION cr.ml1a_pkey;\n"
        );
        assert!(find(Kind::FkConstraint, "pfk pfk_x_fkey")
            .create
            .starts_with("ALTER TABLE cr.pfk\n"));
        assert!(!cat
            .graph
            .items
            .iter()
            .any(|it| it.name == "pfk1 pfk_x_fkey"));
    }
    if major >= 12 {
        assert_eq!(copy("gen").columns, ["a"]);
    }
    if major >= 18 {
        assert!(find(Kind::Table, "nn18")
            .create
            .contains("a integer CONSTRAINT a_is_set NOT NULL,\n    b integer NOT NULL NO INHERIT,\n    c integer\n"));
        assert!(find(Kind::CheckConstraint, "nn18 c_nn")
            .create
            .contains("ADD CONSTRAINT c_nn NOT NULL c NOT VALID"));
        assert!(find(Kind::Table, "nnc")
            .create
            .contains("CONSTRAINT d_nn NOT NULL d"));
        assert_eq!(copy("v").columns, ["a"]);
    }
}

fn assert_same_relations(pg_a: &Cluster, a: &str, pg_b: &Cluster, b: &str) {
    let la = listing(&read(pg_a, a));
    let lb = listing(&read(pg_b, b));
    if pg_a.major() == pg_b.major() {
        assert!(
            la == lb,
            "pgdump reads {a} and {b} differently:\n{}",
            diff(&la, &lb)
        );
    } else {
        let (na, nb) = (normalize_cross_version(&la), normalize_cross_version(&lb));
        assert!(
            na == nb,
            "pgdump reads {a} and {b} differently:\n{}",
            diff(&na, &nb)
        );
    }
    assert_eq!(
        not_null_columns(pg_a, a),
        not_null_columns(pg_b, b),
        "NOT NULL of {a} and {b}"
    );
    let da = pg_dump_schema(pg_a, a, SCHEMAS);
    let db = pg_dump_schema(pg_b, b, SCHEMAS);
    assert!(
        da == db,
        "pg_dump -s of {a} and {b} differ:\n{}",
        diff(&da, &db)
    );
    assert_eq!(
        sequence_values(pg_a, a),
        sequence_values(pg_b, b),
        "sequences of {a} and {b}"
    );
}

/// Source on `major`, replayed into the same major and into 18 (and 17 from 10
/// and 13).
fn round_trip(major: u32) {
    let pg = shared_cluster(major);
    let src = make_db(pg, &format!("cr_src_{major}"), &[BASE, &objects_sql(major)]);
    let cat = read(pg, &src);
    check_items(major, &cat);

    let dst = make_db(pg, &format!("cr_dst_{major}"), &[BASE]);
    replay(pg, &dst, &cat);
    assert_same_relations(pg, &src, pg, &dst);

    let newer: &[u32] = match major {
        ..=13 => &[17, 18],
        14..=17 => &[18],
        _ => &[],
    };
    for &to in newer {
        let new = shared_cluster(to);
        let up = make_db(new, &format!("cr_up_from_{major}"), &[BASE]);
        replay(new, &up, &cat);
        assert_same_relations(pg, &src, new, &up);
    }
}

#[test]
fn relations_round_trip_10() {
    round_trip(10);
}

#[test]
fn relations_round_trip_13() {
    round_trip(13);
}

#[test]
fn relations_round_trip_15() {
    round_trip(15);
}

#[test]
fn relations_round_trip_17() {
    round_trip(17);
}

#[test]
fn relations_round_trip_18() {
    round_trip(18);
}

// ------------------------------------------------------------------ with data

/// Row count and an order-independent digest of every table with storage in the
/// test's schemas; hash partitions on an enum are counted through their root (the
/// rows go through it, and land by the target's enum OIDs).
fn table_digests(pg: &Cluster, db: &str) -> BTreeMap<String, String> {
    let tables = pg
        .query(
            db,
            "SELECT format('%I.%I', n.nspname, c.relname), \
                    (c.relispartition AND c.relname IN ('eh0', 'eh1')) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname IN ('cr', 'CR Odd') \
             UNION ALL SELECT 'cr.eh', false WHERE to_regclass('cr.eh') IS NOT NULL ORDER BY 1",
        )
        .unwrap();
    let mut out = BTreeMap::new();
    for row in tables {
        let (Some(t), Some(skip)) = (&row[0], &row[1]) else {
            continue;
        };
        if skip == "t" {
            continue;
        }
        let only = if t == "cr.eh" { "" } else { "ONLY" };
        let v = pg
            .query_value(
                db,
                &format!(
                    "SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') \
                     FROM {only} {t} x"
                ),
            )
            .unwrap();
        out.insert(t.clone(), v);
    }
    out
}

fn conn(pg: &Cluster, db: &str) -> ConnConfig {
    ConnConfig::parse(&pg.url(db)).expect("parse test URL")
}

/// pgdump dump and restore of `src` into a new database of `dst_pg`.
fn dump_restore(
    pg: &Cluster,
    src: &str,
    dst_pg: &Cluster,
    prefix: &str,
    opts: &DumpOptions,
) -> String {
    let dir = tempfile::Builder::new()
        .prefix("pgdump-it-cr-")
        .tempdir()
        .expect("scratch dir");
    let path = dir.path().join("a.pgdump");
    block_on(pgdump_core::dump(
        &conn(pg, src),
        opts,
        Output::File(path.clone()),
        quiet(),
        CancellationToken::new(),
    ))
    .unwrap_or_else(|e| panic!("dump of {src} on {} failed: {e}", pg.major()));
    let dst = make_db(dst_pg, prefix, &[BASE]);
    let ropts = RestoreOptions {
        jobs: 2,
        ..RestoreOptions::default()
    };
    let sum = block_on(pgdump_core::restore(
        &conn(dst_pg, &dst),
        &ropts,
        Input::File(path),
        quiet(),
        CancellationToken::new(),
    ))
    .unwrap_or_else(|e| panic!("restore into {dst} failed: {e}"));
    assert!(
        sum.ok(),
        "restore into {dst} reported failures: {:#?}",
        sum.failures
    );
    dst
}

/// The objects with their rows through pgdump's dump and restore (binary and
/// text COPY), into the same major and into 18: same schema, same rows, same
/// sequence values, identity and generated columns working on.
fn data_round_trip(major: u32) {
    let pg = shared_cluster(major);
    let src = make_db(
        pg,
        &format!("cr_data_{major}"),
        &[BASE, &objects_sql(major)],
    );
    let want = table_digests(pg, &src);
    assert!(want.len() > 20, "{want:?}");
    let mut targets = vec![(pg, false)];
    if major < 18 {
        targets.push((shared_cluster(18), true));
    }
    let mut restored = Vec::new();
    for (dpg, text) in targets {
        let opts = DumpOptions {
            jobs: 2,
            force_text: text,
            ..DumpOptions::default()
        };
        let dst = dump_restore(
            pg,
            &src,
            dpg,
            &format!("cr_data_{major}_to_{}", dpg.major()),
            &opts,
        );
        assert_eq!(table_digests(dpg, &dst), want, "rows of {src} and {dst}");
        assert_eq!(
            sequence_values(pg, &src),
            sequence_values(dpg, &dst),
            "sequences of {src} and {dst}"
        );
        assert_eq!(not_null_columns(pg, &src), not_null_columns(dpg, &dst));
        let (da, db) = (
            pg_dump_schema(pg, &src, SCHEMAS),
            pg_dump_schema(dpg, &dst, SCHEMAS),
        );
        assert!(
            da == db,
            "pg_dump -s of {src} and {dst} differ:\n{}",
            diff(&da, &db)
        );
        if major >= 12 {
            assert_eq!(
                dpg.query_value(
                    &dst,
                    "SELECT string_agg(b::text, ',' ORDER BY a) FROM cr.gen"
                )
                .unwrap(),
                "2,4"
            );
        }
        // the NOT VALID foreign key is still NOT VALID with its violating row
        assert_eq!(
            dpg.query_value(
                &dst,
                "SELECT convalidated FROM pg_constraint WHERE conname = 'a_b_fk'"
            )
            .unwrap(),
            "f"
        );
        restored.push((dpg, dst));
    }
    // identity and serial columns go on where the source stopped
    for next in [
        "INSERT INTO cr.ida (v) VALUES ('next') RETURNING id",
        "INSERT INTO cr.ser (v) VALUES ('next') RETURNING id || ' ' || big",
        "INSERT INTO cr.idt (v) VALUES ('next') RETURNING id",
    ] {
        let want = pg.query_value(&src, next).unwrap();
        for (dpg, dst) in &restored {
            assert_eq!(dpg.query_value(dst, next).unwrap(), want, "{next} in {dst}");
        }
    }
}

#[test]
fn relations_with_data_10() {
    data_round_trip(10);
}

#[test]
fn relations_with_data_15() {
    data_round_trip(15);
}

#[test]
fn relations_with_data_18() {
    data_round_trip(18);
}

/// The roles of the coverage fixture (cluster-wide).
const COVERAGE_ROLES: &str = r#"
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['cov_owner', 'cov_reader', 'cov_writer', 'cov_auditor'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END LOOP;
END $$;
"#;

/// The coverage fixture's relations (sections 5-9 and the rest) replayed from
/// pgdump's DDL into an empty database, on 15 and from 10 into 18.
#[test]
fn coverage_fixture_relations() {
    let schemas = &[
        "cov_core",
        "cov_part",
        "cov_misc",
        "cov_types",
        "cov_bulk",
        "cov_app",
    ];
    for (major, to) in [(15, 15), (10, 18)] {
        let (pg, src) = fixture(major, Fixture::Coverage);
        let cat = read(pg, &src);
        let dpg = shared_cluster(to);
        let dst = make_db(dpg, &format!("cr_cov_{major}_to_{to}"), &[COVERAGE_ROLES]);
        replay(dpg, &dst, &cat);
        let da = pg_dump_schema(pg, &src, schemas);
        let db = pg_dump_schema(dpg, &dst, schemas);
        let (da, db): (Vec<String>, Vec<String>) = if major == to {
            (da, db)
        } else {
            // server-deparsed views and triggers read differently across majors
            let keep = |e: &String| {
                !e.contains("; Type: VIEW;")
                    && !e.contains("; Type: MATERIALIZED VIEW;")
                    && !e.contains("; Type: TRIGGER;")
                    && !e.contains("; Type: TYPE;")
                    && !e.contains("; Type: COMMENT;")
            };
            (
                da.into_iter().filter(keep).collect(),
                db.into_iter().filter(keep).collect(),
            )
        };
        assert!(
            da == db,
            "pg_dump -s of {src} ({major}) and {dst} ({to}) differ:\n{}",
            diff(&da, &db)
        );
        // Without the data sources: inheritance children whose parent got a column
        // after them come back with another column order (pg_dump's limit too).
        let rel_only = |l: Vec<String>| -> Vec<String> {
            l.into_iter()
                .filter(|x| !x.starts_with("TABLE DATA"))
                .collect()
        };
        let la = rel_only(listing(&cat));
        let lb = rel_only(listing(&read(dpg, &dst)));
        if major == to {
            assert!(
                la == lb,
                "pgdump reads the relations differently:\n{}",
                diff(&la, &lb)
            );
        } else {
            let (na, nb) = (normalize_cross_version(&la), normalize_cross_version(&lb));
            assert!(
                na == nb,
                "pgdump reads the relations differently:\n{}",
                diff(&na, &nb)
            );
        }
    }
}

/// Tablespaces, typed tables and (before 12) WITH OIDS are reported; skipped, the
/// tables come without them.
#[test]
fn unsupported_relations_are_reported() {
    let pg = shared_cluster(15);
    let db = pg.create_db("cr_unsupported").unwrap();
    // a tablespace directory owned by the server's account
    let dir = pg.dir().join(format!("ts_{db}"));
    std::fs::create_dir_all(&dir).unwrap();
    let meta = std::fs::metadata(pg.data_dir()).unwrap();
    {
        use std::os::unix::fs::MetadataExt;
        std::os::unix::fs::chown(&dir, Some(meta.uid()), Some(meta.gid())).unwrap();
    }
    let ts = format!("cr_ts_{db}");
    pg.execute(
        "postgres",
        &format!("CREATE TABLESPACE {ts} LOCATION '{}'", dir.display()),
    )
    .unwrap();
    psql(
        pg,
        &db,
        &format!(
            "CREATE TYPE public.tt AS (a int, b text);
             CREATE TABLE public.typed OF public.tt (PRIMARY KEY (a));
             CREATE TABLE public.in_ts (id int) TABLESPACE {ts};
             CREATE TABLE public.t2 (id int PRIMARY KEY USING INDEX TABLESPACE {ts}, v int);
             CREATE INDEX t2_v ON public.t2 (v) TABLESPACE {ts};"
        ),
    )
    .unwrap();
    let err = try_read(pg, &db, &DumpOptions::default()).expect_err("unsupported objects");
    let CoreError::Unsupported { objects } = err else {
        panic!("unexpected error {err}");
    };
    for want in [
        format!("table public.in_ts: in tablespace {ts} (tablespaces are not supported)"),
        "table public.typed: typed table (OF public.tt) is not supported".to_string(),
        format!("constraint t2_pkey on public.t2: index in tablespace {ts} (tablespaces are not supported)"),
        format!("index public.t2_v: in tablespace {ts} (tablespaces are not supported)"),
    ] {
        assert!(objects.contains(&want), "{want} not in {objects:#?}");
    }
    let opts = DumpOptions {
        skip_unsupported: true,
        ..DumpOptions::default()
    };
    let cat = try_read(pg, &db, &opts).unwrap();
    let sql = schema_sql(&cat.graph);
    assert!(
        sql.contains("CREATE TABLE public.in_ts (\n    id integer\n);\n"),
        "{sql}"
    );
    assert!(
        sql.contains("CREATE TABLE public.typed (\n    a integer NOT NULL,\n    b text\n);\n"),
        "{sql}"
    );
    pg.drop_db(&db).unwrap();
    pg.execute("postgres", &format!("DROP TABLESPACE {ts}"))
        .unwrap();

    let old = shared_cluster(10);
    let db = make_db(
        old,
        "cr_with_oids",
        &["CREATE TABLE public.wo (id int) WITH OIDS;"],
    );
    let err = try_read(old, &db, &DumpOptions::default()).expect_err("WITH OIDS");
    assert!(
        err.to_string()
            .contains("table public.wo: WITH OIDS is not supported"),
        "{err}"
    );
}

/// Extension configuration tables and sequences: no definition, their rows (with
/// the extension's filter) and value.
#[test]
fn extension_configuration_data() {
    let pg = shared_cluster(15);
    let db = make_db(
        pg,
        "cr_extcfg",
        &["CREATE EXTENSION hstore;
           CREATE TABLE public.cfg (id int PRIMARY KEY, v text);
           INSERT INTO public.cfg VALUES (1, 'standard'), (2, 'user');
           CREATE SEQUENCE public.cfg_seq;
           SELECT setval('public.cfg_seq', 77);
           ALTER EXTENSION hstore ADD TABLE public.cfg;
           ALTER EXTENSION hstore ADD SEQUENCE public.cfg_seq;
           -- what pg_extension_config_dump() records, from an extension script
           UPDATE pg_extension SET extconfig = ARRAY['public.cfg'::regclass::oid, 'public.cfg_seq'::regclass::oid],
                                   extcondition = ARRAY['WHERE id > 1', '']
           WHERE extname = 'hstore';"],
    );
    let cat = read(pg, &db);
    let items: Vec<&Item> = cat
        .graph
        .items
        .iter()
        .filter(|it| it.name.starts_with("cfg"))
        .collect();
    let kinds: Vec<Kind> = items.iter().map(|it| it.key.kind).collect();
    assert_eq!(kinds, [Kind::TableData, Kind::SequenceSet], "{items:#?}");
    match &items[0].data {
        Some(DataSource::Copy(c)) => {
            assert_eq!(c.filter.as_deref(), Some("id > 1"));
            assert_eq!(c.columns, ["id", "v"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        items[1].create,
        "SELECT pg_catalog.setval('public.cfg_seq', 77, true);\n"
    );
}
