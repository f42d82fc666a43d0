//! Request headers with DAV meaning: `Depth` (RFC 4918 §10.2), `If-Match` /
//! `If-None-Match` (RFC 9110 §13.1), `Destination` and `Overwrite` (RFC 4918 §10.3, §10.6).

use http::HeaderMap;

use super::error::DavError;
use crate::storage::Condition;

/// `Depth` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Zero,
    One,
    Infinity,
}

/// Reads `Depth`; `default` when absent; 400 for anything else.
pub fn depth(h: &HeaderMap, default: Depth) -> Result<Depth, DavError> {
    match h
        .get("depth")
        .map(|v| v.to_str().unwrap_or("").trim().to_ascii_lowercase())
    {
        None => Ok(default),
        Some(v) => match v.as_str() {
            "0" => Ok(Depth::Zero),
            "1" => Ok(Depth::One),
            "infinity" => Ok(Depth::Infinity),
            _ => Err(DavError::bad_request("invalid Depth header")),
        },
    }
}

/// Parses an entity-tag list (`"a", W/"b"`) into strong tag values; weak tags never
/// match in a strong comparison (RFC 9110 §8.8.3.2), so they are dropped.
fn etags(v: &str) -> Result<Vec<String>, DavError> {
    let mut out = Vec::new();
    for part in v.split(',') {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        if p.starts_with("W/") {
            continue;
        }
        let inner = p
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .ok_or_else(|| DavError::bad_request("malformed entity tag"))?;
        out.push(inner.to_string());
    }
    Ok(out)
}

/// The write precondition from `If-Match` / `If-None-Match`.
pub fn condition(h: &HeaderMap) -> Result<Condition, DavError> {
    let get = |n: &str| {
        h.get(n).map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| DavError::bad_request("bad header"))
        })
    };
    if let Some(v) = get("if-match") {
        let v = v?;
        return if v == "*" {
            Ok(Condition::IfMatchAny)
        } else {
            Ok(Condition::IfMatch(etags(v)?))
        };
    }
    if let Some(v) = get("if-none-match") {
        let v = v?;
        return if v == "*" {
            Ok(Condition::IfNoneMatchAny)
        } else {
            Ok(Condition::IfNoneMatch(etags(v)?))
        };
    }
    Ok(Condition::None)
}

/// Whether a read precondition (`If-None-Match` on GET/HEAD) says "not modified".
pub fn not_modified(h: &HeaderMap, etag: &str) -> bool {
    match h.get("if-none-match").and_then(|v| v.to_str().ok()) {
        Some(v) if v.trim() == "*" => true,
        Some(v) => v.split(',').any(|t| {
            let t = t.trim();
            let t = t.strip_prefix("W/").unwrap_or(t);
            t.trim_matches('"') == etag
        }),
        None => false,
    }
}

/// `Overwrite` (default T).
pub fn overwrite(h: &HeaderMap) -> Result<bool, DavError> {
    match h
        .get("overwrite")
        .map(|v| v.to_str().unwrap_or("").trim().to_ascii_uppercase())
    {
        None => Ok(true),
        Some(v) if v == "T" => Ok(true),
        Some(v) if v == "F" => Ok(false),
        Some(_) => Err(DavError::bad_request("invalid Overwrite header")),
    }
}

/// The `Destination` header's path (scheme and authority dropped).
pub fn destination(h: &HeaderMap) -> Result<String, DavError> {
    let v = h
        .get("destination")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| DavError::bad_request("missing Destination header"))?;
    Ok(super::resource::href_path(v).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn h(name: &'static str, v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(name, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn if_match_list_keeps_strong_tags() {
        assert_eq!(
            condition(&h("if-match", "\"a\", W/\"b\", \"c\"")).unwrap(),
            Condition::IfMatch(vec!["a".into(), "c".into()])
        );
    }

    #[test]
    fn star_conditions() {
        assert_eq!(
            condition(&h("if-match", "*")).unwrap(),
            Condition::IfMatchAny
        );
        assert_eq!(
            condition(&h("if-none-match", "*")).unwrap(),
            Condition::IfNoneMatchAny
        );
    }

    #[test]
    fn unquoted_etag_is_bad_request() {
        assert!(condition(&h("if-match", "abc")).is_err());
    }

    #[test]
    fn depth_values() {
        assert_eq!(
            depth(&h("depth", "Infinity"), Depth::One).unwrap(),
            Depth::Infinity
        );
        assert_eq!(depth(&HeaderMap::new(), Depth::One).unwrap(), Depth::One);
        assert!(depth(&h("depth", "2"), Depth::One).is_err());
    }
}
