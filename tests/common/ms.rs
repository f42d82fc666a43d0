//! A multistatus reader for tests: hrefs, statuses, and each property's text or inner
//! element names, matched by namespace (never by prefix).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// One `<D:response>`.
#[derive(Debug, Clone, Default)]
pub struct MsResponse {
    pub href: String,
    /// `<D:status>` directly under `<D:response>`.
    pub status: Option<u16>,
    /// (status, properties) per propstat; a property is (namespace, local, text, child element local names).
    pub propstats: Vec<(u16, Vec<PropVal>)>,
}

#[derive(Debug, Clone, Default)]
pub struct PropVal {
    pub ns: String,
    pub local: String,
    pub text: String,
    pub children: Vec<String>,
}

impl MsResponse {
    /// A property's value in the 200 propstat.
    pub fn prop(&self, local: &str) -> Option<&PropVal> {
        self.propstats
            .iter()
            .filter(|(s, _)| *s == 200)
            .flat_map(|(_, p)| p)
            .find(|p| p.local == local)
    }
    pub fn text(&self, local: &str) -> Option<String> {
        self.prop(local).map(|p| p.text.clone())
    }
    /// Status of a property's propstat.
    pub fn prop_status(&self, local: &str) -> Option<u16> {
        self.propstats
            .iter()
            .find(|(_, p)| p.iter().any(|v| v.local == local))
            .map(|(s, _)| *s)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Multistatus {
    pub responses: Vec<MsResponse>,
    pub sync_token: Option<String>,
}

impl Multistatus {
    pub fn get(&self, href_suffix: &str) -> Option<&MsResponse> {
        self.responses
            .iter()
            .find(|r| r.href.ends_with(href_suffix))
    }
    pub fn hrefs(&self) -> Vec<String> {
        self.responses.iter().map(|r| r.href.clone()).collect()
    }
}

fn status_code(s: &str) -> u16 {
    s.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Parses a multistatus body; panics on malformed XML (a test failure).
pub fn parse(xml: &str) -> Multistatus {
    let mut r = NsReader::from_str(xml);
    r.config_mut().trim_text(false);
    let mut ms = Multistatus::default();
    let mut stack: Vec<(String, String)> = Vec::new();
    let mut cur = MsResponse::default();
    let mut ps_status = 0u16;
    let mut ps_props: Vec<PropVal> = Vec::new();
    let mut prop: Option<PropVal> = None;
    let mut text = String::new();
    loop {
        let (res, ev) = r.read_resolved_event().expect("well-formed multistatus");
        let ns = match res {
            ResolveResult::Bound(n) => n.as_ref().to_string(),
            _ => String::new(),
        };
        match ev {
            Event::Start(e) => {
                let local = e.local_name().as_ref().to_string();
                let depth = stack.len();
                if let Some(p) = prop.as_mut()
                    && depth == 5
                {
                    p.children.push(local.clone());
                }
                if depth == 4 && stack[3].1 == "prop" {
                    prop = Some(PropVal {
                        ns: ns.clone(),
                        local: local.clone(),
                        ..Default::default()
                    });
                }
                stack.push((ns, local));
                text.clear();
            }
            Event::Empty(e) => {
                let local = e.local_name().as_ref().to_string();
                let depth = stack.len();
                if depth == 4 && stack[3].1 == "prop" {
                    ps_props.push(PropVal {
                        ns,
                        local,
                        ..Default::default()
                    });
                } else if let Some(p) = prop.as_mut()
                    && depth == 5
                {
                    p.children.push(local);
                }
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(g) => {
                let name = g.to_string();
                text.push_str(match name.as_str() {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                });
                if let Some(stripped) = name.strip_prefix('#') {
                    let code = if let Some(h) = stripped.strip_prefix('x') {
                        u32::from_str_radix(h, 16).ok()
                    } else {
                        stripped.parse().ok()
                    };
                    if let Some(c) = code.and_then(char::from_u32) {
                        text.push(c);
                    }
                }
            }
            Event::CData(c) => text.push_str(&c.xml10_content()),
            Event::End(_) => {
                let (_, local) = stack.pop().expect("balanced");
                let depth = stack.len();
                match (depth, local.as_str()) {
                    (2, "href") => cur.href = text.trim().to_string(),
                    (2, "status") => cur.status = Some(status_code(text.trim())),
                    (3, "status") => ps_status = status_code(text.trim()),
                    (4, _) if stack[3].1 == "prop" => {
                        if let Some(mut p) = prop.take() {
                            if p.children.is_empty() {
                                p.text = text.clone();
                            } else if p.local == "getctag" || p.local == "sync-token" {
                                p.text = text.trim().to_string();
                            }
                            ps_props.push(p);
                        }
                    }
                    (5, "href") if prop.is_some() => {
                        if let Some(p) = prop.as_mut() {
                            if !p.text.is_empty() {
                                p.text.push(' ');
                            }
                            p.text.push_str(text.trim());
                            p.children.pop();
                            p.children.push("href".into());
                        }
                    }
                    (2, "propstat") => {
                        cur.propstats
                            .push((ps_status, std::mem::take(&mut ps_props)));
                        ps_status = 0;
                    }
                    (1, "response") => ms.responses.push(std::mem::take(&mut cur)),
                    (1, "sync-token") => ms.sync_token = Some(text.trim().to_string()),
                    _ => {}
                }
                if !(depth == 5 && local == "href") {
                    text.clear();
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    ms
}

/// The local name of the condition element in a `<D:error>` body.
pub fn error_condition(xml: &str) -> Option<String> {
    let mut r = NsReader::from_str(xml);
    let mut depth = 0;
    loop {
        match r.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                if depth == 2 {
                    return Some(e.local_name().as_ref().to_string());
                }
            }
            Event::Empty(e) if depth == 1 => {
                return Some(e.local_name().as_ref().to_string());
            }
            Event::End(_) => depth -= 1,
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The direct children of the root of a `<D:error>` body, as (namespace, local name);
/// empty when the root is not `{DAV:}error`.
pub fn error_children(xml: &str) -> Vec<(String, String)> {
    let mut r = NsReader::from_str(xml);
    let mut depth = 0;
    let mut out = Vec::new();
    loop {
        let Ok((res, ev)) = r.read_resolved_event() else {
            return Vec::new();
        };
        let ns = match res {
            ResolveResult::Bound(n) => n.as_ref().to_string(),
            _ => String::new(),
        };
        let (name, empty) = match &ev {
            Event::Start(e) => (Some(e.local_name().as_ref().to_string()), false),
            Event::Empty(e) => (Some(e.local_name().as_ref().to_string()), true),
            Event::End(_) => {
                depth -= 1;
                (None, false)
            }
            Event::Eof => return out,
            _ => (None, false),
        };
        let Some(name) = name else { continue };
        if depth == 0 && !(ns == "DAV:" && name == "error") {
            return Vec::new();
        }
        if depth == 1 {
            out.push((ns, name));
        }
        if !empty {
            depth += 1;
        }
    }
}

/// The `DAV:href` values anywhere inside a `<D:error>` body (the condition's hrefs).
pub fn error_hrefs(xml: &str) -> Vec<String> {
    let mut r = NsReader::from_str(xml);
    let mut out = Vec::new();
    let mut in_href = false;
    let mut text = String::new();
    loop {
        let Ok((res, ev)) = r.read_resolved_event() else {
            return out;
        };
        let dav = matches!(res, ResolveResult::Bound(n) if n.as_ref() == "DAV:");
        match ev {
            Event::Start(e) if dav && e.local_name().as_ref() == "href" => {
                in_href = true;
                text.clear();
            }
            Event::Text(t) if in_href => text.push_str(&t.xml10_content()),
            Event::End(e) if in_href && e.local_name().as_ref() == "href" => {
                in_href = false;
                out.push(text.trim().to_string());
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

/// The text of the `{urn:x-dialbook:ns}reason` child of a `<D:error>` body, if any.
pub fn error_reason(xml: &str) -> Option<String> {
    let mut r = NsReader::from_str(xml);
    let mut inside = false;
    let mut text = String::new();
    loop {
        let (res, ev) = r.read_resolved_event().ok()?;
        let ours = matches!(res, ResolveResult::Bound(n) if n.as_ref() == "urn:x-dialbook:ns");
        match ev {
            Event::Start(e) if ours && e.local_name().as_ref() == "reason" => inside = true,
            Event::Text(t) if inside => text.push_str(&t.xml10_content()),
            Event::GeneralRef(g) if inside => text.push_str(match g.as_ref() {
                "lt" => "<",
                "gt" => ">",
                "amp" => "&",
                "quot" => "\"",
                "apos" => "'",
                _ => "",
            }),
            Event::End(_) if inside => return Some(text),
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// Every element of a document as (namespace, local name), in document order.
pub fn element_names(xml: &str) -> Vec<(String, String)> {
    let mut r = NsReader::from_str(xml);
    let mut out = Vec::new();
    loop {
        let (res, ev) = r.read_resolved_event().expect("well-formed XML");
        let ns = match res {
            ResolveResult::Bound(n) => n.as_ref().to_string(),
            _ => String::new(),
        };
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                out.push((ns, e.local_name().as_ref().to_string()));
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}
