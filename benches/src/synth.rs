//! Synthetic inputs, deterministic (a fixed-seed xorshift), shaped like what pgdump
//! meets in a real dump: the rows of the e2e benchmark's "wide" table in binary and text
//! COPY form, and a catalog of many small tables as the catalog modules would produce it
//! (items, `pg_depend` edges), turned into a TOC by the dump's own planning functions.

use std::collections::HashMap;

use pgdump_core::catalog::depend::DepEdge;
use pgdump_core::catalog::{class, CopySource, DataSource, Dep, Item, Kind, ObjRef, ServerVersion};
use pgdump_core::copy_text::ColumnType;
use pgdump_core::dump::plan::{self, KeyBounds};
use pgdump_core::graph::{order::order, Graph};
use pgdump_core::options::DumpOptions;
use pgdump_core::quote::{ident, qualify};
use pgdump_core::restore::plan::StreamFrames;
use pgdump_format::{ArchiveInfo, Toc};

/// A small deterministic PRNG (xorshift64).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Built-in type OIDs used here (stable across PostgreSQL versions).
pub mod oid {
    /// bool
    pub const BOOL: u32 = 16;
    /// bytea
    pub const BYTEA: u32 = 17;
    /// int8
    pub const INT8: u32 = 20;
    /// int4
    pub const INT4: u32 = 23;
    /// text
    pub const TEXT: u32 = 25;
    /// varchar
    pub const VARCHAR: u32 = 1043;
    /// date
    pub const DATE: u32 = 1082;
    /// timestamptz
    pub const TIMESTAMPTZ: u32 = 1184;
    /// numeric
    pub const NUMERIC: u32 = 1700;
    /// uuid
    pub const UUID: u32 = 2950;
    /// jsonb
    pub const JSONB: u32 = 3802;
    /// int4[]
    pub const INT4_ARRAY: u32 = 1007;
}

/// Columns of the "wide" table (name, type OID), as the e2e benchmark creates it.
pub const WIDE_COLUMNS: &[(&str, u32)] = &[
    ("id", oid::INT8),
    ("title", oid::TEXT),
    ("email", oid::VARCHAR),
    ("amount", oid::NUMERIC),
    ("created_at", oid::TIMESTAMPTZ),
    ("day", oid::DATE),
    ("active", oid::BOOL),
    ("attrs", oid::JSONB),
    ("token", oid::UUID),
    ("blob", oid::BYTEA),
    ("scores", oid::INT4_ARRAY),
    ("category_id", oid::INT4),
];

/// How `copy_text` reads the wide table's columns.
pub fn wide_column_types() -> Vec<ColumnType> {
    WIDE_COLUMNS
        .iter()
        .map(|&(_, o)| ColumnType::Builtin(o))
        .collect()
}

const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

fn field(out: &mut Vec<u8>, v: &[u8]) {
    out.extend_from_slice(&(v.len() as i32).to_be_bytes());
    out.extend_from_slice(v);
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

/// `numeric` binary form (as `numeric_send` writes it) of `cents / 100` with scale 2.
pub fn numeric_bin(cents: i64) -> Vec<u8> {
    let neg = cents < 0;
    let a = cents.unsigned_abs();
    let (int_part, frac) = (a / 100, a % 100);
    let mut groups: Vec<i16> = Vec::new();
    let mut x = int_part;
    while x > 0 {
        groups.push((x % 10_000) as i16);
        x /= 10_000;
    }
    groups.reverse();
    let mut weight = groups.len() as i16 - 1;
    groups.push((frac * 100) as i16);
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign: u16 = if neg && !groups.is_empty() { 0x4000 } else { 0 };
    let mut v = Vec::with_capacity(8 + 2 * groups.len());
    v.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    v.extend_from_slice(&weight.to_be_bytes());
    v.extend_from_slice(&sign.to_be_bytes());
    v.extend_from_slice(&2u16.to_be_bytes());
    for g in groups {
        v.extend_from_slice(&g.to_be_bytes());
    }
    v
}

/// One binary COPY tuple of the wide table.
fn wide_tuple(rng: &mut Rng, id: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&(WIDE_COLUMNS.len() as i16).to_be_bytes());
    field(out, &id.to_be_bytes());
    // title: 6..14 words, now and then with characters text COPY escapes
    let mut title = String::with_capacity(96);
    for k in 0..6 + rng.below(9) {
        if k > 0 {
            title.push(' ');
        }
        title.push_str(WORDS[rng.below(16) as usize]);
    }
    match rng.below(50) {
        0 => title.push_str("\ttab"),
        1 => title.push_str("\nline"),
        2 => title.push_str("\\slash"),
        _ => {}
    }
    field(out, title.as_bytes());
    // email, NULL in 5% of rows
    if rng.below(20) == 0 {
        null(out);
    } else {
        let e = format!(
            "user{}@{}.example.com",
            rng.below(1_000_000),
            WORDS[rng.below(16) as usize]
        );
        field(out, e.as_bytes());
    }
    field(
        out,
        &numeric_bin(rng.below(100_000_000) as i64 - 50_000_000),
    );
    // timestamptz: microseconds since 2000-01-01
    let us = 700_000_000_000_000i64
        + rng.below(100_000_000) as i64 * 1_000_000
        + rng.below(1_000_000) as i64;
    field(out, &us.to_be_bytes());
    field(out, &(8000 + rng.below(3000) as i32).to_be_bytes());
    field(out, &[u8::from(rng.below(2) == 0)]);
    // jsonb: version 1, then the text jsonb_out prints
    let j = format!(
        "\x01{{\"n\": {}, \"ok\": true, \"tag\": \"{}\"}}",
        rng.below(1000),
        WORDS[rng.below(16) as usize]
    );
    field(out, j.as_bytes());
    let mut u = [0u8; 16];
    u[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
    u[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    field(out, &u);
    let len = 8 + rng.below(33) as usize;
    let blob: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    field(out, &blob);
    // int4[]: ndim, has-null, element type, (dim, lower bound), elements
    let n = 3 + rng.below(6) as i32;
    let mut a = Vec::with_capacity(20 + 8 * n as usize);
    for v in [1i32, 0, oid::INT4 as i32, n, 1] {
        a.extend_from_slice(&v.to_be_bytes());
    }
    for _ in 0..n {
        a.extend_from_slice(&4i32.to_be_bytes());
        a.extend_from_slice(&(rng.below(10_000) as i32).to_be_bytes());
    }
    field(out, &a);
    field(out, &(1 + rng.below(100) as i32).to_be_bytes());
}

/// Binary COPY tuples of the wide table (no header, no trailer), about `bytes` long;
/// returns the data and its row count.
pub fn wide_binary_tuples(bytes: usize) -> (Vec<u8>, u64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(bytes + 1024);
    let mut rows = 0u64;
    while out.len() < bytes {
        rows += 1;
        wide_tuple(&mut rng, rows as i64, &mut out);
    }
    (out, rows)
}

/// The same rows as text COPY (converted by `copy_text::frame_to_text`, i.e. as the
/// server prints them).
pub fn wide_text_rows(binary: &[u8]) -> Vec<u8> {
    let mut text = Vec::new();
    pgdump_core::copy_text::frame_to_text(binary, &wide_column_types(), &mut text)
        .expect("synthetic binary tuples convert to text");
    text
}

/// Byte ranges of the rows of COPY data, as the server sends them (one CopyData
/// message per row).
pub fn row_ranges(format: pgdump_format::CopyFormat, data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let base = data.as_ptr() as usize;
    pgdump_core::copy_data::for_each_row(format, data, |r| {
        let start = r.as_ptr() as usize - base;
        out.push((start, start + r.len()));
    })
    .expect("well-formed COPY data");
    out
}

/// A synthetic catalog: the items and `pg_depend` edges of `tables` small tables.
#[derive(Debug, Clone, Default)]
pub struct SynthCatalog {
    /// Items as the catalog modules produce them (unordered).
    pub items: Vec<Item>,
    /// `pg_depend` edges between the objects.
    pub edges: Vec<DepEdge>,
}

/// Number of schemas the synthetic tables are spread over.
const SCHEMAS: usize = 16;

/// Items for `tables` tables spread over 16 schemas: per table its definition, data,
/// primary key (with the index folded into it through `pg_depend`), an index, a comment
/// and a grant; a foreign key on every other table (to the previous table), and a view
/// and a function for every tenth. About 6.7 items per table.
pub fn catalog(tables: usize) -> SynthCatalog {
    let mut next_oid = 16_384u32;
    let mut oid = || {
        next_oid += 1;
        next_oid
    };
    let mut items = Vec::with_capacity(tables * 7 + SCHEMAS);
    let mut edges = Vec::with_capacity(tables * 6);
    let mut schemas = Vec::new();
    for s in 0..SCHEMAS {
        let name = format!("s{s:02}");
        let r = ObjRef::new(class::PG_NAMESPACE, oid());
        items.push(
            Item::new(
                Kind::Schema,
                r,
                name.clone(),
                format!("CREATE SCHEMA {};\n", ident(&name)),
            )
            .primary()
            .owner(
                "app",
                format!("ALTER SCHEMA {} OWNER TO app;\n", ident(&name)),
            )
            .drop(format!("DROP SCHEMA IF EXISTS {};\n", ident(&name))),
        );
        schemas.push((name, r));
    }
    let columns = ["id", "name", "amount", "created_at", "parent_id"];
    let mut prev: Option<(String, ObjRef, ObjRef)> = None; // (qualified, table, pk index)
    for i in 0..tables {
        let (schema, sref) = &schemas[i % SCHEMAS];
        let t = format!("t{i:06}");
        let q = qualify(schema, &t);
        let tref = ObjRef::new(class::PG_CLASS, oid());
        let table = Item::new(
            Kind::Table,
            tref,
            t.clone(),
            format!(
                "CREATE TABLE {q} (\n    id bigint NOT NULL,\n    name text,\n    \
                 amount numeric(12,2),\n    created_at timestamp with time zone DEFAULT now(),\n    \
                 parent_id bigint\n);\n"
            ),
        )
        .primary()
        .schema(schema.clone())
        .owner("app", format!("ALTER TABLE {q} OWNER TO app;\n"))
        .drop(format!("DROP TABLE IF EXISTS {q};\n"))
        .meta("relkind", "r");
        let tkey = table.key;
        items.push(table);
        edges.push(DepEdge {
            from: tref,
            to: *sref,
            deptype: 'n',
        });

        let est_bytes = 8_192 * (1 + (i as u64 * 7919) % 64);
        let mut data = Item::new(Kind::TableData, tref, t.clone(), "")
            .schema(schema.clone())
            .dep(Dep::Key(tkey));
        data.data = Some(DataSource::Copy(CopySource {
            relid: tref.oid,
            schema: schema.clone(),
            name: t.clone(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            binary_safe: true,
            pages: est_bytes / 8_192,
            est_bytes,
            binary_types: ["20", "25", "1700", "1184", "20"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ..CopySource::default()
        }));
        items.push(data);

        // primary key; its index has no item and folds into the constraint
        let pk = format!("{t}_pkey");
        let cref = ObjRef::new(class::PG_CONSTRAINT, oid());
        let pk_index = ObjRef::new(class::PG_CLASS, oid());
        items.push(
            Item::new(
                Kind::Constraint,
                cref,
                format!("{t} {pk}"),
                format!(
                    "ALTER TABLE ONLY {q}\n    ADD CONSTRAINT {} PRIMARY KEY (id);\n",
                    ident(&pk)
                ),
            )
            .primary()
            .schema(schema.clone())
            .drop(format!(
                "ALTER TABLE ONLY {q} DROP CONSTRAINT IF EXISTS {};\n",
                ident(&pk)
            ))
            .meta("table", q.clone()),
        );
        edges.push(DepEdge {
            from: cref,
            to: tref,
            deptype: 'a',
        });
        edges.push(DepEdge {
            from: pk_index,
            to: cref,
            deptype: 'i',
        });

        let idx = format!("{t}_name_idx");
        let xref = ObjRef::new(class::PG_CLASS, oid());
        items.push(
            Item::new(
                Kind::Index,
                xref,
                idx.clone(),
                format!("CREATE INDEX {} ON {q} USING btree (name);\n", ident(&idx)),
            )
            .primary()
            .schema(schema.clone())
            .drop(format!("DROP INDEX IF EXISTS {};\n", qualify(schema, &idx)))
            .meta("table", q.clone()),
        );
        edges.push(DepEdge {
            from: xref,
            to: tref,
            deptype: 'a',
        });

        if let Some((prev_q, prev_t, prev_pk_index)) = prev.as_ref().filter(|_| i % 2 == 1) {
            let fk = format!("{t}_parent_fkey");
            let fref = ObjRef::new(class::PG_CONSTRAINT, oid());
            items.push(
                Item::new(
                    Kind::FkConstraint,
                    fref,
                    format!("{t} {fk}"),
                    format!(
                        "ALTER TABLE ONLY {q}\n    ADD CONSTRAINT {} FOREIGN KEY (parent_id) \
                         REFERENCES {prev_q}(id);\n",
                        ident(&fk)
                    ),
                )
                .primary()
                .schema(schema.clone())
                .meta("table", q.clone())
                .meta("ref_table", prev_q.clone()),
            );
            for (to, deptype) in [(tref, 'a'), (*prev_t, 'n'), (*prev_pk_index, 'n')] {
                edges.push(DepEdge {
                    from: fref,
                    to,
                    deptype,
                });
            }
        }

        items.push(
            Item::new(
                Kind::Comment,
                tref,
                format!("TABLE {t}"),
                format!("COMMENT ON TABLE {q} IS 'synthetic table {i}';\n"),
            )
            .schema(schema.clone())
            .dep(Dep::Obj(tref)),
        );
        items.push(
            Item::new(
                Kind::Acl,
                tref,
                format!("TABLE {t}"),
                format!("GRANT SELECT ON TABLE {q} TO reader;\n"),
            )
            .schema(schema.clone())
            .dep(Dep::Obj(tref)),
        );

        if i % 10 == 0 {
            let v = format!("v{i:06}");
            let qv = qualify(schema, &v);
            let vref = ObjRef::new(class::PG_CLASS, oid());
            let rule = ObjRef::new(class::PG_REWRITE, oid());
            items.push(
                Item::new(
                    Kind::View,
                    vref,
                    v,
                    format!(
                        "CREATE VIEW {qv} AS\n SELECT id,\n    name\n   FROM {q}\n  \
                         WHERE (amount > (0)::numeric);\n"
                    ),
                )
                .primary()
                .schema(schema.clone())
                .owner("app", format!("ALTER VIEW {qv} OWNER TO app;\n"))
                .meta("relkind", "v"),
            );
            // the view's _RETURN rule carries its dependencies (folded into the view)
            edges.push(DepEdge {
                from: rule,
                to: vref,
                deptype: 'i',
            });
            edges.push(DepEdge {
                from: rule,
                to: tref,
                deptype: 'n',
            });
            edges.push(DepEdge {
                from: vref,
                to: *sref,
                deptype: 'n',
            });

            let f = format!("f{i:06}");
            let pref = ObjRef::new(class::PG_PROC, oid());
            items.push(
                Item::new(
                    Kind::Function,
                    pref,
                    format!("{f}(x bigint)"),
                    format!(
                        "CREATE FUNCTION {}(x bigint) RETURNS bigint\n    LANGUAGE sql STABLE\n    \
                         AS $$ SELECT count(*) FROM {q} WHERE id > x $$;\n",
                        qualify(schema, &f)
                    ),
                )
                .primary()
                .schema(schema.clone())
                .owner(
                    "app",
                    format!(
                        "ALTER FUNCTION {}(x bigint) OWNER TO app;\n",
                        qualify(schema, &f)
                    ),
                ),
            );
            edges.push(DepEdge {
                from: pref,
                to: *sref,
                deptype: 'n',
            });
        }
        prev = Some((q, tref, pk_index));
    }
    SynthCatalog { items, edges }
}

/// The server version the synthetic dumps pretend to read (15, TID range scans).
pub const SERVER: ServerVersion = ServerVersion(150_004);

/// The ordered graph of a synthetic catalog (as the dump builds it).
pub fn ordered_graph(cat: &SynthCatalog) -> Graph {
    let g = Graph::build(cat.items.clone(), &cat.edges, |_| false);
    order(g).expect("the synthetic catalog has no dependency loop")
}

/// The TOC a dump of the synthetic catalog writes (data plan and TOC by the dump's
/// own functions).
pub fn toc(cat: &SynthCatalog) -> Toc {
    let g = ordered_graph(cat);
    toc_of_graph(&g)
}

/// The TOC of an ordered graph.
pub fn toc_of_graph(g: &Graph) -> Toc {
    let units = plan::plan(g, &DumpOptions::default(), SERVER, &KeyBounds::new());
    pgdump_core::dump::toc::build(g.clone(), &units, archive_info())
}

/// Archive header information of the synthetic dumps.
pub fn archive_info() -> ArchiveInfo {
    ArchiveInfo {
        created_at: "2026-01-01T00:00:00Z".into(),
        tool: "pgdump-bench".into(),
        server_version: "15.4".into(),
        server_version_num: SERVER.0,
        database: "bench".into(),
        encoding: "UTF8".into(),
        settings: Default::default(),
    }
}

/// Frame sizes per stream for a file restore of `toc`: each stream cut into
/// frames of at most `frame` bytes of its estimated size.
pub fn stream_frames(toc: &Toc, frame: u64) -> StreamFrames {
    let mut out: StreamFrames = HashMap::new();
    for s in &toc.streams {
        let mut left = s.est_bytes.max(1);
        let mut sizes = Vec::new();
        while left > 0 {
            let f = left.min(frame);
            sizes.push(f);
            left -= f;
        }
        out.insert(s.id, sizes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_forms() {
        // 0.00
        assert_eq!(numeric_bin(0), [0, 0, 0, 0, 0, 0, 0, 2]);
        // 1.5: digits [1, 5000], weight 0
        assert_eq!(numeric_bin(150), [0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x13, 0x88]);
        // -0.25: digits [2500], weight -1
        assert_eq!(
            numeric_bin(-25),
            [0, 1, 0xff, 0xff, 0x40, 0, 0, 2, 0x09, 0xc4]
        );
        // 10000.00: digits [1], weight 1
        assert_eq!(numeric_bin(1_000_000), [0, 1, 0, 1, 0, 0, 0, 2, 0, 1]);
    }

    #[test]
    fn wide_rows_convert_and_split() {
        let (bin, rows) = wide_binary_tuples(64 << 10);
        let text = wide_text_rows(&bin);
        assert_eq!(
            row_ranges(pgdump_format::CopyFormat::Binary, &bin).len() as u64,
            rows
        );
        assert_eq!(
            row_ranges(pgdump_format::CopyFormat::Text, &text).len() as u64,
            rows
        );
        let first =
            String::from_utf8_lossy(&text[..text.iter().position(|&b| b == b'\n').unwrap()])
                .into_owned();
        assert!(first.starts_with("1\t"), "{first}");
        assert_eq!(first.split('\t').count(), WIDE_COLUMNS.len(), "{first}");
    }

    #[test]
    fn catalog_orders_into_a_toc() {
        let cat = catalog(100);
        let toc = toc(&cat);
        assert_eq!(toc.entries.len(), cat.items.len());
        assert_eq!(toc.streams.len(), 100);
        // every dependency points backwards
        for (i, e) in toc.entries.iter().enumerate() {
            for d in &e.deps {
                assert!((*d as usize) <= i, "{} depends on a later entry", e.name);
            }
        }
    }
}
