//! Parses the path after `/v2/` into the endpoint it names, from the right, so repository names
//! may have any number of components (and may themselves contain `blobs` or `manifests`).

/// The endpoint a `/v2/...` path names. Names and references are still unvalidated strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OciPath<'a> {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/tags/list`: every repository with its tags.
    AllTags,
    /// `/v2/<name>/tags/list`
    Tags { name: &'a str },
    /// `/v2/<name>/manifests/<reference>`
    Manifest { name: &'a str, reference: &'a str },
    /// `/v2/<name>/blobs/<digest>`
    Blob { name: &'a str, digest: &'a str },
    /// `/v2/<name>/blobs/uploads/`
    Uploads { name: &'a str },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload { name: &'a str, id: &'a str },
    /// `/v2/<name>/referrers/<digest>`
    Referrers { name: &'a str, digest: &'a str },
}

impl<'a> OciPath<'a> {
    /// `rest` is the path after `/v2/`. `None` means no such endpoint.
    pub fn parse(rest: &'a str) -> Option<OciPath<'a>> {
        match rest {
            "" => return Some(OciPath::Base),
            "_catalog" => return Some(OciPath::Catalog),
            "tags/list" => return Some(OciPath::AllTags),
            _ => {}
        }
        if let Some(name) = rest
            .strip_suffix("/blobs/uploads/")
            .or_else(|| rest.strip_suffix("/blobs/uploads"))
        {
            return non_empty(name).map(|name| OciPath::Uploads { name });
        }
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return non_empty(name).map(|name| OciPath::Tags { name });
        }
        let (head, last) = rest.rsplit_once('/')?;
        if last.is_empty() {
            return None;
        }
        let (name, kind) = head.rsplit_once('/')?;
        let name = non_empty(name)?;
        match kind {
            "manifests" => Some(OciPath::Manifest {
                name,
                reference: last,
            }),
            "referrers" => Some(OciPath::Referrers { name, digest: last }),
            "uploads" => match name.strip_suffix("/blobs") {
                Some(name) => non_empty(name).map(|name| OciPath::Upload { name, id: last }),
                None => None,
            },
            "blobs" => Some(OciPath::Blob { name, digest: last }),
            _ => None,
        }
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::OciPath::{self, *};

    fn p(s: &str) -> Option<OciPath<'_>> {
        OciPath::parse(s)
    }

    #[test]
    fn parses_every_endpoint() {
        assert_eq!(p(""), Some(Base));
        assert_eq!(p("_catalog"), Some(Catalog));
        assert_eq!(p("tags/list"), Some(AllTags));
        assert_eq!(p("a/b/tags/list"), Some(Tags { name: "a/b" }));
        assert_eq!(
            p("a/manifests/latest"),
            Some(Manifest {
                name: "a",
                reference: "latest"
            })
        );
        assert_eq!(
            p("a/b/blobs/sha256:x"),
            Some(Blob {
                name: "a/b",
                digest: "sha256:x"
            })
        );
        assert_eq!(p("a/blobs/uploads/"), Some(Uploads { name: "a" }));
        assert_eq!(p("a/blobs/uploads"), Some(Uploads { name: "a" }));
        assert_eq!(
            p("a/blobs/uploads/u-1"),
            Some(Upload {
                name: "a",
                id: "u-1"
            })
        );
        assert_eq!(
            p("a/referrers/sha256:x"),
            Some(Referrers {
                name: "a",
                digest: "sha256:x"
            })
        );
    }

    #[test]
    fn names_may_contain_endpoint_words() {
        assert_eq!(
            p("x/blobs/manifests/manifests/v1"),
            Some(Manifest {
                name: "x/blobs/manifests",
                reference: "v1"
            })
        );
        assert_eq!(
            p("a/blobs/uploads/blobs/sha256:x"),
            Some(Blob {
                name: "a/blobs/uploads",
                digest: "sha256:x"
            })
        );
        assert_eq!(
            p("a/b/c/d/e/f/g/h/i/blobs/uploads/id"),
            Some(Upload {
                name: "a/b/c/d/e/f/g/h/i",
                id: "id"
            })
        );
    }

    #[test]
    fn rejects_unknown_shapes() {
        for bad in [
            "a",
            "a/b",
            "manifests/x",
            "/manifests/x",
            "a/manifests/",
            "a/uploads/x",
            "blobs/uploads/",
            "a/unknown/x",
            "/tags/list",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }
}
