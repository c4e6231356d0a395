//! `pgdump_core::copy_text` against real servers: a table with a column per supported
//! type, filled with edge values and random ones, is copied out in binary and in text
//! format; the binary rows converted by `copy_text` must equal the server's text rows
//! byte for byte. Where a server prints a value differently but equivalently (floats
//! before PostgreSQL 12, `money`), the converted text is loaded into a copy of the table
//! and both tables must hold the same rows. Everything we print is loaded back too.
//!
//! COPY runs over a minimal protocol client (below), so the session is exactly the one
//! pgdump dumps with.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::{bail, ensure, Context, Result};
use pgdump_core::copy_text::{
    frame_to_text, is_supported, tuple_to_text, ColumnType, SUPPORTED_TYPES,
};
use pgdump_tests::{shared_cluster, Cluster};

#[test]
fn copy_text_matches_pg10() {
    oracle(10);
}

#[test]
fn copy_text_matches_pg13() {
    oracle(13);
}

#[test]
fn copy_text_matches_pg15() {
    oracle(15);
}

#[test]
fn copy_text_matches_pg17() {
    oracle(17);
}

#[test]
fn copy_text_matches_pg18() {
    oracle(18);
}

/// Every major the harness knows (10..=18); needs `scripts/fetch-postgres` for each.
#[test]
#[ignore]
fn copy_text_matches_all_majors() {
    for major in pgdump_tests::binaries::SUPPORTED_MAJORS {
        oracle(major);
    }
}

/// Conversion speed on a wide table of mixed types (`--ignored --nocapture`). The test
/// profile is barely optimised; `PGDUMP_COPY_TEXT_SAVE=/path/prefix` saves the binary frame
/// as `prefix.wide.bin` to time it in a release build (column types as listed below).
#[test]
#[ignore]
fn copy_text_throughput() {
    let pg = shared_cluster(15);
    let run = || -> Result<()> {
        let db = pg.create_db("copy_text_speed")?;
        let mut w = Wire::connect(pg.port(), &db)?;
        w.query(
            "CREATE TABLE wide (id bigint, name text, amount numeric(12,2), payload jsonb, blob bytea, \
             created timestamptz, score float8, tags text[], ids int[], uid uuid, day date, flag bool, \
             note varchar(100), qty int);
             INSERT INTO wide SELECT i, md5(i::text), (random() * 1e6)::numeric(12,2), \
               jsonb_build_object('id', i, 'tags', jsonb_build_array('a', 'b c'), 'v', random()), \
               decode(md5(i::text), 'hex'), now() - random() * interval '1000 days', random() * 1000, \
               ARRAY['x' || i % 10, 'y z'], ARRAY[i, i + 1, i + 2]::int[], md5((i * 7)::text)::uuid, \
               date '2020-01-01' + i % 2000, i % 3 = 0, 'note ' || i, i % 1000 \
             FROM generate_series(1, 200000) i",
        )?;
        let binary = w.copy_out("COPY wide TO STDOUT (FORMAT binary)")?;
        let frame = binary_body(&binary)?;
        let types: Vec<ColumnType> = [
            20u32, 25, 1700, 3802, 17, 1184, 701, 1009, 1007, 2950, 1082, 16, 1043, 23,
        ]
        .into_iter()
        .map(ColumnType::Builtin)
        .collect();
        if let Ok(path) = std::env::var("PGDUMP_COPY_TEXT_SAVE") {
            std::fs::write(format!("{path}.wide.bin"), frame)?;
        }
        let mut out = Vec::new();
        let start = std::time::Instant::now();
        let rows = frame_to_text(frame, &types, &mut out)?;
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{rows} rows, {:.1} MB binary -> {:.1} MB text in {secs:.3} s: {:.1} MB/s of binary input",
            frame.len() as f64 / 1e6,
            out.len() as f64 / 1e6,
            frame.len() as f64 / 1e6 / secs
        );
        let text = w.copy_out("COPY wide TO STDOUT")?;
        ensure!(out == text, "the converted text differs from the server's");
        drop(w);
        Wire::connect(pg.port(), "postgres")?.query(&format!("DROP DATABASE {db}"))?;
        Ok(())
    };
    run().unwrap();
}

/// Rows of random values per generator (SQL-generated and client-generated binary).
const RANDOM_ROWS: usize = 1500;

fn oracle(major: u32) {
    let pg = shared_cluster(major);
    if let Err(e) = run_oracle(pg) {
        panic!("PostgreSQL {major}: {e:#}");
    }
}

/// The session settings pgdump dumps with.
const SESSION: &[(&str, &str)] = &[
    ("DateStyle", "ISO"),
    ("IntervalStyle", "postgres"),
    ("extra_float_digits", "3"),
    ("TimeZone", "UTC"),
    ("bytea_output", "hex"),
    ("client_encoding", "UTF8"),
    ("lc_monetary", "C"),
    ("standard_conforming_strings", "on"),
];

fn run_oracle(pg: &Cluster) -> Result<()> {
    let major = pg.major();
    let db = pg.create_db("copy_text")?;
    let mut w = Wire::connect(pg.port(), &db)?;
    check_type_table(&mut w)?;

    let xml_ok = w.query("SELECT '<a/>'::xml").is_ok();
    let cols: Vec<Column> = columns(major, xml_ok);
    let mut ddl = String::from(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'a b', 'NULL', 'x\"y');\n\
         CREATE DOMAIN posint AS int CHECK (VALUE > 0);\n\
         CREATE TABLE ct (id int PRIMARY KEY",
    );
    for c in &cols {
        write!(ddl, ", {} {}", c.name, c.ty)?;
    }
    ddl.push_str(");");
    w.query(&ddl)?;

    // 1. edge values, one column at a time
    let mut id = 0;
    let mut sql = String::new();
    for c in &cols {
        for lit in &c.edges {
            id += 1;
            writeln!(
                sql,
                "INSERT INTO ct (id, {}) VALUES ({id}, ({lit})::{});",
                c.name, c.ty
            )?;
        }
    }
    id += 1;
    writeln!(sql, "INSERT INTO ct (id) VALUES ({id});")?;
    w.query(&sql).context("inserting edge values")?;

    // 2. random values generated by the server
    let mut names = String::new();
    let mut exprs = String::new();
    for c in cols.iter().filter(|c| !c.random.is_empty()) {
        write!(names, ", {}", c.name)?;
        write!(
            exprs,
            ", CASE WHEN random() < 0.05 THEN NULL ELSE ({})::{} END",
            c.random, c.ty
        )?;
    }
    w.query("SELECT setseed(0.4242)")?;
    w.query(&format!(
        "INSERT INTO ct (id{names}) SELECT 100000 + i{exprs} FROM generate_series(1, {RANDOM_ROWS}) i"
    ))
    .context("inserting random values")?;

    // 3. random binary values generated here, loaded with binary COPY
    let bin_cols: Vec<&Column> = cols.iter().filter(|c| c.bin.is_some()).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(major));
    let mut copy = pgdump_core::copy_data::binary_header();
    for i in 0..RANDOM_ROWS {
        copy.extend_from_slice(&(bin_cols.len() as i16 + 1).to_be_bytes());
        put_field(&mut copy, Some(&(200_000 + i as i32).to_be_bytes()));
        for c in &bin_cols {
            let gen = c.bin.expect("filtered");
            if rng.below(20) == 0 {
                put_field(&mut copy, None);
            } else {
                let v = gen(&mut rng, major);
                put_field(&mut copy, Some(&v));
            }
        }
    }
    copy.extend_from_slice(&(-1i16).to_be_bytes());
    let list: Vec<&str> = bin_cols.iter().map(|c| c.name).collect();
    w.copy_in(
        &format!(
            "COPY ct (id, {}) FROM STDIN (FORMAT binary)",
            list.join(", ")
        ),
        &copy,
    )
    .context("loading random binary values")?;

    // the column types as pgdump would pass them
    let types = column_types(&mut w)?;
    ensure!(types.len() == cols.len() + 1);
    for (t, c) in types
        .iter()
        .zip(std::iter::once("id").chain(cols.iter().map(|c| c.name)))
    {
        if let ColumnType::Builtin(o) = t {
            ensure!(
                is_supported(*o),
                "column {c}: type oid {o} is not supported"
            );
        }
    }

    // binary and text COPY of the same rows
    let binary = w.copy_out("COPY (SELECT * FROM ct ORDER BY id) TO STDOUT (FORMAT binary)")?;
    let text = w.copy_out("COPY (SELECT * FROM ct ORDER BY id) TO STDOUT")?;
    let tuples = binary_body(&binary)?;
    if let Ok(path) = std::env::var("PGDUMP_COPY_TEXT_SAVE") {
        // the frame, for measuring throughput elsewhere
        std::fs::write(format!("{path}.pg{major}.bin"), tuples)?;
    }

    let mut converted = Vec::new();
    let rows = frame_to_text(tuples, &types, &mut converted).context("frame_to_text")?;
    let text_rows: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    ensure!(
        rows as usize == text_rows.len(),
        "{rows} rows converted, {} printed",
        text_rows.len()
    );
    ensure!(rows as usize > 2 * RANDOM_ROWS);

    // row by row: byte-equal, except where this server prints equivalent text
    let ours: Vec<&[u8]> = converted.split_inclusive(|&b| b == b'\n').collect();
    ensure!(ours.len() == text_rows.len());
    let mut failures = Vec::new();
    let mut equivalent = 0usize;
    let mut identical = 0usize;
    let mut differing = std::collections::BTreeMap::<&str, usize>::new();
    for (mine, theirs) in ours.iter().zip(&text_rows) {
        if mine == theirs {
            identical += 1;
            continue;
        }
        let a: Vec<&[u8]> = mine
            .strip_suffix(b"\n")
            .unwrap_or(mine)
            .split(|&b| b == b'\t')
            .collect();
        let b: Vec<&[u8]> = theirs
            .strip_suffix(b"\n")
            .unwrap_or(theirs)
            .split(|&b| b == b'\t')
            .collect();
        ensure!(
            a.len() == b.len(),
            "column count differs: {}",
            String::from_utf8_lossy(mine)
        );
        let mut only_equivalent = true;
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            if x == y {
                continue;
            }
            let col = if k == 0 { None } else { cols.get(k - 1) };
            // lc_monetary=C prints $1,234.56 where we print 1234.56
            if col.is_some_and(|c| c.name == "c_money") {
                let plain: Vec<u8> = y
                    .iter()
                    .copied()
                    .filter(|&c| c != b'$' && c != b',')
                    .collect();
                if plain == *x {
                    *differing.entry(col.map_or("id", |c| c.name)).or_insert(0) += 1;
                    continue;
                }
            }
            let may_differ = col.is_some_and(|c| c.differs_on(major));
            if may_differ {
                *differing.entry(col.map_or("id", |c| c.name)).or_insert(0) += 1;
            } else {
                only_equivalent = false;
                failures.push(format!(
                    "row {} column {}: ours {:?}, server {:?}",
                    String::from_utf8_lossy(a[0]),
                    col.map_or("id", |c| c.name),
                    String::from_utf8_lossy(x),
                    String::from_utf8_lossy(y)
                ));
            }
        }
        if only_equivalent {
            equivalent += 1;
        }
    }
    if !failures.is_empty() {
        let n = failures.len();
        failures.truncate(40);
        bail!(
            "{n} values differ from the server's text:\n{}",
            failures.join("\n")
        );
    }
    eprintln!(
        "PostgreSQL {major}: {rows} rows, {} columns (xml: {xml_ok}), {} binary bytes: {identical} rows \
         identical, {equivalent} with equivalent values (values per column: {differing:?})",
        types.len(),
        tuples.len()
    );

    // tuple by tuple gives the same as the frame
    let mut one_by_one = Vec::new();
    pgdump_core::copy_data::for_each_row(pgdump_format::CopyFormat::Binary, tuples, |t| {
        tuple_to_text(t, &types, &mut one_by_one).expect("tuple_to_text");
    })?;
    ensure!(one_by_one == converted);

    // everything we print loads back to the same values
    w.query("CREATE TABLE ct2 (LIKE ct)")?;
    w.copy_in("COPY ct2 FROM STDIN", &converted)
        .context("loading the converted text")?;
    // compare the rows' text (json, xml and point have no equality operator)
    let diff = w.query(
        "SELECT 'dumped', x FROM (SELECT t::text AS x FROM ct t EXCEPT ALL SELECT t::text FROM ct2 t) a \
         UNION ALL SELECT 'loaded', x FROM (SELECT t::text AS x FROM ct2 t EXCEPT ALL SELECT t::text FROM ct t) b \
         LIMIT 10",
    )?;
    ensure!(
        diff.is_empty(),
        "the converted text loads different rows: {diff:#?}"
    );
    let n = w.query("SELECT count(*) FROM ct2")?;
    ensure!(n[0][0].as_deref() == Some(&*rows.to_string()));

    drop(w);
    Wire::connect(pg.port(), "postgres")?.query(&format!("DROP DATABASE {db}"))?;
    Ok(())
}

/// The binary rows: the COPY data without its header and trailer.
fn binary_body(data: &[u8]) -> Result<&[u8]> {
    ensure!(
        data.starts_with(pgdump_core::copy_data::BINARY_SIGNATURE),
        "no PGCOPY signature"
    );
    let ext = u32::from_be_bytes(data[15..19].try_into()?) as usize;
    let body = &data[19 + ext..];
    body.strip_suffix(&[0xff, 0xff])
        .context("no binary COPY trailer")
}

fn put_field(buf: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(v) => {
            buf.extend_from_slice(&(v.len() as i32).to_be_bytes());
            buf.extend_from_slice(v);
        }
    }
}

/// Every built-in type's array type is supported exactly when its element type is,
/// and nothing else is supported.
fn check_type_table(w: &mut Wire) -> Result<()> {
    let rows = w.query(
        "SELECT t.oid::int8, t.typname, t.typelem::int8, t.typarray::int8, \
                EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid) \
         FROM pg_type t WHERE t.oid < 16384",
    )?;
    let mut seen = 0;
    for r in &rows {
        let oid: u32 = r[0].as_deref().unwrap_or("0").parse()?;
        let name = r[1].as_deref().unwrap_or("?");
        let elem: u32 = r[2].as_deref().unwrap_or("0").parse()?;
        let array: u32 = r[3].as_deref().unwrap_or("0").parse()?;
        let is_array = r[4].as_deref() == Some("t");
        let scalar = SUPPORTED_TYPES.contains(&oid);
        if scalar {
            seen += 1;
            ensure!(!is_array, "{name} ({oid}) is an array type");
            ensure!(
                array != 0 && is_supported(array),
                "{name}[] ({array}) is not supported"
            );
        }
        let expected = scalar || (is_array && SUPPORTED_TYPES.contains(&elem));
        ensure!(
            is_supported(oid) == expected,
            "is_supported({oid}) for {name} should be {expected}"
        );
    }
    ensure!(
        seen > 40,
        "only {seen} supported types exist on this server"
    );
    Ok(())
}

/// The table's column types as pgdump passes them: domains as their base type, enums
/// (and arrays of enums) as such, arrays of domains as arrays of the base type.
fn column_types(w: &mut Wire) -> Result<Vec<ColumnType>> {
    let rows = w.query(
        "SELECT t.typtype, t.oid::int8, b.oid::int8, e.typtype, e.typbasetype::int8, \
                (SELECT typarray FROM pg_type WHERE oid = e.typbasetype)::int8 \
         FROM pg_attribute a \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_type b ON b.oid = t.typbasetype \
         LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' \
         WHERE a.attrelid = 'ct'::regclass AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
    )?;
    rows.iter()
        .map(|r| {
            let num = |i: usize| -> Result<u32> { Ok(r[i].as_deref().context("NULL")?.parse()?) };
            Ok(match (r[0].as_deref(), r[3].as_deref()) {
                (Some("e"), _) => ColumnType::Enum,
                (Some("d"), _) => ColumnType::Builtin(num(2)?),
                (_, Some("e")) => ColumnType::EnumArray,
                (_, Some("d")) => ColumnType::Builtin(num(5)?),
                _ => ColumnType::Builtin(num(1)?),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The columns

type BinGen = fn(&mut Rng, u32) -> Vec<u8>;

struct Column {
    name: &'static str,
    ty: &'static str,
    /// SQL literals (cast to the column type).
    edges: Vec<String>,
    /// An SQL expression of a random value (`i` is the row number), or "".
    random: String,
    /// A generator of random binary values.
    bin: Option<BinGen>,
    /// The server prints floats in it (old servers: more digits than needed).
    floats: bool,
    /// money[]: the server prints elements with currency symbol and separators
    /// (c_money is compared without them).
    money: bool,
}

impl Column {
    fn differs_on(&self, major: u32) -> bool {
        self.money || (self.floats && major < 12)
    }
}

fn col(name: &'static str, ty: &'static str, edges: &[&str], random: &str) -> Column {
    Column {
        name,
        ty,
        edges: edges.iter().map(|s| s.to_string()).collect(),
        random: random.to_string(),
        bin: None,
        floats: false,
        money: false,
    }
}

impl Column {
    fn bin(mut self, g: BinGen) -> Self {
        self.bin = Some(g);
        self
    }
    fn floats(mut self) -> Self {
        self.floats = true;
        self
    }
    fn edge(mut self, cond: bool, lits: &[&str]) -> Self {
        if cond {
            self.edges.extend(lits.iter().map(|s| s.to_string()));
        }
        self
    }
}

/// A random word of 1-8 characters from an alphabet with everything that needs quoting.
const WORD: &str = "(SELECT string_agg(substr('abcxyz ,{}\"\\()[]''é✓😀\t\nNUL', (1 + floor(random() * 29))::int, 1), '') \
                    FROM generate_series(0, (i * 7 + floor(random() * 8)::int) % 8))";

fn columns(major: u32, xml: bool) -> Vec<Column> {
    let rnd_num = "round(((random() - 0.5) * 10 ^ (floor(random() * 40) - 20))::numeric, floor(random() * 30)::int)";
    let rnd_ts = "timestamp '2000-01-01' + (random() - 0.5) * interval '3000000 days' + random() * interval '1 day'";
    let mut cols = vec![
        col("c_bool", "boolean", &["true", "false"], "random() < 0.5").bin(|r, _| vec![r.below(2) as u8]),
        col("c_int2", "smallint", &["32767", "-32768", "0"], "floor(random() * 65536) - 32768")
            .bin(|r, _| (r.next() as i16).to_be_bytes().to_vec()),
        col("c_int4", "integer", &["2147483647", "-2147483648"], "floor(random() * 4294967296) - 2147483648")
            .bin(|r, _| (r.next() as i32).to_be_bytes().to_vec()),
        col("c_int8", "bigint", &["9223372036854775807", "-9223372036854775808"], "")
            .bin(|r, _| r.next().to_be_bytes().to_vec()),
        col("c_oid", "oid", &["0", "4294967295"], "").bin(|r, _| (r.next() as u32).to_be_bytes().to_vec()),
        col("c_xid", "xid", &["'0'", "'4294967295'"], ""),
        col("c_cid", "cid", &["'0'", "'4294967295'"], ""),
        col(
            "c_float4",
            "real",
            &["'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "3.4028235e38", "1.4e-45", "1e6", "100000", "0.1", "123456.7", "1e-5", "0.0001"],
            "(random() + 0.01) * (CASE WHEN random() < 0.5 THEN -1 ELSE 1 END) * 10 ^ (floor(random() * 70) - 35)",
        )
        .floats()
        .bin(|r, _| r.f32_bits().to_be_bytes().to_vec()),
        col(
            "c_float8",
            "double precision",
            &["'NaN'", "'-Infinity'", "'-0'", "1.7976931348623157e308", "4.9e-324", "2.2250738585072014e-308", "1e15", "1e14", "123456789012345.6", "0.1", "2.718281828459045", "1e-5", "0.0001"],
            "(random() + 0.01) * (CASE WHEN random() < 0.5 THEN -1 ELSE 1 END) * 10 ^ (floor(random() * 600) - 300)",
        )
        .floats()
        .bin(|r, _| r.f64_bits().to_be_bytes().to_vec()),
        col(
            "c_numeric",
            "numeric",
            &["'NaN'", "0", "0.000", "-0.00", "-0.0001", "123456789012345678901234567890.123456789", "1e100", "1e-100", "repeat('9', 500)::numeric / 7", "12300", "0.00000012", "-99999999999999999999.99999999"],
            rnd_num,
        )
        .edge(major >= 14, &["'Infinity'", "'-Infinity'"])
        .bin(|r, major| r.numeric(major)),
        col("c_numeric_ps", "numeric(12,4)", &["3.1416", "-0.0001", "99999999.9999", "0"], "(random() * 9e7)::numeric(12,4)"),
        col("c_money", "money", &["0", "1234.56", "-1234.56", "92233720368547758.07", "-0.01"], "((random() - 0.5) * 1e9)::numeric(20,2)")
            .bin(|r, _| ((r.next() as i64) >> r.below(50)).to_be_bytes().to_vec()),
        col(
            "c_text",
            "text",
            &[
                "''", "' '", r"E'\\N'", r"E'\\.'", r"E'\\.\n'", "'NULL'", r"E'a\tb'", r"E'line1\nline2'",
                r"E'cr\rlf\r\n'", r"E'C:\\path\\new\\table'", "'it''s \"quoted\"'", r"E'\x01\x02\x1f\x7f\x08\x0b\x0c'",
                r"E'\u2028|\u2029\u0085\u00a0\ufeff'", "'😀 e\u{301} 👍🏽 🇪🇺'", "'שלום عالم'", "repeat('0123456789', 5000)",
                r"E'\\x41'", r"E'\\101\\t'",
            ],
            WORD,
        )
        .bin(|r, _| r.text(40).into_bytes()),
        col("c_varchar", "varchar(20)", &["''", r"E'x\ty'", r"E'\\'", "'ﬁ'"], &format!("left({WORD}, 20)")),
        col("c_bpchar", "char(8)", &["''", "'abc'", r"E'\t'"], &format!("left({WORD}, 8)")),
        col("c_name", "name", &["''", "'a_name'", "'Straße'", "repeat('n', 63)"], &format!("left({WORD}, 20)")),
        col("c_qchar", "\"char\"", &["'x'", "''", r"E'\\'", r"E'\t'", r"E'\n'", "' '"], "chr(1 + floor(random() * 126)::int)")
            .edge(major >= 15, &[r"'\200'", r"'\377'", r"'\101'"])
            .bin(|r, major| {
                if major >= 15 {
                    vec![r.next() as u8]
                } else {
                    vec![r.below(128) as u8]
                }
            }),
        col(
            "c_bytea",
            "bytea",
            &[r"'\x'", r"'\xdeadbeef00ff'", "(SELECT decode(string_agg(lpad(to_hex(b), 2, '0'), ''), 'hex') FROM generate_series(0, 255) b)", r"'\x5c4e'"],
            "decode(md5(random()::text), 'hex')",
        )
        .bin(|r, _| r.bytes(30)),
        col(
            "c_date",
            "date",
            &["'2024-02-29'", "'-infinity'", "'infinity'", "'4714-11-24 BC'", "'5874897-12-31'", "'0001-01-01'", "'0001-12-31 BC'", "'2000-02-29'"],
            "date '2000-01-01' + floor((random() - 0.5) * 4000000)::int",
        )
        .bin(|r, _| {
            let d = if r.below(2) == 0 {
                -2_451_545 + r.below(2_451_545 + 2_145_031_949) as i64
            } else {
                r.below(800_000) as i64 - 400_000
            };
            (d as i32).to_be_bytes().to_vec()
        }),
        col("c_time", "time", &["'00:00'", "'24:00:00'", "'23:59:59.999999'", "'12:34:56.7'"], "time '00:00' + random() * interval '24 hours'")
            .bin(|r, _| (r.below(86_400_000_001) as i64).to_be_bytes().to_vec()),
        col("c_time0", "time(0)", &["'12:34:56.7'", "'00:00:00'"], ""),
        col(
            "c_timetz",
            "timetz",
            &["'12:34:56+05:30'", "'00:00:00-12'", "'24:00:00+15:59'", "'00:00:00.000001+00'", "'12:00:00-03:30:15'"],
            "",
        )
        .bin(|r, _| {
            let mut v = (r.below(86_400_000_001) as i64).to_be_bytes().to_vec();
            let zone = match r.below(3) {
                0 => r.below(115_199) as i32 - 57_599,
                1 => (r.below(63) as i32 - 31) * 1800,
                _ => 0,
            };
            v.extend_from_slice(&zone.to_be_bytes());
            v
        }),
        col(
            "c_ts",
            "timestamp",
            &["'-infinity'", "'infinity'", "'4714-11-24 00:00:00 BC'", "'294276-12-31 23:59:59.999999'", "'1999-12-31 23:59:59.5'", "'2024-01-01 12:00:00.123456'", "'0001-01-01 00:00:00'", "'0001-12-31 23:59:59 BC'"],
            rnd_ts,
        )
        .bin(|r, _| r.timestamp().to_be_bytes().to_vec()),
        col("c_ts3", "timestamp(3)", &["'2024-01-01 12:00:00.123456'"], ""),
        col(
            "c_tstz",
            "timestamptz",
            &["'-infinity'", "'infinity'", "'2024-06-30 12:00:00+02'", "'4714-11-24 00:00:00+00 BC'", "'294276-12-31 23:59:59.999999+00'", "'1970-01-01 00:00:00+00'"],
            &format!("({rnd_ts}) AT TIME ZONE 'UTC'"),
        )
        .bin(|r, _| r.timestamp().to_be_bytes().to_vec()),
        col(
            "c_interval",
            "interval",
            &[
                "'1 year 2 mons 3 days 04:05:06.789'", "'-1 days -00:00:01'", "'178000000 years'", "'-178000000 years'", "'0'",
                "'1 mon -1 day'", "'-1 mon +1 day 00:00:01'", "'1 day -00:00:01'", "'-00:00:00.5'", "'100:00:00'",
                "'-1 years -2 mons +3 days -04:05:06'", "'1 year'", "'1 mon'", "'1 day'", "'00:00:00.000001'",
            ],
            "make_interval(floor((random() - 0.5) * 2000)::int, floor((random() - 0.5) * 30)::int, 0, floor((random() - 0.5) * 100)::int, 0, 0, (random() - 0.5) * 1e6)",
        )
        .edge(major >= 15, &["'2562047788:00:54.775807'", "'-2562047788:00:54.775807'"])
        .edge(major >= 17, &["'infinity'", "'-infinity'"])
        .bin(|r, _| {
            let mut v = ((r.next() as i64) >> (14 + r.below(40))).to_be_bytes().to_vec();
            v.extend_from_slice(&((r.next() as i32) >> r.below(32)).to_be_bytes());
            v.extend_from_slice(&((r.next() as i32) >> (8 + r.below(24))).to_be_bytes());
            v
        }),
        col("c_interval_ym", "interval year to month", &["'3 years 4 months'", "'-1 year'"], ""),
        col(
            "c_uuid",
            "uuid",
            &["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"],
            "md5(random()::text)::uuid",
        )
        .bin(|r, _| r.bytes_exact(16)),
        col(
            "c_json",
            "json",
            &[
                r#"'{"b": 1, "a": [1, 2, {"c": null}], "b": 2}'"#, r#"'""'"#, "'null'", r#"'{"nul": "\u0000", "emoji": "\ud83d\ude00"}'"#,
                "E'{\\n  \"a\":\\t1\\r\\n}'", r#"'"back\\slash"'"#,
            ],
            &format!("json_build_object('w', {WORD}, 'n', random())"),
        ),
        col(
            "c_jsonb",
            "jsonb",
            &[
                r#"'{"key": "value", "num": 1.50, "arr": [true, false, null], "nested": {"x": {"y": []}}}'"#,
                r#"'{"emoji": "😀", "esc": "a\"b\\c\nd", "": "", "big": 123456789012345678901234567890.5, "neg": -0.0, "exp": 1e-20}'"#,
                "'null'", "'[]'", r#"'"\t"'"#,
            ],
            &format!("jsonb_build_object('w', {WORD}, 'n', random(), 'a', jsonb_build_array(i, {WORD}, NULL))"),
        ),
        col(
            "c_inet",
            "inet",
            &["'192.168.1.1/24'", "'::1'", "'::ffff:1.2.3.4'", "'0.0.0.0/0'", "'fe80::1/64'", "'::'", "'1:0:0:2::3'", "'::1.2.3.4'", "'10.0.0.1/32'"],
            "",
        )
        .bin(|r, _| r.inet(false)),
        col("c_cidr", "cidr", &["'10.0.0.0/8'", "'2001:db8::/32'", "'0.0.0.0/0'", "'1.2.3.4/32'", "'::/0'", "'2001:db8::1/128'"], "")
            .bin(|r, _| r.inet(true)),
        col("c_macaddr", "macaddr", &["'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'"], "").bin(|r, _| r.bytes_exact(6)),
        col("c_macaddr8", "macaddr8", &["'08:00:2b:01:02:03:04:05'", "'00:00:00:00:00:00:00:00'"], "").bin(|r, _| r.bytes_exact(8)),
        col("c_bit", "bit(8)", &["B'10101010'", "B'00000000'"], "").bin(|r, _| {
            let mut v = 8i32.to_be_bytes().to_vec();
            v.push(r.next() as u8);
            v
        }),
        col("c_varbit", "varbit(16)", &["B'1101'", "B''", "B'1111111111111111'"], "").bin(|r, _| {
            let n = r.below(17) as usize;
            let mut v = (n as i32).to_be_bytes().to_vec();
            let mut bytes = r.bytes_exact(n.div_ceil(8));
            if n % 8 != 0 {
                if let Some(last) = bytes.last_mut() {
                    *last &= 0xffu8 << (8 - n % 8);
                }
            }
            v.extend_from_slice(&bytes);
            v
        }),
        col("c_point", "point", &["'(1.5,2.5)'", "'(0,0)'", "'(-0,NaN)'", "'(1e300,-1e-300)'"], "point(random(), random() * 1e10)")
            .floats()
            .bin(|r, _| r.geo_floats(2)),
        col("c_line", "line", &["'{1,-1,0}'", "'{0,1,0}'", "'{0.1,1e20,-3}'"], "").floats().bin(|r, _| {
            let mut v = (r.geo_float().abs() + 1.0).to_bits().to_be_bytes().to_vec();
            v.extend_from_slice(&r.geo_floats(2));
            v
        }),
        col("c_lseg", "lseg", &["'[(0,0),(1,1)]'", "'[(0,0),(0,0)]'"], "").floats().bin(|r, _| r.geo_floats(4)),
        col("c_box", "box", &["'((2,2),(0,0))'", "'((0,0),(0,0))'", "'((0.1,0.2),(-0.3,1e-10))'"], "").floats().bin(|r, _| r.geo_floats(4)),
        col("c_path", "path", &["'[(0,0),(1,1),(2,0)]'", "'((0,0))'", "'((0.5,1),(2,3))'"], "").floats().bin(|r, _| {
            let n = 1 + r.below(5) as i32;
            let mut v = vec![r.below(2) as u8];
            v.extend_from_slice(&n.to_be_bytes());
            v.extend_from_slice(&r.geo_floats(2 * n as usize));
            v
        }),
        col("c_polygon", "polygon", &["'((0,0),(4,0),(4,3),(0,3))'", "'((0,0))'"], "").floats().bin(|r, _| {
            let n = 1 + r.below(5) as i32;
            let mut v = n.to_be_bytes().to_vec();
            v.extend_from_slice(&r.geo_floats(2 * n as usize));
            v
        }),
        col("c_circle", "circle", &["'<(1,1),5>'", "'<(0,0),0>'"], "").floats().bin(|r, _| {
            let mut v = r.geo_floats(2);
            v.extend_from_slice(&r.geo_float().abs().to_bits().to_be_bytes());
            v
        }),
        col("c_pg_lsn", "pg_lsn", &["'16/B374D848'", "'0/0'", "'FFFFFFFF/FFFFFFFF'"], "").bin(|r, _| r.next().to_be_bytes().to_vec()),
        col(
            "c_tsvector",
            "tsvector",
            &[
                "to_tsvector('english', 'The quick brown foxes jumped over lazy dogs')", "'a:1A,2B b:3 c'",
                r"E'''it''''s'' ''back\\\\slash'':1 ''sp ace'':16383D'", "''",
            ],
            "setweight(to_tsvector('simple', md5(i::text) || ' ' || md5(random()::text) || ' x y'), 'B') || to_tsvector('simple', 'tail words')",
        ),
        col(
            "c_tsquery",
            "tsquery",
            &[
                "to_tsquery('english', 'quick & (fox | dog) & !cat')", "'a <-> (b <2> c)'", "'!(a & b)'", "'a:*AB | b:C'",
                "'(a | b) & c'", "'a & (b | c)'", "'!!a'", "'!(a <-> b)'", "'a <-> b <-> c'", "'(a <-> b) <-> c'",
                "'a <-> (b <-> c)'", "'a | b & c'", "''", "'a <0> b'", r"E'''it''''s'' & ''back\\\\slash'''", "'a & !b | !(c <3> d:*)'",
            ],
            "(md5(i::text) || (ARRAY[' & ', ' | ', ' <-> ', ' <5> ', ' & !'])[1 + floor(random() * 5)::int] || '(' || left(md5(random()::text), 3) \
             || (ARRAY[' & ', ' | ', ' <-> '])[1 + floor(random() * 3)::int] || '!x:*A)')",
        ),
        col("c_refcursor", "refcursor", &["'a cursor'", "''"], ""),
        col("c_mood", "mood", &["'sad'", "'a b'", "'NULL'", "'x\"y'"], "(enum_range(NULL::mood))[1 + floor(random() * 6)::int]"),
        col("c_mood_arr", "mood[]", &["'{}'", r#"'{sad,"a b","NULL",NULL,"x\"y"}'"#], "ARRAY[(enum_range(NULL::mood))[1 + floor(random() * 6)::int], NULL]"),
        col("c_posint", "posint", &["1", "2147483647"], "1 + floor(random() * 1000)"),
        // arrays
        col(
            "c_int_arr",
            "int[]",
            &["'{}'", "'{1,2,NULL,4}'", "'[0:2]={1,2,3}'", "'[-2:0]={7,8,9}'", "'{{1,2,3},{4,5,6}}'", "'[1:2][0:1]={{1,2},{3,NULL}}'", "'{{{1}},{{2}}}'", "'[2147483645:2147483646]={1,2}'", "'[-2147483648:-2147483648]={1}'"],
            "(SELECT array_agg(CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 1000)::int END) FROM generate_series(1, i % 6))",
        ),
        col(
            "c_int_lb",
            "int[]",
            &[],
            "(('[' || (i % 7 - 3) || ':' || (i % 7 - 3 + 2) || ']={' || i || ',NULL,' || -i || '}'))",
        ),
        col(
            "c_int_2d",
            "int[][]",
            &[],
            "('[' || (i % 3) || ':' || (i % 3 + 1) || '][1:2]={{1,' || i || '},{NULL,' || (i * 7) || '}}')",
        ),
        col(
            "c_text_arr",
            "text[]",
            &[
                r#"'{"a","b c","d\"e","f,g","NULL","",null}'"#,
                r"ARRAY[E'line\nbreak', E'tab\there', E'back\\slash', '{braces}', '(parens)', ' padded ', 'NULL', NULL, '', 'null', 'NuLl', E'\x01']",
                "'{{a,b},{c,d}}'",
            ],
            &format!("ARRAY[{WORD}, NULL, {WORD}, 'x']"),
        ),
        col("c_varchar_arr", "varchar(10)[]", &["'{a,\"\"}'"], &format!("ARRAY[left({WORD}, 10)]")),
        col("c_bpchar_arr", "char(3)[]", &["'{a,\"\"}'"], ""),
        col("c_name_arr", "name[]", &["'{a,\"b c\"}'"], ""),
        col("c_qchar_arr", "\"char\"[]", &[r#"'{a,"\\","\"",",", " "}'"#, "'{\"\"}'"], "")
            .edge(major >= 15, &[r#"ARRAY['\200'::"char", 'a']"#]),
        col("c_bool_arr", "boolean[]", &["'{t,f,NULL}'", "'[0:2]={t,f,t}'"], "ARRAY[random() < 0.5, NULL]"),
        col(
            "c_float8_arr",
            "float8[]",
            &["'{NaN,Infinity,-Infinity,-0,0.1,1e300}'"],
            "ARRAY[random(), (random() + 0.01) * 10 ^ (floor(random() * 600) - 300), NULL]",
        )
        .floats(),
        col("c_float4_arr", "real[]", &["'{NaN,-0,1e6,100000}'"], "ARRAY[random()::real]").floats(),
        col("c_numeric_arr", "numeric[]", &["'{NaN,0.00,-1.5}'"], &format!("ARRAY[{rnd_num}, NULL]"))
            .edge(major >= 14, &["'{Infinity,-Infinity}'"]),
        col("c_money_arr", "money[]", &["'{1.5,-2}'"], ""),
        col("c_bytea_arr", "bytea[]", &[r#"'{"\\xdead","\\x",NULL}'"#], "ARRAY[decode(md5(random()::text), 'hex'), '\\x'::bytea]"),
        col("c_date_arr", "date[]", &["'{2024-01-01,infinity,-infinity,\"0001-01-01 BC\"}'"], ""),
        col("c_time_arr", "time[]", &["'{00:00,24:00,12:34:56.789}'"], ""),
        col("c_timetz_arr", "timetz[]", &["'{00:00+02,24:00-15:59}'"], ""),
        col("c_ts_arr", "timestamp[]", &["'{\"2024-01-01 00:00:00\",infinity,\"4714-11-24 00:00:00 BC\"}'"], &format!("ARRAY[{rnd_ts}, NULL]")),
        col("c_tstz_arr", "timestamptz[]", &["ARRAY['2024-01-01 00:00:00+00'::timestamptz, 'infinity']", "'{}'"], ""),
        col("c_interval_arr", "interval[]", &["'{\"1 year 2 mons\",00:00:00,\"-1 days -00:00:01\"}'"], ""),
        col("c_uuid_arr", "uuid[]", &["'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'"], ""),
        col("c_json_arr", "json[]", &[r#"ARRAY['{"a": [1, "x\"y"]}'::json, 'null', NULL]"#], ""),
        col("c_jsonb_arr", "jsonb[]", &[r#"ARRAY['{"a": [1, "x\"y"]}'::jsonb, '"NULL"', NULL]"#], &format!("ARRAY[jsonb_build_array({WORD})]")),
        col("c_inet_arr", "inet[]", &["'{::1,10.0.0.0/8}'"], ""),
        col("c_cidr_arr", "cidr[]", &["'{::/0,10.0.0.0/8}'"], ""),
        col("c_macaddr_arr", "macaddr[]", &["'{08:00:2b:01:02:03}'"], ""),
        col("c_macaddr8_arr", "macaddr8[]", &["'{08:00:2b:01:02:03:04:05}'"], ""),
        col("c_bit_arr", "bit(3)[]", &["'{101,000}'"], ""),
        col("c_varbit_arr", "varbit[]", &["'{1,\"\",0101}'"], ""),
        col("c_point_arr", "point[]", &["'{\"(1,2)\",\"(0.1,-0)\"}'"], "ARRAY[point(random(), random())]").floats(),
        col("c_box_arr", "box[]", &["'{(1,1),(0,0);(2,2),(1,1)}'", "'{}'"], "").floats(),
        col("c_line_arr", "line[]", &["'{\"{1,-1,0}\"}'"], "").floats(),
        col("c_lseg_arr", "lseg[]", &["'{\"[(0,0),(1,1)]\"}'"], "").floats(),
        col("c_path_arr", "path[]", &["'{\"[(0,0),(1,1)]\",\"((0,0))\"}'"], "").floats(),
        col("c_polygon_arr", "polygon[]", &["'{\"((0,0),(1,1))\"}'"], "").floats(),
        col("c_circle_arr", "circle[]", &["'{\"<(1,1),5>\"}'"], "").floats(),
        col("c_lsn_arr", "pg_lsn[]", &["'{0/0,16/B374D848}'"], ""),
        col("c_tsvector_arr", "tsvector[]", &[r#"ARRAY['a:1 b'::tsvector, '', NULL]"#], ""),
        col("c_tsquery_arr", "tsquery[]", &[r#"ARRAY['a & b'::tsquery, '!c']"#], ""),
        col("c_oid_arr", "oid[]", &["'{0,4294967295}'"], ""),
        col("c_xid_arr", "xid[]", &["'{0,4294967295}'"], ""),
        col("c_int2_arr", "int2[]", &["'{-32768,32767}'"], ""),
        col("c_int8_arr", "int8[]", &["'{-9223372036854775808,9223372036854775807}'"], ""),
        // ranges
        col(
            "c_int4range",
            "int4range",
            &["'[1,10)'", "'empty'", "'(,5]'", "'[100,)'", "'(,)'", "'[-2147483648,2147483646]'"],
            "int4range(floor(random() * 100)::int, (100 + floor(random() * 100))::int, (ARRAY['[)', '[]', '()', '(]'])[1 + floor(random() * 4)::int])",
        ),
        col("c_int8range", "int8range", &["'[100,)'", "'empty'"], "int8range(i, i * i)"),
        col(
            "c_numrange",
            "numrange",
            &["'(1.5,2.5]'", "'empty'", "'[-1e-20,)'", "'[NaN,NaN]'"],
            &format!("numrange(least({rnd_num}, 0), greatest({rnd_num}, 0), '[]')"),
        ),
        col(
            "c_tsrange",
            "tsrange",
            &["'[2024-01-01 00:00,2024-01-02 00:00)'", "'(,infinity]'", "'[-infinity,\"4714-11-24 00:00:00 BC\"]'"],
            &format!("(SELECT tsrange(t, t + i * interval '1 hour') FROM (SELECT {rnd_ts} AS t) s)"),
        ),
        col("c_tstzrange", "tstzrange", &["'[2024-01-01 00:00+00,infinity)'", "'empty'"], ""),
        col("c_daterange", "daterange", &["'[2024-01-01,2024-12-31]'", "'(,)'", "'[infinity,infinity]'"], "daterange(date '2000-01-01' - i, date '2000-01-01' + i * 100)"),
        col("c_int4range_arr", "int4range[]", &["'{\"[1,3)\",empty,NULL}'"], ""),
        col("c_daterange_arr", "daterange[]", &["ARRAY['[2024-01-01,2024-12-31]'::daterange]"], ""),
    ];
    if xml {
        cols.push(col(
            "c_xml",
            "xml",
            &[
                r#"'<doc attr="1"><item>text &amp; more</item><empty/></doc>'"#, "''", "'plain text'",
                r#"'<?xml version="1.0"?><a/>'"#, r#"'<a xmlns:h="http://www.w3.org/TR/html4/"><h:td>ü</h:td><![CDATA[<not>&markup]]><!-- c --></a>'"#,
                "E'<a>\\n\\ttab</a>'",
            ],
            "xmlelement(name x, xmlattributes(i AS n), md5(i::text))",
        ));
        cols.push(col(
            "c_xml_arr",
            "xml[]",
            &[r#"ARRAY['<a/>'::xml, 'text', NULL]"#],
            "",
        ));
    }
    if major >= 11 {
        cols.push(col(
            "c_posint_arr",
            "posint[]",
            &["'{1,NULL,3}'", "'[0:0]={5}'"],
            "ARRAY[1 + i]",
        ));
    }
    if major >= 12 {
        cols.push(col(
            "c_jsonpath",
            "jsonpath",
            &[
                "'$.a[*] ? (@ > 1)'",
                r#"'strict $."key with space"'"#,
                "'$.a.b[1 to 3]'",
                "'$'",
                r#"'$ ? (@ like_regex "^a\\d" flag "i")'"#,
            ],
            "",
        ));
        cols.push(col(
            "c_jsonpath_arr",
            "jsonpath[]",
            &["ARRAY['$.a'::jsonpath, NULL]"],
            "",
        ));
    }
    if major >= 13 {
        cols.push(
            col("c_xid8", "xid8", &["'0'", "'18446744073709551615'"], "")
                .bin(|r, _| r.next().to_be_bytes().to_vec()),
        );
        cols.push(col(
            "c_xid8_arr",
            "xid8[]",
            &["'{0,18446744073709551615}'"],
            "",
        ));
    }
    if major >= 14 {
        cols.push(col(
            "c_int4multirange",
            "int4multirange",
            &["'{[1,3), [5,7)}'", "'{}'", "'{(,0), [10,)}'"],
            "int4multirange(int4range(i, i + 2), int4range(i + 5, i + 9))",
        ));
        cols.push(col(
            "c_int8multirange",
            "int8multirange",
            &["'{[1,3)}'"],
            "",
        ));
        cols.push(col(
            "c_nummultirange",
            "nummultirange",
            &["'{[1.5,2.5], (3,)}'"],
            "",
        ));
        cols.push(col(
            "c_tsmultirange",
            "tsmultirange",
            &["'{[2024-01-01 00:00,2024-01-02 00:00)}'"],
            "",
        ));
        cols.push(col(
            "c_tstzmultirange",
            "tstzmultirange",
            &["'{[2024-01-01 00:00+00,infinity)}'"],
            "",
        ));
        cols.push(col(
            "c_datemultirange",
            "datemultirange",
            &["'{[2024-01-01,2024-02-01), [2024-03-01,2024-04-01)}'"],
            "",
        ));
        cols.push(col(
            "c_datemultirange_arr",
            "datemultirange[]",
            &["ARRAY['{[2024-01-01,2024-02-01)}'::datemultirange, '{}']"],
            "",
        ));
    }
    if major >= 15 {
        cols.push(col(
            "c_numeric_neg",
            "numeric(5,-2)",
            &["12345", "-99900", "0"],
            "floor(random() * 1e6)",
        ));
    }
    for c in cols.iter_mut().filter(|c| c.name == "c_money_arr") {
        c.money = true;
    }
    cols
}

// ---------------------------------------------------------------------------
// Random binary values

/// xorshift64*: deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes_exact(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    fn bytes(&mut self, max: u64) -> Vec<u8> {
        let n = self.below(max + 1) as usize;
        self.bytes_exact(n)
    }

    /// Random bits, often a "nice" value.
    fn f64_bits(&mut self) -> u64 {
        match self.below(4) {
            0 => {
                ((self.below(2_000_000) as f64 - 1e6) / 10f64.powi(self.below(8) as i32)).to_bits()
            }
            1 => (self.next() >> 12 | 0x3ff0_0000_0000_0000).wrapping_add(self.below(3) << 52),
            _ => self.next(),
        }
    }

    fn f32_bits(&mut self) -> u32 {
        match self.below(4) {
            0 => {
                ((self.below(2_000_000) as f32 - 1e6) / 10f32.powi(self.below(8) as i32)).to_bits()
            }
            _ => self.next() as u32,
        }
    }

    /// A finite float for geometric types.
    fn geo_float(&mut self) -> f64 {
        loop {
            let v = f64::from_bits(self.f64_bits());
            if v.is_finite() {
                return v;
            }
        }
    }

    fn geo_floats(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|_| self.geo_float().to_bits().to_be_bytes())
            .collect()
    }

    /// A timestamp in range, or an infinity.
    fn timestamp(&mut self) -> i64 {
        const MIN: i64 = -211_813_488_000_000_000;
        const END: i64 = 9_223_371_331_200_000_000;
        match self.below(20) {
            0 => i64::MIN,
            1 => i64::MAX,
            2..=9 => (self.next() as i64 >> 12) % 4_000_000_000_000_000,
            _ => {
                let span = (i128::from(END) - i128::from(MIN)) as u64;
                MIN.wrapping_add((self.next() % span) as i64)
            }
        }
    }

    /// numeric: random digits, weight and scale (the server normalises them).
    fn numeric(&mut self, major: u32) -> Vec<u8> {
        let special = self.below(20);
        let mut v = Vec::new();
        if special == 0 || (special == 1 && major >= 14) {
            let sign: u16 = if special == 0 {
                0xC000
            } else if self.below(2) == 0 {
                0xD000
            } else {
                0xF000
            };
            for x in [0u16, 0, sign, 0] {
                v.extend_from_slice(&x.to_be_bytes());
            }
            return v;
        }
        let n = self.below(8) as u16;
        let weight = self.below(13) as i16 - 6;
        let sign: u16 = if self.below(2) == 0 { 0 } else { 0x4000 };
        let dscale = self.below(30) as u16;
        for x in [n, weight as u16, sign, dscale] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        for _ in 0..n {
            v.extend_from_slice(&(self.below(10_000) as u16).to_be_bytes());
        }
        v
    }

    /// inet/cidr: IPv4 or IPv6, random mask; a cidr has no bits right of the mask.
    fn inet(&mut self, cidr: bool) -> Vec<u8> {
        let v6 = self.below(2) == 1;
        let (family, max, size) = if v6 {
            (3u8, 128u64, 16usize)
        } else {
            (2, 32, 4)
        };
        let bits = if self.below(3) == 0 {
            max
        } else {
            self.below(max + 1)
        } as u8;
        let mut addr = self.bytes_exact(size);
        if v6 && self.below(3) == 0 {
            // runs of zero words, IPv4-mapped forms
            let from = self.below(8) as usize * 2;
            let to = (from + self.below(16) as usize).min(16);
            addr[from..to].fill(0);
            if self.below(4) == 0 {
                addr[..10].fill(0);
                addr[10] = 0xff;
                addr[11] = 0xff;
            }
        }
        if cidr {
            for (i, b) in addr.iter_mut().enumerate() {
                let keep = (bits as usize).saturating_sub(i * 8).min(8);
                *b &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
            }
        }
        let mut v = vec![family, bits, u8::from(cidr), size as u8];
        v.extend_from_slice(&addr);
        v
    }

    /// Random text: everything COPY and arrays must escape, and non-ASCII.
    fn text(&mut self, max: u64) -> String {
        let n = self.below(max + 1);
        let mut s = String::new();
        for _ in 0..n {
            let c = match self.below(10) {
                0 => char::from_u32(1 + self.below(31) as u32),
                1 => ['\\', '"', '\'', '{', '}', ',', ' ', '\u{7f}', '(', ')']
                    .get(self.below(10) as usize)
                    .copied(),
                2 => char::from_u32(0x80 + self.below(0x780) as u32),
                3 => char::from_u32(0x800 + self.below(0xF000) as u32),
                4 => char::from_u32(0x10000 + self.below(0x2000) as u32),
                _ => char::from_u32(0x20 + self.below(0x5f) as u32),
            };
            if let Some(c) = c {
                s.push(c);
            }
        }
        s
    }
}

// ---------------------------------------------------------------------------
// A minimal PostgreSQL protocol client (trust authentication, simple queries, COPY)

struct Wire {
    s: TcpStream,
}

impl Wire {
    fn connect(port: u16, db: &str) -> Result<Wire> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(600)))?;
        let mut w = Wire { s };
        let mut body = 196_608i32.to_be_bytes().to_vec();
        let mut params = vec![("user", "postgres"), ("database", db)];
        params.extend_from_slice(SESSION);
        for (k, v) in params {
            body.extend_from_slice(k.as_bytes());
            body.push(0);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        }
        body.push(0);
        let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        msg.extend_from_slice(&body);
        w.s.write_all(&msg)?;
        loop {
            let (tag, body) = w.read()?;
            match tag {
                b'R' => ensure!(
                    body.get(..4) == Some(&[0, 0, 0, 0][..]),
                    "authentication required"
                ),
                b'E' => bail!("connection refused: {}", error_text(&body)),
                b'Z' => return Ok(w),
                _ => {}
            }
        }
    }

    fn read(&mut self) -> Result<(u8, Vec<u8>)> {
        let mut head = [0u8; 5];
        self.s.read_exact(&mut head)?;
        let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        ensure!(len >= 4, "bad message length");
        let mut body = vec![0u8; len as usize - 4];
        self.s.read_exact(&mut body)?;
        Ok((head[0], body))
    }

    fn send(&mut self, tag: u8, body: &[u8]) -> Result<()> {
        let mut msg = Vec::with_capacity(body.len() + 5);
        msg.push(tag);
        msg.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        msg.extend_from_slice(body);
        self.s.write_all(&msg)?;
        Ok(())
    }

    fn send_query(&mut self, sql: &str) -> Result<()> {
        let mut q = sql.as_bytes().to_vec();
        q.push(0);
        self.send(b'Q', &q)
    }

    /// Runs SQL (simple protocol); returns the rows of the last result, as text.
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        self.send_query(sql)?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            let (tag, body) = self.read()?;
            match tag {
                b'T' => rows.clear(),
                b'D' => rows.push(data_row(&body)?),
                b'E' => error = Some(error_text(&body)),
                b'Z' => break,
                _ => {}
            }
        }
        match error {
            Some(e) => bail!("{e}\nin: {}", sql.chars().take(400).collect::<String>()),
            None => Ok(rows),
        }
    }

    fn copy_out(&mut self, sql: &str) -> Result<Vec<u8>> {
        self.send_query(sql)?;
        let mut data = Vec::new();
        let mut error = None;
        loop {
            let (tag, body) = self.read()?;
            match tag {
                b'd' => data.extend_from_slice(&body),
                b'E' => error = Some(error_text(&body)),
                b'Z' => break,
                _ => {}
            }
        }
        match error {
            Some(e) => bail!("{e}"),
            None => Ok(data),
        }
    }

    fn copy_in(&mut self, sql: &str, data: &[u8]) -> Result<()> {
        self.send_query(sql)?;
        let mut error = None;
        loop {
            let (tag, body) = self.read()?;
            match tag {
                b'G' => {
                    for chunk in data.chunks(1 << 16) {
                        self.send(b'd', chunk)?;
                    }
                    self.send(b'c', &[])?;
                }
                b'E' => error = Some(error_text(&body)),
                b'Z' => break,
                _ => {}
            }
        }
        match error {
            Some(e) => bail!("{e}"),
            None => Ok(()),
        }
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        let _ = self.send(b'X', &[]);
    }
}

fn data_row(body: &[u8]) -> Result<Vec<Option<String>>> {
    let n = i16::from_be_bytes(body.get(..2).context("short row")?.try_into()?);
    let mut pos = 2;
    let mut row = Vec::new();
    for _ in 0..n {
        let len = i32::from_be_bytes(body.get(pos..pos + 4).context("short row")?.try_into()?);
        pos += 4;
        if len < 0 {
            row.push(None);
        } else {
            let v = body.get(pos..pos + len as usize).context("short row")?;
            row.push(Some(String::from_utf8_lossy(v).into_owned()));
            pos += len as usize;
        }
    }
    Ok(row)
}

fn error_text(body: &[u8]) -> String {
    let mut out = String::new();
    for field in body.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        if matches!(field[0], b'S' | b'M' | b'D' | b'W' | b'H') {
            write!(out, "{} ", String::from_utf8_lossy(&field[1..])).ok();
        }
    }
    out
}
