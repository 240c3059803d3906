//! The SQLite metadata store (WAL mode): one writer connection, a pool of readers.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::Row;
use wharf_core::auth::Scope;
use wharf_core::{Digest, RepoName, Tag};

use crate::meta::Page;
use crate::{
    now_unix, ManifestRecord, MetadataStore, NewManifest, PackageStats, StorageError, TokenRecord,
    UploadRecord, VersionRecord,
};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Metadata in one SQLite database file.
pub struct SqliteMetadataStore {
    read: SqlitePool,
    /// SQLite admits one writer at a time; a one-connection pool queues writers in-process
    /// instead of letting them fail with SQLITE_BUSY.
    write: SqlitePool,
}

impl SqliteMetadataStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub async fn open(path: &Path) -> Result<Self, StorageError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATIONS.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteMetadataStore { read, write })
    }
}

fn digest_col(row: &SqliteRow, col: &str) -> Result<Digest, StorageError> {
    let s: String = row.try_get(col)?;
    Digest::parse(&s).map_err(|e| StorageError::Corrupt(format!("{col} {s:?}: {e}")))
}

fn manifest_row(row: &SqliteRow) -> Result<ManifestRecord, StorageError> {
    let subject: Option<String> = row.try_get("subject")?;
    let annotations: Option<String> = row.try_get("annotations")?;
    let annotations: BTreeMap<String, String> = match annotations {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| StorageError::Corrupt(format!("annotations: {e}")))?,
        None => BTreeMap::new(),
    };
    Ok(ManifestRecord {
        digest: digest_col(row, "digest")?,
        media_type: row.try_get("media_type")?,
        artifact_type: row.try_get("artifact_type")?,
        subject: subject
            .map(|s| Digest::parse(&s))
            .transpose()
            .map_err(|e| StorageError::Corrupt(format!("subject: {e}")))?,
        size: row.try_get::<i64, _>("size")? as u64,
        annotations,
        created_at: row.try_get("created_at")?,
    })
}

const MANIFEST_COLS: &str =
    "m.digest, m.media_type, m.artifact_type, m.subject, m.size, m.annotations, m.created_at";

fn token_row(row: &SqliteRow) -> Result<TokenRecord, StorageError> {
    let scopes: String = row.try_get("scopes")?;
    let scopes = scopes
        .split_whitespace()
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StorageError::Corrupt(format!("token scopes: {e}")))?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scopes,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// Inserts the repository and the blob rows if they are not there yet.
async fn record_repo_and_blob(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    repo: &RepoName,
    digest: &str,
    size: u64,
    now: i64,
) -> Result<(), StorageError> {
    sqlx::query("INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(repo.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(digest)
    .bind(size as i64)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a manifest, its references and its tags inside `tx`.
async fn insert_manifest(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    m: &NewManifest,
    tags: &[Tag],
) -> Result<(), StorageError> {
    let now = now_unix();
    let digest = m.digest.to_string();
    let annotations = (!m.annotations.is_empty())
        .then(|| serde_json::to_string(&m.annotations))
        .transpose()
        .map_err(|e| StorageError::Corrupt(e.to_string()))?;
    record_repo_and_blob(tx, &m.repo, &digest, m.size, now).await?;
    sqlx::query(
        "INSERT INTO manifests (repo, digest, media_type, artifact_type, subject, size, annotations, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(m.repo.as_str())
    .bind(&digest)
    .bind(&m.media_type)
    .bind(&m.artifact_type)
    .bind(m.subject.as_ref().map(Digest::to_string))
    .bind(m.size as i64)
    .bind(annotations)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for child in &m.references {
        sqlx::query("INSERT INTO manifest_refs (repo, manifest, child) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            .bind(m.repo.as_str())
            .bind(&digest)
            .bind(child.to_string())
            .execute(&mut **tx)
            .await?;
    }
    for tag in tags {
        sqlx::query(
            "INSERT INTO tags (repo, name, digest, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (repo, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at",
        )
        .bind(m.repo.as_str())
        .bind(tag.as_str())
        .bind(&digest)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

const VERSION_COLS: &str =
    "v.package, p.namespace, v.version, v.description, v.license, v.repository, \
     v.wit_url, v.size, v.sha256, v.manifest_digest, v.dependencies, v.targets, v.imports, \
     v.exports, v.yanked, v.downloads, v.published_at";

fn json_col<T: serde::de::DeserializeOwned>(row: &SqliteRow, col: &str) -> Result<T, StorageError> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| StorageError::Corrupt(format!("{col}: {e}")))
}

fn version_row(row: &SqliteRow) -> Result<VersionRecord, StorageError> {
    Ok(VersionRecord {
        package: row.try_get("package")?,
        namespace: row.try_get("namespace")?,
        version: row.try_get("version")?,
        description: row.try_get("description")?,
        license: row.try_get("license")?,
        repository: row.try_get("repository")?,
        wit_url: row.try_get("wit_url")?,
        size: row.try_get::<i64, _>("size")? as u64,
        sha256: row.try_get("sha256")?,
        manifest_digest: row.try_get("manifest_digest")?,
        dependencies: json_col(row, "dependencies")?,
        targets: json_col(row, "targets")?,
        imports: json_col(row, "imports")?,
        exports: json_col(row, "exports")?,
        yanked: row.try_get::<i64, _>("yanked")? != 0,
        downloads: row.try_get::<i64, _>("downloads")? as u64,
        published_at: row.try_get("published_at")?,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain values serialize")
}

/// `LIMIT -1` is SQLite's "no limit".
fn limit_of(page: Page<'_>) -> i64 {
    page.limit.map_or(-1, i64::from)
}

#[async_trait]
impl MetadataStore for SqliteMetadataStore {
    async fn repo_exists(&self, repo: &RepoName) -> Result<bool, StorageError> {
        let row = sqlx::query("SELECT 1 FROM repositories WHERE name = ?")
            .bind(repo.as_str())
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    async fn list_repositories(&self, page: Page<'_>) -> Result<Vec<String>, StorageError> {
        let rows =
            sqlx::query("SELECT DISTINCT repo FROM manifests WHERE repo > ? ORDER BY repo LIMIT ?")
                .bind(page.last.unwrap_or(""))
                .bind(limit_of(page))
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|r| r.try_get("repo").map_err(Into::into))
            .collect()
    }

    async fn linked_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Option<u64>, StorageError> {
        let row = sqlx::query(
            "SELECT b.size FROM repo_blobs l JOIN blobs b ON b.digest = l.digest
             WHERE l.repo = ? AND l.digest = ?",
        )
        .bind(repo.as_str())
        .bind(digest.to_string())
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| r.get::<i64, _>(0) as u64))
    }

    async fn known_blob(&self, digest: &Digest) -> Result<Option<u64>, StorageError> {
        let row = sqlx::query(
            "SELECT b.size FROM blobs b WHERE b.digest = ?
             AND EXISTS (SELECT 1 FROM repo_blobs l WHERE l.digest = b.digest)",
        )
        .bind(digest.to_string())
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|r| r.get::<i64, _>(0) as u64))
    }

    async fn link_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
    ) -> Result<(), StorageError> {
        let now = now_unix();
        let mut tx = self.write.begin().await?;
        record_repo_and_blob(&mut tx, repo, &digest.to_string(), size, now).await?;
        sqlx::query("INSERT INTO repo_blobs (repo, digest, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            .bind(repo.as_str())
            .bind(digest.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unlink_blob(&self, repo: &RepoName, digest: &Digest) -> Result<bool, StorageError> {
        let done = sqlx::query("DELETE FROM repo_blobs WHERE repo = ? AND digest = ?")
            .bind(repo.as_str())
            .bind(digest.to_string())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn put_manifest(&self, m: &NewManifest, tags: &[Tag]) -> Result<(), StorageError> {
        let mut tx = self.write.begin().await?;
        insert_manifest(&mut tx, m, tags).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn manifest(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Option<ManifestRecord>, StorageError> {
        let sql =
            format!("SELECT {MANIFEST_COLS} FROM manifests m WHERE m.repo = ? AND m.digest = ?");
        let row = sqlx::query(&sql)
            .bind(repo.as_str())
            .bind(digest.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(manifest_row).transpose()
    }

    async fn tagged_manifest(
        &self,
        repo: &RepoName,
        tag: &Tag,
    ) -> Result<Option<ManifestRecord>, StorageError> {
        let sql = format!(
            "SELECT {MANIFEST_COLS} FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
             WHERE t.repo = ? AND t.name = ?"
        );
        let row = sqlx::query(&sql)
            .bind(repo.as_str())
            .bind(tag.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(manifest_row).transpose()
    }

    async fn delete_manifest(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<bool, StorageError> {
        let digest = digest.to_string();
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM manifests WHERE repo = ? AND digest = ?")
            .bind(repo.as_str())
            .bind(&digest)
            .execute(&mut *tx)
            .await?;
        for table in [
            "DELETE FROM tags WHERE repo = ? AND digest = ?",
            "DELETE FROM manifest_refs WHERE repo = ? AND manifest = ?",
        ] {
            sqlx::query(table)
                .bind(repo.as_str())
                .bind(&digest)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_tag(&self, repo: &RepoName, tag: &Tag) -> Result<bool, StorageError> {
        let done = sqlx::query("DELETE FROM tags WHERE repo = ? AND name = ?")
            .bind(repo.as_str())
            .bind(tag.as_str())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_tags(
        &self,
        repo: &RepoName,
        page: Page<'_>,
    ) -> Result<Vec<String>, StorageError> {
        let rows =
            sqlx::query("SELECT name FROM tags WHERE repo = ? AND name > ? ORDER BY name LIMIT ?")
                .bind(repo.as_str())
                .bind(page.last.unwrap_or(""))
                .bind(limit_of(page))
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|r| r.try_get("name").map_err(Into::into))
            .collect()
    }

    async fn tagged_manifests(
        &self,
        repo: &RepoName,
    ) -> Result<Vec<(String, ManifestRecord)>, StorageError> {
        let sql = format!(
            "SELECT t.name AS tag, {MANIFEST_COLS} FROM tags t
             JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
             WHERE t.repo = ? ORDER BY t.name"
        );
        let rows = sqlx::query(&sql)
            .bind(repo.as_str())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("tag")?, manifest_row(r)?)))
            .collect()
    }

    async fn all_tags(&self) -> Result<Vec<(String, Vec<String>)>, StorageError> {
        let rows = sqlx::query("SELECT repo, name FROM tags ORDER BY repo, name")
            .fetch_all(&self.read)
            .await?;
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for row in rows {
            let repo: String = row.try_get("repo")?;
            let tag: String = row.try_get("name")?;
            match out.last_mut() {
                Some((r, tags)) if *r == repo => tags.push(tag),
                _ => out.push((repo, vec![tag])),
            }
        }
        Ok(out)
    }

    async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<ManifestRecord>, StorageError> {
        let sql = format!(
            "SELECT {MANIFEST_COLS} FROM manifests m WHERE m.repo = ? AND m.subject = ?
             AND (? IS NULL OR m.artifact_type = ?) ORDER BY m.created_at, m.digest"
        );
        let rows = sqlx::query(&sql)
            .bind(repo.as_str())
            .bind(subject.to_string())
            .bind(artifact_type)
            .bind(artifact_type)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(manifest_row).collect()
    }

    async fn create_token(&self, token: &TokenRecord, hash: &str) -> Result<(), StorageError> {
        let scopes: Vec<String> = token.scopes.iter().map(Scope::to_string).collect();
        sqlx::query(
            "INSERT INTO tokens (id, name, hash, scopes, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.id)
        .bind(&token.name)
        .bind(hash)
        .bind(scopes.join(" "))
        .bind(token.created_at)
        .bind(token.revoked_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StorageError> {
        let row = sqlx::query(
            "SELECT id, name, scopes, created_at, revoked_at FROM tokens
             WHERE hash = ? AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(token_row).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, name, scopes, created_at, revoked_at FROM tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(token_row).collect()
    }

    async fn revoke_token(&self, id: &str) -> Result<bool, StorageError> {
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now_unix())
                .bind(id)
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn has_active_tokens(&self) -> Result<bool, StorageError> {
        let row = sqlx::query("SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1")
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    async fn publish_version(
        &self,
        v: &VersionRecord,
        manifest: Option<(&NewManifest, &Tag)>,
    ) -> Result<(), StorageError> {
        let now = now_unix();
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO packages (name, namespace, description, license, repository, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                 license = excluded.license, repository = excluded.repository, updated_at = excluded.updated_at",
        )
        .bind(&v.package)
        .bind(&v.namespace)
        .bind(&v.description)
        .bind(&v.license)
        .bind(&v.repository)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO package_versions (package, version, description, license, repository, wit_url,
                 size, sha256, manifest_digest, dependencies, targets, imports, exports, yanked,
                 downloads, published_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&v.package)
        .bind(&v.version)
        .bind(&v.description)
        .bind(&v.license)
        .bind(&v.repository)
        .bind(&v.wit_url)
        .bind(v.size as i64)
        .bind(&v.sha256)
        .bind(&v.manifest_digest)
        .bind(to_json(&v.dependencies))
        .bind(to_json(&v.targets))
        .bind(to_json(&v.imports))
        .bind(to_json(&v.exports))
        .bind(v.yanked)
        .bind(v.published_at)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // Dropping the transaction rolls back the package row update too.
            return Err(StorageError::Conflict(format!(
                "{}@{}",
                v.package, v.version
            )));
        }
        if let Some((m, tag)) = manifest {
            insert_manifest(&mut tx, m, std::slice::from_ref(tag)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn package_versions(&self, package: &str) -> Result<Vec<VersionRecord>, StorageError> {
        let sql = format!(
            "SELECT {VERSION_COLS} FROM package_versions v JOIN packages p ON p.name = v.package
             WHERE v.package = ?"
        );
        let rows = sqlx::query(&sql)
            .bind(package)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(version_row).collect()
    }

    async fn package_version(
        &self,
        package: &str,
        version: &str,
    ) -> Result<Option<VersionRecord>, StorageError> {
        let sql = format!(
            "SELECT {VERSION_COLS} FROM package_versions v JOIN packages p ON p.name = v.package
             WHERE v.package = ? AND v.version = ?"
        );
        let row = sqlx::query(&sql)
            .bind(package)
            .bind(version)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(version_row).transpose()
    }

    async fn package_names(&self) -> Result<Vec<String>, StorageError> {
        let rows = sqlx::query("SELECT name FROM packages ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| r.try_get("name").map_err(Into::into))
            .collect()
    }

    async fn search_versions(&self, needle: &str) -> Result<Vec<VersionRecord>, StorageError> {
        // LIKE with the wildcards of the needle escaped: `%` and `_` match themselves.
        let escaped = needle
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        let sql = format!(
            "SELECT {VERSION_COLS} FROM package_versions v JOIN packages p ON p.name = v.package
             WHERE v.yanked = 0 AND v.package IN (
                 SELECT package FROM package_versions WHERE yanked = 0 AND (
                     lower(package) LIKE ?1 ESCAPE '\\' OR lower(description) LIKE ?1 ESCAPE '\\'
                     OR lower(imports) LIKE ?1 ESCAPE '\\' OR lower(exports) LIKE ?1 ESCAPE '\\'))"
        );
        let rows = sqlx::query(&sql)
            .bind(pattern)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(version_row).collect()
    }

    async fn set_yanked(
        &self,
        package: &str,
        version: &str,
        yanked: bool,
    ) -> Result<bool, StorageError> {
        let done =
            sqlx::query("UPDATE package_versions SET yanked = ? WHERE package = ? AND version = ?")
                .bind(yanked)
                .bind(package)
                .bind(version)
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_download(&self, package: &str, version: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE package_versions SET downloads = downloads + 1 WHERE package = ? AND version = ?")
            .bind(package)
            .bind(version)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn package_stats(&self) -> Result<PackageStats, StorageError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM packages) AS packages,
                    (SELECT count(*) FROM package_versions) AS versions,
                    (SELECT coalesce(sum(downloads), 0) FROM package_versions) AS downloads",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(PackageStats {
            packages: row.try_get::<i64, _>("packages")? as u64,
            versions: row.try_get::<i64, _>("versions")? as u64,
            downloads: row.try_get::<i64, _>("downloads")? as u64,
        })
    }

    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO uploads (id, repo, created_at) VALUES (?, ?, ?)")
            .bind(&upload.id)
            .bind(upload.repo.as_str())
            .bind(upload.created_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StorageError> {
        let row = sqlx::query("SELECT id, repo, created_at FROM uploads WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let repo: String = row.try_get("repo")?;
        Ok(Some(UploadRecord {
            id: row.try_get("id")?,
            repo: RepoName::parse(&repo).map_err(|e| StorageError::Corrupt(e.to_string()))?,
            created_at: row.try_get("created_at")?,
        }))
    }

    async fn delete_upload(&self, id: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM uploads WHERE id = ?")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
