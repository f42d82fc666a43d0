//! Unit and property tests of the merge (the fixture corpus is `tests/merge_corpus.rs`).
