//! Times SQL statements on the DuckDB that stedi-tui bundles, one line of stdin each, printing
//! the seconds each took: the same statements given to the `duckdb` Python package compare the
//! two builds of one DuckDB version (scripts/bench.sh found the bundled build slower on the same
//! SQL). A measuring tool, not a test.
//!
//!     cargo run --release --example sql_time < statements.sql
use std::io::BufRead;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let conn = duckdb::Connection::open_in_memory()?;
    for line in std::io::stdin().lock().lines() {
        let sql = line?;
        if sql.trim().is_empty() || sql.trim_start().starts_with("--") {
            continue;
        }
        let started = Instant::now();
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut count = 0u64;
        while rows.next()?.is_some() {
            count += 1;
        }
        println!("{:.3}\t{count}\t{}", started.elapsed().as_secs_f64(), sql.chars().take(80).collect::<String>());
    }
    Ok(())
}
