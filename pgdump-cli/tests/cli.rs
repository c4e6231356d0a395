//! The `pgdump` binary (issues 3 and 4): exit codes, `list` and `--use-list`, `list
//! --json`, `verify` on good and damaged archives, `restore` of damaged archives from a
//! file and from stdin, `sql | psql` then `compare`, `restore -` with `-j 4`, no progress
//! escape codes when stderr is not a terminal, `-h` as the host and `--help`, flag names
//! as pg_dump's and pg_restore's, SIGINT and broken or failing output pipes, and
//! passwords that never show. Issue 13: closed or full stdout and stderr, names that
//! round-trip through `list` and `--use-list`, `sql` of damaged archives and `sql -1`,
//! scripts that end with an error when they cannot be written to the end, and
//! temporary files of killed dumps.
//!
//! Every test runs the built binary against a PostgreSQL 15 cluster of this test process.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pgdump_format::format::footer::FOOTER_LEN;
use pgdump_format::format::frame::FRAME_HEADER_LEN;
use pgdump_format::{
    ArchiveReader, ArchiveWriter, Codec, CopyFormat, FrameLocation, WriterOptions,
};
use pgdump_tests::{shared_cluster, Cluster};

// ---- helpers

fn pg() -> &'static Cluster {
    shared_cluster(15)
}

/// `pgdump` with a clean environment (no PG* variables of the caller).
fn pgdump() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgdump"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            c.env_remove(k);
        }
    }
    c.env_remove("PGDUMP_LOG").stdin(Stdio::null());
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    raw_stdout: Vec<u8>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.stdout.chars().take(4000).collect::<String>(),
            self.stderr
        )
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        raw_stdout: out.stdout,
    }
}

fn run(args: &[&str]) -> Run {
    finish(pgdump().args(args).output().expect("run pgdump"))
}

/// Runs pgdump with `input` on stdin.
fn run_stdin(args: &[&str], input: &[u8]) -> Run {
    let mut c = pgdump();
    c.args(args);
    with_stdin(c, input)
}

/// Runs `cmd` with `input` on its stdin, fed from a thread (the program may stop
/// reading early: a damaged archive; a broken pipe is fine).
fn with_stdin(mut cmd: Command, input: &[u8]) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    finish(out)
}

#[track_caller]
fn ok(r: &Run) -> &Run {
    assert_eq!(r.code, 0, "{r:?}");
    r
}

#[track_caller]
fn fails(r: &Run) -> &Run {
    assert!(
        r.code != 0 && r.code != -1,
        "expected a failure exit: {r:?}"
    );
    assert!(!r.stderr.contains("panicked"), "{r:?}");
    r
}

fn url(db: &str) -> String {
    pg().url(db)
}

fn new_db(prefix: &str, sql: &str) -> String {
    let db = pg().create_db(prefix).unwrap();
    if !sql.is_empty() {
        pg().execute(&db, sql).unwrap();
    }
    db
}

fn value(db: &str, sql: &str) -> String {
    pg().query_value(db, sql)
        .unwrap_or_else(|e| panic!("{sql}: {e:#}"))
}

fn count(db: &str, table: &str) -> u64 {
    pg().count_rows(db, table).unwrap()
}

fn exists(db: &str, rel: &str) -> bool {
    value(db, &format!("SELECT to_regclass('{rel}') IS NOT NULL")) == "t"
}

/// Relations, functions and schemas a test could have restored (none in a fresh database).
fn user_relations(db: &str) -> String {
    value(
        db,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
    ) + " "
        + &value(
            db,
            "SELECT count(*) FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema') \
             AND nspname NOT LIKE 'pg\\_%'",
        )
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pgdump-cli-")
        .tempdir()
        .unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A database of mixed types (binary COPY converted back to text by `pgdump sql`), a
/// materialized view, a large object, comments: the module's source, made once.
const APP_SQL: &str = r#"
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE app.people (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    mood app.mood,
    tags text[],
    born date,
    score numeric(10, 2),
    data jsonb,
    photo bytea,
    seen timestamptz,
    moods app.mood[]
);
INSERT INTO app.people (name, mood, tags, born, score, data, photo, seen, moods)
SELECT 'person ' || g, (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::app.mood,
       ARRAY['a' || g, E'tab\there', 'quote"s', NULL], date '2000-01-01' + g, g * 1.25,
       jsonb_build_object('g', g, 'nested', jsonb_build_array(g, 'x')),
       decode(md5(g::text), 'hex'), timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour',
       ARRAY['ok', 'happy']::app.mood[]
FROM generate_series(1, 3000) g;
INSERT INTO app.people (name, tags, data) VALUES (E'line\nbreak \\ back\\slash', '{}', 'null');
CREATE TABLE app.events (
    id bigserial PRIMARY KEY,
    person int NOT NULL REFERENCES app.people,
    at timestamptz NOT NULL DEFAULT now(),
    what text
);
INSERT INTO app.events (person, what) SELECT 1 + g % 3000, 'event ' || g FROM generate_series(1, 20000) g;
CREATE INDEX events_person ON app.events (person);
CREATE VIEW app.recent AS SELECT * FROM app.events WHERE id > 100;
CREATE MATERIALIZED VIEW app.mood_counts AS SELECT mood, count(*) FROM app.people GROUP BY mood;
COMMENT ON TABLE app.people IS 'people';
SELECT lo_from_bytea(0, '\x00010203'::bytea || convert_to(' large object', 'UTF8'));
"#;

struct Source {
    db: String,
    _dir: tempfile::TempDir,
    archive: PathBuf,
}

/// The app database and its archive (`-j 2`, small frames so tables span many frames).
fn source() -> &'static Source {
    static S: OnceLock<Source> = OnceLock::new();
    S.get_or_init(|| {
        let db = new_db("cli_src", APP_SQL);
        let dir = scratch();
        let archive = dir.path().join("app.pgdump");
        ok(&run(&[
            "dump",
            "-d",
            &url(&db),
            "-j",
            "2",
            "--frame-size",
            "32KiB",
            "-Z",
            "none",
            "-f",
            archive.to_str().unwrap(),
        ]));
        Source {
            db,
            _dir: dir,
            archive,
        }
    })
}

fn archive() -> &'static str {
    source().archive.to_str().unwrap()
}

/// `pgdump compare` of two databases: exit code and report.
fn compare(a: &str, b: &str) -> Run {
    run(&["compare", &url(a), &url(b)])
}

#[track_caller]
fn assert_equivalent(a: &str, b: &str) {
    let r = compare(a, b);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("RESULT: EQUIVALENT"), "{r:?}");
}

// ---- exit codes, help, -h

#[test]
fn exit_codes_help_and_host_flag() {
    let src = source();
    // --help works for the program and each command; -h is not help
    let r = ok(&run(&["--help"])).stdout.clone();
    for cmd in ["dump", "restore", "list", "verify", "sql", "compare"] {
        assert!(r.contains(cmd), "{r}");
    }
    for cmd in ["dump", "restore"] {
        let help = ok(&run(&[cmd, "--help"])).stdout.clone();
        assert!(
            help.contains("-h, --host")
                && help.contains("-p, --port")
                && help.contains("-U, --username"),
            "{cmd} --help:\n{help}"
        );
    }
    let r = run(&["dump", "-h"]);
    assert_eq!(
        r.code, 2,
        "`dump -h` without a host must be a usage error: {r:?}"
    );
    assert!(!r.stdout.contains("Usage"), "{r:?}");

    // -h host -p port -U user -d name, as pg_dump
    let dir = scratch();
    let out = dir.path().join("h.pgdump");
    let port = pg().port().to_string();
    ok(&run(&[
        "dump",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "postgres",
        "-d",
        &src.db,
        "-f",
        out.to_str().unwrap(),
    ]));
    let dst = new_db("cli_h", "");
    ok(&run(&[
        "restore",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "postgres",
        "-d",
        &dst,
        out.to_str().unwrap(),
    ]));
    assert_equivalent(&src.db, &dst);

    // failures exit non-zero with a message
    let r = fails(&run(&[
        "dump",
        "-d",
        &url("no_such_db"),
        "-f",
        out.to_str().unwrap(),
    ]))
    .stderr
    .clone();
    assert!(
        r.contains("no_such_db") && r.contains("does not exist"),
        "{r}"
    );
    assert!(!r.contains("db error"), "{r}");
    let r = fails(&run(&[
        "restore",
        "-d",
        &url(&dst),
        "/nonexistent/x.pgdump",
    ]))
    .stderr
    .clone();
    assert!(r.contains("/nonexistent/x.pgdump"), "{r}");
    assert_eq!(run(&["no-such-command"]).code, 2);
    assert_eq!(
        run(&["restore", "-d", &url(&dst), "--no-such-flag", "x"]).code,
        2
    );
    // item failures: each reported with object and server message, dependents as skipped,
    // the rest restored, exit non-zero; with -e it stops at the first
    let lo = value(&src.db, "SELECT min(oid) FROM pg_largeobject_metadata");
    for (flags, rest_restored) in [(vec!["-j", "2"], true), (vec!["-e"], false)] {
        let conflict = new_db("cli_conflict", &format!("SELECT lo_create({lo})"));
        let u = url(&conflict);
        let mut args = vec!["restore", "-d", u.as_str()];
        args.extend(flags.iter().copied());
        args.push(archive());
        let r = run(&args);
        let err = fails(&r).stderr.clone();
        assert!(
            err.contains(&format!("pgdump: error: LARGE OBJECT {lo}: "))
                && err.contains(&format!("({lo}) already exists")),
            "{r:?}"
        );
        assert!(err.contains("1 failed"), "{r:?}");
        if rest_restored {
            assert!(
                err.contains(&format!(
                    "pgdump: skipped (depends on a failed item): BLOBS {lo}"
                )),
                "{r:?}"
            );
            assert_eq!(count(&conflict, "app.people"), 3001, "{r:?}");
            assert_eq!(count(&conflict, "app.events"), 20000, "{r:?}");
        }
        // refreshes run last, after everything else: not after a failure with -e
        assert_eq!(
            value(
                &conflict,
                "SELECT relispopulated FROM pg_class WHERE oid = 'app.mood_counts'::regclass"
            ),
            if rest_restored { "t" } else { "f" },
            "{r:?}"
        );
        pg().drop_db(&conflict).unwrap();
    }
    // compare of different databases exits non-zero
    let empty = new_db("cli_empty", "");
    let r = compare(&src.db, &empty);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("RESULT: DIFFERENT"), "{r:?}");
    for db in [dst, empty] {
        pg().drop_db(&db).unwrap();
    }
}

// ---- list, --use-list, --json

/// Entry ids and lines of `pgdump list`.
fn list_lines(text: &str) -> Vec<(u32, String)> {
    text.lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| {
            let id = l.split(';').next().unwrap().trim().parse().unwrap();
            (id, l.to_string())
        })
        .collect()
}

#[test]
fn list_is_accepted_back_by_use_list() {
    let src = source();
    let list = ok(&run(&["list", archive()])).stdout.clone();
    let entries = list_lines(&list);
    let reader = ArchiveReader::open(std::fs::File::open(&src.archive).unwrap()).unwrap();
    let toc_ids: Vec<u32> = reader.toc().entries.iter().map(|e| e.id).collect();
    assert_eq!(
        entries.iter().map(|e| e.0).collect::<Vec<_>>(),
        toc_ids,
        "every entry, in order"
    );
    // the same from stdin
    let bytes = std::fs::read(&src.archive).unwrap();
    let piped = ok(&run_stdin(&["list", "-"], &bytes)).stdout.clone();
    assert_eq!(list_lines(&piped).len(), entries.len());

    // comment out the data of app.events, the index on it and the table comment
    let mut edited = String::new();
    let mut commented = 0;
    for line in list.lines() {
        let drop = !line.starts_with(';')
            && (line.contains("TABLE DATA app events")
                || line.contains("INDEX app events_person")
                || (line.contains("COMMENT") && line.contains("people")));
        if drop {
            edited.push(';');
            commented += 1;
        }
        edited.push_str(line);
        edited.push('\n');
    }
    assert_eq!(commented, 3, "entries to comment out not found in:\n{list}");
    let dir = scratch();
    let use_list = dir.path().join("list.txt");
    std::fs::write(&use_list, edited).unwrap();
    let dst = new_db("cli_uselist", "");
    ok(&run(&[
        "restore",
        "-d",
        &url(&dst),
        "-j",
        "2",
        "-L",
        use_list.to_str().unwrap(),
        archive(),
    ]));
    assert_eq!(count(&dst, "app.events"), 0);
    assert!(exists(&dst, "app.events"));
    assert!(!exists(&dst, "app.events_person"));
    assert_eq!(count(&dst, "app.people"), 3001);
    assert_eq!(
        value(
            &dst,
            "SELECT obj_description('app.people'::regclass, 'pg_class') IS NULL"
        ),
        "t"
    );
    // the unedited list restores everything
    std::fs::write(&use_list, &list).unwrap();
    let all = new_db("cli_uselist_all", "");
    ok(&run(&[
        "restore",
        "--dbname",
        &url(&all),
        "--use-list",
        use_list.to_str().unwrap(),
        archive(),
    ]));
    assert_equivalent(&src.db, &all);
    pg().drop_db(&dst).unwrap();
    pg().drop_db(&all).unwrap();
}

#[test]
fn list_json_has_every_entry() {
    let src = source();
    let r = ok(&run(&["list", "--json", archive()])).stdout.clone();
    let doc: serde_json::Value = serde_json::from_str(&r).expect("list --json is JSON");
    let reader = ArchiveReader::open(std::fs::File::open(&src.archive).unwrap()).unwrap();
    let toc = reader.toc();
    let entries = doc["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), toc.entries.len());
    for (j, e) in entries.iter().zip(&toc.entries) {
        assert_eq!(j["id"], e.id);
        assert_eq!(j["kind"], e.kind.as_str());
        assert_eq!(j["name"], e.name.as_str());
        assert_eq!(j["deps"].as_array().unwrap().len(), e.deps.len());
        if let Some(d) = &e.data {
            let rows: u64 = d
                .streams
                .iter()
                .map(|s| reader.frames(*s).iter().map(|f| f.rows).sum::<u64>())
                .sum();
            assert_eq!(j["data"]["rows"], rows, "{j}");
            assert_eq!(j["data"]["target"], d.target.as_str());
        }
    }
    let people = entries
        .iter()
        .find(|e| e["kind"] == "TABLE DATA" && e["name"] == "people")
        .expect("TABLE DATA people");
    assert_eq!(people["data"]["rows"], 3001);
    assert_eq!(doc["archive"]["database"], src.db.as_str());
}

/// Schema, table and role names that break a listing that is not escaped: line breaks,
/// quotes, backslashes, `;` and something that looks like an entry.
const ODD_SQL: &str = r#"
CREATE ROLE "odd ""role"" \ ;";
CREATE SCHEMA "s
chema" AUTHORIZATION "odd ""role"" \ ;";
CREATE TABLE "s
chema"."t
1; TABLE DATA public kept x" (v text);
INSERT INTO "s
chema"."t
1; TABLE DATA public kept x" SELECT 'row ' || g FROM generate_series(1, 10) g;
ALTER TABLE "s
chema"."t
1; TABLE DATA public kept x" OWNER TO "odd ""role"" \ ;";
CREATE TABLE public."KEPT" (v text);
INSERT INTO public."KEPT" VALUES (E'a\r\nb'), ('c');
"#;

#[test]
fn list_escapes_names_so_they_round_trip_through_use_list() {
    let src = new_db("cli_odd", ODD_SQL);
    let dir = scratch();
    let archive = dir.path().join("odd.pgdump");
    let a = archive.to_str().unwrap();
    ok(&run(&["dump", "-d", &url(&src), "-f", a]));
    let list = ok(&run(&["list", a])).stdout.clone();
    let reader = ArchiveReader::open(std::fs::File::open(&archive).unwrap()).unwrap();
    let toc = reader.toc();
    // one line per entry, names escaped
    assert_eq!(
        list_lines(&list).iter().map(|e| e.0).collect::<Vec<_>>(),
        toc.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        "{list}"
    );
    let data_line = list_lines(&list)
        .into_iter()
        .find(|(_, l)| l.contains("TABLE DATA \"s\\nchema\""))
        .unwrap_or_else(|| panic!("no TABLE DATA of the odd table in:\n{list}"))
        .1;
    assert!(
        data_line.contains(
            "TABLE DATA \"s\\nchema\" \"t\\n1; TABLE DATA public kept x\" \"odd \\\"role\\\" \\\\ ;\" ["
        ),
        "{data_line}"
    );
    assert!(list.contains(" TABLE public \"KEPT\" "), "{list}");
    // comment out the odd table's data: only that is left out
    let edited: String = list
        .lines()
        .map(|l| {
            if l == data_line {
                format!(";{l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let use_list = dir.path().join("list.txt");
    std::fs::write(&use_list, edited).unwrap();
    let dst = new_db("cli_odd_dst", "");
    ok(&run(&[
        "restore",
        "-d",
        &url(&dst),
        "-L",
        use_list.to_str().unwrap(),
        a,
    ]));
    let odd = "\"s\nchema\".\"t\n1; TABLE DATA public kept x\"";
    assert!(exists(&dst, odd), "{list}");
    assert_eq!(value(&dst, &format!("SELECT count(*) FROM {odd}")), "0");
    assert_eq!(count(&dst, "public.\"KEPT\""), 2);
    pg().drop_db(&dst).unwrap();
    pg().drop_db(&src).unwrap();
}

// ---- verify and damaged archives

/// The archive of the source with one kind of damage.
fn damaged(kind: &str) -> (Vec<u8>, String) {
    let good = std::fs::read(archive()).unwrap();
    let r = ArchiveReader::open(good.as_slice()).unwrap();
    let entry = r
        .toc()
        .entries
        .iter()
        .find(|e| e.data.as_ref().is_some_and(|d| d.target == "app.events"))
        .unwrap();
    let stream = entry.data.as_ref().unwrap().streams[0];
    let frames = r.frames(stream);
    assert!(frames.len() > 10, "app.events has {} frames", frames.len());
    let mid = frames[frames.len() / 2];
    let payload = mid.offset as usize + FRAME_HEADER_LEN + mid.stored_len as usize / 2;
    let mut b = good.clone();
    let frame = format!("frame {} of stream {stream}", mid.seq);
    match kind {
        "frame" => b[payload] ^= 0x04,
        "toc" => {
            let at = (r.header().header_len as usize + r.data_offset() as usize) / 2;
            b[at] ^= 0x04;
        }
        "index" => {
            let at = (r.index_offset() as usize + good.len() - FOOTER_LEN) / 2;
            b[at] ^= 0x04;
        }
        "truncated" => b.truncate(payload),
        "unsealed" => b.truncate(good.len() - FOOTER_LEN),
        _ => unreachable!(),
    }
    (b, frame)
}

#[test]
fn verify_good_and_damaged_archives() {
    let src = source();
    let r = ok(&run(&["verify", archive()])).stdout.clone();
    let reader = ArchiveReader::open(std::fs::File::open(&src.archive).unwrap()).unwrap();
    let rows: u64 = reader.streams().iter().map(|s| s.rows).sum();
    assert!(r.contains("archive OK"), "{r}");
    assert!(
        r.contains(&format!("{} entries", reader.toc().entries.len()))
            && r.contains(&format!("{} frames", reader.frame_entries().len()))
            && r.contains(&format!(
                "{} rows",
                rows.to_string()
                    .as_bytes()
                    .rchunks(3)
                    .rev()
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        "{r}"
    );
    let json = ok(&run(&["verify", "--json", archive()])).stdout.clone();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["rows"], rows);

    let dir = scratch();
    for (kind, words) in [
        ("frame", vec!["checksum", "TABLE DATA app.events"]),
        ("toc", vec!["TOC"]),
        ("index", vec!["index"]),
        ("truncated", vec!["truncated"]),
        ("unsealed", vec!["footer"]),
    ] {
        let (bytes, frame) = damaged(kind);
        let path = dir.path().join(format!("{kind}.pgdump"));
        std::fs::write(&path, &bytes).unwrap();
        let r = run(&["verify", path.to_str().unwrap()]);
        let err = fails(&r).stderr.clone();
        let mut words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        if kind == "frame" || kind == "truncated" {
            words.push(frame.clone());
            words.push("TABLE DATA app.events".into());
        }
        for w in &words {
            assert!(err.contains(w.as_str()), "verify {kind}: no {w:?} in {r:?}");
        }
        // from stdin: the same frame and object (the index is only read at the end)
        if kind == "frame" || kind == "truncated" {
            let r = run_stdin(&["verify", "-"], &bytes);
            let err = fails(&r).stderr.clone();
            for w in &words {
                assert!(
                    err.contains(w.as_str()),
                    "verify - {kind}: no {w:?} in {r:?}"
                );
            }
        }
    }
}

#[test]
fn restore_refuses_damaged_archives() {
    let dir = scratch();
    for kind in ["frame", "toc", "index", "truncated", "unsealed"] {
        let (bytes, frame) = damaged(kind);
        let path = dir.path().join(format!("{kind}.pgdump"));
        std::fs::write(&path, &bytes).unwrap();

        // from a file: nothing runs, the damage is named
        let dst = new_db("cli_damaged_file", "");
        let r = run(&[
            "restore",
            "-d",
            &url(&dst),
            "-j",
            "2",
            path.to_str().unwrap(),
        ]);
        let err = fails(&r).stderr.clone();
        let want = match kind {
            "frame" => vec![frame.as_str(), "TABLE DATA app.events", "checksum"],
            "toc" => vec!["TOC"],
            "index" => vec!["index"],
            "truncated" => vec![frame.as_str(), "TABLE DATA app.events", "truncated"],
            _ => vec!["footer"],
        };
        for w in &want {
            assert!(err.contains(w), "restore {kind}: no {w:?} in {r:?}");
        }
        assert_eq!(user_relations(&dst), "0 0", "restore {kind} ran SQL: {r:?}");

        // from stdin: stops, names what is damaged, drops what it created
        let r = run_stdin(&["restore", "-d", &url(&dst), "-j", "4", "-"], &bytes);
        let err = fails(&r).stderr.clone();
        for w in &want {
            assert!(err.contains(w), "restore - {kind}: no {w:?} in {r:?}");
        }
        if kind != "toc" {
            assert!(err.contains("dropped again"), "restore - {kind}: {r:?}");
            assert!(
                err.contains("the target is as it was"),
                "restore - {kind}: {r:?}"
            );
        }
        assert!(!err.contains("WARNING"), "restore - {kind}: {r:?}");
        assert_eq!(
            user_relations(&dst),
            "0 0",
            "restore - {kind} left objects: {r:?}"
        );
        pg().drop_db(&dst).unwrap();
    }

    // --keep-partial: what loaded stays and the report says exactly that
    let (bytes, _) = damaged("frame");
    let dst = new_db("cli_damaged_keep", "");
    let r = run_stdin(
        &[
            "restore",
            "-d",
            &url(&dst),
            "-j",
            "2",
            "--keep-partial",
            "-",
        ],
        &bytes,
    );
    let err = fails(&r).stderr.clone();
    assert!(err.contains("TABLE DATA app.events"), "{r:?}");
    assert!(err.contains("data loaded before the failure"), "{r:?}");
    let reported: Vec<(String, u64)> = err
        .lines()
        .filter_map(|l| l.strip_prefix("pgdump:   "))
        .filter_map(|l| {
            let (t, n) = l.split_once(": ")?;
            let n = n.trim_end_matches(" rows").trim_end_matches(" pieces");
            Some((t.to_string(), n.replace(',', "").parse().ok()?))
        })
        .collect();
    assert!(!reported.is_empty(), "{r:?}");
    for (table, rows) in &reported {
        if table == "large objects" {
            let los = value(&dst, "SELECT count(*) FROM pg_largeobject_metadata");
            assert_ne!(los, "0", "large-object pieces reported, none kept: {r:?}");
        } else {
            assert_eq!(count(&dst, table), *rows, "{table}: {r:?}");
        }
    }
    let events = reported
        .iter()
        .find(|(t, _)| t == "app.events")
        .map_or(0, |r| r.1);
    assert!(
        events > 0 && events < 20000,
        "app.events partly loaded: {r:?}"
    );
    pg().drop_db(&dst).unwrap();
}

#[test]
fn foreign_files_are_rejected() {
    let dir = scratch();
    let gz = dir.path().join("a.sql.gz");
    // a gzip stream of "hello\n" (RFC 1952)
    std::fs::write(
        &gz,
        [
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9,
            0xc9, 0xe7, 0x02, 0x00, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00,
        ],
    )
    .unwrap();
    let custom = dir.path().join("a.dump");
    let out = Command::new(
        pgdump_tests::pg_dump_path().unwrap_or_else(|_| PathBuf::from("/usr/bin/pg_dump")),
    )
    .args(["-Fc", "-f"])
    .arg(&custom)
    .arg(url(&source().db))
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dst = new_db("cli_foreign", "");
    for (path, what) in [(&gz, "gzip"), (&custom, "pg_dump custom-format")] {
        let p = path.to_str().unwrap();
        let bytes = std::fs::read(path).unwrap();
        for r in [
            run(&["restore", "-d", &url(&dst), p]),
            run_stdin(&["restore", "-d", &url(&dst), "-"], &bytes),
            run(&["verify", p]),
            run(&["list", p]),
            run(&["sql", p]),
        ] {
            let err = fails(&r).stderr.clone();
            assert!(
                err.contains("not a pgdump archive") && err.contains(what),
                "{what}: {r:?}"
            );
        }
    }
    assert_eq!(user_relations(&dst), "0 0");
    pg().drop_db(&dst).unwrap();
}

// ---- sql | psql, restore from stdin

#[test]
fn sql_script_loads_with_psql_and_compares_equivalent() {
    let src = source();
    let dir = scratch();
    let script = dir.path().join("app.sql");
    ok(&run(&["sql", archive(), "-f", script.to_str().unwrap()]));
    let dst = new_db("cli_sql", "");
    let psql = Command::new("/usr/bin/psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url(&dst), "-f"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        psql.status.success(),
        "psql -v ON_ERROR_STOP=1 -f failed:\n{}",
        String::from_utf8_lossy(&psql.stderr)
    );
    assert_equivalent(&src.db, &dst);

    // and streamed: pgdump sql - < archive | psql
    let dst2 = new_db("cli_sql_pipe", "");
    let mut sql = pgdump()
        .args(["sql", "-"])
        .stdin(std::fs::File::open(archive()).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let psql = Command::new("/usr/bin/psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url(&dst2)])
        .stdin(sql.stdout.take().unwrap())
        .output()
        .unwrap();
    let sql_out = sql.wait_with_output().unwrap();
    assert!(
        sql_out.status.success(),
        "{}",
        String::from_utf8_lossy(&sql_out.stderr)
    );
    assert!(
        psql.status.success(),
        "{}",
        String::from_utf8_lossy(&psql.stderr)
    );
    assert_equivalent(&src.db, &dst2);
    pg().drop_db(&dst).unwrap();
    pg().drop_db(&dst2).unwrap();
}

#[test]
fn sql_of_a_damaged_archive_writes_nothing() {
    let dir = scratch();
    for kind in ["frame", "index", "truncated", "unsealed"] {
        let (bytes, frame) = damaged(kind);
        let path = dir.path().join(format!("{kind}.pgdump"));
        std::fs::write(&path, &bytes).unwrap();
        let p = path.to_str().unwrap();
        let r = run(&["sql", p]);
        fails(&r);
        assert!(r.raw_stdout.is_empty(), "sql {kind} wrote a script: {r:?}");
        if kind == "frame" {
            assert!(
                r.stderr.contains(&frame) && r.stderr.contains("TABLE DATA app.events"),
                "{r:?}"
            );
        }
        let script = dir.path().join("out.sql");
        let r = run(&["sql", p, "-f", script.to_str().unwrap()]);
        fails(&r);
        assert!(r.raw_stdout.is_empty(), "{r:?}");
        let mut files = listing(dir.path());
        files.retain(|f| !f.ends_with(".pgdump"));
        assert_eq!(files, Vec::<String>::new(), "sql -f {kind}: {r:?}");
        let r = run_stdin(&["sql", "-"], &bytes);
        fails(&r);
        assert!(
            r.raw_stdout.is_empty(),
            "sql - {kind} wrote a script: {r:?}"
        );
    }
}

/// psql -X -q -v ON_ERROR_STOP=1 of `script` into `db`.
fn psql_script(db: &str, script: &[u8]) -> Run {
    let mut psql = Command::new("/usr/bin/psql");
    psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url(db)]);
    with_stdin(psql, script)
}

#[test]
fn sql_single_transaction_loads_with_psql() {
    let src = source();
    let r = run(&["sql", "-1", archive()]);
    ok(&r);
    assert!(r.stdout.contains("\nBEGIN;\n") && r.stdout.contains("\nCOMMIT;\n"));
    let dst = new_db("cli_sql_1", "");
    ok(&psql_script(&dst, &r.raw_stdout));
    assert_equivalent(&src.db, &dst);
    pg().drop_db(&dst).unwrap();
    let r = run(&["sql", "--single-transaction", "--create", archive()]);
    assert!(
        fails(&r).stderr.contains("cannot be used together"),
        "{r:?}"
    );
    assert!(r.raw_stdout.is_empty());
}

/// The source archive with the data of app.events declared binary without column
/// types: it verifies, but `pgdump sql` cannot convert that table's data.
fn unconvertible_archive(dir: &Path) -> PathBuf {
    let reader = ArchiveReader::open(std::fs::File::open(archive()).unwrap()).unwrap();
    let mut toc = reader.toc().clone();
    let data = toc
        .entries
        .iter_mut()
        .find_map(|e| e.data.as_mut().filter(|d| d.target == "app.events"))
        .unwrap();
    data.format = CopyFormat::Binary;
    data.binary_types.clear();
    let opts = WriterOptions {
        codec: Codec::None,
        ..WriterOptions::default()
    };
    let mut w = ArchiveWriter::new(Vec::new(), &toc, opts).unwrap();
    for e in reader.frame_entries() {
        let f = reader.read_frame(&FrameLocation::from(e)).unwrap();
        w.write_raw(e.stream, e.seq, &f.data, f.meta).unwrap();
    }
    let path = dir.join("unconvertible.pgdump");
    std::fs::write(&path, w.finish().unwrap().1).unwrap();
    path
}

#[test]
fn a_script_that_cannot_be_written_to_the_end_makes_psql_fail() {
    let dir = scratch();
    let path = unconvertible_archive(dir.path());
    let p = path.to_str().unwrap();
    ok(&run(&["verify", p]));
    for single in [false, true] {
        let mut args = vec!["sql", p];
        if single {
            args.push("-1");
        }
        let r = run(&args);
        let err = fails(&r).stderr.clone();
        assert!(err.contains("TABLE DATA app.events"), "{r:?}");
        assert!(
            r.stdout.contains("COPY app.events") && r.stdout.contains("incomplete"),
            "{r:?}"
        );
        let dst = new_db("cli_sql_incomplete", "");
        let psql = psql_script(&dst, &r.raw_stdout);
        assert_ne!(psql.code, 0, "psql loaded an incomplete script: {psql:?}");
        assert!(
            psql.stderr.contains("pgdump: this script is incomplete")
                && psql.stderr.contains("TABLE DATA app.events"),
            "{psql:?}"
        );
        if single {
            assert_eq!(user_relations(&dst), "0 0", "{psql:?}");
        } else {
            // without -1 what came before stays; the table whose data failed is empty
            let before = r.stdout.split("COPY app.events").next().unwrap();
            for table in before
                .lines()
                .filter_map(|l| l.strip_prefix("COPY "))
                .filter_map(|l| l.split(' ').next())
            {
                assert_eq!(count(&dst, table), count(&source().db, table), "{table}");
            }
            assert!(exists(&dst, "app.events"), "{psql:?}");
            assert_eq!(count(&dst, "app.events"), 0);
        }
        pg().drop_db(&dst).unwrap();
    }
}

#[test]
fn restore_from_stdin_with_four_jobs() {
    let src = source();
    let dst = new_db("cli_stdin", "");
    let r = ok(&run_stdin(
        &["restore", "-d", &url(&dst), "-j", "4", "-"],
        &std::fs::read(archive()).unwrap(),
    ))
    .stderr
    .clone();
    assert!(r.contains("0 failed"), "{r}");
    assert_equivalent(&src.db, &dst);

    // dump -f - | restore -: one pipe end to end
    let dst2 = new_db("cli_pipe", "");
    let mut dump = pgdump()
        .args(["dump", "-d", &url(&src.db), "-j", "2", "-f", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let restore = pgdump()
        .args(["restore", "-d", &url(&dst2), "-j", "4", "-"])
        .stdin(dump.stdout.take().unwrap())
        .output()
        .unwrap();
    let d = finish(dump.wait_with_output().unwrap());
    ok(&d);
    ok(&finish(restore));
    assert_equivalent(&src.db, &dst2);
    pg().drop_db(&dst).unwrap();
    pg().drop_db(&dst2).unwrap();
}

// ---- progress display

#[test]
fn no_progress_escape_codes_when_stderr_is_not_a_terminal() {
    let src = source();
    let dir = scratch();
    let out = dir.path().join("p.pgdump");
    let d = ok(&run(&[
        "dump",
        "-d",
        &url(&src.db),
        "-j",
        "2",
        "-f",
        out.to_str().unwrap(),
    ]))
    .stderr
    .clone();
    let dst = new_db("cli_progress", "");
    let r = ok(&run(&[
        "restore",
        "-d",
        &url(&dst),
        "-j",
        "2",
        out.to_str().unwrap(),
    ]))
    .stderr
    .clone();
    for (what, text) in [("dump", &d), ("restore", &r)] {
        assert!(
            !text.contains('\x1b') && !text.contains('\r'),
            "{what}: terminal control characters in captured stderr: {text:?}"
        );
        // the final summary is still printed
        assert!(
            text.contains(if what == "dump" { "dumped" } else { "restored" }),
            "{text}"
        );
    }
    // on a terminal (script(1) gives the dump a pty) the progress display is drawn
    let tty = Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} dump -d {} -j 2 -f {}",
            env!("CARGO_BIN_EXE_pgdump"),
            url(&src.db),
            dir.path().join("tty.pgdump").display()
        ))
        .arg("/dev/null")
        .output()
        .unwrap();
    assert!(tty.status.success());
    assert!(
        String::from_utf8_lossy(&tty.stdout).contains('\x1b'),
        "no progress display on a terminal: {:?}",
        String::from_utf8_lossy(&tty.stdout)
    );
    pg().drop_db(&dst).unwrap();
}

// ---- flag names as pg_dump / pg_restore

#[test]
fn flag_names_as_pg_dump_and_pg_restore() {
    let src = source();
    let dir = scratch();
    let f = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let port = pg().port().to_string();
    let db_url = url(&src.db);
    // pg_dump spellings, long and short
    let dumps: Vec<(&str, Vec<String>)> = vec![
        (
            "long",
            vec![
                "--dbname",
                &db_url,
                "--file",
                &f("long.pgdump"),
                "--jobs",
                "2",
                "--compress",
                "gzip:1",
                "--schema",
                "app",
                "--exclude-table-data",
                "app.events",
                "--no-owner",
                "--no-privileges",
                "--no-comments",
                "--large-objects",
                "--lock-wait-timeout",
                "10s",
                "--serializable-deferrable",
                "--no-unlogged-table-data",
                "--verbose",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            "short",
            vec![
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                &src.db,
                "-f",
                &f("short.pgdump"),
                "-j",
                "2",
                "-Z",
                "zstd:3",
                "-n",
                "app",
                "-N",
                "public",
                "-t",
                "app.*",
                "-T",
                "app.recent",
                "-O",
                "-x",
                "-B",
                "-v",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            "schema-only",
            vec!["-d", &db_url, "-s", "-f", &f("s.pgdump"), "--no-acl"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        (
            "data-only",
            vec!["-d", &db_url, "-a", "-f", &f("a.pgdump"), "-b"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        (
            "schema-only-long",
            vec![
                "-d",
                &db_url,
                "--schema-only",
                "--exclude-schema",
                "public",
                "--exclude-table",
                "app.recent",
                "--table",
                "app.*",
                "-f",
                &f("sl.pgdump"),
                "--no-blobs",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            "data-only-long",
            vec![
                "-d",
                &db_url,
                "--data-only",
                "--blobs",
                "-f",
                &f("al.pgdump"),
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            "gzip level as pg_dump -Z 5",
            vec!["-d", &db_url, "-Z", "5", "-f", &f("z5.pgdump")]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        (
            "no compression as pg_dump -Z 0",
            vec!["-d", &db_url, "-Z", "0", "-f", &f("z0.pgdump")]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        (
            "pg_dump 16 -Z method:level=N",
            vec!["-d", &db_url, "-Z", "zstd:level=5", "-f", &f("zl.pgdump")]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
    ];
    for (what, args) in &dumps {
        let mut a = vec!["dump"];
        a.extend(args.iter().map(String::as_str));
        ok(&run(&a));
        let _ = what;
    }
    // what those flags meant
    let toc = |n: &str| {
        ArchiveReader::open(std::fs::File::open(f(n)).unwrap())
            .unwrap()
            .toc()
            .clone()
    };
    let kinds = |n: &str| {
        toc(n)
            .entries
            .iter()
            .map(|e| e.kind.clone())
            .collect::<Vec<_>>()
    };
    assert!(!kinds("s.pgdump").iter().any(|k| k == "TABLE DATA"));
    let data_only = kinds("a.pgdump");
    assert!(data_only.iter().any(|k| k == "TABLE DATA"), "{data_only:?}");
    for ddl in [
        "TABLE",
        "INDEX",
        "SCHEMA",
        "TYPE",
        "VIEW",
        "CONSTRAINT",
        "FK CONSTRAINT",
    ] {
        assert!(
            !data_only.iter().any(|k| k == ddl),
            "-a dumped {ddl}: {data_only:?}"
        );
    }
    let long = toc("long.pgdump");
    assert!(long
        .entries
        .iter()
        .all(|e| e.kind != "ACL" && e.kind != "COMMENT"));
    assert!(!long
        .entries
        .iter()
        .any(|e| e.kind == "TABLE DATA" && e.name == "events"));
    assert!(
        long.entries.iter().all(|e| e.alter_owner.is_none()),
        "--no-owner"
    );
    let short = toc("short.pgdump");
    assert!(
        !short.entries.iter().any(|e| e.name == "recent"),
        "-T app.recent"
    );
    assert!(short.entries.iter().any(|e| e.name == "people"));
    for z in ["z5.pgdump", "z0.pgdump", "zl.pgdump"] {
        ok(&run(&["verify", &f(z)]));
    }

    // pg_restore spellings
    let full = f("full.pgdump");
    ok(&run(&["dump", "-d", &db_url, "-f", &full]));
    let restores: Vec<Vec<&str>> = vec![
        vec![
            "--jobs",
            "2",
            "--schema",
            "app",
            "--no-owner",
            "--no-privileges",
            "--no-comments",
            "--exit-on-error",
        ],
        vec!["--no-acl", "--schema-only"],
        vec!["-j", "2", "-n", "app", "-O", "-x", "-e"],
        vec![
            "--single-transaction",
            "--section",
            "pre-data",
            "--section",
            "data",
        ],
        vec!["-1", "-s"],
        vec!["-t", "app.people", "--clean", "--if-exists"],
        vec!["--table", "app.people", "-c"],
        vec!["--schema-only", "--exclude-schema", "public"],
        vec!["-N", "public", "-s"],
    ];
    for (i, flags) in restores.iter().enumerate() {
        let dst = new_db(&format!("cli_flags_{i}"), "");
        let mut a = vec!["restore", "--dbname"];
        let u = url(&dst);
        a.push(&u);
        a.extend(flags.iter().copied());
        a.push(&full);
        ok(&run(&a));
        pg().drop_db(&dst).unwrap();
    }
    // --data-only --disable-triggers into the schema; --create; --role
    let dst = new_db("cli_flags_data", "");
    ok(&run(&["restore", "-d", &url(&dst), "--schema-only", &full]));
    ok(&run(&[
        "restore",
        "-d",
        &url(&dst),
        "--data-only",
        "--disable-triggers",
        "-j",
        "2",
        &full,
    ]));
    assert_equivalent(&src.db, &dst);
    let created = format!("cli_flags_created_{}", std::process::id());
    ok(&run(&[
        "restore",
        "-C",
        "-d",
        &url(&created),
        "--role",
        "postgres",
        &full,
    ]));
    assert_equivalent(&src.db, &created);
    pg().drop_db(&created).unwrap();
    ok(&run(&[
        "restore",
        "--create",
        "--dbname",
        &url(&created),
        &full,
    ]));
    pg().drop_db(&created).unwrap();
    pg().drop_db(&dst).unwrap();
}

// ---- failures during a dump, SIGINT, broken pipes

/// A database with a table big enough that its COPY takes a while (about 30 MB).
fn big_db() -> &'static str {
    static DB: OnceLock<String> = OnceLock::new();
    DB.get_or_init(|| {
        new_db(
            "cli_big",
            "CREATE TABLE big (id int PRIMARY KEY, payload text NOT NULL);
             INSERT INTO big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 120000) g;",
        )
    })
}

/// Every reader rejects `bytes`: the archive readers as unsealed or truncated, and
/// `pgdump verify`, `pgdump list` and `pgdump restore -` with a non-zero exit.
fn assert_rejected(what: &str, bytes: &[u8]) {
    assert!(bytes.len() > 4096, "{what}: only {} bytes", bytes.len());
    let e = ArchiveReader::open(bytes).expect_err(what);
    assert!(
        matches!(
            e,
            pgdump_format::FormatError::Unsealed | pgdump_format::FormatError::Truncated { .. }
        ),
        "{what}: {e}"
    );
    let dir = scratch();
    let p = dir.path().join("x.pgdump");
    std::fs::write(&p, bytes).unwrap();
    fails(&run(&["verify", p.to_str().unwrap()]));
    fails(&run_stdin(&["verify", "-"], bytes));
    let dst = new_db("cli_rejected", "");
    let r = run_stdin(&["restore", "-d", &url(&dst), "-"], bytes);
    fails(&r);
    assert_eq!(user_relations(&dst), "0 0", "{what}: {r:?}");
    pg().drop_db(&dst).unwrap();
}

fn wait_exit(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "pgdump did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_stops_a_dump_to_a_file_leaving_nothing() {
    let db = big_db();
    let dir = scratch();
    let dest = dir.path().join("big.pgdump");
    let mut child = pgdump()
        .args(["dump", "-d", &url(db), "--frame-size", "64KiB", "-f"])
        .arg(&dest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the temporary file appears once the data phase is about to start
    let deadline = Instant::now() + Duration::from_secs(30);
    while listing(dir.path()).is_empty() {
        assert!(Instant::now() < deadline, "no temporary file");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(pgdump_tests::send_signal(child.id() as i32, libc::SIGINT));
    let status = wait_exit(&mut child, 30);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "the dump finished before SIGINT: {err}");
    assert!(err.contains("cancelled"), "{err}");
    assert_eq!(listing(dir.path()), Vec::<String>::new(), "{err}");
}

#[test]
fn sigint_and_broken_pipes_leave_stdout_unsealed() {
    let db = big_db();
    // SIGINT while the output is being read
    let mut child = pgdump()
        .args([
            "dump",
            "-d",
            &url(db),
            "--frame-size",
            "64KiB",
            "-Z",
            "none",
            "-f",
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut bytes = vec![0u8; 2 << 20];
    stdout.read_exact(&mut bytes).unwrap();
    assert!(pgdump_tests::send_signal(child.id() as i32, libc::SIGINT));
    stdout.read_to_end(&mut bytes).unwrap();
    let r = finish(child.wait_with_output().unwrap());
    fails(&r);
    assert!(r.stderr.contains("cancelled"), "{r:?}");
    assert_rejected("SIGINT", &bytes);

    // the reader goes away: pgdump fails cleanly (no panic, no hang)
    let mut child = pgdump()
        .args([
            "dump",
            "-d",
            &url(db),
            "--frame-size",
            "64KiB",
            "-Z",
            "none",
            "-f",
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = vec![0u8; 256 << 10];
    stdout.read_exact(&mut head).unwrap();
    drop(stdout);
    let status = wait_exit(&mut child, 60);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.to_lowercase().contains("broken pipe"), "{err}");
}

#[test]
fn a_dump_that_fails_midway_leaves_stdout_unsealed() {
    let db = big_db();
    let app = "pgdump_cli_fail_midway";
    let mut child = pgdump()
        .args([
            "dump",
            "-d",
            &format!("{}?application_name={app}", url(db)),
            "--frame-size",
            "64KiB",
            "-Z",
            "none",
            "-f",
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // the COPY is running (and waiting for us to read): terminate its backend
    let mut bytes = vec![0u8; 2 << 20];
    stdout.read_exact(&mut bytes).unwrap();
    let n = value(
        "postgres",
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = '{app}' AND query LIKE 'COPY%'"
        ),
    );
    assert_eq!(n, "1");
    stdout.read_to_end(&mut bytes).unwrap();
    let r = finish(child.wait_with_output().unwrap());
    fails(&r);
    assert!(r.stderr.contains("COPY public.big"), "{r:?}");
    assert_rejected("backend terminated", &bytes);
}

/// pgdump's exit code with stdout and stderr as given.
fn exit_code(args: &[&str], stdout: Stdio, stderr: Stdio) -> i32 {
    pgdump()
        .args(args)
        .stdout(stdout)
        .stderr(stderr)
        .status()
        .unwrap()
        .code()
        .unwrap_or(-1)
}

fn dev_full() -> Stdio {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

#[test]
fn closed_or_full_stdout_and_stderr_never_panic() {
    let src = source();
    let dir = scratch();
    // stdout a pipe nobody reads (its reading end closed before pgdump writes)
    for args in [
        vec!["verify", archive()],
        vec!["verify", "--json", archive()],
        vec!["list", archive()],
        vec!["list", "--json", archive()],
        vec!["sql", archive()],
        vec!["--help"],
        vec!["list", "--help"],
    ] {
        // a socket whose other end is closed before pgdump starts: every write fails
        // with EPIPE, however early it comes (--help writes at once)
        let (out, peer) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(peer);
        let out: std::os::fd::OwnedFd = out.into();
        let r = finish(
            pgdump()
                .args(&args)
                .stdout(Stdio::from(out))
                .stderr(Stdio::piped())
                .output()
                .unwrap(),
        );
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        fails(&r);
        assert!(
            r.stderr.starts_with("pgdump: error: ")
                && r.stderr.to_lowercase().contains("broken pipe")
                && r.stderr.lines().count() == 1,
            "{args:?}: {r:?}"
        );
    }
    // stdout on a full disk
    for args in [vec!["verify", archive()], vec!["list", archive()]] {
        let r = finish(
            pgdump()
                .args(&args)
                .stdout(dev_full())
                .stderr(Stdio::piped())
                .output()
                .unwrap(),
        );
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(
            r.stderr
                .contains("writing to stdout: No space left on device"),
            "{args:?}: {r:?}"
        );
    }
    // stderr on a full disk: the messages are lost, the exit status is not
    let (bytes, _) = damaged("frame");
    let bad = dir.path().join("bad.pgdump");
    std::fs::write(&bad, bytes).unwrap();
    let out = dir.path().join("v.pgdump");
    let db = url(&src.db);
    for (args, code) in [
        (vec!["verify", bad.to_str().unwrap()], 1),
        (vec!["sql", bad.to_str().unwrap()], 1),
        (vec!["restore", "-d", &db, "/nonexistent/x.pgdump"], 1),
        (vec!["no-such-command"], 2),
        (vec!["verify", archive()], 0),
        // debug output of the tracing subscriber, and the summary
        (
            vec!["-vv", "dump", "-d", &db, "-f", out.to_str().unwrap()],
            0,
        ),
    ] {
        assert_eq!(
            exit_code(&args, Stdio::null(), dev_full()),
            code,
            "{args:?}"
        );
    }
    ok(&run(&["verify", out.to_str().unwrap()]));
    // both closed
    let mut child = pgdump()
        .args(["verify", bad.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

#[test]
fn the_next_dump_removes_what_a_killed_dump_left() {
    use std::os::unix::fs::PermissionsExt;
    let db = big_db();
    let dir = scratch();
    let dest = dir.path().join("big.pgdump");
    let dump = || {
        pgdump()
            .args(["dump", "-d", &url(db), "--frame-size", "64KiB", "-f"])
            .arg(&dest)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = dump();
    let deadline = Instant::now() + Duration::from_secs(30);
    while listing(dir.path()).is_empty() {
        assert!(Instant::now() < deadline, "no temporary file");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let left = listing(dir.path());
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0].starts_with(&format!(".big.pgdump.tmp-{}-", child.id())),
        "the dump finished before it was killed: {left:?}"
    );
    // a temporary file of a running process stays
    let running = format!(".big.pgdump.tmp-{}-1", std::process::id());
    std::fs::write(dir.path().join(&running), "x").unwrap();

    let again = dump().wait().unwrap();
    assert!(again.success());
    assert_eq!(
        listing(dir.path()),
        vec![running.clone(), "big.pgdump".to_string()]
    );
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    ok(&run(&["verify", dest.to_str().unwrap()]));
}

// ---- passwords

const PW: &str = "Sekr1t-pw-7c1d";

/// A cluster of its own that asks `pw_user` for a password (scram-sha-256).
fn password_cluster() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| {
        let c = Cluster::start(15).unwrap();
        std::fs::write(
            c.data_dir().join("pg_hba.conf"),
            "local all all trust\n\
             host all pw_user 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        c.execute(
            "postgres",
            &format!("CREATE ROLE pw_user LOGIN SUPERUSER PASSWORD '{PW}'"),
        )
        .unwrap();
        c.execute("postgres", "SELECT pg_reload_conf()").unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while c
            .query_value(
                "postgres",
                "SELECT count(*) FROM pg_hba_file_rules WHERE user_name = '{pw_user}'",
            )
            .unwrap()
            != "1"
        {
            assert!(Instant::now() < deadline, "pg_hba.conf not reloaded");
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    })
}

fn no_password(what: &str, text: &[u8]) {
    let hay = String::from_utf8_lossy(text);
    assert!(!hay.contains(PW), "{what} shows the password:\n{hay}");
}

#[test]
fn passwords_never_show() {
    let c = password_cluster();
    let db = c.create_db("pw").unwrap();
    c.execute(
        &db,
        "CREATE TABLE t (id int, v text);
         INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 200000) g;",
    )
    .unwrap();
    let port = c.port().to_string();
    let dir = scratch();
    let archive = dir.path().join("pw.pgdump");
    let with_env = |cmd: &mut Command| {
        cmd.env("PGPASSWORD", PW)
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", &port)
            .env("PGUSER", "pw_user");
    };
    // without the password: refused (the cluster really asks for it)
    let r = finish(
        pgdump()
            .args([
                "dump",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "pw_user",
                "-d",
                &db,
                "-f",
            ])
            .arg(&archive)
            .output()
            .unwrap(),
    );
    assert!(fails(&r).stderr.contains("password"), "{r:?}");

    // PGPASSWORD: while the dump runs, neither pgdump's command line nor its thread names
    // nor the server's view of the session show it
    let mut cmd = pgdump();
    with_env(&mut cmd);
    let mut child = cmd
        .args(["dump", "-d", &db, "-j", "2", "--frame-size", "16KiB", "-f"])
        .arg(&archive)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut seen_sessions = String::new();
    while child.try_wait().unwrap().is_none() {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        if let Ok(cmdline) = std::fs::read(proc_dir.join("cmdline")) {
            no_password("/proc/PID/cmdline", &cmdline);
        }
        if let Ok(tasks) = std::fs::read_dir(proc_dir.join("task")) {
            for t in tasks.flatten() {
                if let Ok(comm) = std::fs::read(t.path().join("comm")) {
                    no_password("a thread name", &comm);
                }
            }
        }
        if let Ok(rows) = c.query(
            "postgres",
            "SELECT application_name || ' ' || coalesce(query, '') FROM pg_stat_activity \
             WHERE usename = 'pw_user'",
        ) {
            for row in rows {
                seen_sessions.push_str(row[0].as_deref().unwrap_or(""));
                seen_sessions.push('\n');
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = finish(child.wait_with_output().unwrap());
    ok(&out);
    no_password("pg_stat_activity", seen_sessions.as_bytes());
    assert!(seen_sessions.contains("pgdump"), "{seen_sessions}");
    no_password("the archive", &std::fs::read(&archive).unwrap());
    let toc = ArchiveReader::open(std::fs::File::open(&archive).unwrap()).unwrap();
    no_password(
        "the TOC",
        serde_json::to_string(toc.toc()).unwrap().as_bytes(),
    );
    for cmd in [["list", "--json"], ["verify", "--json"]] {
        no_password(
            cmd[0],
            &run(&[cmd[0], cmd[1], archive.to_str().unwrap()]).raw_stdout,
        );
    }

    // a URI with the password: works, and no error message repeats it
    let uri = |dbname: &str| format!("postgresql://pw_user:{PW}@127.0.0.1:{port}/{dbname}");
    let dst = c.create_db("pw_dst").unwrap();
    ok(&finish(
        pgdump()
            .args(["restore", "-j", "2", "-d", &uri(&dst)])
            .arg(&archive)
            .output()
            .unwrap(),
    ));
    for args in [
        vec![
            "dump".to_string(),
            "-d".into(),
            uri("no_such_db"),
            "-f".into(),
            "-".into(),
        ],
        vec![
            "restore".into(),
            "-d".into(),
            uri("no_such_db"),
            archive.display().to_string(),
        ],
        vec![
            "dump".into(),
            "-d".into(),
            format!("postgresql://pw_user:{PW}@127.0.0.1:1/{db}"),
            "-f".into(),
            "-".into(),
        ],
        vec![
            "restore".into(),
            "-d".into(),
            format!("postgresql://pw_user:{PW}x@127.0.0.1:{port}/{dst}"),
            archive.display().to_string(),
        ],
        // an item failure (the tables exist already) reports the object, not the URI
        vec![
            "restore".into(),
            "-d".into(),
            uri(&dst),
            archive.display().to_string(),
        ],
    ] {
        let mut cmd = pgdump();
        let r = finish(cmd.args(&args).stdout(Stdio::null()).output().unwrap());
        fails(&r);
        no_password(&format!("stderr of {}", args[0]), r.stderr.as_bytes());
    }
}

// ---- destructive restores stopped by signals; servers that never answer

/// The app schema plus a table big enough that a restore takes a while; a template
/// copy of it (never connected to) and its archive.
struct StopSource {
    db: String,
    tpl: String,
    archive: PathBuf,
    _dir: tempfile::TempDir,
}

fn stop_source() -> &'static StopSource {
    static S: OnceLock<StopSource> = OnceLock::new();
    S.get_or_init(|| {
        let db = new_db(
            "cli_stop",
            &format!(
                "{APP_SQL}
                 CREATE TABLE app.big (id int PRIMARY KEY, payload text NOT NULL);
                 INSERT INTO app.big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 100000) g;
                 CREATE INDEX big_payload ON app.big (payload);"
            ),
        );
        let tpl = format!("{db}_tpl");
        pg().execute("postgres", &format!("CREATE DATABASE {tpl} TEMPLATE {db}"))
            .unwrap();
        let dir = scratch();
        let archive = dir.path().join("stop.pgdump");
        ok(&run(&[
            "dump",
            "-d",
            &url(&db),
            "-j",
            "2",
            "-f",
            archive.to_str().unwrap(),
        ]));
        StopSource {
            db,
            tpl,
            archive,
            _dir: dir,
        }
    })
}

/// A new database copied from `of`.
fn copy_db(of: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let name = format!(
        "{of}_{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    pg().execute("postgres", &format!("CREATE DATABASE {name} TEMPLATE {of}"))
        .unwrap();
    name
}

/// Databases pgdump made beside `db`.
fn beside(db: &str) -> Vec<String> {
    pg().query(
        "postgres",
        &format!("SELECT datname FROM pg_database WHERE datname LIKE '{db}\\_pgdump\\_%'"),
    )
    .unwrap()
    .into_iter()
    .map(|r| r[0].clone().unwrap_or_default())
    .collect()
}

fn drop_with_beside(db: &str) {
    for b in beside(db) {
        pg().drop_db(&b).unwrap();
    }
    pg().drop_db(db).unwrap();
}

#[test]
fn signals_at_any_point_of_a_destructive_restore_leave_the_target_unchanged() {
    let src = stop_source();
    let archive = src.archive.to_str().unwrap();
    let modes: [(&str, &[&str]); 2] = [
        ("--clean -1", &["--clean", "--single-transaction"]),
        (
            "--replace",
            &["--replace", "--terminate-connections", "-j", "2"],
        ),
    ];
    for (what, flags) in modes {
        let restore = |db: &str| {
            let mut c = pgdump();
            c.args(["restore", "-d", &url(db)])
                .args(flags)
                .arg(archive)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            c
        };
        // whole runs, for the kill points (the faster of two: a loaded machine slows
        // some runs down, and a kill point after the end tests nothing)
        let mut whole = Duration::MAX;
        for _ in 0..2 {
            let live = copy_db(&src.tpl);
            let started = Instant::now();
            let out = restore(&live).output().unwrap();
            whole = whole.min(started.elapsed());
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_equivalent(&src.db, &live);
            drop_with_beside(&live);
        }

        for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGKILL, "SIGKILL")] {
            let mut stopped = 0;
            for k in 1..=4u32 {
                let at = whole * k / 6;
                let live = copy_db(&src.tpl);
                pg().execute(&live, "DELETE FROM app.events WHERE id % 3 = 0")
                    .unwrap();
                let before = copy_db(&live);
                let mut child = restore(&live).spawn().unwrap();
                std::thread::sleep(at);
                pgdump_tests::send_signal(child.id() as i32, sig);
                let status = wait_exit(&mut child, 30);
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                let ctx = format!("{what}, {name} at {at:?}: {status:?} {err}");
                if status.success() {
                    // finished before the signal
                    assert_equivalent(&src.db, &live);
                } else {
                    stopped += 1;
                    let r = compare(&before, &live);
                    assert_eq!(r.code, 0, "{ctx}\nthe target changed:\n{}", r.stdout);
                    if sig == libc::SIGTERM {
                        assert!(err.contains("unchanged"), "{ctx}");
                        assert_eq!(beside(&live), Vec::<String>::new(), "{ctx}");
                    }
                }
                drop_with_beside(&live);
                pg().drop_db(&before).unwrap();
            }
            assert!(
                stopped >= 2,
                "{what}: {name} stopped only {stopped} of 4 runs"
            );
        }
    }
    // after killed --replace runs, the next one drops what they left and swaps
    let live = copy_db(&src.tpl);
    let mut child = pgdump()
        .args([
            "restore",
            "-d",
            &url(&live),
            "--replace",
            "-j",
            "2",
            archive,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while beside(&live).is_empty() {
        assert!(Instant::now() < deadline, "--replace made no database");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    pgdump_tests::send_signal(child.id() as i32, libc::SIGKILL);
    wait_exit(&mut child, 30);
    let left = beside(&live);
    let r = ok(&run(&[
        "restore",
        "-d",
        &url(&live),
        "--replace",
        "--keep-previous",
        "0",
        archive,
    ]))
    .stderr
    .clone();
    for l in &left {
        assert!(r.contains(&format!("dropped database {l}")), "{l}: {r}");
    }
    assert_eq!(beside(&live), Vec::<String>::new(), "{r}");
    assert_equivalent(&src.db, &live);
    drop_with_beside(&live);
}

#[test]
fn the_safe_emergency_restore_of_the_readme() {
    let src = stop_source();
    let live = copy_db(&src.tpl);
    pg().execute(&live, "DELETE FROM app.big WHERE id > 50000")
        .unwrap();
    let before = copy_db(&live);
    let dir = scratch();
    let safety = dir.path().join("before-restore.pgdump");
    let r = ok(&run(&[
        "restore",
        "-d",
        &url(&live),
        "--replace",
        "--terminate-connections",
        "--safety-backup",
        safety.to_str().unwrap(),
        "-j",
        "2",
        src.archive.to_str().unwrap(),
    ]))
    .stderr
    .clone();
    assert!(
        r.contains("safety backup") && r.contains("swapped in"),
        "{r}"
    );
    assert_equivalent(&src.db, &live);
    ok(&run(&["verify", safety.to_str().unwrap()]));
    // the safety backup holds the database as it was
    let check = new_db("cli_safety_check", "");
    ok(&run(&[
        "restore",
        "-d",
        &url(&check),
        safety.to_str().unwrap(),
    ]));
    assert_equivalent(&before, &check);
    for db in [&live, &before, &check] {
        drop_with_beside(db);
    }
}

/// A TCP server that accepts connections and never answers.
fn silent_server() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn a_server_that_never_answers_neither_hangs_nor_ignores_signals() {
    let (_listener, port) = silent_server();
    let target = format!("postgres://postgres@127.0.0.1:{port}/x");
    let dir = scratch();
    let file = dir.path().join("x.pgdump");
    // a connect timeout from the environment ends them with one message
    for args in [
        vec!["dump", "-d", &target, "-f", file.to_str().unwrap()],
        vec!["restore", "-d", &target, archive()],
    ] {
        let started = Instant::now();
        let r = finish(
            pgdump()
                .args(&args)
                .env("PGCONNECT_TIMEOUT", "2")
                .output()
                .unwrap(),
        );
        assert_ne!(r.code, 0, "{args:?}: {r:?}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{args:?}: {r:?}"
        );
        assert!(r.stderr.contains(&format!("127.0.0.1:{port}")), "{r:?}");
        assert!(
            r.stderr.contains("timeout") || r.stderr.contains("timed out"),
            "{r:?}"
        );
        assert!(!file.exists());
    }
    // waiting for ever (connect_timeout=0): a signal still ends them at once
    for args in [
        vec!["dump", "-d", &target, "-f", file.to_str().unwrap()],
        vec!["restore", "-d", &target, "--replace", archive()],
    ] {
        let mut child = pgdump()
            .args(&args)
            .env("PGCONNECT_TIMEOUT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let signalled = Instant::now();
        assert!(pgdump_tests::send_signal(child.id() as i32, libc::SIGTERM));
        let status = wait_exit(&mut child, 10);
        assert!(!status.success(), "{args:?}");
        assert!(
            signalled.elapsed() < Duration::from_secs(3),
            "{args:?}: {:?} after SIGTERM",
            signalled.elapsed()
        );
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(err.contains("cancelled"), "{args:?}: {err}");
        assert!(!file.exists());
    }
}
