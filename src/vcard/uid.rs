//! Replacing a card's `UID` without re-serialising the rest of it.

/// Returns the card with its `UID` property value replaced by `uid` (or a `UID` line
/// inserted before `END:VCARD` when it has none). Every other line is kept byte for byte;
/// the new line uses the card's line ending.
pub fn replace_uid(body: &[u8], uid: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + uid.len() + 8);
    let mut lines = text.split_inclusive('\n').peekable();
    let mut done = false;
    while let Some(line) = lines.next() {
        let bare = line.trim_end_matches(['\r', '\n']);
        let upper = bare.to_ascii_uppercase();
        let is_uid = !done && {
            let name_end = upper.find([':', ';']).unwrap_or(upper.len());
            let name = &upper[..name_end];
            name == "UID" || name.ends_with(".UID")
        };
        if is_uid && !line.starts_with([' ', '\t']) {
            // Skip the folded continuation lines of the old value.
            while lines.peek().is_some_and(|l| l.starts_with([' ', '\t'])) {
                lines.next();
            }
            out.push_str(&format!("UID:{uid}{eol}"));
            done = true;
            continue;
        }
        if !done && upper == "END:VCARD" {
            out.push_str(&format!("UID:{uid}{eol}"));
            done = true;
        }
        out.push_str(line);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_value_is_replaced_and_other_lines_kept() {
        let card =
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nUID:old-\r\n long\r\nNOTE:x\r\nEND:VCARD\r\n";
        let out = replace_uid(card, "new");
        assert_eq!(
            out,
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nUID:new\r\nNOTE:x\r\nEND:VCARD\r\n"
        );
    }

    #[test]
    fn missing_uid_is_inserted_before_end() {
        let out = replace_uid(b"BEGIN:VCARD\nVERSION:4.0\nFN:A\nEND:VCARD\n", "u1");
        assert_eq!(out, b"BEGIN:VCARD\nVERSION:4.0\nFN:A\nUID:u1\nEND:VCARD\n");
    }
}
