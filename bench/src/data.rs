//! Deterministic, realistic address-book data: the same seed gives the same cards on every
//! run and for every server.
//!
//! Cards look like what iOS writes (vCard 3.0, `itemN.` groups with `X-ABLabel`, Apple
//! group cards with `X-ADDRESSBOOKSERVER-KIND:group`), with names in many scripts, one to
//! three `TEL`, usually an `EMAIL` and an `ADR`, and a `PHOTO` of a few KB on one card in
//! eight. Every 50th card is a group listing some of the contacts before it.

use base64::Engine as _;

/// SplitMix64: small, fast and good enough to pick names; seeded per card so card `i` does
/// not depend on how many cards were generated before it.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const GIVEN: &[&str] = &[
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "François",
    "Ngọc Anh",
    "Björn",
    "Chloé",
    "Dvořák",
    "Ólöf",
    "Αλέξανδρος",
    "Иван",
    "Мария",
    "美咲",
    "翔太",
    "민준",
    "Aoife",
    "Siobhán",
    "Raúl",
    "İsmail",
    "Ayşe",
    "Małgorzata",
    "Jürgen",
    "Zuzana",
    "Emma",
    "Oliver",
    "Amelia",
    "Mohammed",
    "فاطمة",
    "Priya",
    "Arjun",
    "Léa",
    "Kateřina",
    "Nils",
    "Sébastien",
    "Ana María",
    "João",
    "Håkon",
    "Grzegorz",
    "Thu Hà",
    "Chiara",
    "Nguyễn",
    "Tomás",
    "Eliška",
    "Jack",
    "Sophie",
];

const FAMILY: &[&str] = &[
    "Müller",
    "García Márquez",
    "Ólafsdóttir",
    "Nowak",
    "Kowalczyk",
    "Østergaard",
    "Lefèvre",
    "Trần",
    "Papadopoulos",
    "Иванов",
    "Смирнова",
    "山田",
    "김",
    "O'Connor",
    "Ní Bhriain",
    "Fernández",
    "Yılmaz",
    "Şahin",
    "Wiśniewski",
    "Schröder",
    "Novák",
    "Smith",
    "Jones",
    "Williams",
    "Al-Sayed",
    "Sharma",
    "Patel",
    "Dubois",
    "Svoboda",
    "Lindqvist",
    "Gonçalves",
    "Søndergaard",
    "Kuznetsov",
    "Rossi",
    "Esposito",
    "Nakamura",
    "de la Cruz",
    "van der Berg",
];

const ORGS: &[&str] = &[
    "Acme Ltd",
    "Bäckerei Schröder",
    "Café Crème",
    "Østfold Energi",
    "株式会社サンプル",
    "Ñandú Logistics",
    "Zürich Versicherung",
    "Городская больница",
];

const STREETS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("12 Rue de la Paix", "Paris", "", "75002", "France", "fr"),
    (
        "Königsallee 1",
        "Düsseldorf",
        "",
        "40212",
        "Deutschland",
        "de",
    ),
    (
        "221B Baker Street",
        "London",
        "",
        "NW1 6XE",
        "United Kingdom",
        "gb",
    ),
    (
        "ul. Marszałkowska 84/92",
        "Warszawa",
        "",
        "00-514",
        "Polska",
        "pl",
    ),
    ("Calle de Alcalá 42", "Madrid", "", "28014", "España", "es"),
    (
        "1 Infinite Loop",
        "Cupertino",
        "CA",
        "95014",
        "United States",
        "us",
    ),
    ("Strøget 18", "København", "", "1160", "Danmark", "dk"),
    ("Tverskaya ul. 7", "Москва", "", "125009", "Россия", "ru"),
    (
        "3-1-1 Marunouchi",
        "千代田区",
        "東京都",
        "100-0005",
        "日本",
        "jp",
    ),
];

const MAIL_DOMAINS: &[&str] = &["example.org", "example.com", "mail.example.net"];

/// Apple's labels for `itemN.X-ABLabel`.
const LABELS: &[&str] = &["_$!<Other>!$_", "_$!<HomePage>!$_", "Work 2", "Büro"];

/// The UID of card `i` (also its file name without `.vcf`).
pub fn uid(i: usize) -> String {
    format!("bench-{i:06}")
}

/// The member name of card `i` in its collection.
pub fn href_name(i: usize) -> String {
    format!("{}.vcf", uid(i))
}

/// Whether card `i` is an Apple group card.
pub fn is_group(i: usize) -> bool {
    i % 50 == 49
}

fn escape_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            ',' => o.push_str("\\,"),
            ';' => o.push_str("\\;"),
            '\n' => o.push_str("\\n"),
            _ => o.push(c),
        }
    }
    o
}

/// Appends one content line folded at 75 octets (never inside a UTF-8 sequence), CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut first = true;
    let mut rest = line;
    while !rest.is_empty() {
        let limit = if first { 75 } else { 74 };
        let mut cut = rest.len().min(limit);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if !first {
            out.push(' ');
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n");
        rest = &rest[cut..];
        first = false;
    }
}

/// A fake JPEG of 2–6 KB (a real JPEG header, pseudo-random payload: does not compress).
fn photo(rng: &mut Rng) -> String {
    let len = 2048 + rng.below(4096);
    let mut bytes = Vec::with_capacity(len);
    bytes.extend_from_slice(&[
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ]);
    while bytes.len() < len - 2 {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes.truncate(len - 2);
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn ascii_local(s: &str) -> String {
    let l: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if l.is_empty() { "contact".into() } else { l }
}

/// The vCard of card `i`, revision `rev` (0 for the original; edits bump it and change the
/// note, so every edit is a real change).
pub fn card(i: usize, rev: u32) -> String {
    let mut rng = Rng::new(i as u64);
    let mut out = String::with_capacity(512);
    push_line(&mut out, "BEGIN:VCARD");
    push_line(&mut out, "VERSION:3.0");
    push_line(&mut out, "PRODID:-//Apple Inc.//iPhone OS 17.5//EN");
    if is_group(i) {
        let name = format!("Gruppe {} – Équipe", i / 50 + 1);
        push_line(&mut out, &format!("N:{};;;;", escape_text(&name)));
        push_line(&mut out, &format!("FN:{}", escape_text(&name)));
        push_line(&mut out, "X-ADDRESSBOOKSERVER-KIND:group");
        let members = 5 + rng.below(20);
        for _ in 0..members {
            let m = i - 1 - rng.below(49);
            push_line(
                &mut out,
                &format!("X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{}", uid(m)),
            );
        }
    } else {
        let given = rng.pick(GIVEN);
        let family = rng.pick(FAMILY);
        push_line(
            &mut out,
            &format!("N:{};{};;;", escape_text(family), escape_text(given)),
        );
        push_line(
            &mut out,
            &format!("FN:{} {}", escape_text(given), escape_text(family)),
        );
        if rng.below(3) == 0 {
            push_line(&mut out, &format!("ORG:{};", escape_text(rng.pick(ORGS))));
        }
        let mut item = 1;
        let tels = 1 + rng.below(3);
        for t in 0..tels {
            // Unique per card and slot, valid UK mobile / French / US shapes.
            let k = (i * 3 + t) as u64;
            let tel = match t {
                0 => format!("+44 7700 {:06}", 100_000 + k % 900_000),
                1 => format!(
                    "+33 6 {:02} {:02} {:02} {:02}",
                    10 + k % 90,
                    (k / 90) % 100,
                    (k / 9000) % 100,
                    11
                ),
                _ => format!("+1 (415) 555-{:04}", k % 10_000),
            };
            let kind = [
                "type=CELL;type=VOICE;type=pref",
                "type=HOME;type=VOICE",
                "type=WORK;type=VOICE",
            ][t];
            if t == 2 {
                push_line(&mut out, &format!("item{item}.TEL;{kind}:{tel}"));
                push_line(
                    &mut out,
                    &format!("item{item}.X-ABLabel:{}", rng.pick(LABELS)),
                );
                item += 1;
            } else {
                push_line(&mut out, &format!("TEL;{kind}:{tel}"));
            }
        }
        if rng.below(5) != 0 {
            let mail = format!(
                "{}.{}{}@{}",
                ascii_local(given),
                ascii_local(family),
                i,
                rng.pick(MAIL_DOMAINS)
            );
            push_line(
                &mut out,
                &format!("item{item}.EMAIL;type=INTERNET;type=HOME;type=pref:{mail}"),
            );
            push_line(&mut out, &format!("item{item}.X-ABLabel:_$!<Other>!$_"));
            item += 1;
        }
        if rng.below(3) != 0 {
            let (street, city, region, code, country, cc) = STREETS[rng.below(STREETS.len())];
            push_line(
                &mut out,
                &format!(
                    "item{item}.ADR;type=HOME;type=pref:;;{};{};{};{};{}",
                    escape_text(street),
                    escape_text(city),
                    escape_text(region),
                    escape_text(code),
                    escape_text(country)
                ),
            );
            push_line(&mut out, &format!("item{item}.X-ABADR:{cc}"));
        }
        if rng.below(4) == 0 {
            push_line(
                &mut out,
                &format!(
                    "BDAY:{}-{:02}-{:02}",
                    1950 + rng.below(55),
                    1 + rng.below(12),
                    1 + rng.below(28)
                ),
            );
        }
        if i % 8 == 3 {
            push_line(
                &mut out,
                &format!("PHOTO;ENCODING=b;TYPE=JPEG:{}", photo(&mut rng)),
            );
        }
    }
    if rev > 0 {
        push_line(&mut out, &format!("NOTE:edit {rev} – bearbeitet"));
    }
    push_line(
        &mut out,
        &format!("REV:2024-05-{:02}T10:{:02}:00Z", 1 + rev % 28, i % 60),
    );
    push_line(&mut out, &format!("UID:{}", uid(i)));
    push_line(&mut out, "END:VCARD");
    out
}

/// `card` with an extra line before `END:VCARD` (the If-Match race's edits).
pub fn with_line(card: &str, line: &str) -> String {
    let end = card.rfind("END:VCARD").unwrap_or(card.len());
    let mut o = String::with_capacity(card.len() + line.len() + 2);
    o.push_str(&card[..end]);
    push_line(&mut o, line);
    o.push_str(&card[end..]);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_folded() {
        for i in 0..200 {
            let a = card(i, 0);
            assert_eq!(a, card(i, 0));
            assert!(a.starts_with("BEGIN:VCARD\r\n") && a.ends_with("END:VCARD\r\n"));
            for l in a.split("\r\n") {
                assert!(l.len() <= 75, "{l}");
            }
            assert!(a.contains(&format!("UID:{}\r\n", uid(i))));
        }
        assert!(card(3, 0).contains("PHOTO;"));
        assert!(card(49, 0).contains("X-ADDRESSBOOKSERVER-KIND:group"));
        assert_ne!(card(5, 0), card(5, 1));
    }
}
