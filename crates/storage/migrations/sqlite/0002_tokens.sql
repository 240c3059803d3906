-- API tokens: only a SHA-256 of each token is stored; the token is shown once, at creation.

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,          -- space-separated: admin | pull | push:<ns>
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) WITHOUT ROWID;
