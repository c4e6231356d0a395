//! Throwaway PostgreSQL clusters for tests, benchmarks and demos.
//!
//! ```no_run
//! use pgdump_tests::{fixture, shared_cluster, Cluster, Fixture};
//!
//! // one cluster per major per test process, stopped at exit
//! let pg = shared_cluster(15);
//! let db = pg.create_db("my_test").unwrap();
//! pg.execute(&db, "CREATE TABLE t (id int)").unwrap();
//!
//! // a fixture loaded once per process; read it, never write to it
//! let (pg17, src) = fixture(17, Fixture::Pagila);
//! assert_eq!(pg17.count_rows(&src, "public.rental").unwrap(), 16044);
//!
//! // a private cluster, stopped and removed when dropped
//! let own = Cluster::start_with_settings(13, &[("wal_level", "minimal"), ("max_wal_senders", "0")]).unwrap();
//! println!("{}", own.url("postgres"));
//! ```
//!
//! The `regression` database of PostgreSQL's core regression suite: [`regression_db`] (see
//! [`regression`]; cached by `scripts/regression-db`).
//!
//! Server binaries: Debian's PostgreSQL 15, other majors from `scripts/fetch-postgres MAJOR`
//! (see [`binaries`]). As root, servers run as the user `postgres`. Clusters live in
//! `/tmp/pgdump-test-clusters/` and never outlive their process (see [`lifecycle`]).

pub mod binaries;
pub mod cluster;
pub mod db;
pub mod fixtures;
pub mod lifecycle;
pub mod psql;
pub mod regression;
mod sys;

pub use binaries::{
    client_bin, client_bin_dir, pg_dump_path, pg_restore_path, psql_path, server_bin_dir,
};
pub use cluster::{shared_cluster, try_shared_cluster, Cluster};
pub use db::block_on;
pub use fixtures::{fixture, fixture_db, load_fixture, try_fixture_db, Fixture};
pub use lifecycle::cleanup_stale_clusters;
pub use psql::{psql, psql_file};
pub use regression::{regression_db, try_regression_db};
pub use sys::send_signal;
