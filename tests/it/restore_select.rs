//! Selective and optional restores (issue 4): `-t` with its dependency closure, `-n`/`-N`,
//! `--section`, `--schema-only` then `--data-only --disable-triggers`, `--clean` twice,
//! `--create` (the archive's database, or the new one `-d` names), `--no-owner`,
//! `--no-privileges`, `--single-transaction`, `--exit-on-error` against the default
//! continue-and-report. One small source database and one archive for the module.

use std::path::PathBuf;
use std::sync::OnceLock;

use pgdump_core::compare::{CompareOptions, Ignore};
use pgdump_core::filter::{NamePattern, PatternSet};
use pgdump_core::restore::{Input, RestoreOptions, RestoreSummary, Target};
use pgdump_format::{Codec, Section};
use pgdump_tests::{shared_cluster, Cluster};

use crate::common::{
    compare_dbs, db_with, dump_file, restore_file, rows, small_dump_opts, try_restore,
    user_objects, value,
};

/// Roles are cluster-wide: created once, if missing, and never dropped.
const ROLES: &str = "
DO $$ BEGIN CREATE ROLE sel_owner; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE sel_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
";

const SOURCE_SQL: &str = "
CREATE SCHEMA shop AUTHORIZATION sel_owner;
CREATE TYPE shop.status AS ENUM ('new', 'paid', 'sent');
CREATE DOMAIN shop.qty AS int CHECK (VALUE > 0);
CREATE SEQUENCE shop.order_no START 1000;
CREATE FUNCTION shop.default_note() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'none'::text $$;
CREATE FUNCTION shop.qty_ok(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT $1 < 1000 $$;
CREATE FUNCTION shop.norm(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower($1) $$;
CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := true; RETURN NEW; END $$;
CREATE FUNCTION shop.unused() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE shop.orders (
    id bigint PRIMARY KEY DEFAULT nextval('shop.order_no'),
    customer int REFERENCES shop.customers,
    status shop.status NOT NULL DEFAULT 'new',
    qty shop.qty NOT NULL,
    note text DEFAULT shop.default_note(),
    touched boolean NOT NULL DEFAULT false,
    CONSTRAINT qty_sane CHECK (shop.qty_ok(qty))
);
ALTER SEQUENCE shop.order_no OWNED BY shop.orders.id;
CREATE INDEX orders_norm ON shop.orders (shop.norm(note));
CREATE UNIQUE INDEX orders_customer_id ON shop.orders (customer, id);
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON shop.orders
    FOR EACH ROW EXECUTE FUNCTION shop.touch();
ALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_read ON shop.orders FOR SELECT TO sel_reader USING (status <> 'new');
COMMENT ON TABLE shop.orders IS 'orders of customers';
COMMENT ON COLUMN shop.orders.qty IS 'how many';
COMMENT ON INDEX shop.orders_norm IS 'by note';
GRANT USAGE ON SCHEMA shop TO sel_reader;
GRANT SELECT ON shop.orders TO sel_reader;
GRANT SELECT (id, name) ON shop.customers TO sel_reader;
ALTER TABLE shop.orders OWNER TO sel_owner;
ALTER TABLE shop.customers OWNER TO sel_owner;
ALTER TYPE shop.status OWNER TO sel_owner;
ALTER FUNCTION shop.touch() OWNER TO sel_owner;
INSERT INTO shop.customers SELECT g, 'customer ' || g FROM generate_series(1, 50) g;
-- half the rows with the trigger off: touched = false shows whether a load fired it
SET session_replication_role = replica;
INSERT INTO shop.orders (customer, status, qty, note)
    SELECT 1 + g % 50, (ARRAY['new', 'paid', 'sent'])[1 + g % 3]::shop.status, 1 + g % 20, 'Note ' || g
    FROM generate_series(1, 250) g;
SET session_replication_role = DEFAULT;
INSERT INTO shop.orders (customer, status, qty)
    SELECT 1 + g % 50, 'paid', 1 + g % 20 FROM generate_series(1, 250) g;
CREATE TABLE shop.events (id int NOT NULL, at date NOT NULL, kind shop.status) PARTITION BY RANGE (at);
CREATE TABLE shop.events_2024 PARTITION OF shop.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE shop.events_rest PARTITION OF shop.events DEFAULT;
CREATE INDEX events_at ON shop.events (at);
INSERT INTO shop.events SELECT g, date '2024-06-01' + g, 'sent' FROM generate_series(1, 400) g;
CREATE MATERIALIZED VIEW shop.order_stats AS
    SELECT status, count(*) AS orders, sum(qty) AS qty FROM shop.orders GROUP BY status;
CREATE SCHEMA other;
CREATE TABLE other.notes (id serial PRIMARY KEY, body text);
INSERT INTO other.notes (body) SELECT 'note ' || g FROM generate_series(1, 30) g;
CREATE TABLE public.conflict (id int);
INSERT INTO public.conflict VALUES (1), (2), (3);
CREATE INDEX conflict_idx ON public.conflict (id);
ALTER TABLE public.conflict ADD PRIMARY KEY (id);
CREATE TABLE public.conflict_ref (c int REFERENCES public.conflict);
INSERT INTO public.conflict_ref VALUES (1), (3);
CREATE FUNCTION public.clash() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
";

/// Target objects that make two items of the archive fail (and their dependents skip).
const CONFLICTS: &str = "
CREATE TABLE public.conflict (other text);
CREATE FUNCTION public.clash() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;
";

struct Source {
    db: String,
    _dir: tempfile::TempDir,
    archive: PathBuf,
}

fn pg() -> &'static Cluster {
    shared_cluster(15)
}

fn source() -> &'static Source {
    static SRC: OnceLock<Source> = OnceLock::new();
    SRC.get_or_init(|| {
        let pg = pg();
        {
            // the roles of the coverage fixture and ours are created by one loader at a time
            pg.execute("postgres", ROLES).unwrap();
        }
        let db = db_with(pg, "select_src", SOURCE_SQL);
        let dir = crate::common::scratch();
        let archive = dir.path().join("select.pgdump");
        let opts = small_dump_opts(2, 64 << 10, Codec::Zstd { level: 1 });
        pgdump_tests::block_on(dump_file(pg, &db, &archive, &opts));
        Source {
            db,
            _dir: dir,
            archive,
        }
    })
}

fn opts() -> RestoreOptions {
    RestoreOptions {
        jobs: 2,
        ..RestoreOptions::default()
    }
}

fn table(p: &str) -> Vec<NamePattern> {
    vec![NamePattern::qualified(p).unwrap()]
}

fn exists(pg: &Cluster, db: &str, regclass: &str) -> bool {
    value(
        pg,
        db,
        &format!("SELECT to_regclass('{regclass}') IS NOT NULL"),
    ) == "t"
}

fn assert_ok(what: &str, s: &RestoreSummary) {
    assert!(
        s.ok(),
        "{what}: failures {:#?}\nskipped {:#?}",
        s.failures,
        s.skipped
    );
}

async fn assert_equivalent(pg: &Cluster, src: &str, dst: &str, opts: CompareOptions, what: &str) {
    let r = compare_dbs(pg, src, dst, opts).await;
    assert!(r.equivalent(), "{what}:\n{}", r.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_comes_with_its_dependency_closure_and_is_usable() {
    let src = source();
    let pg = pg();
    let last = value(pg, &src.db, "SELECT last_value FROM shop.order_no");
    for pipe in [false, true] {
        let dst = db_with(pg, "select_t", "");
        let input = if pipe {
            Input::Reader(Box::new(std::fs::File::open(&src.archive).unwrap()))
        } else {
            Input::File(src.archive.clone())
        };
        let o = RestoreOptions {
            tables: table("shop.orders"),
            ..opts()
        };
        let s = try_restore(pg, &dst, input, &o).await.unwrap();
        assert_ok("-t shop.orders", &s);
        // the FK to a table that is not restored is left out, with a note naming it
        assert!(
            s.notes
                .iter()
                .any(|n| n.contains("orders_customer_fkey") && n.contains("outside the selection")),
            "no note about the FK left out: {:#?}",
            s.notes
        );
        let objects = user_objects(pg, &dst);
        for wanted in [
            "schema shop",
            "relation shop.orders",
            "relation shop.orders_pkey",
            "relation shop.orders_norm",
            "relation shop.orders_customer_id",
            "relation shop.order_no",
            "type shop.status",
            "type shop.qty",
            "function shop.default_note()",
            "function shop.qty_ok(integer)",
            "function shop.norm(text)",
            "function shop.touch()",
        ] {
            assert!(
                objects.iter().any(|o| o == wanted),
                "pipe {pipe}: {wanted} missing from {objects:#?}"
            );
        }
        for unwanted in [
            "shop.customers",
            "shop.unused",
            "other",
            "conflict",
            "clash",
            "events",
        ] {
            assert!(
                !objects.iter().any(|o| o.contains(unwanted)),
                "pipe {pipe}: {unwanted} restored: {objects:#?}"
            );
        }
        assert_eq!(rows(pg, &dst, "shop.orders"), 500);
        let q = |sql: &str| value(pg, &dst, sql);
        assert_eq!(
            q(
                "SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint \
               WHERE conrelid = 'shop.orders'::regclass"
            ),
            "orders_pkey,qty_sane"
        );
        assert_eq!(
            q("SELECT tgenabled FROM pg_trigger WHERE tgname = 'orders_touch'"),
            "O"
        );
        assert_eq!(
            q("SELECT relrowsecurity FROM pg_class WHERE oid = 'shop.orders'::regclass"),
            "t"
        );
        assert_eq!(
            q("SELECT string_agg(policyname || ':' || array_to_string(roles, ','), ' ') FROM pg_policies"),
            "orders_read:sel_reader"
        );
        assert_eq!(
            q("SELECT obj_description('shop.orders'::regclass, 'pg_class')"),
            "orders of customers"
        );
        assert_eq!(
            q("SELECT col_description('shop.orders'::regclass, 4)"),
            "how many"
        );
        assert_eq!(
            q("SELECT obj_description('shop.orders_norm'::regclass, 'pg_class')"),
            "by note"
        );
        assert_eq!(
            q(
                "SELECT has_table_privilege('sel_reader', 'shop.orders', 'SELECT') \
                      AND has_schema_privilege('sel_reader', 'shop', 'USAGE')"
            ),
            "t"
        );
        assert_eq!(
            q("SELECT relowner::regrole::text FROM pg_class WHERE oid = 'shop.orders'::regclass"),
            "sel_owner"
        );
        assert_eq!(q("SELECT last_value FROM shop.order_no"), last);
        // usable: a row from defaults (sequence, enum, function), the trigger fires
        let next: i64 = last.parse::<i64>().unwrap() + 1;
        assert_eq!(
            q("INSERT INTO shop.orders (qty) VALUES (3) \
               RETURNING id || ' ' || status || ' ' || note || ' ' || touched"),
            format!("{next} new none true")
        );
        assert_eq!(
            q("SELECT count(*) FROM shop.orders WHERE shop.norm(note) = 'none'"),
            "251"
        );
        // the domain and the CHECK (calling its function) hold
        for bad in ["0", "5000"] {
            assert!(
                pg.execute(
                    &dst,
                    &format!("INSERT INTO shop.orders (qty) VALUES ({bad})")
                )
                .is_err(),
                "qty {bad} accepted"
            );
        }
        pg.drop_db(&dst).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_table_comes_with_its_partitions() {
    let src = source();
    let pg = pg();
    let dst = db_with(pg, "select_tpart", "");
    let o = RestoreOptions {
        tables: table("shop.events"),
        ..opts()
    };
    let s = restore_file(pg, &dst, &src.archive, &o).await;
    assert_ok("-t shop.events", &s);
    assert_eq!(rows(pg, &dst, "shop.events"), 400);
    for part in ["shop.events_2024", "shop.events_rest"] {
        let table = format!("ONLY {part}");
        assert_eq!(rows(pg, &dst, &table), rows(pg, &src.db, &table), "{part}");
    }
    assert!(exists(pg, &dst, "shop.events_at"));
    let rest = rows(pg, &dst, "ONLY shop.events_rest");
    pg.execute(
        &dst,
        "INSERT INTO shop.events VALUES (0, '2030-01-01', 'new')",
    )
    .unwrap();
    assert_eq!(rows(pg, &dst, "ONLY shop.events_rest"), rest + 1);
    assert!(!exists(pg, &dst, "shop.orders"));
    pg.drop_db(&dst).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_selection() {
    let src = source();
    let pg = pg();
    let only_shop = db_with(pg, "select_n", "");
    let o = RestoreOptions {
        schemas: PatternSet {
            include: vec![NamePattern::unqualified("shop").unwrap()],
            exclude: Vec::new(),
        },
        ..opts()
    };
    let s = restore_file(pg, &only_shop, &src.archive, &o).await;
    assert_ok("-n shop", &s);
    let objects = user_objects(pg, &only_shop);
    assert!(objects.iter().any(|o| o == "relation shop.customers"));
    assert!(objects.iter().any(|o| o == "function shop.unused()"));
    assert!(
        objects
            .iter()
            .all(|o| o.contains("shop.") || o == "schema shop"),
        "{objects:#?}"
    );
    assert_eq!(rows(pg, &only_shop, "shop.orders"), 500);

    let not_shop = db_with(pg, "select_nn", "");
    let o = RestoreOptions {
        schemas: PatternSet {
            include: Vec::new(),
            exclude: vec![NamePattern::unqualified("shop").unwrap()],
        },
        ..opts()
    };
    let s = restore_file(pg, &not_shop, &src.archive, &o).await;
    assert_ok("-N shop", &s);
    let objects = user_objects(pg, &not_shop);
    assert!(objects.iter().all(|o| !o.contains("shop")), "{objects:#?}");
    assert_eq!(rows(pg, &not_shop, "other.notes"), 30);
    assert_eq!(rows(pg, &not_shop, "public.conflict"), 3);
    pg.drop_db(&only_shop).unwrap();
    pg.drop_db(&not_shop).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sections_one_after_the_other() {
    let src = source();
    let pg = pg();
    let dst = db_with(pg, "select_sections", "");
    let section = |s: Section| RestoreOptions {
        sections: vec![s],
        ..opts()
    };
    let s = restore_file(pg, &dst, &src.archive, &section(Section::PreData)).await;
    assert_ok("--section pre-data", &s);
    assert_eq!(rows(pg, &dst, "shop.orders"), 0);
    assert!(!exists(pg, &dst, "shop.orders_norm"));
    assert!(!exists(pg, &dst, "shop.orders_pkey"));

    let s = restore_file(pg, &dst, &src.archive, &section(Section::Data)).await;
    assert_ok("--section data", &s);
    assert_eq!(rows(pg, &dst, "shop.orders"), 500);
    assert_eq!(rows(pg, &dst, "shop.events"), 400);
    assert!(!exists(pg, &dst, "shop.orders_norm"));
    assert_eq!(
        value(
            pg,
            &dst,
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
        ),
        "0"
    );

    let s = restore_file(pg, &dst, &src.archive, &section(Section::PostData)).await;
    assert_ok("--section post-data", &s);
    assert!(exists(pg, &dst, "shop.orders_norm"));
    assert_equivalent(
        pg,
        &src.db,
        &dst,
        CompareOptions::default(),
        "three sections",
    )
    .await;
    pg.drop_db(&dst).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_only_then_data_only_with_disable_triggers() {
    let src = source();
    let pg = pg();
    // the data holds rows a firing trigger would change
    assert_eq!(
        value(
            pg,
            &src.db,
            "SELECT count(*) FROM shop.orders WHERE NOT touched"
        ),
        "250"
    );
    let dst = db_with(pg, "select_schema_data", "");
    let s = restore_file(
        pg,
        &dst,
        &src.archive,
        &RestoreOptions {
            schema_only: true,
            ..opts()
        },
    )
    .await;
    assert_ok("--schema-only", &s);
    assert_eq!(s.rows, 0);
    assert_eq!(rows(pg, &dst, "shop.orders"), 0);
    assert_equivalent(
        pg,
        &src.db,
        &dst,
        CompareOptions {
            schema_only: true,
            ..CompareOptions::default()
        },
        "--schema-only",
    )
    .await;

    let s = restore_file(
        pg,
        &dst,
        &src.archive,
        &RestoreOptions {
            data_only: true,
            disable_triggers: true,
            ..opts()
        },
    )
    .await;
    assert_ok("--data-only --disable-triggers", &s);
    // the materialized view is refreshed from the loaded data
    assert_eq!(rows(pg, &dst, "shop.order_stats"), 3);
    assert_eq!(
        value(
            pg,
            &dst,
            "SELECT count(*) FROM shop.orders WHERE NOT touched"
        ),
        "250",
        "the trigger fired during a --disable-triggers load"
    );
    assert_equivalent(pg, &src.db, &dst, CompareOptions::default(), "--data-only").await;
    pg.drop_db(&dst).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_restores_over_itself() {
    let src = source();
    let pg = pg();
    let dst = db_with(pg, "select_clean", "");
    let clean = RestoreOptions {
        clean: true,
        if_exists: true,
        ..opts()
    };
    // --clean into an empty database: nothing to drop, no failure
    let s = restore_file(pg, &dst, &src.archive, &clean).await;
    assert_ok("first --clean", &s);
    // damage the copy: rows gone, an index dropped, a column added, a table emptied
    pg.execute(
        &dst,
        "DELETE FROM shop.orders WHERE id % 3 = 0; DROP INDEX shop.orders_norm; \
         ALTER TABLE other.notes ADD COLUMN extra int; TRUNCATE shop.events; \
         SELECT setval('shop.order_no', 1);",
    )
    .unwrap();
    let s = restore_file(pg, &dst, &src.archive, &clean).await;
    assert_ok("second --clean", &s);
    assert_equivalent(
        pg,
        &src.db,
        &dst,
        CompareOptions::default(),
        "--clean twice",
    )
    .await;
    pg.drop_db(&dst).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_the_archives_database_or_the_one_named() {
    let pg = pg();
    // a source whose name is free once it is renamed: --create makes it again
    let name = format!("select_create_{}", std::process::id());
    pg.create_db_named(&name).unwrap();
    pg.execute(&name, SOURCE_SQL).unwrap();
    let dir = crate::common::scratch();
    let archive = dir.path().join("create.pgdump");
    dump_file(
        pg,
        &name,
        &archive,
        &small_dump_opts(2, 64 << 10, Codec::None),
    )
    .await;
    let orig = format!("{name}_orig");
    pg.execute(
        "postgres",
        &format!("ALTER DATABASE {name} RENAME TO {orig}"),
    )
    .unwrap();

    // pg_restore's --create: the archive's database is created
    let s = restore_file(
        pg,
        "postgres",
        &archive,
        &RestoreOptions {
            target: Target::CreateArchive,
            ..opts()
        },
    )
    .await;
    assert_ok("--create -d postgres", &s);
    assert_eq!(s.database, name);
    assert_equivalent(pg, &orig, &name, CompareOptions::default(), "--create").await;
    assert_eq!(
        user_objects(pg, "postgres"),
        Vec::<String>::new(),
        "restored into the maintenance database"
    );
    // again: the database exists now, so --create fails without touching it
    let err = crate::common::try_restore(
        pg,
        "postgres",
        Input::File(archive.clone()),
        &RestoreOptions {
            target: Target::CreateArchive,
            ..opts()
        },
    )
    .await
    .expect_err("--create over an existing database");
    assert!(err.to_string().contains("already exists"), "{err}");
    // --clean --create: dropped and created again (after a change to undo)
    pg.execute(
        &name,
        "DROP TABLE shop.customers CASCADE; DELETE FROM other.notes;",
    )
    .unwrap();
    let s = restore_file(
        pg,
        "postgres",
        &archive,
        &RestoreOptions {
            target: Target::CreateArchive,
            clean: true,
            ..opts()
        },
    )
    .await;
    assert_ok("--clean --create", &s);
    assert_eq!(s.database, name);
    assert_equivalent(
        pg,
        &orig,
        &name,
        CompareOptions::default(),
        "--clean --create",
    )
    .await;

    // -d names a database that does not exist: that one is created
    let new = format!("{name}_new");
    let s = restore_file(
        pg,
        &new,
        &archive,
        &RestoreOptions {
            target: Target::Create,
            ..opts()
        },
    )
    .await;
    assert_ok("--create -d new", &s);
    assert_eq!(s.database, new);
    assert_equivalent(
        pg,
        &orig,
        &new,
        CompareOptions::default(),
        "--create -d new",
    )
    .await;
    for db in [&name, &orig, &new] {
        pg.drop_db(db).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_owner_and_no_privileges() {
    let src = source();
    let pg = pg();
    let owners = |db: &str| {
        value(
            pg,
            db,
            "SELECT (SELECT relowner::regrole::text FROM pg_class WHERE oid = 'shop.orders'::regclass) \
             || ' ' || (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'shop') \
             || ' ' || (SELECT proowner::regrole::text FROM pg_proc WHERE proname = 'touch') \
             || ' ' || (SELECT typowner::regrole::text FROM pg_type WHERE typname = 'status')",
        )
    };
    let privileges = |db: &str| {
        value(
            pg,
            db,
            "SELECT has_table_privilege('sel_reader', 'shop.orders', 'SELECT') \
             || ' ' || has_schema_privilege('sel_reader', 'shop', 'USAGE') \
             || ' ' || has_column_privilege('sel_reader', 'shop.customers', 'name', 'SELECT')",
        )
    };
    let plain = db_with(pg, "select_plain", "");
    assert_ok(
        "plain",
        &restore_file(pg, &plain, &src.archive, &opts()).await,
    );
    assert_eq!(owners(&plain), "sel_owner sel_owner sel_owner sel_owner");
    assert_eq!(privileges(&plain), "true true true");

    let dst = db_with(pg, "select_noowner", "");
    let s = restore_file(
        pg,
        &dst,
        &src.archive,
        &RestoreOptions {
            no_owner: true,
            no_privileges: true,
            ..opts()
        },
    )
    .await;
    assert_ok("--no-owner --no-privileges", &s);
    assert_eq!(owners(&dst), "postgres postgres postgres postgres");
    assert_eq!(privileges(&dst), "false false false");
    assert_eq!(
        value(pg, &dst, "SELECT count(*) FROM pg_class WHERE relacl IS NOT NULL AND relnamespace = 'shop'::regnamespace"),
        "0"
    );
    assert_equivalent(
        pg,
        &src.db,
        &dst,
        CompareOptions {
            ignore: Ignore {
                owner: true,
                acl: true,
            },
            ..CompareOptions::default()
        },
        "--no-owner --no-privileges",
    )
    .await;
    pg.drop_db(&plain).unwrap();
    pg.drop_db(&dst).unwrap();
}

fn failure_of<'a>(s: &'a RestoreSummary, object: &str) -> &'a pgdump_core::restore::Failure {
    s.failures
        .iter()
        .find(|f| f.object.contains(object))
        .unwrap_or_else(|| panic!("no failure of {object}: {:#?}", s.failures))
}

/// Failed items are reported and everything else is restored, also on one connection,
/// where the failing statements have other items pipelined right behind them (a failed
/// batch must not leave the session in an aborted transaction that those run into).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_continue_and_report_by_default() {
    for jobs in [1, 2] {
        failures_continue_and_report(jobs).await;
    }
}

async fn failures_continue_and_report(jobs: usize) {
    let src = source();
    let pg = pg();
    let dst = db_with(pg, "select_continue", CONFLICTS);
    let s = restore_file(
        pg,
        &dst,
        &src.archive,
        &RestoreOptions {
            jobs,
            ..RestoreOptions::default()
        },
    )
    .await;
    assert!(!s.ok());
    assert_eq!(s.failures.len(), 2, "{:#?}", s.failures);
    // each skipped entry is named once, and failed ones are not also "skipped"
    let mut names = s.skipped.clone();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), s.skipped.len(), "{:#?}", s.skipped);
    assert!(s
        .skipped
        .iter()
        .all(|k| s.failures.iter().all(|f| &f.object != k)));
    let t = failure_of(&s, "public.conflict");
    assert!(t.object.starts_with("TABLE "), "{t:?}");
    assert!(t.message.contains("already exists"), "{t:?}");
    let f = failure_of(&s, "clash");
    assert!(f.message.contains("already exists"), "{f:?}");
    // what needs the failed table is skipped and reported as such
    for dependent in [
        "TABLE DATA public.conflict",
        "INDEX public.conflict_idx",
        "FK CONSTRAINT public.conflict_ref conflict_ref_c_fkey",
    ] {
        assert!(
            s.skipped.iter().any(|k| k == dependent),
            "{dependent} not reported as skipped: {:#?}",
            s.skipped
        );
    }
    // everything else is there
    assert_eq!(rows(pg, &dst, "shop.orders"), 500);
    assert_eq!(rows(pg, &dst, "other.notes"), 30);
    assert!(exists(pg, &dst, "shop.orders_norm"));
    assert_eq!(rows(pg, &dst, "public.conflict"), 0);
    pg.drop_db(&dst).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_on_error_stops_at_the_first_failure() {
    let src = source();
    let pg = pg();
    let dst = db_with(pg, "select_exit", CONFLICTS);
    let s = restore_file(
        pg,
        &dst,
        &src.archive,
        &RestoreOptions {
            jobs: 1,
            exit_on_error: true,
            ..RestoreOptions::default()
        },
    )
    .await;
    assert!(!s.ok());
    assert_eq!(s.failures.len(), 1, "{:#?}", s.failures);
    assert!(s.failures[0].message.contains("already exists"));
    // nothing after the failure ran: no data, no post-data
    let loaded = exists(pg, &dst, "shop.orders") && rows(pg, &dst, "shop.orders") > 0;
    assert!(!loaded, "data loaded after the first failure");
    assert!(!exists(pg, &dst, "shop.orders_norm"));
    pg.drop_db(&dst).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_transaction_rolls_everything_back() {
    let src = source();
    let pg = pg();
    let dst = db_with(pg, "select_single", CONFLICTS);
    let before = user_objects(pg, &dst);
    let err = crate::common::try_restore(
        pg,
        &dst,
        Input::File(src.archive.clone()),
        &RestoreOptions {
            jobs: 1,
            single_transaction: true,
            ..RestoreOptions::default()
        },
    )
    .await
    .expect_err("a failed item stops a single-transaction restore");
    match &err {
        pgdump_core::CoreError::Stopped { cause, state } => {
            assert_eq!(*state, pgdump_core::TargetState::Unchanged, "{err}");
            match cause.as_ref() {
                pgdump_core::CoreError::RestoreFailed { failures } => assert!(
                    failures.iter().any(|f| f.contains("already exists")),
                    "{failures:#?}"
                ),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(user_objects(pg, &dst), before, "not rolled back");
    // and without the conflict, one transaction restores everything
    let ok = db_with(pg, "select_single_ok", "");
    let s = restore_file(
        pg,
        &ok,
        &src.archive,
        &RestoreOptions {
            jobs: 1,
            single_transaction: true,
            ..RestoreOptions::default()
        },
    )
    .await;
    assert_ok("--single-transaction", &s);
    assert_equivalent(
        pg,
        &src.db,
        &ok,
        CompareOptions::default(),
        "--single-transaction",
    )
    .await;
    pg.drop_db(&dst).unwrap();
    pg.drop_db(&ok).unwrap();
}
