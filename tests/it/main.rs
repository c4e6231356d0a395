//! The integration tests of pgdump: one binary, so the PostgreSQL clusters and loaded
//! fixtures of `pgdump_tests` are shared by all tests. One module per area.

mod catalog_misc;
mod conn;
mod catalog_types;
mod harness;
