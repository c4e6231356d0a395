//! Where a client's wall time goes on the server side: `pg_stat_activity` sampled every
//! few milliseconds while a tool runs, each active backend of the database classified by
//! its statement (COPY out/in, CREATE INDEX, ADD CONSTRAINT, catalog SELECTs, ...) and
//! its wait event (`Client` waits mean the server waits for the client: the client is
//! the bottleneck). Samples with no active backend are time spent in the client alone
//! (or in round trips).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};

/// Samples of one or more runs of a tool.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Number of samples taken.
    pub samples: u64,
    /// Samples in which no backend of the database was active.
    pub none_active: u64,
    /// Sum over samples of the number of active backends.
    pub active: u64,
    /// Active backends seen, by "class [wait]".
    pub classes: BTreeMap<String, u64>,
}

impl Profile {
    /// Adds another profile's samples.
    pub fn merge(&mut self, other: &Profile) {
        self.samples += other.samples;
        self.none_active += other.none_active;
        self.active += other.active;
        for (k, v) in &other.classes {
            *self.classes.entry(k.clone()).or_default() += v;
        }
    }

    /// One line: average active backends, idle share, the top classes (shares of wall).
    pub fn summary(&self, top: usize) -> String {
        if self.samples == 0 {
            return "no samples".into();
        }
        let n = self.samples as f64;
        let mut by_class: Vec<(&String, &u64)> = self.classes.iter().collect();
        by_class.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut s = format!(
            "avg {:.2} active backends; none active {:.0}%",
            self.active as f64 / n,
            100.0 * self.none_active as f64 / n
        );
        for (k, v) in by_class.into_iter().take(top) {
            s.push_str(&format!("; {k} {:.0}%", 100.0 * *v as f64 / n));
        }
        s
    }
}

/// What a statement is doing, from its text.
pub fn classify(query: &str) -> &'static str {
    let q = query.trim_start().to_ascii_uppercase();
    let starts = |p: &str| q.starts_with(p);
    if starts("COPY") {
        if q.contains("FROM STDIN") {
            "COPY in"
        } else {
            "COPY out"
        }
    } else if starts("CREATE INDEX") || starts("CREATE UNIQUE INDEX") {
        "CREATE INDEX"
    } else if starts("ALTER TABLE") {
        if q.contains("FOREIGN KEY") {
            "ADD FOREIGN KEY"
        } else if q.contains("PRIMARY KEY") || q.contains("UNIQUE") {
            "ADD PRIMARY KEY/UNIQUE"
        } else if q.contains("VALIDATE") {
            "VALIDATE CONSTRAINT"
        } else {
            "ALTER TABLE (other)"
        }
    } else if starts("SELECT") || starts("WITH") {
        if q.contains("LO_GET") {
            "large objects"
        } else {
            "SELECT (catalog/other)"
        }
    } else if starts("LOCK") {
        "LOCK TABLE"
    } else if starts("TRUNCATE") {
        "TRUNCATE"
    } else if starts("CREATE") || starts("ALTER") || starts("COMMENT") || starts("GRANT") {
        "DDL (CREATE/ALTER/COMMENT/GRANT)"
    } else if starts("BEGIN") || starts("COMMIT") || starts("SET") || starts("START") {
        "BEGIN/COMMIT/SET"
    } else if starts("VACUUM") || starts("ANALYZE") {
        "VACUUM/ANALYZE"
    } else if q.is_empty() {
        "(no statement)"
    } else {
        "other"
    }
}

/// A running sampler; `stop` returns what it saw.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<Profile>>>,
}

impl Sampler {
    /// Samples the active backends of database `datname` every `interval`, over a
    /// connection made with `conn_string` (to another database). Returns once the
    /// sampler is connected (so that the sampled tool starts after it).
    pub fn start(conn_string: String, datname: String, interval: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || -> Result<Profile> {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(sample(conn_string, datname, interval, flag, ready_tx))
        });
        // a failed connection drops the sender: no wait
        let _ = ready_rx.recv_timeout(Duration::from_secs(10));
        Sampler {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops sampling.
    pub fn stop(mut self) -> Profile {
        self.stop.store(true, Ordering::SeqCst);
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(Ok(p))) => p,
            Some(Ok(Err(e))) => {
                eprintln!("pgdump-bench: activity sampling failed: {e:#}");
                Profile::default()
            }
            _ => Profile::default(),
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

async fn sample(
    conn_string: String,
    datname: String,
    interval: Duration,
    stop: Arc<AtomicBool>,
    ready: std::sync::mpsc::Sender<()>,
) -> Result<Profile> {
    let (client, conn) = tokio_postgres::connect(&conn_string, tokio_postgres::NoTls)
        .await
        .context("activity sampler: cannot connect")?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let stmt = client
        .prepare(
            "SELECT coalesce(wait_event_type, ''), coalesce(wait_event, ''), \
                    left(query, 200) \
             FROM pg_catalog.pg_stat_activity \
             WHERE datname = $1 AND state = 'active' AND backend_type = 'client backend' \
               AND pid <> pg_catalog.pg_backend_pid()",
        )
        .await?;
    let _ = ready.send(());
    let mut p = Profile::default();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::SeqCst) {
        tick.tick().await;
        let rows = client.query(&stmt, &[&datname]).await?;
        p.samples += 1;
        if rows.is_empty() {
            p.none_active += 1;
        }
        p.active += rows.len() as u64;
        for r in rows {
            let wait_type: String = r.get(0);
            let wait: String = r.get(1);
            let query: String = r.get(2);
            let mut key = classify(&query).to_string();
            if !wait_type.is_empty() {
                key.push_str(&format!(" [{wait_type}:{wait}]"));
            }
            *p.classes.entry(key).or_default() += 1;
        }
    }
    Ok(p)
}
