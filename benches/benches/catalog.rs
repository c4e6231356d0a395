//! The dump's catalog side without a server, for a large synthetic catalog (20,000
//! tables by default, `PGDUMP_BENCH_TABLES` to change; about 6.7 items per table: table,
//! data, primary key, index, comment, grant, a foreign key on every other table, a view
//! and a function per ten): `Graph::build` (pg_depend folding), `graph::order::order`
//! (sort + topological order), the data plan and TOC (`dump::plan::plan`,
//! `dump::toc::build`), the schema SQL text (`dump::schema_sql`), and writing and
//! reading that TOC in an archive. Throughput in items per second of one core.
//!
//! DDL text generation itself: `catalog_ddl` runs the per-kind DDL functions the dump
//! applies to a server's rows (`CREATE TABLE` of 8 columns with a serial default and a
//! CHECK, its sequence with OWNED BY and value, the primary key as one statement and as
//! the restore's two, a foreign key, an index) on synthetic rows for every table, through
//! `pgdump_core::catalog::bench_ddl` (feature `bench-internals`); throughput in tables per
//! second, and bytes of SQL.
//!
//! cargo bench -p pgdump-benches --bench catalog -- --warm-up-time 1 --measurement-time 3

mod common;

use std::hint::black_box;
use std::io;

use criterion::measurement::Measurement;
use criterion::{BatchSize, Criterion, Throughput};
use pgdump_benches::synth;
use pgdump_core::dump::plan::{self, KeyBounds};
use pgdump_core::graph::{order::order, Graph};
use pgdump_core::options::DumpOptions;
use pgdump_format::{ArchiveReader, ArchiveWriter, WriterOptions};

fn tables() -> usize {
    std::env::var("PGDUMP_BENCH_TABLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn write_toc(toc: &pgdump_format::Toc) -> Vec<u8> {
    let w = ArchiveWriter::new(Vec::new(), toc, WriterOptions::default()).unwrap();
    w.finish().unwrap().1
}

fn bench_catalog<M: Measurement>(c: &mut Criterion<M>) {
    let n = tables();
    let cat = synth::catalog(n);
    let items = cat.items.len() as u64;
    let t = std::time::Instant::now();
    let built = Graph::build(cat.items.clone(), &cat.edges, |_| false);
    let t_build = t.elapsed();
    let t = std::time::Instant::now();
    let ordered = order(built.clone()).unwrap();
    let t_order = t.elapsed();
    let t = std::time::Instant::now();
    let toc = synth::toc_of_graph(&ordered);
    let t_toc = t.elapsed();
    let t = std::time::Instant::now();
    let archive = write_toc(&toc);
    let t_write = t.elapsed();
    eprintln!(
        "{n} tables, {items} items, {} pg_depend edges, {} streams; once: build {:.0} ms, \
         order {:.0} ms, plan+toc {:.0} ms, toc write {:.0} ms ({} bytes)",
        cat.edges.len(),
        toc.streams.len(),
        t_build.as_secs_f64() * 1e3,
        t_order.as_secs_f64() * 1e3,
        t_toc.as_secs_f64() * 1e3,
        t_write.as_secs_f64() * 1e3,
        archive.len()
    );

    let mut g = c.benchmark_group("catalog");
    g.sample_size(10);
    g.throughput(Throughput::Elements(items));
    g.bench_function("graph_build", |b| {
        b.iter_batched(
            || cat.items.clone(),
            |items| Graph::build(items, &cat.edges, |_| false),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("order", |b| {
        b.iter_batched(
            || built.clone(),
            |g| order(g).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("data_plan", |b| {
        b.iter(|| {
            plan::plan(
                &ordered,
                &DumpOptions::default(),
                synth::SERVER,
                &KeyBounds::new(),
            )
        })
    });
    g.bench_function("toc_build", |b| {
        let units = plan::plan(
            &ordered,
            &DumpOptions::default(),
            synth::SERVER,
            &KeyBounds::new(),
        );
        b.iter_batched(
            || ordered.clone(),
            |g| pgdump_core::dump::toc::build(g, &units, synth::archive_info()),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("schema_sql", |b| {
        b.iter(|| black_box(pgdump_core::dump::schema_sql(&ordered)).len())
    });
    g.finish();

    // DDL text of every table's objects (tables per second).
    let ddl_bytes = pgdump_core::catalog::bench_ddl(n, 8);
    eprintln!("catalog_ddl: {n} tables, {ddl_bytes} bytes of SQL");
    let mut g = c.benchmark_group("catalog_ddl");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("tables", |b| {
        b.iter(|| black_box(pgdump_core::catalog::bench_ddl(n, 8)))
    });
    g.finish();

    let mut g = c.benchmark_group("catalog");
    g.sample_size(10);
    g.throughput(Throughput::Elements(items));
    g.bench_function("toc_write", |b| {
        b.iter(|| {
            let w = ArchiveWriter::new(io::sink(), &toc, WriterOptions::default()).unwrap();
            w.finish().unwrap().0
        })
    });
    g.bench_function("toc_read", |b| {
        b.iter(|| {
            ArchiveReader::open(archive.as_slice())
                .unwrap()
                .toc()
                .entries
                .len()
        })
    });
    g.finish();
}

fn main() {
    run_benches!(bench_catalog);
}
