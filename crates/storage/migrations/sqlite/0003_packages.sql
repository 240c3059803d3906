-- The package index: facts the OCI store does not hold (description, license, dependencies,
-- WIT imports/exports, downloads, yanked). A version's content is the OCI manifest it names.

CREATE TABLE packages (
    name         TEXT PRIMARY KEY NOT NULL,      -- namespace:name
    namespace    TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    license      TEXT,
    repository   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE package_versions (
    package          TEXT NOT NULL REFERENCES packages(name),
    version          TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    license          TEXT,
    repository       TEXT,
    wit_url          TEXT,
    size             INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    manifest_digest  TEXT NOT NULL,
    dependencies     TEXT NOT NULL DEFAULT '[]',   -- JSON [{name, version, optional}]
    targets          TEXT NOT NULL DEFAULT '[]',   -- JSON [string]
    imports          TEXT NOT NULL DEFAULT '[]',   -- JSON [string]
    exports          TEXT NOT NULL DEFAULT '[]',   -- JSON [string]
    yanked           INTEGER NOT NULL DEFAULT 0,
    downloads        INTEGER NOT NULL DEFAULT 0,
    published_at     INTEGER NOT NULL,
    PRIMARY KEY (package, version)
) WITHOUT ROWID;
