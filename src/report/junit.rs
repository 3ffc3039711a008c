//! JUnit XML, as GitLab and Jenkins ingest it: one testsuite of checks, one testcase per check,
//! a `<failure>` for each failed check (its message says the severity and the failing rows).
//! Every name and value is [`printable`] first: a control character is shown as an escape
//! (`\n`, `\u{1b}`), never written (XML 1.0 allows none of most of them, even as `&#x1;`) nor
//! dropped, and no value can add a line to the failure's text.
use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::Report;
use crate::engine::printable;

pub fn render_junit(report: &Report) -> String {
    let mut suite = TestSuite::new("stedi-tui checks");
    suite.add_property(("sql.origin", report.sql.to_string().as_str()));
    suite.add_property(("sql.sha256", report.sql.sha256.as_str()));
    for table in &report.tables {
        suite.add_property((format!("rows.{}", printable(&table.name)).as_str(), table.rows.to_string().as_str()));
    }
    for check in &report.checks {
        let id = printable(&check.id);
        let status = if check.status == "pass" {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!(
                    "{} failing rows ({}): {}",
                    check.failing_rows,
                    check.severity.as_str(),
                    printable(&check.description)
                ))
                .set_type(check.severity.as_str());
            if let Some(sample) = &check.sample {
                let line = |cells: &[String]| cells.iter().map(|v| printable(v)).collect::<Vec<_>>().join("\t");
                let mut text = line(&sample.columns);
                for row in &sample.rows {
                    text.push('\n');
                    text.push_str(&line(row));
                }
                status.set_description(text);
            }
            status
        };
        let mut case = TestCase::new(id.as_ref(), status);
        case.set_classname(id.split('.').next().unwrap_or("check")).set_time(check.seconds);
        suite.add_test_case(case);
    }
    let total = report.summary.timings.load + report.summary.timings.stages + report.summary.timings.checks;
    suite.set_time(total);
    let mut junit = JunitReport::new("stedi-tui");
    junit.set_time(total).add_test_suite(suite);
    junit.to_string().expect("JUnit XML serialises")
}
