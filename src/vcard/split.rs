//! Splitting a `text/vcard` body that holds several cards (an uplink or an import file)
//! into one byte slice per card, without re-serialising anything.

/// Why a multi-card body could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("card {0} has no END:VCARD")]
    Unterminated(usize),
    #[error("text outside BEGIN:VCARD/END:VCARD near line {0}")]
    Stray(usize),
}

/// Returns each `BEGIN:VCARD … END:VCARD` block (with its line ending) in order. Blank
/// lines between cards are allowed; anything else outside a card is an error. Nested
/// `BEGIN:VCARD` (vCard 2.1 agents) are kept inside their card and left to `ingest` to
/// judge.
pub fn split_cards(body: &[u8]) -> Result<Vec<&[u8]>, SplitError> {
    let mut cards = Vec::new();
    let mut start: Option<usize> = None;
    let mut depth = 0usize;
    let mut pos = 0usize;
    let mut line_no = 0usize;
    while pos < body.len() {
        line_no += 1;
        let end = body[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| pos + i + 1);
        let line = &body[pos..end];
        let bare = trim_eol(line);
        let upper_is = |s: &str| bare.len() == s.len() && bare.eq_ignore_ascii_case(s.as_bytes());
        if upper_is("BEGIN:VCARD") {
            if depth == 0 {
                start = Some(pos);
            }
            depth += 1;
        } else if upper_is("END:VCARD") && depth > 0 {
            depth -= 1;
            if depth == 0 {
                cards.push(&body[start.take().unwrap_or(pos)..end]);
            }
        } else if depth == 0 && !bare.iter().all(u8::is_ascii_whitespace) {
            return Err(SplitError::Stray(line_no));
        }
        pos = end;
    }
    if depth > 0 {
        return Err(SplitError::Unterminated(cards.len() + 1));
    }
    Ok(cards)
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let [rest @ .., b'\n' | b'\r'] = l {
        l = rest;
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_are_split_with_their_bytes() {
        let body = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n\r\nbegin:vcard\r\nVERSION:4.0\r\nFN:B\r\nend:vcard\r\n";
        let cards = split_cards(body).unwrap();
        assert_eq!(cards.len(), 2);
        assert_eq!(
            cards[0],
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n"
        );
        assert_eq!(
            cards[1],
            b"begin:vcard\r\nVERSION:4.0\r\nFN:B\r\nend:vcard\r\n"
        );
    }

    #[test]
    fn last_card_without_final_newline_is_kept() {
        let cards = split_cards(b"BEGIN:VCARD\nFN:A\nEND:VCARD").unwrap();
        assert_eq!(cards, vec![&b"BEGIN:VCARD\nFN:A\nEND:VCARD"[..]]);
    }

    #[test]
    fn unterminated_and_stray_text_are_errors() {
        assert_eq!(
            split_cards(b"BEGIN:VCARD\nFN:A\n"),
            Err(SplitError::Unterminated(1))
        );
        assert_eq!(
            split_cards(b"hello\nBEGIN:VCARD\nEND:VCARD\n"),
            Err(SplitError::Stray(1))
        );
    }

    #[test]
    fn empty_body_has_no_cards() {
        assert!(split_cards(b"").unwrap().is_empty());
        assert!(split_cards(b"\r\n\r\n").unwrap().is_empty());
    }
}
