//! The import rules of ARCHITECTURE.md as a test: a module that reaches up into a module
//! it must not know fails here, naming the file and the path (rust-analyzer's
//! "architecture invariants are tests").
//!
//! A reference is any `crate::NAME` in a file under `src/MODULE/` (or `src/MODULE.rs`),
//! `use` lines, paths in code and doc links alike.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Every `crate::NAME` a module's files name, with the file that names it.
fn references(module: &str) -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let dir = src.join(module);
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    }
    let single = src.join(format!("{module}.rs"));
    if single.is_file() {
        files.push(single);
    }
    assert!(!files.is_empty(), "no module {module}");
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read file");
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name != module {
                out.push((name, format!("{}", f.display())));
            }
        }
    }
    out
}

/// Fails listing every reference from `module` to one of `forbidden`.
fn never(module: &str, forbidden: &[&str]) {
    let bad: BTreeSet<String> = references(module)
        .into_iter()
        .filter(|(name, _)| forbidden.contains(&name.as_str()))
        .map(|(name, file)| format!("{file}: crate::{name}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{module} must not import {forbidden:?}:\n{}",
        bad.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// Fails listing every reference from `module` to anything but `allowed`.
fn only(module: &str, allowed: &[&str]) {
    let bad: BTreeSet<String> = references(module)
        .into_iter()
        .filter(|(name, _)| !allowed.contains(&name.as_str()))
        .map(|(name, file)| format!("{file}: crate::{name}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{module} may import only {allowed:?}:\n{}",
        bad.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn http_is_transport_only_and_knows_neither_app_nor_dav() {
    only("http", &["storage", "phone", "config"]);
}

#[test]
fn dav_never_imports_the_composition_root_or_the_transport() {
    never("dav", &["app", "http", "cli", "server"]);
}

#[test]
fn dav_names_no_collection_type() {
    // GET, the writes and the type-specific REPORTs go through `dav::kind::CollectionType`.
    never(
        "dav",
        &["carddav", "files", "caldav", "contacts", "discovery"],
    );
}

#[test]
fn storage_imports_nothing_above_it() {
    only("storage", &[]);
}

#[test]
fn vcard_is_pure_and_knows_only_phone() {
    only("vcard", &["phone"]);
}

#[test]
fn phone_is_a_leaf() {
    only("phone", &[]);
}

#[test]
fn nothing_but_the_entry_points_imports_the_composition_root() {
    for m in [
        "dav",
        "http",
        "storage",
        "vcard",
        "phone",
        "sync",
        "props",
        "acl",
        "carddav",
        "files",
        "config",
        "discovery",
    ] {
        never(m, &["app", "cli", "server"]);
    }
}
