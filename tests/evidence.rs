//! The evidence reports: `--format html` is one self-contained page that a real browser (headless
//! Chromium, network off) renders without one outside request, with every count in its text, the
//! same for the same data but for the time; `--format markdown` stays under 64 KB however many
//! rows fail.
mod common;

use std::fs;
use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use stedi_tui::engine::Injections;
use stedi_tui::report::thousands;

fn stedi() -> Command {
    let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
    cmd.current_dir(common::project_root());
    cmd.env("STEDI_TUI_CACHE", "off").env_remove("STEDI_PSEUDONYM_KEY");
    cmd
}

fn report(data: &Path, format: &str, out: &Path) -> String {
    let run = stedi()
        .args(["--check", "--quiet", "--format", format, "--data"])
        .arg(data)
        .arg("--output")
        .arg(out)
        .output()
        .unwrap();
    assert!(matches!(run.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&run.stderr));
    fs::read_to_string(out).unwrap()
}

/// The page without the one line that may differ between runs: the run's time.
fn without_time(html: &str) -> String {
    let start = html.find(r#"<td class="run-time">"#).expect("the run's time is in one cell");
    let end = start + html[start..].find("</td>").unwrap();
    format!("{}{}", &html[..start], &html[end..])
}

/// The counts the report must show, from the JSON report of the same data.
fn table_counts(data: &Path) -> Vec<(String, u64)> {
    let out = stedi().args(["--check", "--quiet", "--format", "json", "--data"]).arg(data).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["rows"].as_u64().unwrap()))
        .collect()
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Process::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// Headless Chromium with every way out closed: no proxy reachable, no name resolves, no
/// background fetches; the net log records any request the page would make.
fn browse(browser: &str, page: &Path, extra: &[&str], profile: &Path) -> std::process::Output {
    Process::new(browser)
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions"])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
        ])
        .args(["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1200,2400"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

/// The URLs of the requests a page started, from Chromium's net log: URL_REQUEST_START_JOB events
/// with an initiator (the browser's own requests have "not an origin") and a URL off the disk.
fn page_requests(netlog: &Path) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(&fs::read_to_string(netlog).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64().unwrap();
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .filter(|url| !url.starts_with("file:") && !url.starts_with("data:"))
        .collect();
    urls.dedup();
    urls
}

/// Whether a PNG's pixels hold more than a few distinct byte values (a blank page holds one or two).
fn png_is_not_blank(png: &[u8]) -> bool {
    use std::io::Read;
    let mut idat = Vec::new();
    let mut i = 8;
    while i + 8 <= png.len() {
        let len = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
        if &png[i + 4..i + 8] == b"IDAT" {
            idat.extend_from_slice(&png[i + 8..i + 8 + len]);
        }
        i += 12 + len;
    }
    let mut pixels = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut pixels).unwrap();
    let distinct: std::collections::BTreeSet<u8> = pixels.iter().copied().collect();
    distinct.len() > 16
}

#[test]
fn html_report_is_self_contained_deterministic_and_renders_offline() {
    let (dir, _) = common::generated(120, 11, Injections::parse("all", 3).unwrap());
    let out = tempfile::tempdir().unwrap();
    let first = report(dir.path(), "html", &out.path().join("a.html"));
    let second = report(dir.path(), "html", &out.path().join("report.html"));
    assert_eq!(without_time(&first), without_time(&second), "same data, same page but for the time");
    // Self-contained: a CSP that forbids every fetch, no script, no link to anywhere.
    assert!(first.contains(r#"content="default-src 'none'; style-src 'unsafe-inline'; img-src data:""#));
    for banned in ["http://", "https://", "<script", "<link", "<img", "<iframe", "@import", "url(http", "src="] {
        assert!(!first.to_lowercase().contains(banned), "{banned} in the page");
    }
    for (i, _) in first.match_indices("href=\"") {
        assert!(first[i + 6..].starts_with('#'), "only links within the page: {}", &first[i..i + 40]);
    }
    for section in [
        "<svg class=\"pipeline\"",
        "<svg class=\"chart\"",
        "id=\"checks\"",
        "id=\"diff\"",
        "id=\"provenance\"",
        "SHA-256",
    ] {
        assert!(first.contains(section), "{section}");
    }
    // Failed checks first.
    let fail = first.find("<span class=\"tag\">WARN</span>").unwrap();
    let pass = first.find("<span class=\"tag\">PASS</span>").unwrap();
    assert!(fail < pass, "failed checks come first");

    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: chromium is not installed (.ci/run installs it)");
        return;
    };
    let page = out.path().join("report.html");
    let profile = out.path().join("profile");
    let netlog = out.path().join("net.json");
    let dom = browse(browser, &page, &["--dump-dom", &format!("--log-net-log={}", netlog.display())], &profile);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom_text.contains("STEDI evidence report"), "rendered: {}", String::from_utf8_lossy(&dom.stderr));
    for (table, rows) in table_counts(dir.path()) {
        assert!(dom_text.contains(&table) && dom_text.contains(&thousands(rows)), "{table} {rows} in the DOM");
    }
    // No request left the page: the net log holds no request the page started (the browser's own
    // fetches, e.g. its clock, have no origin). A control page with an outside image shows the
    // net log does record one.
    assert_eq!(page_requests(&netlog), Vec::<String>::new(), "the page made outside requests");
    let control = out.path().join("control.html");
    fs::write(&control, r#"<html><body><img src="http://stedi-control.invalid/x.png">control</body></html>"#).unwrap();
    let control_log = out.path().join("control-net.json");
    browse(browser, &control, &["--dump-dom", &format!("--log-net-log={}", control_log.display())], &profile);
    assert_eq!(page_requests(&control_log), vec!["http://stedi-control.invalid/x.png".to_string()]);
    let shot = out.path().join("report.png");
    let screenshot = browse(browser, &page, &[&format!("--screenshot={}", shot.display())], &profile);
    let png = fs::read(&shot).unwrap_or_else(|_| panic!("screenshot: {}", String::from_utf8_lossy(&screenshot.stderr)));
    assert!(png_is_not_blank(&png), "the screenshot shows something");
    if let Ok(keep) = std::env::var("STEDI_KEEP_SCREENSHOT") {
        fs::copy(&shot, keep).unwrap();
    }
}

#[test]
fn markdown_report_stays_under_64_kb_with_many_failures() {
    // Many failing rows of every kind, and rejected records as long as a line may be.
    let (dir, _) = common::generated(3000, 5, Injections::parse("all", 200).unwrap());
    let long: String =
        (0..400).map(|i| format!("{{\"customerName\":\"{}\",\"email\":{i}}}\n", "Ann Lee ".repeat(300))).collect();
    fs::write(dir.path().join("customer/landing/broken.json"), long).unwrap();
    let out = tempfile::tempdir().unwrap();
    let md = report(dir.path(), "markdown", &out.path().join("report.md"));
    assert!(md.len() < 64_000, "{} bytes", md.len());
    assert!(md.contains("## Checks (failed first)") && md.contains("## Provenance"), "{md}");
    let first_check = md
        .lines()
        .skip_while(|l| !l.starts_with("## Checks"))
        .find(|l| l.starts_with("| ❌") || l.starts_with("| ⚠️") || l.starts_with("| ✅"))
        .unwrap();
    assert!(first_check.contains("FAIL"), "failed first: {first_check}");
    assert!(!md.contains("Ann Lee"), "masked");
    for (table, rows) in table_counts(dir.path()) {
        assert!(md.contains(&format!("`{table}` | {}", thousands(rows))), "{table} {rows}");
    }
    // On small data everything fits: samples and SQL too.
    let (small, _) = common::generated(60, 3, Injections::parse("all", 2).unwrap());
    let md = report(small.path(), "markdown", &out.path().join("small.md"));
    assert!(md.contains("```sql") && md.contains("<details>") && md.len() < 64_000, "{} bytes", md.len());
}
