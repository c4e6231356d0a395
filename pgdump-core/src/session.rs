//! Session settings for dump and restore connections (pg_dump's
//! `setup_connection` and pg_restore's `_doSetFixedOutputState`).

use tokio_postgres::Client;

use crate::catalog::ServerVersion;
use crate::error::{CoreError, QueryContext, Result};

/// Read the server version of a connection and check we support it (one round trip:
/// a simple query, which can be pipelined with what follows it).
pub async fn server_version(client: &Client) -> Result<(ServerVersion, String)> {
    let what = || "reading the server version".to_string();
    let msgs = client
        .simple_query(
            "SELECT pg_catalog.current_setting('server_version_num'), \
                    pg_catalog.current_setting('server_version')",
        )
        .await
        .context(what)?;
    let (num, text) = msgs
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some((
                r.get(0).and_then(|n| n.parse::<u32>().ok()),
                r.get(1).unwrap_or_default().to_string(),
            )),
            _ => None,
        })
        .ok_or_else(|| CoreError::Internal("the server sent no version".into()))?;
    let v = ServerVersion(num.unwrap_or(0));
    if v.major() < ServerVersion::MIN_MAJOR {
        return Err(CoreError::UnsupportedServer {
            version: text,
            detail: format!(
                "pgdump reads servers {} and newer",
                ServerVersion::MIN_MAJOR
            ),
        });
    }
    Ok((v, text))
}

/// Settings of a dump session: a stable, fully-qualified output, and no timeouts or
/// row security that could silently change what is read. One batch for every major:
/// settings a server may not know are set only where it knows them.
const DUMP_SETTINGS: &str = "SELECT pg_catalog.set_config('search_path', '', false);\n\
     SET client_encoding = 'UTF8';\n\
     SET standard_conforming_strings = on;\n\
     SET DateStyle = ISO;\n\
     SET IntervalStyle = postgres;\n\
     SET extra_float_digits = 3;\n\
     SET synchronize_seqscans = off;\n\
     SET statement_timeout = 0;\n\
     SET lock_timeout = 0;\n\
     SET idle_in_transaction_session_timeout = 0;\n\
     SET row_security = off;\n\
     SELECT pg_catalog.set_config(v.name, v.setting, false) \
     FROM (VALUES ('transaction_timeout', '0'), ('jit', 'off'), \
                  ('restrict_nonsystem_relation_kind', 'view, foreign-table')) AS v(name, setting) \
     WHERE v.name IN (SELECT s.name FROM pg_catalog.pg_settings s);\n";
// (17+: transaction_timeout. 11+: jit: catalog queries are many small joins that the
// planner can overestimate, and JIT compiling one cost hundreds of ms. Servers with the
// CVE-2024-7348 fix: refuse to run views' or foreign tables' code with our privileges.)

/// The settings whose values change what text COPY prints (timestamptz in the
/// session's time zone, bytea in hex or escape, money per `lc_monetary`, dates,
/// intervals and floats per the styles a dump session fixes), by their
/// `pg_settings` names. A dump records their values in the archive's
/// `ArchiveInfo::settings`, so that its content hashes can be reproduced
/// (see [`crate::check`]).
pub const COPY_OUTPUT_SETTINGS: [&str; 6] = [
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "bytea_output",
    "extra_float_digits",
    "lc_monetary",
];

/// The session's values of [`COPY_OUTPUT_SETTINGS`], by name: one simple query, to be
/// pipelined after the session setup (it reads the values that setup left).
pub async fn copy_output_settings(client: &Client) -> Result<Vec<(String, String)>> {
    let sql = format!(
        "SELECT {}",
        COPY_OUTPUT_SETTINGS
            .iter()
            .map(|n| format!("pg_catalog.current_setting('{n}')"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let msgs = client
        .simple_query(&sql)
        .await
        .context(|| "reading the session's output settings".to_string())?;
    let row = msgs
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .ok_or_else(|| CoreError::Internal("the server sent no settings".into()))?;
    Ok(COPY_OUTPUT_SETTINGS
        .iter()
        .enumerate()
        .filter_map(|(i, n)| Some((n.to_string(), row.get(i)?.to_string())))
        .collect())
}

/// Check the server's version and set the session up for a dump, then run `then` (SQL
/// that needs the settings, e.g. the `BEGIN` of the dump transaction): one round trip,
/// the three requests pipelined. The version is checked first, so an unsupported server
/// is reported as such rather than by a setting it does not know.
pub async fn setup_dump_then(
    client: &Client,
    then: &str,
    what: &str,
) -> Result<(ServerVersion, String)> {
    let (version, setup, then_res) = futures::join!(
        server_version(client),
        client.batch_execute(DUMP_SETTINGS),
        async {
            if then.is_empty() {
                Ok(())
            } else {
                client.batch_execute(then).await
            }
        }
    );
    let version = version?;
    setup.context(|| "setting up the dump session".to_string())?;
    then_res.context(|| what.to_string())?;
    Ok(version)
}

/// [`setup_dump_then`] without a follow-up.
pub async fn setup_dump(client: &Client) -> Result<(ServerVersion, String)> {
    setup_dump_then(client, "", "").await
}

/// Settings of a restore session.
pub async fn setup_restore(client: &Client, version: ServerVersion) -> Result<()> {
    let mut sql = String::from(
        "SELECT pg_catalog.set_config('search_path', '', false);\n\
         SET client_encoding = 'UTF8';\n\
         SET standard_conforming_strings = on;\n\
         SET statement_timeout = 0;\n\
         SET lock_timeout = 0;\n\
         SET idle_in_transaction_session_timeout = 0;\n\
         SET check_function_bodies = false;\n\
         SET xmloption = content;\n\
         SET client_min_messages = warning;\n\
         SET row_security = off;\n\
         SET DateStyle = ISO;\n\
         SET IntervalStyle = postgres;\n\
         SET extra_float_digits = 3;\n",
    );
    if version.at_least(17) {
        sql.push_str("SET transaction_timeout = 0;\n");
    }
    client
        .batch_execute(&sql)
        .await
        .context(|| "setting up the restore session".to_string())
}
