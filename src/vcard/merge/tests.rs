//! Unit and property tests of the merge (the fixture corpus is `tests/merge_corpus.rs`).

use proptest::prelude::*;

use super::super::Card;
use super::model::{self, Item};
use super::*;

const NOW: &str = "20261121T120000Z";
const GB: Option<&str> = Some("GB");

fn crlf(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

const CARD: &[&str] = &[
    "BEGIN:VCARD",
    "VERSION:3.0",
    "PRODID:ez-vcard 0.11.3",
    "UID:u-1",
    "FN:Tomasz Kowalczyk",
    "N:Kowalczyk;Tomasz;;;",
    "TEL;TYPE=cell;TYPE=pref:+44 7400 123457",
    "item1.EMAIL;TYPE=home:tomasz@example.org",
    "item1.X-ABLabel:Private",
    "NOTE:A note long enough to be folded when a client folds it at forty characters",
    "REV:20250101T101112Z",
    "END:VCARD",
];

#[test]
fn fingerprint_is_64_lower_case_hex_digits() {
    let fp = fingerprint(&crlf(CARD)).unwrap();
    assert_eq!(fp.len(), 64);
    assert!(
        fp.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn fingerprint_ignores_folding_line_endings_order_param_case_rev_and_prodid() {
    let original = fingerprint(&crlf(CARD)).unwrap();
    let mut reordered: Vec<&str> = CARD.to_vec();
    reordered.swap(6, 9);
    reordered.swap(7, 8);
    let refolded =
        "NOTE:A note long enough to be folded when a c\n lient folds it at forty characters";
    reordered[6] = refolded;
    reordered[9] = "TEL;type=CELL;Type=PREF:+44 7400 123457";
    reordered[2] = "PRODID:-//Apple Inc.//iPhone OS 17.0//EN";
    reordered[10] = "REV:2026-01-01T00:00:00Z";
    let mut lf = reordered.join("\n");
    lf.push('\n');
    assert_eq!(fingerprint(lf.as_bytes()).unwrap(), original);
}

#[test]
fn fingerprint_changes_with_any_value_group_or_parameter_value() {
    let original = fingerprint(&crlf(CARD)).unwrap();
    for (k, new) in [
        (6, "TEL;TYPE=cell;TYPE=pref:+44 7400 123458"),
        (7, "item2.EMAIL;TYPE=home:tomasz@example.org"),
        (7, "item1.EMAIL;TYPE=work:tomasz@example.org"),
        (8, "item1.X-ABLabel:private"),
        (4, "FN:Tomasz  Kowalczyk"),
    ] {
        let mut lines = CARD.to_vec();
        lines[k] = new;
        assert_ne!(fingerprint(&crlf(&lines)).unwrap(), original, "{new}");
    }
    let mut added = CARD.to_vec();
    added.insert(10, "X-FOO:bar");
    assert_ne!(fingerprint(&crlf(&added)).unwrap(), original);
}

#[test]
fn unparseable_cards_are_invalid() {
    let good = crlf(CARD);
    let bad: &[&[u8]] = &[b"not a card", b"BEGIN:VCARD\r\nEND:VCARD\r\n", b"\xff\xfe"];
    for b in bad {
        assert!(matches!(
            merge_two_way(b, &good, NOW, GB),
            Err(VcardError::Invalid(_))
        ));
        assert!(matches!(
            merge_two_way(&good, b, NOW, GB),
            Err(VcardError::Invalid(_))
        ));
        assert!(matches!(
            merge_three_way(b, &good, &good, Prefer::Incoming, NOW, GB),
            Err(VcardError::Invalid(_))
        ));
        assert!(matches!(identity(b, GB), Err(VcardError::Invalid(_))));
        assert!(matches!(fingerprint(b), Err(VcardError::Invalid(_))));
    }
}

#[test]
fn unchanged_merge_returns_the_stored_bytes_and_keeps_rev() {
    let stored = crlf(CARD);
    let merged = merge_two_way(&stored, &stored, NOW, GB).unwrap();
    assert!(!merged.changed);
    assert_eq!(merged.bytes, stored);
    let merged = merge_three_way(&stored, &stored, &stored, Prefer::Stored, NOW, GB).unwrap();
    assert!(!merged.changed);
    assert_eq!(merged.bytes, stored);
}

#[test]
fn normalised_names_ignore_case_punctuation_and_spacing_only() {
    assert_eq!(normalise_name("Dr. Jürgen  Müller"), "dr jürgen müller");
    assert_eq!(normalise_name("  O'Brien-Smith, Ann "), "o brien smith ann");
    assert_eq!(normalise_name(" . "), "");
    assert_ne!(
        normalise_name("Müller, Jürgen"),
        normalise_name("Jürgen Müller")
    );
}

#[test]
fn identity_reads_uid_name_numbers_and_addresses() {
    let card = crlf(&[
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:Ingrid Ødegård",
        "TEL;VALUE=uri:tel:+47-912-34-567",
        "TEL:0161 496 0000",
        "TEL:12345",
        "EMAIL:Ingrid@Example.NO",
        "UID:urn:uuid:3C5D7E9F-1A2B-4C6D-8E0F-A1B2C3D4E5F6",
        "END:VCARD",
    ]);
    let id = identity(&card, GB).unwrap();
    assert_eq!(id.uid, "3C5D7E9F-1A2B-4C6D-8E0F-A1B2C3D4E5F6");
    assert_eq!(id.name, "ingrid ødegård");
    assert_eq!(id.tels, ["+441614960000", "+4791234567"]);
    assert_eq!(id.emails, ["ingrid@example.no"]);
}

#[test]
fn a_name_or_a_number_alone_never_makes_the_same_person() {
    let person = |name: &str, tel: &str| Identity {
        uid: String::new(),
        name: name.into(),
        tels: vec![tel.into()],
        emails: vec![],
    };
    assert!(same_person(
        &person("ann lee", "+441614960000"),
        &person("ann lee", "+441614960000")
    ));
    assert!(!same_person(
        &person("ann lee", "+441614960000"),
        &person("ann lee", "+441614960001")
    ));
    assert!(!same_person(
        &person("ann lee", "+441614960000"),
        &person("bob lee", "+441614960000")
    ));
    assert!(!same_person(
        &person("", "+441614960000"),
        &person("", "+441614960000")
    ));
}

#[test]
fn added_item_before_end_and_rev_follow_the_card() {
    let stored = crlf(CARD);
    let incoming = crlf(&[
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Tomasz Kowalczyk",
        "item1.TEL;TYPE=work:+44 20 7946 0124",
        "item1.X-ABLabel:Office",
        "END:VCARD",
    ]);
    let merged = merge_two_way(&stored, &incoming, NOW, GB).unwrap();
    assert!(merged.changed);
    let text = String::from_utf8(merged.bytes).unwrap();
    assert!(text.contains("REV:20261121T120000Z\r\n"));
    assert!(text.ends_with(
        "item2.TEL;TYPE=work:+44 20 7946 0124\r\nitem2.X-ABLabel:Office\r\nEND:VCARD\r\n"
    ));
}

// ------------------------------------------------------------------ property tests

/// One generated item, from a small grammar of the properties clients write.
#[derive(Debug, Clone)]
enum Gen {
    Tel(usize, u16),
    Email(usize, u16),
    Adr(usize, u16),
    Note(u16),
    X(u16),
    Labelled(u16, u16),
}

const TYPES: &[&str] = &["cell", "home", "work"];

impl Gen {
    fn lines(&self, k: usize) -> Vec<String> {
        match self {
            Gen::Tel(t, n) => vec![format!("TEL;TYPE={}:+44 20 7946 {:04}", TYPES[*t], n)],
            Gen::Email(t, n) => vec![format!("EMAIL;TYPE={}:p{n}@example.com", TYPES[*t])],
            Gen::Adr(t, n) => vec![format!(
                "ADR;TYPE={}:;;{n} High Street;Leeds;;LS1 1AA;United Kingdom",
                TYPES[*t]
            )],
            Gen::Note(n) => vec![format!("NOTE:note {n}\\, with a comma")],
            Gen::X(n) => vec![format!("X-CUSTOM;X-P=\"a:b\":value {n}")],
            Gen::Labelled(n, l) => vec![
                format!("g{k}.EMAIL;type=INTERNET:l{n}@example.org"),
                format!("g{k}.X-ABLabel:Label {l}"),
            ],
        }
    }

    /// What identifies the item's value within a card: kind and value number.
    fn value_id(&self) -> (u8, u16) {
        match self {
            Gen::Tel(_, n) => (0, *n),
            Gen::Email(_, n) => (1, *n),
            Gen::Adr(_, n) => (2, *n),
            Gen::Note(n) => (3, *n),
            Gen::X(n) => (4, *n),
            Gen::Labelled(n, _) => (5, *n),
        }
    }

    /// The same item with another value.
    fn modified(&self) -> Gen {
        match self {
            Gen::Tel(t, n) => Gen::Tel(*t, n + 500),
            Gen::Email(t, n) => Gen::Email(*t, n + 500),
            Gen::Adr(t, n) => Gen::Adr(*t, n + 500),
            Gen::Note(n) => Gen::Note(n + 500),
            Gen::X(n) => Gen::X(n + 500),
            Gen::Labelled(n, l) => Gen::Labelled(*n, l + 500),
        }
    }
}

fn gen_item() -> impl Strategy<Value = Gen> {
    prop_oneof![
        (0..3usize, 0..8u16).prop_map(|(t, n)| Gen::Tel(t, n)),
        (0..3usize, 0..8u16).prop_map(|(t, n)| Gen::Email(t, n)),
        (0..3usize, 0..4u16).prop_map(|(t, n)| Gen::Adr(t, n)),
        (0..3u16).prop_map(Gen::Note),
        (0..4u16).prop_map(Gen::X),
        (0..4u16, 0..3u16).prop_map(|(n, l)| Gen::Labelled(n, l)),
    ]
}

fn build(items: &[Gen], offset: usize) -> Vec<u8> {
    let mut lines: Vec<String> = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Test Person",
        "N:Person;Test;;;",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (k, item) in items.iter().enumerate() {
        lines.extend(item.lines(k + offset));
    }
    lines.push("UID:gen-1".into());
    lines.push("END:VCARD".into());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    crlf(&refs)
}

fn items_of(bytes: &[u8]) -> Vec<Item> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let card = Card::parse(text).expect("a valid card");
    model::items(&card, GB)
}

/// Whether `out` still holds `item`: unchanged, or in the same slot (same name and
/// value, same type key, or a single-valued property) with a new value or parameters.
fn holds(out: &[Item], item: &Item) -> bool {
    out.iter().any(|o| {
        o.name == item.name
            && (o.covers(item)
                || o.key == item.key
                || (o.types.is_some() && o.types == item.types)
                || item.is_single())
    })
}

fn covered(out: &[Item], item: &Item) -> bool {
    out.iter().any(|o| o.name == item.name && o.covers(item))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        // Shrunk failures are printed; no regression files written into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn merging_a_card_into_itself_changes_nothing(items in prop::collection::vec(gen_item(), 0..7)) {
        let card = build(&items, 0);
        let merged = merge_two_way(&card, &card, NOW, GB).unwrap();
        prop_assert!(!merged.changed);
        prop_assert_eq!(merged.bytes, card);
    }

    #[test]
    fn two_way_never_drops_a_stored_item_and_keeps_every_incoming_one(
        stored in prop::collection::vec(gen_item(), 0..7),
        incoming in prop::collection::vec(gen_item(), 0..7),
    ) {
        let (s, i) = (build(&stored, 0), build(&incoming, 20));
        let merged = merge_two_way(&s, &i, NOW, GB).unwrap();
        let out = items_of(&merged.bytes);
        for item in items_of(&s) {
            prop_assert!(holds(&out, &item), "stored {:?} dropped", item.main().text);
        }
        for item in items_of(&i) {
            prop_assert!(covered(&out, &item), "incoming {:?} missing", item.main().text);
        }
    }

    #[test]
    fn two_way_is_idempotent(
        stored in prop::collection::vec(gen_item(), 0..7),
        incoming in prop::collection::vec(gen_item(), 0..7),
    ) {
        let (s, i) = (build(&stored, 0), build(&incoming, 20));
        let once = merge_two_way(&s, &i, NOW, GB).unwrap();
        let twice = merge_two_way(&once.bytes, &i, "20300101T000000Z", GB).unwrap();
        prop_assert!(!twice.changed);
        prop_assert_eq!(twice.bytes, once.bytes);
    }

    /// Each base item is kept, changed or deleted on each side; both sides may add items.
    /// An item neither side deleted survives, as the stored or the incoming version.
    /// Base values are distinct (a card listing one address twice under two labels is
    /// ambiguous by nature: which of the two did a side edit?).
    #[test]
    fn three_way_never_drops_an_item_neither_side_deleted(
        base in prop::collection::vec((gen_item(), 0..3u8, 0..3u8), 0..6)
            .prop_map(|mut v| {
                let mut seen = Vec::new();
                v.retain(|(g, _, _)| {
                    let id = g.value_id();
                    let new = !seen.contains(&id);
                    seen.push(id);
                    new
                });
                v
            }),
        added_s in prop::collection::vec(gen_item(), 0..3),
        added_i in prop::collection::vec(gen_item(), 0..3),
        prefer_stored in any::<bool>(),
    ) {
        let side = |pick: fn(&(Gen, u8, u8)) -> u8, added: &[Gen]| -> Vec<Gen> {
            let mut v: Vec<Gen> = base
                .iter()
                .filter_map(|b| match pick(b) {
                    0 => Some(b.0.clone()),
                    1 => Some(b.0.modified()),
                    _ => None,
                })
                .collect();
            v.extend(added.iter().cloned());
            v
        };
        let b_items: Vec<Gen> = base.iter().map(|b| b.0.clone()).collect();
        let s_items = side(|b| b.1, &added_s);
        let i_items = side(|b| b.2, &added_i);
        let prefer = if prefer_stored { Prefer::Stored } else { Prefer::Incoming };
        let (b, s, i) = (build(&b_items, 0), build(&s_items, 0), build(&i_items, 0));
        let merged = merge_three_way(&b, &s, &i, prefer, NOW, GB).unwrap();
        let out = items_of(&merged.bytes);
        for (g, on_s, on_i) in &base {
            if *on_s == 2 || *on_i == 2 {
                continue;
            }
            let version = |m: u8| if m == 1 { g.modified() } else { g.clone() };
            let sv = items_of(&build(&[version(*on_s)], 0));
            let iv = items_of(&build(&[version(*on_i)], 0));
            prop_assert!(
                covered(&out, sv.last().expect("item")) || covered(&out, iv.last().expect("item")),
                "{:?} dropped", g
            );
        }
    }
}
