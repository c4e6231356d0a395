//! The integration tests of pgdump: one binary, so the PostgreSQL clusters and loaded
//! fixtures of `pgdump_tests` are shared by all tests. One module per area.

mod catalog_code;
mod catalog_misc;
mod catalog_relations;
mod catalog_types;
mod check;
mod common;
mod conn;
mod copy_text;
mod dump_consistency;
mod dump_output;
mod harness;
mod regression;
mod restore_damaged;
mod restore_safe;
mod restore_select;
mod restore_values;
mod roundtrip;
