//! Dump → restore → compare, for every fixture, on several majors and across
//! majors, sweeping the ways a dump and a restore can run (jobs, codecs, tiny
//! frames and split sizes so small tables split and streams interleave, file
//! and pipe input, `pgdump sql | psql`).

use pgdump_format::Codec;
use pgdump_tests::{fixture, shared_cluster, Fixture};

use crate::common::{round_trip, Sweep, Via};

fn sweeps() -> Vec<(&'static str, Sweep)> {
    vec![
        (
            "j1_file_zstd",
            Sweep {
                dump_jobs: 1,
                restore_jobs: 1,
                ..Sweep::default()
            },
        ),
        (
            "j4_pipe_gzip_tiny",
            Sweep {
                dump_jobs: 4,
                restore_jobs: 4,
                codec: Codec::Gzip { level: 1 },
                input: Via::Pipe,
                ..Sweep::default()
            }
            .tiny(),
        ),
        (
            "j4_file_none_tiny",
            Sweep {
                dump_jobs: 3,
                restore_jobs: 4,
                codec: Codec::None,
                ..Sweep::default()
            }
            .tiny(),
        ),
        (
            "j2_pipe_text_zstd",
            Sweep {
                input: Via::Pipe,
                text: true,
                ..Sweep::default()
            },
        ),
        (
            "sql_psql",
            Sweep {
                input: Via::Sql,
                ..Sweep::default()
            },
        ),
    ]
}

async fn sweep_fixture(major: u32, f: Fixture, which: &[&str]) {
    let (pg, src) = fixture(major, f);
    for (name, s) in sweeps() {
        if !which.is_empty() && !which.contains(&name) {
            continue;
        }
        let what = format!("{f}_pg{major}_{name}");
        let dst = round_trip(pg, &src, pg, &s, &what).await;
        pg.drop_db(&dst).expect("drop target");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_pg15_every_way() {
    sweep_fixture(15, Fixture::Coverage, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_pg15() {
    for f in [
        Fixture::Pagila,
        Fixture::Chinook,
        Fixture::ChinookAutoInc,
        Fixture::Northwind,
    ] {
        sweep_fixture(15, f, &[]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_and_pagila_pg17() {
    sweep_fixture(17, Fixture::Coverage, &["j4_pipe_gzip_tiny", "sql_psql"]).await;
    sweep_fixture(17, Fixture::Pagila, &["j1_file_zstd", "j4_file_none_tiny"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_and_restore_pg10_pg13_pg18() {
    for major in [10, 13, 18] {
        sweep_fixture(major, Fixture::Coverage, &["j4_pipe_gzip_tiny"]).await;
        sweep_fixture(major, Fixture::Pagila, &["j1_file_zstd"]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_majors_13_to_17_and_10_to_18() {
    for (from, to) in [(13, 17), (10, 18)] {
        for f in [Fixture::Coverage, Fixture::Pagila, Fixture::ChinookAutoInc] {
            let (spg, src) = fixture(from, f);
            let dpg = shared_cluster(to);
            let s = Sweep::default().tiny();
            let what = format!("{f}_pg{from}_to_pg{to}");
            let dst = round_trip(spg, &src, dpg, &s, &what).await;
            dpg.drop_db(&dst).expect("drop target");
        }
    }
}
