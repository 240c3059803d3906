//! Manifests: pushed bytes kept exactly, validated, their references checked, indexed for tags
//! and referrers; served with the pushed media type.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wharf_core::manifest::ManifestKind;
use wharf_core::{Digest, Manifest, NameError, Reference, RepoName, Tag};
use wharf_storage::{fs::collect, ManifestRecord, NewManifest, StorageError};

use super::error::{Code, OciError, OciResult};
use super::Params;
use crate::services::packages::{classify_oci_push, OciPush};
use crate::AppState;

fn manifest_unknown(reference: &str) -> OciError {
    OciError::new(Code::ManifestUnknown, "manifest unknown to registry")
        .detail(json!({ "reference": reference }))
}

/// A reference in a GET/HEAD/DELETE path: a malformed digest is 400, a malformed tag cannot
/// name anything and is 404.
fn lookup_reference(reference: &str) -> OciResult<Reference> {
    match Reference::parse(reference) {
        Ok(r) => Ok(r),
        Err(NameError::Digest(e)) => Err(OciError::digest_invalid(e)),
        Err(_) => Err(manifest_unknown(reference)),
    }
}

async fn resolve(
    state: &AppState,
    repo: &RepoName,
    reference: &Reference,
) -> OciResult<Option<ManifestRecord>> {
    Ok(match reference {
        Reference::Digest(d) => state.meta.manifest(repo, d).await?,
        Reference::Tag(t) => state.meta.tagged_manifest(repo, t).await?,
    })
}

fn manifest_headers(res: &mut Response, media_type: &str, digest: &Digest, size: u64) {
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, size.into());
    h.insert("docker-content-digest", digest.to_string().parse().unwrap());
    h.insert(header::ETAG, format!("\"{digest}\"").parse().unwrap());
}

/// GET/HEAD `/v2/<name>/manifests/<reference>`
pub async fn get(
    state: &AppState,
    repo: RepoName,
    reference: &str,
    head: bool,
) -> OciResult<Response> {
    let parsed = lookup_reference(reference)?;
    let record = resolve(state, &repo, &parsed)
        .await?
        .ok_or_else(|| manifest_unknown(reference))?;
    let body = if head {
        Body::empty()
    } else {
        let Some(stream) = state.blobs.read(&record.digest, None).await? else {
            return Err(OciError::internal(
                "manifest is indexed but missing from the blob store",
                &record.digest,
            ));
        };
        let bytes = collect(stream)
            .await
            .map_err(|e| OciError::internal("reading a manifest failed", e))?;
        Body::from(bytes)
    };
    let mut res = (StatusCode::OK, body).into_response();
    manifest_headers(&mut res, &record.media_type, &record.digest, record.size);
    Ok(res)
}

/// PUT `/v2/<name>/manifests/<reference>` (and `?tag=` for extra tags on a push by digest).
pub async fn put(
    state: &AppState,
    repo: RepoName,
    reference: &str,
    params: &Params,
    headers: &HeaderMap,
    body: Body,
) -> OciResult<Response> {
    let reference = Reference::parse(reference).map_err(|e| match e {
        NameError::Digest(e) => OciError::digest_invalid(e),
        other => OciError::new(Code::ManifestInvalid, other.to_string()),
    })?;
    let mut tags: Vec<Tag> = params
        .all("tag")
        .map(|t| Tag::parse(t).map_err(|e| OciError::new(Code::ManifestInvalid, e.to_string())))
        .collect::<OciResult<_>>()?;
    if let Reference::Tag(t) = &reference {
        tags.insert(0, t.clone());
    }

    let limit = state.config.limits.max_manifest_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(OciError::too_large("manifest", limit));
    }
    let bytes = axum::body::to_bytes(body, limit as usize)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                OciError::too_large("manifest", limit)
            } else {
                OciError::new(
                    Code::ManifestInvalid,
                    format!("could not read the manifest: {e}"),
                )
            }
        })?;

    let algorithm = match &reference {
        Reference::Digest(d) => d.algorithm(),
        Reference::Tag(_) => wharf_core::Algorithm::Sha256,
    };
    let digest = Digest::of(algorithm, &bytes);
    if let Reference::Digest(expected) = &reference {
        if *expected != digest {
            return Err(OciError::new(
                Code::DigestInvalid,
                "manifest digest does not match the reference it was pushed to",
            )
            .detail(json!({ "expected": expected.to_string(), "actual": digest.to_string() })));
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let manifest = Manifest::parse(&bytes, content_type)
        .map_err(|e| OciError::new(Code::ManifestInvalid, e.to_string()))?;
    check_references(state, &repo, &manifest).await?;

    let size = bytes.len() as u64;
    state.blobs.put(&digest, bytes).await?;
    let record = NewManifest {
        repo: repo.clone(),
        digest: digest.clone(),
        media_type: manifest.media_type.clone(),
        artifact_type: manifest.referrer_artifact_type(),
        subject: manifest.subject.as_ref().map(|s| s.digest.clone()),
        size,
        annotations: manifest.annotations.clone(),
        references: manifest
            .blob_references()
            .chain(manifest.manifests.iter())
            .map(|d| d.digest.clone())
            .collect(),
    };
    record_manifest(state, &repo, &manifest, record, &tags).await?;

    let mut res = (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v2/{repo}/manifests/{digest}")),
            (header::CONTENT_LENGTH, "0".to_owned()),
            (
                header::HeaderName::from_static("docker-content-digest"),
                digest.to_string(),
            ),
        ],
    )
        .into_response();
    if let Some(subject) = &manifest.subject {
        res.headers_mut()
            .insert("oci-subject", subject.digest.to_string().parse().unwrap());
    }
    for tag in &tags {
        res.headers_mut()
            .append("oci-tag", tag.as_str().parse().unwrap());
    }
    Ok(res)
}

/// Records the manifest and its tags. A Wasm artifact under a semver tag in an `ns/name`
/// repository is also a package version, recorded in the same transaction; such versions are
/// immutable (409 when a different manifest is pushed to a published version).
async fn record_manifest(
    state: &AppState,
    repo: &RepoName,
    manifest: &Manifest,
    record: NewManifest,
    tags: &[Tag],
) -> OciResult<()> {
    for tag in tags {
        check_not_published_elsewhere(state, repo, tag, &record.digest).await?;
    }
    let mut plain = Vec::new();
    for tag in tags {
        match classify_oci_push(state, repo, tag, manifest, &record.digest).await? {
            OciPush::Version(version) => {
                match state
                    .meta
                    .publish_version(&version, Some((&record, tag)))
                    .await
                {
                    Ok(()) => {}
                    // Published before (or concurrently): the same content may be re-tagged.
                    Err(StorageError::Conflict(_)) => {
                        check_not_published_elsewhere(state, repo, tag, &record.digest).await?;
                        plain.push(tag.clone());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            OciPush::NotAPackage => plain.push(tag.clone()),
        }
    }
    state.meta.put_manifest(&record, &plain).await?;
    Ok(())
}

/// A tag that is a published package version may not move to another manifest.
async fn check_not_published_elsewhere(
    state: &AppState,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> OciResult<()> {
    let (Some(name), Ok(version)) = (
        wharf_core::PackageName::from_repo(repo),
        wharf_core::package::parse_version(tag.as_str()),
    ) else {
        return Ok(());
    };
    let existing = state
        .meta
        .package_version(&name.to_string(), &version.to_string())
        .await?;
    match existing {
        Some(v) if v.manifest_digest != digest.to_string() => Err(OciError::new(
            Code::Denied,
            format!("{name}@{version} is published and package versions are immutable"),
        )
        .status(StatusCode::CONFLICT)),
        _ => Ok(()),
    }
}

/// Every blob an image references must be linked to the repository, and every manifest an
/// index references must be in it. Exempt: `subject` (it may be pushed later) and foreign layers
/// (descriptors with `urls`, which clients never upload).
async fn check_references(state: &AppState, repo: &RepoName, m: &Manifest) -> OciResult<()> {
    let unknown = |d: &Digest| {
        OciError::new(
            Code::ManifestBlobUnknown,
            "manifest references a manifest or blob unknown to registry",
        )
        .detail(json!({ "digest": d.to_string() }))
    };
    // A descriptor's size must be the content's: clients trust it for Content-Length.
    let size_mismatch = |d: &wharf_core::Descriptor, actual: u64| {
        OciError::new(
            Code::ManifestInvalid,
            format!(
                "descriptor of {} says {} bytes; the content has {actual}",
                d.digest, d.size
            ),
        )
    };
    match m.kind {
        ManifestKind::Image => {
            for d in m.blob_references().filter(|d| !d.is_foreign()) {
                match state.meta.linked_blob(repo, &d.digest).await? {
                    None => return Err(unknown(&d.digest)),
                    Some(size) if size != d.size => return Err(size_mismatch(d, size)),
                    Some(_) => {}
                }
            }
        }
        ManifestKind::Index => {
            for d in &m.manifests {
                match state.meta.manifest(repo, &d.digest).await? {
                    None => return Err(unknown(&d.digest)),
                    Some(r) if r.size != d.size => return Err(size_mismatch(d, r.size)),
                    Some(_) => {}
                }
            }
        }
    }
    Ok(())
}

/// DELETE `/v2/<name>/manifests/<reference>`: by tag removes the tag; by digest removes the
/// manifest and every tag pointing at it.
pub async fn delete(state: &AppState, repo: RepoName, reference: &str) -> OciResult<Response> {
    let parsed = lookup_reference(reference)?;
    refuse_deleting_a_version(state, &repo, &parsed).await?;
    let deleted = match parsed {
        Reference::Tag(t) => state.meta.delete_tag(&repo, &t).await?,
        Reference::Digest(d) => state.meta.delete_manifest(&repo, &d).await?,
    };
    if !deleted {
        return Err(manifest_unknown(reference));
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Published package versions are immutable: neither their tag nor their manifest may be
/// deleted through `/v2` (yank them through the package API instead).
async fn refuse_deleting_a_version(
    state: &AppState,
    repo: &RepoName,
    reference: &Reference,
) -> OciResult<()> {
    let Some(name) = wharf_core::PackageName::from_repo(repo) else {
        return Ok(());
    };
    let versions = state.meta.package_versions(&name.to_string()).await?;
    let hit = versions.iter().find(|v| match reference {
        Reference::Tag(t) => v.version == t.as_str(),
        Reference::Digest(d) => v.manifest_digest == d.to_string(),
    });
    match hit {
        Some(v) => Err(OciError::new(
            Code::Denied,
            format!(
                "{name}@{} is a published package version and cannot be deleted; yank it instead",
                v.version
            ),
        )
        .status(StatusCode::CONFLICT)),
        None => Ok(()),
    }
}
