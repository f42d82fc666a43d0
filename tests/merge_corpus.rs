//! The merge fixture corpus (`tests/data/merge/`, listed in its `README.md`).
//!
//! One folder per case:
//! - merge cases: `stored.vcf`, `incoming.vcf`, `expected.vcf`, and `base.vcf` for a
//!   three-way merge (a file `prefer` containing `stored` selects `Prefer::Stored`,
//!   otherwise `Prefer::Incoming`). The result must equal `expected.vcf` byte for byte;
//!   `changed` must be true exactly when it differs from `stored.vcf`.
//! - identity cases: `a.vcf`, `b.vcf` and an empty marker file `same-person` or
//!   `not-same-person`, checked with `same_person(identity(a), identity(b))` both ways.
//!
//! Golden files are never written by this test: a mismatch fails with a line diff.

use std::path::{Path, PathBuf};

use dialbook::vcard::merge::{
    Prefer, fingerprint, identity, merge_three_way, merge_two_way, same_person,
};

const NOW: &str = "20261121T120000Z";
const REGION: Option<&str> = Some("GB");

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/merge")
}

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("tests/data/merge exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

/// A readable line diff (line endings shown) of expected vs actual.
fn diff(expected: &[u8], actual: &[u8]) -> String {
    let show = |b: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(b)
            .split_inclusive('\n')
            .map(|l| l.replace('\r', "␍").replace('\n', "␊"))
            .collect()
    };
    let (e, a) = (show(expected), show(actual));
    let mut out = String::new();
    for k in 0..e.len().max(a.len()) {
        match (e.get(k), a.get(k)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("  {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {y}\n"));
                }
            }
        }
    }
    out
}

/// Runs one case; `Err` describes the failure.
fn run(dir: &Path) -> Result<(), String> {
    if dir.join("a.vcf").exists() {
        let a = identity(&read(dir, "a.vcf"), REGION).map_err(|e| format!("a.vcf: {e}"))?;
        let b = identity(&read(dir, "b.vcf"), REGION).map_err(|e| format!("b.vcf: {e}"))?;
        let want = match (
            dir.join("same-person").exists(),
            dir.join("not-same-person").exists(),
        ) {
            (true, false) => true,
            (false, true) => false,
            _ => return Err("needs exactly one of same-person / not-same-person".into()),
        };
        for (x, y) in [(&a, &b), (&b, &a)] {
            if same_person(x, y) != want {
                return Err(format!(
                    "same_person = {}, expected {want}\n a: {x:?}\n b: {y:?}",
                    !want
                ));
            }
        }
        return Ok(());
    }
    let stored = read(dir, "stored.vcf");
    let incoming = read(dir, "incoming.vcf");
    let expected = read(dir, "expected.vcf");
    let merged = if dir.join("base.vcf").exists() {
        let prefer = match std::fs::read_to_string(dir.join("prefer")) {
            Ok(p) if p.trim() == "stored" => Prefer::Stored,
            _ => Prefer::Incoming,
        };
        merge_three_way(
            &read(dir, "base.vcf"),
            &stored,
            &incoming,
            prefer,
            NOW,
            REGION,
        )
    } else {
        merge_two_way(&stored, &incoming, NOW, REGION)
    }
    .map_err(|e| format!("merge failed: {e}"))?;
    if merged.bytes != expected {
        return Err(format!(
            "result differs from expected.vcf (- expected, + actual):\n{}",
            diff(&expected, &merged.bytes)
        ));
    }
    if merged.changed != (expected != stored) {
        return Err(format!("changed = {}", merged.changed));
    }
    // The result is a valid card with a fingerprint.
    fingerprint(&merged.bytes).map_err(|e| format!("result has no fingerprint: {e}"))?;
    Ok(())
}

#[test]
fn corpus_cases_match_their_expected_results() {
    let dirs = cases();
    let mut failures = Vec::new();
    for dir in &dirs {
        if let Err(why) = run(dir) {
            let name = dir.file_name().unwrap_or_default().to_string_lossy();
            failures.push(format!("── {name}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_has_at_least_forty_cases_including_must_not_merge() {
    let dirs = cases();
    assert!(dirs.len() >= 40, "only {} cases", dirs.len());
    let not_same = dirs
        .iter()
        .filter(|d| d.join("not-same-person").exists())
        .count();
    assert!(not_same >= 6, "only {not_same} must-not-merge cases");
}

#[test]
fn every_case_is_listed_in_the_readme() {
    let readme = std::fs::read_to_string(corpus().join("README.md")).expect("README.md");
    for dir in cases() {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} not in README.md"
        );
    }
}

/// Merging is idempotent on every two-way case: merging the same upload again into the
/// result changes nothing.
#[test]
fn two_way_cases_are_idempotent() {
    for dir in cases() {
        if dir.join("a.vcf").exists() || dir.join("base.vcf").exists() {
            continue;
        }
        let incoming = read(&dir, "incoming.vcf");
        let once =
            merge_two_way(&read(&dir, "stored.vcf"), &incoming, NOW, REGION).expect("merges");
        let twice =
            merge_two_way(&once.bytes, &incoming, "20300101T000000Z", REGION).expect("merges");
        assert!(
            !twice.changed,
            "{}: second merge changed the card:\n{}",
            dir.display(),
            diff(&once.bytes, &twice.bytes)
        );
    }
}
