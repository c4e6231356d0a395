//! Where the server's time goes, statement by statement: one extra, untimed pgdump dump
//! and restore with `log_min_duration_statement = 0` (set on the role for new sessions),
//! the server log's durations summed by statement shape (digits folded, so that
//! `CREATE TABLE app.t17` and `app.t18` add up).

/// Durations of one statement shape.
#[derive(Debug, Clone, Default)]
struct Shape {
    ms: f64,
    count: u64,
}

/// The statement shape: protocol step (`statement`, `parse`, `bind`, `execute`) and the
/// first 100 characters with digits folded into `#`.
fn shape(kind: &str, text: &str) -> String {
    let mut s = String::with_capacity(110);
    let mut last_digit = false;
    for c in text.chars().take(100) {
        if c.is_ascii_digit() {
            if !last_digit {
                s.push('#');
            }
            last_digit = true;
        } else {
            s.push(c);
            last_digit = false;
        }
    }
    format!("{kind:<9} {s}")
}

/// Summarises the `duration:` lines of a server log excerpt: total, and the `top`
/// shapes by total time.
pub fn summarize(log: &str, top: usize) -> String {
    let mut shapes: std::collections::HashMap<String, Shape> = Default::default();
    let (mut total, mut n) = (0.0, 0u64);
    for line in log.lines() {
        let Some(at) = line.find("LOG:  duration: ") else {
            continue;
        };
        let rest = &line[at + "LOG:  duration: ".len()..];
        let Some((ms, rest)) = rest.split_once(" ms  ") else {
            continue;
        };
        let Ok(ms) = ms.parse::<f64>() else { continue };
        let (kind, text) = match rest.split_once(": ") {
            Some((k, t)) => (k.split_whitespace().next().unwrap_or(k), t),
            None => ("?", rest),
        };
        let e = shapes.entry(shape(kind, text)).or_default();
        e.ms += ms;
        e.count += 1;
        total += ms;
        n += 1;
    }
    let mut v: Vec<(String, Shape)> = shapes.into_iter().collect();
    v.sort_by(|a, b| b.1.ms.total_cmp(&a.1.ms));
    let mut s = format!(
        "    server time in statements: {:.2} s over {n} protocol steps\n",
        total / 1e3
    );
    for (k, sh) in v.into_iter().take(top) {
        s.push_str(&format!(
            "    {:>9.1} ms {:>7}x  {}\n",
            sh.ms,
            sh.count,
            k.replace('\n', " ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_by_shape() {
        let log = "2026-01-01 00:00:00.000 UTC [1] postgres@db LOG:  duration: 1.500 ms  statement: CREATE TABLE app.t1 (id int)\n\
                   2026-01-01 00:00:00.000 UTC [1] postgres@db LOG:  duration: 2.500 ms  statement: CREATE TABLE app.t22 (id int)\n\
                   2026-01-01 00:00:00.000 UTC [1] postgres@db LOG:  duration: 0.250 ms  bind s3: SELECT 1\n";
        let s = summarize(log, 5);
        assert!(
            s.contains("4.0 ms       2x  statement CREATE TABLE app.t# (id int)"),
            "{s}"
        );
        assert!(s.contains("bind      SELECT #"), "{s}");
    }
}
