//! Test helper: an infoset view of a document read directly with quick-xml's `NsReader`
//! (independent of our own tree), so reader and writer output can be compared by meaning
//! rather than by spelling.
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

fn ns_string(r: ResolveResult<'_>) -> String {
    match r {
        ResolveResult::Bound(ns) => ns.into_inner().to_string(),
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(p) => panic!("unbound prefix {p}"),
    }
}

fn start_token(reader: &NsReader<&[u8]>, e: &BytesStart<'_>) -> String {
    let (ns, local) = reader.resolver().resolve_element(e.name());
    let mut attrs: Vec<String> = e
        .attributes()
        .map(|a| a.expect("attribute"))
        .filter(|a| a.key.as_namespace_binding().is_none())
        .map(|a| {
            let (ns, local) = reader.resolver().resolve_attribute(a.key);
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .expect("attribute value");
            format!(" {{{}}}{}={v:?}", ns_string(ns), local.into_inner())
        })
        .collect();
    attrs.sort();
    format!(
        "<{{{}}}{}{}>",
        ns_string(ns),
        local.into_inner(),
        attrs.concat()
    )
}

fn push_text(tokens: &mut Vec<String>, t: &str) {
    if let Some(last) = tokens.last_mut()
        && last.starts_with('"')
    {
        last.pop();
        last.push_str(t);
        last.push('"');
        return;
    }
    tokens.push(format!("\"{t}\""));
}

/// Every element start (`<{ns}local {ns}attr="v">`), merged text (`"…"`) and end
/// (`</>`) of the document, in order; comments, PIs, the declaration and whitespace
/// outside the root are skipped. Text is shown between quotes, unescaped.
pub(crate) fn infoset(xml: &str) -> Vec<String> {
    let mut reader = NsReader::from_str(xml);
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                depth += 1;
                tokens.push(start_token(&reader, &e));
            }
            Event::Empty(e) => {
                tokens.push(start_token(&reader, &e));
                tokens.push("</>".into());
            }
            Event::End(_) => {
                depth -= 1;
                tokens.push("</>".into());
            }
            // Whitespace before or after the root element is not content.
            Event::Text(_) if depth == 0 => {}
            Event::Text(t) => push_text(&mut tokens, &t.xml10_content()),
            Event::CData(t) => push_text(&mut tokens, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let s = match r.resolve_char_ref().expect("char ref") {
                    Some(c) => c.to_string(),
                    None => match &*r {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => panic!("entity {other}"),
                    },
                };
                push_text(&mut tokens, &s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    tokens
}

/// The tokens strictly inside the first element `{ns}local`.
pub(crate) fn inner_infoset(xml: &str, ns: &str, local: &str) -> Vec<String> {
    let tokens = infoset(xml);
    let open = format!("<{{{ns}}}{local}");
    let start = tokens
        .iter()
        .position(|t| {
            t.starts_with(&open)
                && (t[open.len()..].starts_with('>') || t[open.len()..].starts_with(' '))
        })
        .unwrap_or_else(|| panic!("no element {open} in {xml}"));
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(start + 1) {
        if t.starts_with("</") {
            if depth == 0 {
                return tokens[start + 1..i].to_vec();
            }
            depth -= 1;
        } else if t.starts_with('<') {
            depth += 1;
        }
    }
    panic!("unclosed {open}")
}
