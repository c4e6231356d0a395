//! The "code and views" catalog kinds against real servers: functions, procedures,
//! aggregates, views, materialized views (and their refresh), triggers, rules,
//! row level security and policies, event triggers.
//!
//! Each round trip builds a source database from a base script (schemas, tables,
//! data: objects of other kind modules) plus a script of the objects these kinds
//! cover, reads its catalog with pgdump, replays the items of these kinds (with
//! their comments and ACLs, in the dump's order) into a database holding only the
//! base script, and checks that both databases are the same: pgdump's own reading
//! of both, `pg_dump --schema-only` (the reference client, PostgreSQL 18) of both,
//! and the state of the materialized views. The same DDL is also replayed into a
//! PostgreSQL 18 database and compared with the objects created there natively.
//!
//! The coverage (10, 15, 18) and pagila (15) fixtures are replayed whole (every
//! kind module's schema script) and compared on the entries of these kinds in
//! `pg_dump --schema-only`. Every dump checked here must keep post-data items of
//! these kinds after all pre-data items. C functions outside extensions must be
//! reported as unsupported.

use pgdump_core::catalog::{class, Item, Kind};
use pgdump_core::dump::{read_catalog, CatalogDump};
use pgdump_core::DumpOptions;
use pgdump_tests::{binaries, block_on, fixture, shared_cluster, Cluster, Fixture};

/// Kinds produced by the modules under test.
const KINDS: &[Kind] = &[
    Kind::Function,
    Kind::Procedure,
    Kind::Aggregate,
    Kind::View,
    Kind::MaterializedView,
    Kind::Trigger,
    Kind::Rule,
    Kind::Policy,
    Kind::RowSecurity,
    Kind::EventTrigger,
    Kind::RefreshMatview,
];

/// Objects of other kind modules, identical in source and target.
const BASE: &str = r#"
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['cc_owner', 'cc_reader', 'Cc Mixed'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END LOOP;
END $$;
CREATE SCHEMA cc;
CREATE SCHEMA "CC Other";
GRANT USAGE ON SCHEMA cc TO cc_owner, cc_reader;
CREATE TABLE cc.items (id int PRIMARY KEY, name text, price numeric, note text);
INSERT INTO cc.items VALUES (1, 'a', 1.5, NULL), (2, 'B', 20, 'x'), (3, 'c', 3, NULL);
GRANT SELECT ON cc.items TO cc_owner;
CREATE TABLE cc.log (id serial, msg text);
CREATE TABLE cc.accounts (id int, owner_role name, balance numeric);
CREATE TABLE "CC Other"."Mixed Case" (id int, "Val" text);
"#;

/// Partitioned tables with row triggers (11+).
const BASE_11: &str = r#"
CREATE TABLE cc.parted (id int, k int) PARTITION BY RANGE (id);
CREATE TABLE cc.parted_1 PARTITION OF cc.parted FOR VALUES FROM (0) TO (100);
CREATE TABLE cc.parted_2 PARTITION OF cc.parted FOR VALUES FROM (100) TO (200);
"#;

/// The objects under test, every server.
const CODE: &str = r#"
CREATE FUNCTION cc.add(a int, b int) RETURNS int
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT a + b $$;
CREATE FUNCTION cc.add(a text, b text DEFAULT '!') RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT a || b $$;
COMMENT ON FUNCTION cc.add(int, int) IS 'overload 1';
CREATE FUNCTION "CC Other"."Sum All"(VARIADIC nums numeric[]) RETURNS numeric
  LANGUAGE sql IMMUTABLE AS $q$ SELECT sum(x) FROM unnest(nums) x $q$;
CREATE FUNCTION cc.dollars() RETURNS text LANGUAGE sql AS $b$ SELECT '$$ and $_$ and ''quotes'' \ ' $b$;
CREATE FUNCTION cc.rows_of(n int) RETURNS TABLE (i int, sq int)
  LANGUAGE plpgsql STABLE ROWS 10 COST 50
  AS $$ BEGIN RETURN QUERY SELECT g, g * g FROM generate_series(1, n) g; END $$;
CREATE FUNCTION cc.secure(x int) RETURNS int
  LANGUAGE plpgsql STABLE LEAKPROOF SECURITY DEFINER
  SET search_path = cc, "CC Other", pg_temp
  SET work_mem = '8MB'
  SET "DateStyle" = 'ISO, MDY'
  AS $$ BEGIN RETURN x; END $$;
ALTER FUNCTION cc.secure(int) OWNER TO cc_owner;
REVOKE ALL ON FUNCTION cc.secure(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cc.secure(int) TO cc_reader, "Cc Mixed";
CREATE FUNCTION cc.plus_internal(int, int) RETURNS int
  LANGUAGE internal IMMUTABLE STRICT AS 'int4pl';
CREATE FUNCTION cc.split(full_name text, OUT first text, OUT last text)
  LANGUAGE sql IMMUTABLE AS $$ SELECT split_part(full_name, ' ', 1), split_part(full_name, ' ', 2) $$;
CREATE FUNCTION cc.empty_path() RETURNS int LANGUAGE sql SET search_path = '' AS 'SELECT 1';
CREATE FUNCTION cc.trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cc.log (msg) VALUES (TG_OP || coalesce(TG_ARGV[0], ''));
  RETURN NEW;
END $$;
CREATE FUNCTION cc.evt() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'evt'; END $$;

CREATE FUNCTION cc.sfunc(state numeric, v numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE AS 'SELECT state + v';
CREATE AGGREGATE cc.mysum(numeric) (SFUNC = cc.sfunc, STYPE = numeric, INITCOND = '0', PARALLEL = SAFE);
CREATE AGGREGATE cc.prod(numeric) (SFUNC = numeric_mul, STYPE = numeric, INITCOND = '1', COMBINEFUNC = numeric_mul);
CREATE AGGREGATE cc.cnt(*) (SFUNC = int8inc, STYPE = int8, INITCOND = '0');
CREATE AGGREGATE cc.mymax(int4) (SFUNC = int4larger, STYPE = int4, SORTOP = >);
CREATE AGGREGATE cc.mavg(int4) (
  SFUNC = int4_avg_accum, STYPE = int8[], FINALFUNC = int8_avg, INITCOND = '{0,0}',
  MSFUNC = int4_avg_accum, MINVFUNC = int4_avg_accum_inv, MSTYPE = int8[],
  MFINALFUNC = int8_avg, MINITCOND = '{0,0}');
CREATE AGGREGATE cc.psum(int8) (
  SFUNC = int8_avg_accum, STYPE = internal, SSPACE = 48, FINALFUNC = numeric_poly_sum,
  COMBINEFUNC = int8_avg_combine, SERIALFUNC = int8_avg_serialize,
  DESERIALFUNC = int8_avg_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE cc.my_pct(float8 ORDER BY anyelement) (
  SFUNC = ordered_set_transition, STYPE = internal,
  FINALFUNC = percentile_disc_final, FINALFUNC_EXTRA);
CREATE AGGREGATE cc.my_rank(VARIADIC "any" ORDER BY VARIADIC "any") (
  SFUNC = ordered_set_transition_multi, STYPE = internal,
  FINALFUNC = rank_final, FINALFUNC_EXTRA, HYPOTHETICAL);
COMMENT ON AGGREGATE cc.mysum(numeric) IS 'a sum';
COMMENT ON AGGREGATE cc.cnt(*) IS 'a count';
ALTER AGGREGATE cc.mysum(numeric) OWNER TO cc_owner;
REVOKE ALL ON FUNCTION cc.prod(numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cc.prod(numeric) TO cc_reader;

CREATE VIEW cc.v_items AS SELECT id, name, price FROM cc.items WHERE price < 10
  WITH CASCADED CHECK OPTION;
CREATE VIEW cc.v_local AS SELECT * FROM cc.v_items WHERE id > 0 WITH LOCAL CHECK OPTION;
CREATE VIEW cc.v_sb WITH (security_barrier) AS SELECT id, name FROM cc.items;
CREATE VIEW cc.v_cols (ident, label) AS SELECT id, cc.add(name, '?') FROM cc.items;
ALTER VIEW cc.v_cols ALTER COLUMN label SET DEFAULT 'n/a';
COMMENT ON VIEW cc.v_cols IS 'renamed columns';
COMMENT ON COLUMN cc.v_cols.label IS 'view column comment';
GRANT SELECT ON cc.v_cols TO cc_reader;
GRANT SELECT (id), UPDATE (name) ON cc.v_sb TO "Cc Mixed";
CREATE RECURSIVE VIEW cc.countdown (n) AS SELECT 3 UNION ALL SELECT n - 1 FROM countdown WHERE n > 0;
CREATE VIEW "CC Other"."Odd View" AS SELECT 1 AS "Col", 'x'::text AS "select";
ALTER VIEW cc.v_items OWNER TO cc_owner;

CREATE MATERIALIZED VIEW cc.z_base AS SELECT id, price FROM cc.items;
CREATE VIEW cc.m_view AS SELECT * FROM cc.z_base WHERE price > 1;
CREATE MATERIALIZED VIEW cc.a_top WITH (fillfactor = 50, autovacuum_enabled = false) AS
  SELECT count(*) AS n, cc.mysum(price) AS total FROM cc.m_view;
CREATE MATERIALIZED VIEW cc.b_direct AS SELECT max(price) AS m FROM cc.z_base;
CREATE MATERIALIZED VIEW cc.never AS SELECT 1 AS x WITH NO DATA;
COMMENT ON MATERIALIZED VIEW cc.z_base IS 'base matview';
ALTER MATERIALIZED VIEW cc.z_base OWNER TO cc_owner;
GRANT SELECT ON cc.z_base TO cc_reader;

CREATE TRIGGER t_row AFTER INSERT OR UPDATE ON cc.items
  FOR EACH ROW EXECUTE PROCEDURE cc.trg();
CREATE TRIGGER t_when BEFORE UPDATE ON cc.items
  FOR EACH ROW WHEN (OLD.note IS DISTINCT FROM NEW.note OR OLD.price <> NEW.price) EXECUTE PROCEDURE cc.trg();
CREATE TRIGGER t_cols BEFORE UPDATE OF name, price ON cc.items
  FOR EACH ROW EXECUTE PROCEDURE cc.trg('cols');
CREATE TRIGGER t_stmt AFTER INSERT ON cc.items REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE PROCEDURE cc.trg();
CREATE CONSTRAINT TRIGGER t_con AFTER INSERT ON cc.items DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE PROCEDURE cc.trg();
CREATE TRIGGER t_dis AFTER DELETE ON cc.items FOR EACH ROW EXECUTE PROCEDURE cc.trg();
ALTER TABLE cc.items DISABLE TRIGGER t_dis;
CREATE TRIGGER t_rep AFTER INSERT ON cc.log FOR EACH ROW EXECUTE PROCEDURE cc.trg('it''s');
ALTER TABLE cc.log ENABLE REPLICA TRIGGER t_rep;
CREATE TRIGGER "T Always" BEFORE INSERT ON "CC Other"."Mixed Case" FOR EACH ROW EXECUTE PROCEDURE cc.trg();
ALTER TABLE "CC Other"."Mixed Case" ENABLE ALWAYS TRIGGER "T Always";
CREATE TRIGGER v_ins INSTEAD OF INSERT ON "CC Other"."Odd View" FOR EACH ROW EXECUTE PROCEDURE cc.trg();
COMMENT ON TRIGGER t_row ON cc.items IS 'row trigger';

CREATE RULE r_upd AS ON UPDATE TO cc.items WHERE OLD.price IS DISTINCT FROM NEW.price
  DO ALSO INSERT INTO cc.log (msg) VALUES ('price ' || NEW.id);
CREATE RULE r_del AS ON DELETE TO cc.log WHERE OLD.id = 0 DO INSTEAD NOTHING;
ALTER TABLE cc.log DISABLE RULE r_del;
CREATE RULE "R Rep" AS ON UPDATE TO cc.log DO ALSO NOTIFY cc_log;
ALTER TABLE cc.log ENABLE REPLICA RULE "R Rep";
CREATE RULE r_view AS ON DELETE TO cc.v_sb DO INSTEAD NOTHING;
COMMENT ON RULE r_upd ON cc.items IS 'a rule';

ALTER TABLE cc.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY p_sel ON cc.accounts FOR SELECT TO cc_reader, "Cc Mixed" USING (owner_role = current_user);
CREATE POLICY p_ins ON cc.accounts FOR INSERT TO cc_owner WITH CHECK (balance >= 0);
CREATE POLICY p_restr ON cc.accounts AS RESTRICTIVE USING (balance < 1000);
CREATE POLICY "P All" ON cc.accounts TO PUBLIC USING (true) WITH CHECK (true);
CREATE POLICY p_upd ON cc.accounts FOR UPDATE USING (id > 0) WITH CHECK (id > 0);
CREATE POLICY p_del ON cc.accounts FOR DELETE TO cc_owner USING (balance = 0);
COMMENT ON POLICY p_sel ON cc.accounts IS 'a policy';

CREATE EVENT TRIGGER cc_evt ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
  EXECUTE PROCEDURE cc.evt();
CREATE EVENT TRIGGER cc_evt_drop ON sql_drop EXECUTE PROCEDURE cc.evt();
ALTER EVENT TRIGGER cc_evt_drop DISABLE;
CREATE EVENT TRIGGER "CC Rewrite" ON table_rewrite EXECUTE PROCEDURE cc.evt();
ALTER EVENT TRIGGER "CC Rewrite" ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER cc_evt IS 'an event trigger';
"#;

/// Objects under test on 11+: procedures, triggers on partitioned tables.
const CODE_11: &str = r#"
CREATE PROCEDURE cc.proc(a int, INOUT b int DEFAULT 0) LANGUAGE plpgsql AS $$ BEGIN b := a; END $$;
COMMENT ON PROCEDURE cc.proc(int, int) IS 'a procedure';
REVOKE EXECUTE ON PROCEDURE cc.proc(int, int) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE cc.proc(int, int) TO cc_reader;
ALTER PROCEDURE cc.proc(int, int) OWNER TO cc_owner;
CREATE PROCEDURE cc.proc_definer() LANGUAGE sql SECURITY DEFINER SET work_mem = '1MB' AS $$ SELECT 1 $$;
CREATE TRIGGER p_row AFTER INSERT ON cc.parted FOR EACH ROW EXECUTE PROCEDURE cc.trg();
ALTER TABLE cc.parted_1 DISABLE TRIGGER p_row;
CREATE TRIGGER p_only BEFORE INSERT ON cc.parted_2 FOR EACH ROW EXECUTE PROCEDURE cc.trg();
CREATE AGGREGATE cc.modify(numeric) (SFUNC = cc.sfunc, STYPE = numeric, FINALFUNC = abs,
  FINALFUNC_MODIFY = READ_WRITE);
"#;

/// Objects under test on 14+: SQL-standard bodies.
const CODE_14: &str = r#"
CREATE FUNCTION cc.twice(x int) RETURNS int LANGUAGE sql IMMUTABLE RETURN x * 2;
CREATE FUNCTION cc.count_items() RETURNS bigint LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT count(*) FROM cc.items WHERE price > 0;
END;
CREATE PROCEDURE cc.ins_log(m text) LANGUAGE sql BEGIN ATOMIC INSERT INTO cc.log (msg) VALUES (m); END;
"#;

/// Objects under test on 15+: security invoker views.
const CODE_15: &str = r#"
CREATE VIEW cc.v_inv WITH (security_invoker = true, security_barrier = false) AS SELECT id FROM cc.items;
"#;

fn base_sql(major: u32) -> String {
    let mut s = BASE.to_string();
    if major >= 11 {
        s.push_str(BASE_11);
    }
    s
}

fn code_sql(major: u32) -> String {
    let mut s = CODE.to_string();
    if major >= 11 {
        s.push_str(CODE_11);
    }
    if major >= 14 {
        s.push_str(CODE_14);
    }
    if major >= 15 {
        s.push_str(CODE_15);
    }
    s
}

/// A new database in `pg` with `scripts` run in it.
fn make_db(pg: &Cluster, prefix: &str, scripts: &[&str]) -> String {
    let db = pg.create_db(prefix).expect("create database");
    for s in scripts {
        pg.execute(&db, s)
            .unwrap_or_else(|e| panic!("setting up {db} on {}: {e:#}", pg.major()));
    }
    db
}

/// pgdump's catalog of a database.
fn read(pg: &Cluster, db: &str) -> CatalogDump {
    block_on(async {
        let client = pg.connect(db).await.expect("connect");
        let opts = DumpOptions {
            skip_unsupported: true,
            ..DumpOptions::default()
        };
        read_catalog(&client, &opts)
            .await
            .unwrap_or_else(|e| panic!("read_catalog of {db} on {}: {e}", pg.major()))
    })
}

/// The items of the kinds under test, in dump order: their own items, view column
/// defaults, and the comments and ACLs attached to them.
fn selected(cat: &CatalogDump) -> Vec<&Item> {
    let mine = |it: &Item| {
        KINDS.contains(&it.key.kind)
            || (it.key.kind == Kind::Default && it.create.starts_with("ALTER VIEW "))
    };
    let owners: std::collections::HashSet<_> = cat
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
            format!(
                "-- {} {}.{} [{}]\n{}{}",
                it.key.kind.tag(),
                it.schema.as_deref().unwrap_or("-"),
                it.name,
                it.sort_extra,
                it.create,
                it.alter_owner.as_deref().unwrap_or("")
            )
        })
        .collect();
    v.sort();
    v
}

/// Run the selected items' SQL in `db`, in order, as a restore session would.
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

/// `pg_dump --schema-only` of the reference client, without its random `\restrict` keys.
fn pg_dump_schema(pg: &Cluster, db: &str) -> String {
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
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Materialized views with their populated flag and contents.
fn matviews(pg: &Cluster, db: &str) -> Vec<Vec<Option<String>>> {
    let mut rows = pg
        .query(
            db,
            "SELECT c.oid::regclass::text, c.relispopulated::text FROM pg_class c \
             WHERE c.relkind = 'm' ORDER BY 1",
        )
        .unwrap();
    for r in &mut rows {
        if r[1].as_deref() == Some("true") {
            let name = r[0].clone().unwrap_or_default();
            let content = pg
                .query_value(db, &format!("SELECT coalesce(string_agg(t::text, ',' ORDER BY t::text), '') FROM {name} t"))
                .unwrap();
            r.push(Some(content));
        }
    }
    rows
}

/// Line-by-line difference, for readable assertion messages.
fn diff(a: &str, b: &str) -> String {
    let al: Vec<&str> = a.lines().collect();
    let bl: Vec<&str> = b.lines().collect();
    let mut out = String::new();
    for l in &al {
        if !bl.contains(l) {
            out.push_str(&format!("- {l}\n"));
        }
    }
    for l in &bl {
        if !al.contains(l) {
            out.push_str(&format!("+ {l}\n"));
        }
    }
    out
}

fn assert_same_db(pg_a: &Cluster, a: &str, pg_b: &Cluster, b: &str) {
    let la = listing(&read(pg_a, a)).join("\n");
    let lb = listing(&read(pg_b, b)).join("\n");
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
        matviews(pg_a, a),
        matviews(pg_b, b),
        "materialized views of {a} and {b}"
    );
}

/// Source on `major`, replay into the same major and into 18.
fn round_trip(major: u32) {
    let pg = shared_cluster(major);
    let base = base_sql(major);
    let code = code_sql(major);
    let src = make_db(pg, &format!("cc_src_{major}"), &[&base, &code]);
    let cat = read(pg, &src);
    assert!(
        cat.skipped
            .iter()
            .all(|s| !s.contains("cc.") && !s.contains("CC ")),
        "objects under test reported unsupported: {:?}",
        cat.skipped
    );
    let items = selected(&cat);
    assert_sections_in_order(&cat);
    check_expected_items(major, &items);

    let dst = make_db(pg, &format!("cc_dst_{major}"), &[&base]);
    replay(pg, &dst, &items);
    assert_same_db(pg, &src, pg, &dst);

    if major < 18 {
        let new = shared_cluster(18);
        let reference = make_db(new, &format!("cc_ref_from_{major}"), &[&base, &code]);
        let upgraded = make_db(new, &format!("cc_up_from_{major}"), &[&base]);
        replay(new, &upgraded, &items);
        assert_same_db(new, &reference, new, &upgraded);
    }
}

/// No pre-data item of the whole dump comes after a post-data item of the kinds
/// under test (a trigger, rule or policy restored before the tables it needs, or a
/// table waiting for a trigger, would break a restore by sections).
fn assert_sections_in_order(cat: &CatalogDump) {
    use pgdump_format::Section;
    let items = &cat.graph.items;
    let first_post = items
        .iter()
        .position(|i| KINDS.contains(&i.key.kind) && i.key.kind.section() == Section::PostData);
    if let Some(first) = first_post {
        let late: Vec<String> = items[first..]
            .iter()
            .filter(|i| i.key.kind.section() == Section::PreData)
            .map(|i| format!("{} {}", i.key.kind.tag(), i.name))
            .collect();
        assert!(
            late.is_empty(),
            "pre-data items after {} {}: {late:?}",
            items[first].key.kind.tag(),
            items[first].name
        );
    }
}

/// Spot checks of the generated DDL (the round trip checks the rest).
fn check_expected_items(major: u32, items: &[&Item]) {
    let find = |kind: Kind, name: &str| -> &Item {
        items
            .iter()
            .find(|i| i.key.kind == kind && i.name == name)
            .unwrap_or_else(|| panic!("no {} {name} on {major}", kind.tag()))
    };
    let secure = find(Kind::Function, "secure(integer)");
    assert!(
        secure
            .create
            .contains("SET search_path TO 'cc', 'CC Other', 'pg_temp'"),
        "{}",
        secure.create
    );
    assert!(
        secure.create.contains("SET \"DateStyle\" TO 'ISO, MDY'"),
        "{}",
        secure.create
    );
    assert!(find(Kind::Aggregate, "cnt(*)").create.contains("cc.cnt(*)"));
    assert!(find(Kind::Aggregate, "my_rank(\"any\")")
        .create
        .contains("HYPOTHETICAL"));
    assert!(find(Kind::View, "v_items")
        .create
        .ends_with("\n  WITH CASCADED CHECK OPTION;\n"));
    assert!(find(Kind::MaterializedView, "a_top")
        .create
        .ends_with("\n  WITH NO DATA;\n"));
    assert!(find(Kind::Trigger, "items t_dis")
        .create
        .ends_with("ALTER TABLE cc.items DISABLE TRIGGER t_dis;\n"));
    assert!(find(Kind::Rule, "log r_del")
        .create
        .ends_with("ALTER TABLE cc.log DISABLE RULE r_del;\n"));
    assert!(find(Kind::EventTrigger, "cc_evt_drop")
        .create
        .ends_with("ALTER EVENT TRIGGER cc_evt_drop DISABLE;\n"));
    assert_eq!(
        find(Kind::RowSecurity, "accounts").create,
        "ALTER TABLE cc.accounts ENABLE ROW LEVEL SECURITY;\n"
    );

    // Populated matviews are refreshed, the one reading another after it (through a view).
    let refreshes: Vec<&str> = items
        .iter()
        .filter(|i| i.key.kind == Kind::RefreshMatview)
        .map(|i| i.name.as_str())
        .collect();
    assert!(!refreshes.contains(&"never"), "{refreshes:?}");
    let pos = |n: &str| refreshes.iter().position(|r| *r == n).unwrap_or(usize::MAX);
    assert!(pos("z_base") < pos("a_top"), "{refreshes:?}");
    assert!(pos("z_base") < pos("b_direct"), "{refreshes:?}");
    if major >= 11 {
        // The partition's clone only appears because its state differs from the parent's.
        let clone = find(Kind::Trigger, "parted_1 p_row");
        assert_eq!(
            clone.create,
            "ALTER TABLE ONLY cc.parted_1 DISABLE TRIGGER p_row;\n"
        );
        assert!(items.iter().all(|i| i.name != "parted_2 p_row"));
        assert!(find(Kind::Procedure, "proc(integer, integer)")
            .create
            .contains("a integer, INOUT b integer DEFAULT 0)\n    LANGUAGE plpgsql\n"));
    }
    if major >= 14 {
        let body = &find(Kind::Function, "count_items()").create;
        assert!(body.contains("\n    BEGIN ATOMIC\n"), "{body}");
    }
}

#[test]
fn code_round_trip_pg10() {
    round_trip(10);
}

#[test]
fn code_round_trip_pg13() {
    round_trip(13);
}

#[test]
fn code_round_trip_pg15() {
    round_trip(15);
}

#[test]
fn code_round_trip_pg17() {
    round_trip(17);
}

#[test]
fn code_round_trip_pg18() {
    round_trip(18);
}

/// The coverage fixture's functions, views, triggers, rules, policies and event
/// triggers as pgdump reads them.
#[test]
fn coverage_fixture_code_objects() {
    let (pg, db) = fixture(15, Fixture::Coverage);
    let cat = read(pg, &db);
    let items = selected(&cat);
    let find = |kind: Kind, name: &str| -> &Item {
        items
            .iter()
            .find(|i| i.key.kind == kind && i.name == name)
            .unwrap_or_else(|| panic!("no {} {name}", kind.tag()))
    };
    assert_eq!(
        find(Kind::Function, "customer_credit(bigint)").create,
        "CREATE FUNCTION cov_logic.customer_credit(cid bigint) RETURNS numeric\n    \
         LANGUAGE plpgsql STABLE SECURITY DEFINER\n    \
         SET search_path TO 'cov_core', 'pg_temp'\n    \
         SET work_mem TO '8MB'\n    \
         AS $$\nDECLARE c numeric;\nBEGIN\n  SELECT credit INTO c FROM customers WHERE customer_id = cid;\n  \
         RETURN coalesce(c, 0);\nEND;\n$$;\n"
    );
    assert!(find(Kind::Function, "add(text, text)")
        .create
        .ends_with("LANGUAGE sql IMMUTABLE\n    RETURN (a || b);\n"));
    assert!(find(
        Kind::Procedure,
        "transfer_credit(bigint, bigint, numeric, numeric)"
    )
    .alter_owner
    .is_some());
    assert_eq!(
        find(Kind::Aggregate, "geomean(double precision)").create,
        "CREATE AGGREGATE cov_logic.geomean(double precision) (\n    \
         SFUNC = cov_logic.geo_sfunc,\n    STYPE = double precision[],\n    \
         INITCOND = '{0,0}',\n    FINALFUNC = cov_logic.geo_final\n);\n"
    );
    let refreshes: Vec<&str> = items
        .iter()
        .filter(|i| i.key.kind == Kind::RefreshMatview)
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(refreshes, ["product_stats", "product_stats_multi"]);
    assert!(find(Kind::Trigger, "tickets tickets_replica")
        .create
        .ends_with("ENABLE REPLICA TRIGGER tickets_replica;\n"));
    assert!(find(Kind::Trigger, "events_h0 events_always")
        .create
        .ends_with("ENABLE ALWAYS TRIGGER events_always;\n"));
    assert!(find(Kind::Trigger, "order_lines order_lines_check")
        .create
        .starts_with("CREATE CONSTRAINT TRIGGER order_lines_check "));
    assert!(find(Kind::Rule, "products products_price_history")
        .create
        .starts_with("CREATE RULE products_price_history AS"));
    assert_eq!(
        find(Kind::Policy, "accounts accounts_not_blocked").create,
        "CREATE POLICY accounts_not_blocked ON cov_sec.accounts AS RESTRICTIVE \
         USING ((region IS DISTINCT FROM 'blocked'::text));\n"
    );
    assert!(items
        .iter()
        .any(|i| i.key.kind == Kind::RowSecurity && i.name == "deny_all"));
    assert!(find(Kind::EventTrigger, "cov_drop_disabled")
        .create
        .ends_with("ALTER EVENT TRIGGER cov_drop_disabled DISABLE;\n"));
    assert_eq!(
        find(Kind::View, "cheap_toys").create.lines().last(),
        Some("  WITH LOCAL CHECK OPTION;")
    );
    assert!(find(Kind::View, "invoker_orders")
        .create
        .starts_with("CREATE VIEW cov_logic.invoker_orders WITH (security_invoker='true') AS\n"));
    let comments: Vec<&str> = items
        .iter()
        .filter(|i| i.key.kind == Kind::Comment)
        .map(|i| i.create.trim_end())
        .collect();
    for expected in [
        "COMMENT ON COLUMN cov_logic.customer_labels.label IS 'view column comment';",
        "COMMENT ON TRIGGER customers_audit ON cov_core.customers IS 'audit trigger (creates rows in audit_log)';",
        "COMMENT ON POLICY accounts_auditor ON cov_sec.accounts IS 'auditors see everything';",
        "COMMENT ON EVENT TRIGGER cov_ddl_notice IS 'raises a NOTICE only';",
        "COMMENT ON PROCEDURE cov_logic.transfer_credit(IN from_id bigint, IN to_id bigint, IN amount numeric, INOUT moved numeric) IS 'procedure with INOUT';",
    ] {
        assert!(comments.contains(&expected), "missing {expected}\n{comments:#?}");
    }
}

/// The whole schema of a fixture, replayed into an empty database (every kind module).
fn full_round_trip(major: u32, which: Fixture) {
    let (pg, src) = fixture(major, which);
    let cat = read(pg, &src);
    assert_sections_in_order(&cat);
    // Without the database's own item (that is for --create).
    // (Large objects are data: their metadata and ACLs are not in a schema script.)
    let keep: Vec<bool> = cat
        .graph
        .items
        .iter()
        .map(|i| i.key.kind != Kind::Database && i.key.obj.class != class::PG_LARGEOBJECT)
        .collect();
    let sql = format!(
        "SELECT pg_catalog.set_config('search_path', '', false);\n\
         SET check_function_bodies = false;\n\
         SET client_min_messages = warning;\n{}",
        pgdump_core::dump::schema_sql(&cat.graph.clone().retain(&keep))
    );
    let dst = pg.create_db(&format!("cc_full_{}", which.name())).unwrap();
    pgdump_tests::psql(pg, &dst, &sql).unwrap_or_else(|e| panic!("replay: {e:#}"));
    let da = pg_dump_schema(pg, &src);
    let db = pg_dump_schema(pg, &dst);
    let (fa, fb) = (our_entries(&da), our_entries(&db));
    assert!(
        fa.len() > 20,
        "too few entries of our kinds in pg_dump -s of {src}"
    );
    assert!(
        fa == fb,
        "pg_dump -s of {src} and {dst} differ in our kinds:\n{}",
        diff(&fa.join("\n"), &fb.join("\n"))
    );
    // No data was copied: only whether each materialized view is populated compares.
    let flags = |db: &str| -> Vec<Vec<Option<String>>> {
        matviews(pg, db)
            .into_iter()
            .map(|mut r| {
                r.truncate(2);
                r
            })
            .collect()
    };
    assert_eq!(flags(&src), flags(&dst), "materialized views");
}

/// The entries of `pg_dump --schema-only` output that the kinds under test produce:
/// routines, views, triggers, rules, policies, event triggers, view column defaults,
/// and the comments and ACLs on them. Other kinds are other modules' tests.
fn our_entries(dump: &str) -> Vec<String> {
    let mut entries: Vec<(String, String, String, String)> = Vec::new(); // type, schema, name, body
    for block in dump.split("\n--\n-- Name: ").skip(1) {
        let (header, body) = block.split_once("\n--\n").unwrap_or((block, ""));
        let mut name = header;
        let mut typ = "";
        let mut schema = "";
        if let Some((n, rest)) = header.split_once("; Type: ") {
            name = n;
            let (t, rest) = rest.split_once("; Schema: ").unwrap_or((rest, ""));
            typ = t;
            schema = rest.split_once("; Owner: ").map_or(rest, |(s, _)| s);
        }
        entries.push((
            typ.into(),
            schema.into(),
            name.into(),
            format!("-- {typ} {schema}.{name}\n{}", body.trim()),
        ));
    }
    const OURS: &[&str] = &[
        "FUNCTION",
        "PROCEDURE",
        "AGGREGATE",
        "VIEW",
        "MATERIALIZED VIEW",
        "TRIGGER",
        "RULE",
        "POLICY",
        "ROW SECURITY",
        "EVENT TRIGGER",
    ];
    let views: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e.0 == "VIEW" || e.0 == "MATERIALIZED VIEW")
        .map(|e| (e.1.clone(), e.2.clone()))
        .collect();
    let on_view = |schema: &str, rest: &str| {
        views
            .iter()
            .any(|(s, v)| s == schema && (rest == v || rest.starts_with(&format!("{v}."))))
    };
    let mut out: Vec<String> = entries
        .iter()
        .filter(|(typ, schema, name, body)| {
            OURS.contains(&typ.as_str())
                || (typ == "DEFAULT" && body.contains("ALTER VIEW "))
                || (matches!(typ.as_str(), "COMMENT" | "ACL")
                    && (OURS.iter().any(|k| name.starts_with(&format!("{k} ")))
                        || name
                            .strip_prefix("TABLE ")
                            .or_else(|| name.strip_prefix("COLUMN "))
                            .is_some_and(|rest| on_view(schema, rest))))
        })
        .map(|e| e.3.clone())
        .collect();
    out.sort();
    out
}

#[test]
fn full_pagila_pg15() {
    full_round_trip(15, Fixture::Pagila);
}

#[test]
fn full_coverage_pg10() {
    full_round_trip(10, Fixture::Coverage);
}

#[test]
fn full_coverage_pg15() {
    full_round_trip(15, Fixture::Coverage);
}

#[test]
fn full_coverage_pg18() {
    full_round_trip(18, Fixture::Coverage);
}

/// C functions outside extensions cannot be reproduced: the dump fails naming them
/// (or skips them with `--skip-unsupported`).
#[test]
fn c_functions_are_reported_unsupported() {
    let pg = shared_cluster(15);
    let db = make_db(
        pg,
        "cc_cfunc",
        &["CREATE SCHEMA cc_c; \
           CREATE FUNCTION cc_c.handler() RETURNS language_handler \
             AS '$libdir/plpgsql', 'plpgsql_call_handler' LANGUAGE c; \
           CREATE FUNCTION cc_c.ok() RETURNS int LANGUAGE sql AS 'SELECT 1';"],
    );
    let expected = "function cc_c.handler(): C-language function outside an extension";
    let err = block_on(async {
        let client = pg.connect(&db).await.expect("connect");
        read_catalog(&client, &DumpOptions::default())
            .await
            .unwrap_err()
    });
    match &err {
        pgdump_core::CoreError::Unsupported { objects } => {
            assert!(
                objects.iter().any(|o| o.starts_with(expected)),
                "{objects:?}"
            )
        }
        other => panic!("expected an unsupported-objects error, got {other}"),
    }
    let cat = read(pg, &db);
    assert!(
        cat.skipped.iter().any(|o| o.starts_with(expected)),
        "{:?}",
        cat.skipped
    );
    let names: Vec<&str> = cat
        .graph
        .items
        .iter()
        .filter(|i| i.key.kind == Kind::Function)
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["ok()"]);
}
