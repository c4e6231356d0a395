//! Benchmark support: synthetic inputs for the criterion benchmarks in `benches/`
//! (COPY data, catalogs, TOCs), built only from pgdump's public API.
//!
//! The end-to-end comparison with pg_dump/pg_restore is the `pgdump-bench` binary
//! (`src/bin/pgdump-bench`), run by `scripts/bench-e2e`; see `benches/README.md`.

pub mod synth;
