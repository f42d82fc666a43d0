use super::*;
use phonenumber::metadata::DATABASE;
use proptest::prelude::*;

const LONDON: &str = "+442079460000";

// --- account numbers (normalize / check) ---

#[test]
fn international_form_with_spaces_normalises() {
    assert_eq!(normalize("+44 20 7946 0000", Some("US")).unwrap(), LONDON);
}

#[test]
fn national_form_uses_default_region() {
    assert_eq!(normalize("020 7946 0000", Some("GB")).unwrap(), LONDON);
    assert_eq!(normalize("02079460000", Some("GB")).unwrap(), LONDON);
}

#[test]
fn digits_without_plus_are_read_as_international() {
    assert_eq!(normalize("442079460000", Some("GB")).unwrap(), LONDON);
    assert_eq!(normalize("442079460000", Some("US")).unwrap(), LONDON);
    assert_eq!(normalize("442079460000", None).unwrap(), LONDON);
}

#[test]
fn double_zero_prefix_is_international() {
    assert_eq!(normalize("0044 20 7946 0000", Some("US")).unwrap(), LONDON);
    assert_eq!(normalize("0044 20 7946 0000", None).unwrap(), LONDON);
}

#[test]
fn north_american_international_prefix_is_read() {
    assert_eq!(
        normalize("011 44 20 7946 0000", Some("US")).unwrap(),
        LONDON
    );
}

#[test]
fn percent_encoded_plus_is_decoded() {
    assert_eq!(normalize("%2B442079460000", None).unwrap(), LONDON);
}

#[test]
fn national_reading_wins_when_valid() {
    assert_eq!(
        normalize("(202) 555-0123", Some("US")).unwrap(),
        "+12025550123"
    );
}

#[test]
fn letters_and_garbage_are_refused() {
    assert_eq!(normalize("alice", Some("GB")), Err(InvalidNumber));
    assert_eq!(
        normalize("+44 20 7946 000x", Some("GB")),
        Err(InvalidNumber)
    );
    assert_eq!(normalize("", Some("GB")), Err(InvalidNumber));
    assert_eq!(normalize("12", Some("GB")), Err(InvalidNumber));
}

#[test]
fn extensions_and_service_codes_are_not_account_numbers() {
    assert_eq!(normalize("+44 20 7946 0000 x12", None), Err(InvalidNumber));
    assert_eq!(normalize("*121#", Some("GB")), Err(InvalidNumber));
    assert_eq!(normalize("999", Some("GB")), Err(InvalidNumber));
}

#[test]
fn uk_mobile_numbers_used_in_tests_are_valid() {
    assert_eq!(normalize("+44 7911 100004", None).unwrap(), "+447911100004");
    assert_eq!(normalize("+44 7911 150004", None).unwrap(), "+447911150004");
}

#[test]
fn possible_number_in_a_range_the_metadata_lacks_is_accepted_as_unallocated() {
    // libphonenumber's metadata excludes Ofcom's 07700 900xxx drama range and NANP's
    // 555 area code; both have the length of real numbers, and ranges allocated after the
    // metadata was cut look exactly like them.
    for (typed, region, e164) in [
        ("+44 7700 900004", None, "+447700900004"),
        ("07700 900004", Some("GB"), "+447700900004"),
        ("+1 555 010 0001", None, "+15550100001"),
    ] {
        assert_eq!(
            check(typed, region),
            Ok(Normalized {
                e164: e164.into(),
                allocated: false
            }),
            "{typed}"
        );
    }
    assert!(check(LONDON, None).unwrap().allocated);
}

#[test]
fn impossible_length_is_refused() {
    assert_eq!(normalize("+44 1", None), Err(InvalidNumber));
    assert_eq!(normalize("+44 20 7946 00", None), Err(InvalidNumber));
    assert_eq!(normalize("+1 202 555 01234", None), Err(InvalidNumber));
}

// --- the region of an account's own data ---

#[test]
fn home_region_is_the_country_of_the_number() {
    assert_eq!(home_region("+442079460001"), Some("GB"));
    assert_eq!(home_region("+12025550143"), Some("US"));
    // The main country of the calling code: Toronto's +1 416 reads like any +1 number.
    assert_eq!(home_region("+14165550123"), Some("US"));
    assert_eq!(home_region("+8613800138000"), Some("CN"));
    assert_eq!(home_region("+919876543210"), Some("IN"));
}

#[test]
fn home_region_of_an_unallocated_number_is_the_main_country_of_its_code() {
    assert_eq!(home_region("+15550100000"), Some("US"));
    assert_eq!(home_region("+447700900123"), Some("GB"));
}

#[test]
fn home_region_of_a_non_geographic_number_is_none() {
    assert_eq!(home_region("+80012345678"), None);
    assert_eq!(home_region("not a number"), None);
}

#[test]
fn configured_region_beats_the_account_country() {
    assert_eq!(data_region(Some("DE"), "+442079460001"), Some("DE"));
    assert_eq!(data_region(None, "+442079460001"), Some("GB"));
}

// --- identities of written numbers ---

/// `tests/data/phone/identities.tsv`: every spelling with its expected key, written by
/// hand from the numbering plans.
#[test]
fn identity_corpus() {
    let corpus = include_str!("../../tests/data/phone/identities.tsv");
    let mut failures = Vec::new();
    let mut regions = std::collections::BTreeSet::new();
    let mut n = 0;
    for line in corpus
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "malformed corpus line {line:?}");
        let region = (f[0] != "-").then_some(f[0]);
        let want = PhoneId {
            key: f[2].to_string(),
            strong: f[3] == "y",
        };
        let got = identity(f[1], region);
        if got != want {
            failures.push(format!("{} {:?} ({}): got {got:?}", f[0], f[1], f[4]));
        }
        regions.insert(f[0]);
        n += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {n} wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for r in ["GB", "US", "DE", "FR", "IN", "CN", "BR"] {
        assert!(regions.contains(r), "corpus lacks {r}");
    }
}

#[test]
fn extension_never_equals_the_main_number() {
    let main = identity("+44 20 7946 0100", None);
    let ext = identity("+44 20 7946 0100 x1", None);
    assert_ne!(main.key, ext.key);
    assert!(ext.strong);
}

#[test]
fn different_numbers_never_share_a_key() {
    for (region, a, b) in [
        // A German mobile dialled from the US is not the Stuttgart landline.
        ("US", "011 49 171 1234567", "+49 711 234567"),
        // Rome's leading 0 is part of the number.
        ("GB", "0039 06 1234 5678", "+39 6 1234 5678"),
        // An Indian 91xxx mobile is not an 8-digit number after +91.
        ("IN", "91234 56789", "+91 23456789"),
        ("GB", "+44 20 7946 0100 x1", "+44 20 7946 0100"),
        ("GB", "+44 20 7946 0100 x1", "+44 20 7946 0100 x2"),
        ("GB", "020 7946 0100", "020 7946 0101"),
    ] {
        assert_ne!(
            identity(a, Some(region)).key,
            identity(b, Some(region)).key,
            "{region}: {a} vs {b}"
        );
    }
}

fn spelling() -> impl Strategy<Value = String> {
    let sep = prop::sample::select(vec!["", " ", "-", ".", "\u{a0}", "/", "(", ")", "\u{2013}"]);
    let prefix = prop::sample::select(vec!["", "+", "00", "011", "0", "tel:+", "+44 (0)"]);
    let ext = prop::sample::select(vec!["", " x12", ";ext=7", ",34", " ext. 5"]);
    (
        prefix,
        prop::collection::vec(("[0-9]{1,4}", sep), 1..6),
        ext,
    )
        .prop_map(|(p, groups, e)| {
            let mut s = p.to_string();
            for (g, sep) in groups {
                s.push_str(&g);
                s.push_str(sep);
            }
            s.push_str(e);
            s
        })
}

const REGIONS: [&str; 12] = [
    "GB", "US", "DE", "FR", "IN", "CN", "BR", "IT", "JP", "AU", "RU", "NL",
];

/// A possible number of `region` (its metadata's example fixed-line or mobile number with
/// the last digits replaced) as (calling code, national significant number).
fn possible_number() -> impl Strategy<Value = (&'static str, u16, String)> {
    (
        prop::sample::select(REGIONS.to_vec()),
        any::<bool>(),
        0u32..1000,
    )
        .prop_filter_map("region has an example", |(region, mobile, tail)| {
            let meta = DATABASE.by_id(region)?;
            let d = meta.descriptors();
            let example = if mobile { d.mobile() } else { d.fixed_line() }?.example()?;
            let keep = example.len().checked_sub(3)?;
            Some((
                region,
                meta.country_code(),
                format!("{}{tail:03}", &example[..keep]),
            ))
        })
}

/// The ways a phone book writes the number `+cc nsn` of `region`, read in `region`.
fn spellings_of(region: &str, cc: u16, nsn: &str) -> Vec<String> {
    let meta = DATABASE.by_id(region).unwrap();

    let mut out = vec![
        format!("+{cc} {nsn}"),
        format!("+{cc}-{}-{}", &nsn[..2], &nsn[2..]),
        format!("tel:+{cc}-{nsn}"),
        format!("+{cc}\u{a0}{nsn}"),
        format!("+{cc} {nsn}")
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap(),
                '+' => '\u{FF0B}',
                c => c,
            })
            .collect(),
    ];
    // The prefix a phone of that country dials abroad with (00, 011 in North America,
    // 010 in Japan, 0011 in Australia); Brazil's carries a carrier code and has none.
    if let Some(idd) = meta.preferred_international_prefix() {
        out.push(format!("{idd} {cc} {nsn}"));
    }
    match meta.national_prefix() {
        Some("0") => {
            out.push(format!("0{nsn}"));
            out.push(format!("+{cc} (0){nsn}"));
        }
        _ if region != "RU" => out.push(nsn.to_string()),
        _ => {}
    }
    out
}

proptest! {
    #[test]
    fn every_spelling_of_a_possible_number_has_its_e164_key((region, cc, nsn) in possible_number()) {
        let want = format!("+{cc}{nsn}");
        for s in spellings_of(region, cc, &nsn) {
            let got = identity(&s, Some(region));
            prop_assert_eq!(&got.key, &want, "{} {:?}", region, s);
            prop_assert!(got.strong);
        }
    }

    #[test]
    fn identity_is_idempotent_on_number_spellings(
        s in spelling(),
        region in prop::sample::select(vec![None, Some("GB"), Some("US"), Some("DE"), Some("IN"), Some("BR")]),
    ) {
        let once = identity(&s, region);
        let twice = identity(&once.key, region);
        prop_assert_eq!(&once, &twice, "{:?}", s);
    }

    #[test]
    fn identity_is_idempotent_on_any_text(s in "\\PC{0,30}") {
        let once = identity(&s, Some("GB"));
        prop_assert_eq!(&identity(&once.key, Some("GB")), &once);
    }

    #[test]
    fn normalize_is_idempotent(s in spelling(), region in prop::sample::select(vec![None, Some("GB"), Some("US")])) {
        if let Ok(e164) = normalize(&s, region) {
            prop_assert_eq!(normalize(&e164, region), Ok(e164.clone()));
            prop_assert_eq!(normalize(&e164, None), Ok(e164));
        }
    }
}
