-- The OCI store's index: repositories, blobs and their per-repository links, manifests, tags,
-- and resumable upload sessions. Blob and manifest bytes live in the blob store.

CREATE TABLE repositories (
    name        TEXT PRIMARY KEY NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE blobs (
    digest      TEXT PRIMARY KEY NOT NULL,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- A repository may read a blob only when it is linked here (push, mount).
CREATE TABLE repo_blobs (
    repo        TEXT NOT NULL REFERENCES repositories(name),
    digest      TEXT NOT NULL REFERENCES blobs(digest),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (repo, digest)
) WITHOUT ROWID;

CREATE TABLE manifests (
    repo          TEXT NOT NULL REFERENCES repositories(name),
    digest        TEXT NOT NULL REFERENCES blobs(digest),
    media_type    TEXT NOT NULL,
    artifact_type TEXT,
    subject       TEXT,
    size          INTEGER NOT NULL,
    annotations   TEXT,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (repo, digest)
) WITHOUT ROWID;

CREATE INDEX manifests_by_subject ON manifests (repo, subject) WHERE subject IS NOT NULL;

-- Descriptors a manifest references (config, layers, child manifests): what garbage collection keeps.
CREATE TABLE manifest_refs (
    repo        TEXT NOT NULL,
    manifest    TEXT NOT NULL,
    child       TEXT NOT NULL,
    PRIMARY KEY (repo, manifest, child)
) WITHOUT ROWID;

CREATE TABLE tags (
    repo        TEXT NOT NULL REFERENCES repositories(name),
    name        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (repo, name)
) WITHOUT ROWID;

CREATE INDEX tags_by_digest ON tags (repo, digest);

CREATE TABLE uploads (
    id          TEXT PRIMARY KEY NOT NULL,
    repo        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
