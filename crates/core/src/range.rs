//! Byte ranges: the upload `Content-Range` of a chunked push and the `Range` header of a blob read.

/// An inclusive byte range `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("Content-Range must be <start>-<end> with start <= end")]
    Malformed,
    #[error("range not satisfiable")]
    Unsatisfiable,
}

/// Parses an upload chunk's `Content-Range: <start>-<end>` (inclusive). A leading `bytes ` and a
/// trailing `/<total>` are tolerated because some clients send the RFC 9110 form.
pub fn parse_content_range(value: &str) -> Result<ByteRange, RangeError> {
    let v = value.trim();
    let v = v.strip_prefix("bytes ").unwrap_or(v);
    let v = v.split_once('/').map_or(v, |(r, _)| r);
    let (a, b) = v.split_once('-').ok_or(RangeError::Malformed)?;
    let start = parse_u64(a).ok_or(RangeError::Malformed)?;
    let end = parse_u64(b).ok_or(RangeError::Malformed)?;
    // `end == u64::MAX` would make the length overflow; no upload is that large.
    if start > end || end == u64::MAX {
        return Err(RangeError::Malformed);
    }
    Ok(ByteRange { start, end })
}

/// Resolves a request's `Range` header against a blob of `len` bytes.
///
/// `Ok(None)` means "serve the whole blob": RFC 9110 says a Range header the server does not
/// understand (another unit, several ranges, bad syntax) is ignored. `Err(Unsatisfiable)` is a 416.
pub fn resolve_range(value: &str, len: u64) -> Result<Option<ByteRange>, RangeError> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ok(None),
        // bytes=-N: the last N bytes
        (true, false) => {
            let Some(n) = parse_u64(b) else {
                return Ok(None);
            };
            if n == 0 || len == 0 {
                return Err(RangeError::Unsatisfiable);
            }
            ByteRange {
                start: len.saturating_sub(n),
                end: len - 1,
            }
        }
        (false, _) => {
            let Some(start) = parse_u64(a) else {
                return Ok(None);
            };
            let end = if b.is_empty() {
                u64::MAX
            } else {
                match parse_u64(b) {
                    Some(e) if e >= start => e,
                    _ => return Ok(None),
                }
            };
            if start >= len {
                return Err(RangeError::Unsatisfiable);
            }
            ByteRange {
                start,
                end: end.min(len - 1),
            }
        }
    };
    Ok(Some(range))
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_forms() {
        assert_eq!(
            parse_content_range("0-99"),
            Ok(ByteRange { start: 0, end: 99 })
        );
        assert_eq!(
            parse_content_range("bytes 100-199/*"),
            Ok(ByteRange {
                start: 100,
                end: 199
            })
        );
        for bad in [
            "",
            "5",
            "-5",
            "5-",
            "9-3",
            "a-b",
            "1-2-3",
            "+1-2",
            "0-18446744073709551615",
        ] {
            assert_eq!(
                parse_content_range(bad),
                Err(RangeError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn range_header_resolution() {
        let r = |s| resolve_range(s, 1000);
        assert_eq!(
            r("bytes=500-1499"),
            Ok(Some(ByteRange {
                start: 500,
                end: 999
            }))
        );
        assert_eq!(
            r("bytes=500-"),
            Ok(Some(ByteRange {
                start: 500,
                end: 999
            }))
        );
        assert_eq!(
            r("bytes=-500"),
            Ok(Some(ByteRange {
                start: 500,
                end: 999
            }))
        );
        assert_eq!(r("bytes=-5000"), Ok(Some(ByteRange { start: 0, end: 999 })));
        assert_eq!(r("bytes=0-0"), Ok(Some(ByteRange { start: 0, end: 0 })));
        assert_eq!(r("bytes=1000-"), Err(RangeError::Unsatisfiable));
        assert_eq!(r("bytes=-0"), Err(RangeError::Unsatisfiable));
        assert_eq!(r("items=0-1"), Ok(None));
        assert_eq!(r("bytes=0-1,5-6"), Ok(None));
        assert_eq!(r("bytes=9-3"), Ok(None));
        assert_eq!(resolve_range("bytes=0-", 0), Err(RangeError::Unsatisfiable));
    }
}
