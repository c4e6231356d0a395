//! Session settings for dump and restore connections (pg_dump's
//! `setup_connection` and pg_restore's `_doSetFixedOutputState`).

use tokio_postgres::Client;

use crate::catalog::ServerVersion;
use crate::error::{CoreError, QueryContext, Result};

/// Read the server version of a connection and check we support it.
pub async fn server_version(client: &Client) -> Result<(ServerVersion, String)> {
    let row = client
        .query_one(
            "SELECT pg_catalog.current_setting('server_version_num')::int4, \
                    pg_catalog.current_setting('server_version')",
            &[],
        )
        .await
        .context(|| "reading the server version".to_string())?;
    let num: i32 = row.get(0);
    let text: String = row.get(1);
    let v = ServerVersion(u32::try_from(num).unwrap_or(0));
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

/// Settings of a dump session: a stable, fully-qualified output, and no
/// timeouts or row security that could silently change what is read.
pub async fn setup_dump(client: &Client, version: ServerVersion) -> Result<()> {
    let mut sql = String::from(
        "SELECT pg_catalog.set_config('search_path', '', false);\n\
         SET client_encoding = 'UTF8';\n\
         SET standard_conforming_strings = on;\n\
         SET DateStyle = ISO;\n\
         SET IntervalStyle = postgres;\n\
         SET extra_float_digits = 3;\n\
         SET synchronize_seqscans = off;\n\
         SET statement_timeout = 0;\n\
         SET lock_timeout = 0;\n\
         SET idle_in_transaction_session_timeout = 0;\n\
         SET row_security = off;\n",
    );
    if version.at_least(17) {
        sql.push_str("SET transaction_timeout = 0;\n");
    }
    // Catalog queries are many small joins that the planner can overestimate; JIT
    // compiling them costs far more than it saves (hundreds of ms for one query).
    if version.at_least(11) {
        sql.push_str("SET jit = off;\n");
    }
    client
        .batch_execute(&sql)
        .await
        .context(|| "setting up the dump session".to_string())?;
    // Refuse to run views' or foreign tables' code with our privileges (CVE-2024-7348),
    // where the server knows the setting.
    client
        .batch_execute(
            "DO $$BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_settings \
             WHERE name = 'restrict_nonsystem_relation_kind') THEN \
             PERFORM pg_catalog.set_config('restrict_nonsystem_relation_kind', 'view, foreign-table', false); \
             END IF; END$$",
        )
        .await
        .context(|| "setting up the dump session".to_string())?;
    Ok(())
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
