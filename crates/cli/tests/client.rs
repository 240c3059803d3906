//! The wharf client end to end against a real `wharf serve`: publish, install, verify, repair,
//! update, --locked, yanked versions, and output fit for pipes.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::Server;

const TOKEN: &str = "client-test-token";

/// A real component exporting one interface, for package `package` (`ns:name@version`).
fn component(package: &str) -> Vec<u8> {
    wharf_core::testing::component(&format!(
        "package {package}; interface api {{ run: func() -> u32; }} world w {{ export api; }}"
    ))
}

struct Cli<'a> {
    registry: &'a str,
    home: &'a Path,
}

impl Cli<'_> {
    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_wharf"))
            .args(args)
            .current_dir(dir)
            .env("WHARF_REGISTRY_URL", self.registry)
            .env("WHARF_TOKEN", TOKEN)
            .env("HOME", self.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("RUN_AUTH_TOKEN")
            .output()
            .expect("wharf runs")
    }

    #[track_caller]
    fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.run(dir, args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "wharf {args:?} failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        assert!(
            !stdout.contains('\x1b') && !stderr.contains('\x1b'),
            "no terminal control characters on a pipe"
        );
        stdout.into_owned()
    }
}

fn write_project(dir: &Path, body: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("run.toml"), body).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_install_verify_repair_update_lock_and_yank() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(
        &tmp.path().join("data"),
        &[("REGISTRY_TOKENS", &format!("acme:{TOKEN}"))],
    )
    .await;
    let cli = Cli {
        registry: &server.base,
        home: tmp.path(),
    };

    // The library, published explicitly; the app, from its run.toml with a dependency on it.
    let lib_dir = tmp.path().join("lib");
    std::fs::create_dir_all(&lib_dir).unwrap();
    std::fs::write(lib_dir.join("lib.wasm"), component("acme:lib@1.0.0")).unwrap();
    let out = cli.ok(
        &lib_dir,
        &[
            "publish",
            "lib.wasm",
            "--name",
            "acme:lib",
            "--version",
            "1.0.0",
        ],
    );
    assert!(out.starts_with("Published acme:lib@1.0.0"), "{out}");

    let app_dir = tmp.path().join("app");
    write_project(&app_dir, "[project]\nname = \"acme\"\nversion = \"1.0.0\"\ndescription = \"The app\"\n\n[components.app]\npath = \"app.wasm\"\n\n[dependencies]\n\"acme:lib\" = \"1.0\"\n");
    std::fs::write(app_dir.join("app.wasm"), component("acme:app@1.0.0")).unwrap();
    let out = cli.ok(&app_dir, &["publish"]);
    assert!(out.starts_with("Published acme:app@1.0.0"), "{out}");
    let again = cli.run(&app_dir, &["publish"]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("409") && err.contains("bump the version"),
        "{err}"
    );

    // A fresh project that needs the app gets both packages.
    let project = tmp.path().join("project");
    write_project(
        &project,
        "# my project\n[dependencies]\n\"acme:app\" = \"1\"  # the app\n",
    );
    let out = cli.ok(&project, &["install"]);
    assert!(
        out.contains("Installed acme:app@1.0.0") && out.contains("Installed acme:lib@1.0.0"),
        "{out}"
    );
    let lock = std::fs::read_to_string(project.join("run.lock")).unwrap();
    assert!(
        lock.contains("name = \"acme:app\"") && lock.contains("dependencies = [\"acme:lib\"]"),
        "{lock}"
    );
    assert!(project
        .join(".run/components/acme__lib@1.0.0.wasm")
        .is_file());
    assert_eq!(
        cli.ok(&project, &["verify"]),
        "OK        acme:app@1.0.0\nOK        acme:lib@1.0.0\n"
    );

    // A hand-edited lockfile is caught by its checksum.
    let lock_text = std::fs::read_to_string(project.join("run.lock")).unwrap();
    std::fs::write(
        project.join("run.lock"),
        lock_text.replace("version = \"1.0.0\"", "version = \"1.0.9\""),
    )
    .unwrap();
    let tampered = cli.run(&project, &["verify"]);
    assert_eq!(tampered.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&tampered.stderr).contains("checksum does not match"));
    // install rewrites a damaged lockfile (and says so).
    let repaired = cli.run(&project, &["install"]);
    assert!(repaired.status.success());
    assert!(String::from_utf8_lossy(&repaired.stderr).contains("warning:"));
    assert_eq!(
        std::fs::read_to_string(project.join("run.lock")).unwrap(),
        lock_text
    );

    // Corrupt a cached file: verify says so and fails; install repairs it.
    std::fs::write(project.join(".run/cache/acme__lib@1.0.0.wasm"), b"tampered").unwrap();
    let bad = cli.run(&project, &["verify"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("CORRUPTED acme:lib@1.0.0"));
    cli.ok(&project, &["install"]);
    cli.ok(&project, &["verify"]);
    std::fs::remove_file(project.join(".run/cache/acme__app@1.0.0.wasm")).unwrap();
    let missing = cli.run(&project, &["verify", "--json"]);
    assert_eq!(missing.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(report[0]["status"], "MISSING");
    cli.ok(&project, &["install"]);

    // A failed install changes neither run.toml nor run.lock.
    let (toml_before, lock_before) = (
        std::fs::read_to_string(project.join("run.toml")).unwrap(),
        std::fs::read_to_string(project.join("run.lock")).unwrap(),
    );
    let failed = cli.run(&project, &["install", "acme:does-not-exist"]);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(project.join("run.toml")).unwrap(),
        toml_before
    );
    assert_eq!(
        std::fs::read_to_string(project.join("run.lock")).unwrap(),
        lock_before
    );

    // A new version: update moves to it.
    std::fs::write(lib_dir.join("lib.wasm"), component("acme:lib@1.1.0")).unwrap();
    cli.ok(
        &lib_dir,
        &[
            "publish",
            "lib.wasm",
            "--name",
            "acme:lib",
            "--version",
            "1.1.0",
        ],
    );
    let out = cli.ok(&project, &["update"]);
    assert!(out.contains("Updated acme:lib 1.0.0 -> 1.1.0"), "{out}");
    assert!(
        !project
            .join(".run/components/acme__lib@1.0.0.wasm")
            .exists(),
        "the old version is gone"
    );
    assert!(project
        .join(".run/components/acme__lib@1.1.0.wasm")
        .is_file());
    assert!(std::fs::read_to_string(project.join("run.lock"))
        .unwrap()
        .contains("version = \"1.1.0\""));
    cli.ok(&project, &["install", "--locked"]);

    // --locked fails once run.toml asks for something the lock does not pin.
    let toml = std::fs::read_to_string(project.join("run.toml")).unwrap();
    std::fs::write(
        project.join("run.toml"),
        format!("{toml}\"acme:lib\" = \"=1.0.0\"\n"),
    )
    .unwrap();
    let locked = cli.run(&project, &["install", "--locked"]);
    assert_eq!(
        locked.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&locked.stderr)
    );
    assert!(String::from_utf8_lossy(&locked.stderr).contains("run.lock"));
    std::fs::write(project.join("run.toml"), &toml).unwrap();

    // Yanked versions: an existing lock keeps one; a fresh install skips it.
    std::fs::write(lib_dir.join("lib.wasm"), component("acme:lib@1.2.0")).unwrap();
    cli.ok(
        &lib_dir,
        &[
            "publish",
            "lib.wasm",
            "--name",
            "acme:lib",
            "--version",
            "1.2.0",
        ],
    );
    cli.ok(&project, &["update", "acme:lib"]);
    assert!(std::fs::read_to_string(project.join("run.lock"))
        .unwrap()
        .contains("version = \"1.2.0\""));
    let yank = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/packages/acme%3Alib/1.2.0/yank",
            server.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(yank.status(), 200);
    cli.ok(&project, &["install"]);
    assert!(
        std::fs::read_to_string(project.join("run.lock"))
            .unwrap()
            .contains("version = \"1.2.0\""),
        "kept by the lock"
    );
    let fresh = tmp.path().join("fresh");
    write_project(&fresh, "[dependencies]\n");
    let out = cli.ok(&fresh, &["install", "acme:lib"]);
    assert!(
        out.contains("Installed acme:lib@1.1.0"),
        "yanked 1.2.0 skipped: {out}"
    );
    let toml = std::fs::read_to_string(fresh.join("run.toml")).unwrap();
    assert!(toml.contains("\"acme:lib\" = \"^1.1.0\""), "{toml}");

    // Offline installs come from the cache.
    std::fs::remove_dir_all(fresh.join(".run/components")).unwrap();
    let offline = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["install", "--offline"])
        .current_dir(&fresh)
        .env("HOME", tmp.path())
        .env("WHARF_REGISTRY_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert!(fresh.join(".run/components/acme__lib@1.1.0.wasm").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_plain_words_with_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(
        &tmp.path().join("data"),
        &[("REGISTRY_TOKENS", &format!("acme:{TOKEN}"))],
    )
    .await;
    let cli = Cli {
        registry: &server.base,
        home: tmp.path(),
    };
    let dir = tmp.path().join("p");
    write_project(&dir, "[dependencies]\n");

    let missing = cli.run(&dir, &["info", "acme:nothing"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "error: package acme:nothing was not found\n"
    );

    std::fs::write(dir.join("x.wasm"), component("other:x@1.0.0")).unwrap();
    let forbidden = cli.run(
        &dir,
        &[
            "publish",
            "x.wasm",
            "--name",
            "other:x",
            "--version",
            "1.0.0",
        ],
    );
    assert_eq!(forbidden.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&forbidden.stderr)
        .contains("hint: this token may not do that here"));

    let unreachable = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["info", "acme:x", "--registry-url", "http://127.0.0.1:9"])
        .current_dir(&dir)
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unreachable.stderr);
    assert!(
        err.contains("http://127.0.0.1:9") && err.contains("unreachable"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );

    write_project(&dir, "[dependencies]\n\"acme:x\" = 1\n");
    let bad_toml = cli.run(&dir, &["install"]);
    assert_eq!(bad_toml.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad_toml.stderr);
    assert!(err.contains("run.toml:2:"), "{err}");

    // login stores the token with mode 0600 and later commands use it.
    let mut login = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["login", &server.base])
        .env("HOME", tmp.path())
        .env_remove("XDG_CONFIG_HOME")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    login
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{TOKEN}\n").as_bytes())
        .unwrap();
    assert!(login.wait().unwrap().success());
    let creds = tmp.path().join(".config/wharf/credentials.toml");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
        0o600
    );
    write_project(&dir, "[dependencies]\n");
    let published = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args([
            "publish",
            "x.wasm",
            "--name",
            "acme:x",
            "--version",
            "1.0.0",
        ])
        .current_dir(&dir)
        .env("HOME", tmp.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("WHARF_TOKEN")
        .env_remove("WHARF_REGISTRY_URL")
        .output()
        .unwrap();
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_pull_a_wasm_file_by_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(
        &tmp.path().join("data"),
        &[("REGISTRY_TOKENS", &format!("acme:{TOKEN}"))],
    )
    .await;
    let cli = Cli {
        registry: &server.base,
        home: tmp.path(),
    };
    let dir = tmp.path().join("w");
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = component("acme:pushed@2.0.0");
    std::fs::write(dir.join("app.wasm"), &wasm).unwrap();
    let host = server.base.trim_start_matches("http://");
    let reference = format!("{host}/acme/pushed:2.0.0");
    let out = cli.ok(&dir, &["push", &reference, "app.wasm"]);
    assert!(out.starts_with(&format!("Pushed {reference}")), "{out}");
    cli.ok(&dir, &["pull", &reference, "-o", "back.wasm"]);
    assert_eq!(std::fs::read(dir.join("back.wasm")).unwrap(), wasm);
    // A semver tag in ns/name: the package API sees it as a version.
    let info = cli.ok(&dir, &["info", "acme:pushed", "--json"]);
    let meta: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(meta["version"], "2.0.0");
    assert_eq!(
        meta["exports"],
        serde_json::json!(["acme:pushed/api@2.0.0"])
    );
    // An unreachable registry is retried, then named.
    let down = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["pull", "127.0.0.1:9/acme/pushed:2.0.0", "-o", "x.wasm"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    let err = String::from_utf8_lossy(&down.stderr);
    assert!(
        err.contains("http://127.0.0.1:9 is unreachable (tried 4 times)"),
        "{err}"
    );
    // Without the token the push is refused.
    let refused = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["push", &format!("{host}/acme/pushed:2.0.1"), "app.wasm"])
        .current_dir(&dir)
        .env("HOME", tmp.path())
        .env_remove("WHARF_TOKEN")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_and_json_output_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_env(
        &tmp.path().join("data"),
        &[("REGISTRY_TOKENS", &format!("acme:{TOKEN}"))],
    )
    .await;
    let cli = Cli {
        registry: &server.base,
        home: tmp.path(),
    };
    let lib = tmp.path().join("lib");
    write_project(&lib, "[project]\nname = \"acme\"\nversion = \"1.0.0\"\ndescription = \"A small library\"\nlicense = \"MIT\"\n\n[components.lib]\npath = \"lib.wasm\"\n");
    std::fs::write(lib.join("lib.wasm"), component("acme:lib@1.0.0")).unwrap();
    let project = tmp.path().join("project");
    write_project(&project, "[dependencies]\n\"acme:lib\" = \"1\"\n");

    let outputs = [
        ("publish", cli.ok(&lib, &["publish"])),
        ("publish_again_json", {
            std::fs::write(
                lib.join("run.toml"),
                std::fs::read_to_string(lib.join("run.toml"))
                    .unwrap()
                    .replace("1.0.0", "1.0.1"),
            )
            .unwrap();
            cli.ok(&lib, &["publish", "--json"])
        }),
        ("install", cli.ok(&project, &["install"])),
        ("verify", cli.ok(&project, &["verify"])),
        ("verify_json", cli.ok(&project, &["verify", "--json"])),
        ("info", cli.ok(&project, &["info", "acme:lib"])),
        (
            "info_json",
            cli.ok(&project, &["info", "acme:lib@1.0.0", "--json"]),
        ),
        ("search", cli.ok(&project, &["search", "lib"])),
        (
            "search_json",
            cli.ok(&project, &["search", "library", "--json"]),
        ),
        (
            "search_none",
            cli.ok(&project, &["search", "nothing-like-this"]),
        ),
        ("update", {
            let toml = std::fs::read_to_string(lib.join("run.toml")).unwrap();
            std::fs::write(lib.join("run.toml"), toml.replace("1.0.1", "1.1.0")).unwrap();
            cli.ok(&lib, &["publish"]);
            cli.ok(&project, &["update"])
        }),
        (
            "push",
            cli.ok(
                &lib,
                &[
                    "push",
                    &format!(
                        "{}/acme/lib:9.0.0",
                        server.base.trim_start_matches("http://")
                    ),
                    "lib.wasm",
                ],
            ),
        ),
        (
            "pull",
            cli.ok(
                &lib,
                &[
                    "pull",
                    &format!(
                        "{}/acme/lib:9.0.0",
                        server.base.trim_start_matches("http://")
                    ),
                    "-o",
                    "pulled.wasm",
                ],
            ),
        ),
        ("token_list_json", {
            let data = tmp.path().join("tokens");
            let data = data.to_str().unwrap();
            cli.ok(
                &lib,
                &[
                    "token",
                    "create",
                    "--scope",
                    "push:acme",
                    "--name",
                    "ci",
                    "--data-dir",
                    data,
                ],
            );
            cli.ok(&lib, &["token", "list", "--json", "--data-dir", data])
        }),
    ];
    for (name, output) in outputs {
        insta::with_settings!({
            filters => vec![
                (r"127\.0\.0\.1:\d+", "[registry]"),
                (r#""published_at": \d+"#, r#""published_at": "[time]""#),
                (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[time]"),
                (r#""id": ?"[0-9a-f]{12}""#, r#""id":"[id]""#),
                // A pushed manifest's digest covers its config's creation time.
                (r"as sha256:[0-9a-f]{64}", "as [manifest digest]"),
                (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[time]"),
                (r#""id": ?"[0-9a-f]{12}""#, r#""id":"[id]""#),
                // A pushed manifest's digest covers its config's creation time.
                (r"as sha256:[0-9a-f]{64}", "as [manifest digest]"),
            ],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(name, output);
        });
    }
}
