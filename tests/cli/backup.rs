//! The backup scripts as the containers run them: the rendered scripts of production's
//! CronJobs and MinIO setup Job, run under dash and bash with stand-ins for `mysqldump`
//! and `mc` on PATH; shellcheck on every rendered script; promtool on the backup alerts.
//! A tool that is not installed is skipped with a visible `SKIPPED` notice.

use crate::support::{Scratch, run_in, skip, which};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every printable ASCII character: the password the consumers must take as it is.
fn nasty_password() -> String {
    (0x20u8..0x7f).map(char::from).collect()
}

fn objects(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

fn production() -> Vec<Value> {
    let project = Scratch::new();
    objects(&project.run(&["build", "production"]).code(0).stdout)
}

/// The `sh -c` script of container `container` (init or main) of `kind`/`name`.
fn script(objects: &[Value], kind: &str, name: &str, container: &str) -> String {
    let object = objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} is built"));
    let spec = if kind == "CronJob" {
        &object["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    } else {
        &object["spec"]["template"]["spec"]
    };
    let containers = ["initContainers", "containers"]
        .iter()
        .filter_map(|k| spec[k].as_array())
        .flatten();
    for c in containers {
        if c["name"] == container {
            let command = c["command"].as_array().expect("command");
            assert_eq!(command[..2], ["/bin/sh", "-c"], "{name}/{container}");
            return command[2].as_str().expect("script").to_owned();
        }
    }
    panic!("{kind} {name} has no container {container}")
}

/// The shells the scripts are run under: dash (Debian's sh) and bash (the images' sh).
fn shells(test: &str) -> Vec<PathBuf> {
    let found: Vec<PathBuf> = ["dash", "bash"].iter().filter_map(|s| which(s)).collect();
    for missing in ["dash", "bash"].iter().filter(|s| which(s).is_none()) {
        skip(
            test,
            &format!("no {missing} on PATH: the scripts are not run under it"),
            &[],
        );
    }
    assert!(!found.is_empty(), "neither dash nor bash is installed");
    found
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write stand-in");
    let mut perms = std::fs::metadata(path).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).expect("chmod");
}

/// A sandbox for one run: the paths the pod mounts, rewritten into a temporary folder,
/// and a `bin/` of stand-ins put first on PATH.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in [
            "bin",
            "backup",
            "secrets/mysql",
            "secrets/minio",
            "log",
            "tmp",
        ] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        Sandbox { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn secret(&self, relative: &str, value: &str) {
        std::fs::write(self.path(&format!("secrets/{relative}")), value).expect("secret");
    }

    fn stand_in(&self, program: &str, text: &str) {
        write_executable(&self.path(&format!("bin/{program}")), text);
    }

    /// Runs `script` under `shell` with the mount paths moved into the sandbox.
    fn run(&self, shell: &Path, script: &str) -> std::process::Output {
        let root = self.dir.path().display().to_string();
        // Tokens first, so that no replacement rewrites another's result.
        let mounts = [
            ("/run/secrets/mysql", "secrets/mysql"),
            ("/run/secrets/minio", "secrets/minio"),
            ("/backup/", "backup/"),
        ];
        let mut script = script.to_owned();
        for (i, (from, _)) in mounts.iter().enumerate() {
            script = script.replace(from, &format!("\u{1}{i}\u{1}"));
        }
        for (i, (_, to)) in mounts.iter().enumerate() {
            script = script.replace(&format!("\u{1}{i}\u{1}"), &format!("{root}/{to}"));
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.path("bin")];
        paths.extend(std::env::split_paths(&path));
        Command::new(shell)
            .arg("-c")
            .arg(script)
            .env("PATH", std::env::join_paths(paths).expect("PATH"))
            .env("LOG", self.path("log"))
            .stdin(Stdio::null())
            .output()
            .expect("shell runs")
    }
}

/// A `mysqldump` stand-in: records its argv and the option file it was given, writes
/// `body` to stdout and exits with `status`.
fn mysqldump(body: &str, status: i32) -> String {
    format!(
        "#!/bin/sh\n\
         printf '%s\\n' \"$@\" > \"$LOG/mysqldump.argv\"\n\
         case \"$1\" in --defaults-extra-file=*) cp \"${{1#*=}}\" \"$LOG/client.cnf\" ;; esac\n\
         cat <<'EOF_DUMP'\n{body}EOF_DUMP\n\
         exit {status}\n"
    )
}

const GOOD_DUMP: &str = "-- MySQL dump 10.13\nCREATE DATABASE `auth_db`;\nINSERT INTO t VALUES (1);\n-- Dump completed on 2026-11-29  2:00:01\n";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The regression of issue #13: `mysqldump | gzip` under `set -e` succeeded with a
/// 20-byte file when the server was down. The dump must fail when mysqldump fails or
/// stops early, and succeed only with a verified, non-empty, compressed dump; the
/// password must never be in argv and must reach the client intact.
#[test]
fn dump_script_fails_when_mysqldump_fails_and_keeps_only_a_verified_dump() {
    let built = production();
    let dump = script(&built, "CronJob", "auth-mysql-backup", "dump");
    let password = nasty_password();
    for shell in shells("dump_script_fails_when_mysqldump_fails_and_keeps_only_a_verified_dump") {
        let cases = [
            // The server is down: a header, then an error, exit 2.
            ("a failing mysqldump", mysqldump("-- MySQL dump 10.13\n", 2)),
            // mysqldump exits 0 but stopped early (no trailer).
            (
                "a truncated dump",
                mysqldump("-- MySQL dump 10.13\nCREATE DATABASE `auth_db`;\n", 0),
            ),
            ("an empty dump", mysqldump("", 0)),
        ];
        for (what, stand_in) in cases {
            let sandbox = Sandbox::new();
            sandbox.secret("mysql/backup-password", &password);
            sandbox.stand_in("mysqldump", &stand_in);
            let out = sandbox.run(&shell, &dump);
            assert!(
                !out.status.success(),
                "{}: the dump script succeeded with {what}\nstderr: {}",
                shell.display(),
                text(&out.stderr)
            );
            assert!(
                !sandbox.path("backup/auth_db.sql.gz").exists(),
                "{}: {what} left a dump to upload",
                shell.display()
            );
            assert!(
                !sandbox.path("backup/client.cnf").exists(),
                "{}: the option file outlived the script",
                shell.display()
            );
        }

        let sandbox = Sandbox::new();
        sandbox.secret("mysql/backup-password", &password);
        sandbox.stand_in("mysqldump", &mysqldump(GOOD_DUMP, 0));
        let out = sandbox.run(&shell, &dump);
        assert!(
            out.status.success(),
            "{}: a good dump failed\nstderr: {}",
            shell.display(),
            text(&out.stderr)
        );
        let gz = sandbox.path("backup/auth_db.sql.gz");
        let unpacked = Command::new("gzip")
            .arg("-dc")
            .arg(&gz)
            .output()
            .expect("gzip");
        assert_eq!(text(&unpacked.stdout), GOOD_DUMP, "{}", shell.display());
        let argv = std::fs::read_to_string(sandbox.path("log/mysqldump.argv")).expect("argv");
        assert!(!argv.contains(&password), "the password is in argv: {argv}");
        assert!(argv.contains("--single-transaction"), "{argv}");
        assert!(
            argv.contains("--source-data=2"),
            "PITR needs the position: {argv}"
        );
        let options = sandbox.path("log/client.cnf");
        check_option_file(&options, &password);
    }
}

/// The option file must give the client the password exactly: MariaDB's
/// `my_print_defaults` parses it as MySQL's client does (same mysys parser).
fn check_option_file(options: &Path, password: &str) {
    let Some(tool) = which("my_print_defaults") else {
        skip(
            "dump_script_fails_when_mysqldump_fails_and_keeps_only_a_verified_dump",
            "my_print_defaults (mariadb-client) not installed: the option file is not parsed",
            &[],
        );
        let text = std::fs::read_to_string(options).expect("options");
        assert!(
            text.starts_with("[client]\nuser=backup\npassword=\""),
            "{text}"
        );
        return;
    };
    let out = Command::new(tool)
        .arg(format!("--defaults-file={}", options.display()))
        .arg("client")
        .output()
        .expect("my_print_defaults runs");
    let parsed = text(&out.stdout);
    let value = parsed
        .lines()
        .find_map(|l| l.strip_prefix("--password="))
        .unwrap_or_else(|| panic!("no password in {parsed}"));
    assert_eq!(value, password, "the option file changes the password");
    assert!(parsed.contains("--user=backup"), "{parsed}");
}

/// An `mc` stand-in: appends its argv and its standard input to the log; `stat` of a
/// missing object fails like the real one.
const MC: &str = "#!/bin/sh\n\
    printf 'ARGV %s\\n' \"$*\" >> \"$LOG/mc\"\n\
    if [ \"$1\" = alias ] || [ \"$1 $2\" = 'admin user' ]; then cat >> \"$LOG/mc\"; fi\n\
    exit 0\n";

/// The uploads and the MinIO setup sign in with keys read from the mounted secrets and
/// given on mc's standard input: never in argv; the backups user never gets root.
#[test]
fn mc_gets_every_credential_on_stdin_never_in_argv() {
    let built = production();
    let password = nasty_password();
    let upload = script(&built, "CronJob", "auth-mysql-backup", "upload");
    assert!(
        !upload.contains("root"),
        "the upload uses MinIO root:\n{upload}"
    );
    let setup = script(&built, "Job", "minio-setup-buckets", "mc");
    for shell in shells("mc_gets_every_credential_on_stdin_never_in_argv") {
        let sandbox = Sandbox::new();
        sandbox.stand_in("mc", MC);
        sandbox.secret("minio/access-key", "mysql-backup");
        sandbox.secret("minio/secret-key", &password);
        // No dump: the upload refuses before signing in anywhere else.
        let out = sandbox.run(&shell, &upload);
        assert!(
            !out.status.success(),
            "{}: uploaded nothing",
            shell.display()
        );
        std::fs::write(sandbox.path("backup/auth_db.sql.gz"), b"x").expect("dump");
        let out = sandbox.run(&shell, &upload);
        assert!(
            out.status.success(),
            "{}: upload failed: {}",
            shell.display(),
            text(&out.stderr)
        );
        let log = std::fs::read_to_string(sandbox.path("log/mc")).expect("mc log");
        assert!(
            log.contains(&format!("mysql-backup\n{password}\n")),
            "{}: mc did not get the keys on stdin:\n{log}",
            shell.display()
        );
        for line in log.lines().filter(|l| l.starts_with("ARGV")) {
            assert!(!line.contains(&password), "secret in argv: {line}");
        }
        assert!(log.contains("ARGV cp "), "{log}");
        assert!(
            log.contains("ARGV rm --recursive --force --older-than 30d"),
            "{log}"
        );

        let sandbox = Sandbox::new();
        sandbox.stand_in("mc", MC);
        let minio = sandbox.path("secrets/minio");
        for user in [
            "root",
            "products-service",
            "sav-service",
            "newsletters-service",
            "mysql-backup",
        ] {
            std::fs::create_dir_all(minio.join(user)).expect("mkdir");
        }
        sandbox.secret("minio/root/root-user", "admin");
        sandbox.secret("minio/root/root-password", &password);
        for user in [
            "products-service",
            "sav-service",
            "newsletters-service",
            "mysql-backup",
        ] {
            sandbox.secret(&format!("minio/{user}/access-key"), user);
            sandbox.secret(
                &format!("minio/{user}/secret-key"),
                &format!("{password}{user}"),
            );
        }
        // The policies go to the pod's /tmp: here the sandbox's.
        let tmp = format!("{}/", sandbox.path("tmp").display());
        let out = sandbox.run(&shell, &setup.replace("/tmp/", &tmp));
        assert!(
            out.status.success(),
            "{}: setup failed: {}",
            shell.display(),
            text(&out.stderr)
        );
        let log = std::fs::read_to_string(sandbox.path("log/mc")).expect("mc log");
        assert!(log.contains(&format!("admin\n{password}\n")), "{log}");
        assert!(
            log.contains(&format!("mysql-backup\n{password}mysql-backup\n")),
            "{log}"
        );
        for line in log.lines().filter(|l| l.starts_with("ARGV")) {
            assert!(!line.contains(&password), "secret in argv: {line}");
        }
        assert!(
            log.contains("ARGV admin policy attach platform mysql-backup --user mysql-backup"),
            "{log}"
        );
        let policy: Value = serde_json::from_str(
            &std::fs::read_to_string(sandbox.path("tmp/mysql-backup.json")).expect("policy"),
        )
        .expect("policy is JSON");
        let resources = policy.to_string();
        assert!(
            resources.contains("arn:aws:s3:::backups/production/*"),
            "the backups user is not limited to its folder: {resources}"
        );
    }
}

/// Every shell script production runs (CronJobs, Jobs, `sh -c` containers, init
/// scripts) passes shellcheck as POSIX sh.
#[test]
fn rendered_scripts_pass_shellcheck() {
    let Some(shellcheck) = which("shellcheck") else {
        skip(
            "rendered_scripts_pass_shellcheck",
            "shellcheck not installed (apt-get install shellcheck)",
            &[],
        );
        return;
    };
    let project = Scratch::new();
    let mut scripts = Vec::new();
    for target in ["production", "staging", "development"] {
        for o in objects(&run_in(project.path(), &["build", target]).code(0).stdout) {
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if o["kind"] == "ConfigMap" {
                for (file, text) in o["data"].as_object().into_iter().flatten() {
                    if file.ends_with(".sh") {
                        scripts.push((
                            format!("{target}/{name}/{file}"),
                            text.as_str().unwrap_or_default().to_owned(),
                        ));
                    }
                }
                continue;
            }
            let spec = match o["kind"].as_str() {
                Some("CronJob") => &o["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                Some("Job" | "Deployment") => &o["spec"]["template"]["spec"],
                _ => continue,
            };
            for key in ["initContainers", "containers"] {
                for c in spec[key].as_array().into_iter().flatten() {
                    let command = c["command"].as_array().cloned().unwrap_or_default();
                    if command.len() == 3 && command[1] == "-c" {
                        scripts.push((
                            format!("{target}/{name}/{}", c["name"].as_str().unwrap_or_default()),
                            command[2].as_str().unwrap_or_default().to_owned(),
                        ));
                    }
                }
            }
        }
    }
    assert!(scripts.len() > 20, "only {} scripts found", scripts.len());
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, (name, source)) in scripts.iter().enumerate() {
        let file = dir.path().join(format!("{i}.sh"));
        std::fs::write(&file, source).expect("script");
        let out = Command::new(&shellcheck)
            .args(["-s", "sh"])
            .arg(&file)
            .output()
            .expect("shellcheck runs");
        assert!(
            out.status.success(),
            "shellcheck on {name}:\n{}\n{source}",
            text(&out.stdout)
        );
    }
}

/// A MariaDB server in a temporary folder, on a socket and a loopback port; stopped
/// when dropped.
struct Server {
    dir: tempfile::TempDir,
    port: u16,
    child: std::process::Child,
    as_root: bool,
}

impl Server {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/mysqld.sock")
    }

    fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["data", "run"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        // mariadbd refuses to run as root unless told to.
        let as_root = {
            let probe = dir.path().join("uid");
            std::fs::write(&probe, "").expect("probe");
            std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&probe).expect("stat")) == 0
        };
        let user: &[&str] = if as_root { &["--user=root"] } else { &[] };
        let data = format!("--datadir={}", dir.path().join("data").display());
        let install = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                &data,
                "--auth-root-authentication-method=normal",
            ])
            .args(["--skip-test-db"])
            .args(user)
            .output()
            .expect("mariadb-install-db runs");
        assert!(install.status.success(), "{}", text(&install.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("mariadbd")
            .args(["--no-defaults", &data])
            .arg(format!(
                "--socket={}",
                dir.path().join("run/mysqld.sock").display()
            ))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--log-bin=binlog",
                "--server-id=1",
            ])
            .arg(format!(
                "--pid-file={}",
                dir.path().join("run/mysqld.pid").display()
            ))
            .args(user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        let server = Server {
            dir,
            port,
            child,
            as_root,
        };
        for _ in 0..100 {
            if server.sql("SELECT 1").is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!("mariadbd did not start");
    }

    /// Runs SQL as root over the socket; its output (batch, no column names).
    fn sql(&self, statements: &str) -> Result<String, String> {
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "--batch", "--skip-column-names", "-e", statements])
            .output()
            .expect("mariadb client runs");
        if out.status.success() {
            Ok(text(&out.stdout))
        } else {
            Err(text(&out.stderr))
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stands in for MySQL's `mysqld` in the restore test: MariaDB initialises a data folder
/// with `mariadb-install-db` (no `--initialize-insecure`) and has no X plugin.
fn mysqld_on_mariadb(as_root: bool) -> String {
    let user = if as_root { " --user=root" } else { "" };
    format!(
        "#!/bin/sh\n\
         args=''\n\
         for a in \"$@\"; do\n\
           case \"$a\" in\n\
             --initialize-insecure) init=1 ;;\n\
             --datadir=*) datadir=\"$a\"; args=\"$args $a\" ;;\n\
             --mysqlx=*) ;;\n\
             *) args=\"$args $a\" ;;\n\
           esac\n\
         done\n\
         if [ -n \"${{init:-}}\" ]; then\n\
           exec mariadb-install-db --no-defaults \"$datadir\" --auth-root-authentication-method=normal --skip-test-db{user} >/dev/null\n\
         fi\n\
         # shellcheck disable=SC2086\n\
         exec mariadbd --no-defaults $args{user}\n"
    )
}

/// The init scripts, the dump, binary-log shipping and the restore test of production,
/// run against a real server: MariaDB from Debian stands in for MySQL 8.4 (optional: a
/// visible skip without it). MySQL-only spellings are mapped where MariaDB differs
/// (`SHOW_ROUTINE`, `--source-data`); every password is all printable ASCII.
#[test]
fn init_dump_binlog_and_restore_scripts_run_against_a_real_server() {
    let tools = [
        "mariadbd",
        "mariadb-install-db",
        "mariadb",
        "mysqldump",
        "mysqladmin",
        "mysqlbinlog",
        "mysqlcheck",
    ];
    if let Some(missing) = tools.iter().find(|t| which(t).is_none()) {
        skip(
            "init_dump_binlog_and_restore_scripts_run_against_a_real_server",
            &format!("{missing} not installed (apt-get install mariadb-server)"),
            &[],
        );
        return;
    }
    let Some(bash) = which("bash") else {
        skip(
            "init_dump_binlog_and_restore_scripts_run_against_a_real_server",
            "no bash: the MySQL entrypoint (bash) cannot be imitated",
            &[],
        );
        return;
    };
    let built = production();
    let server = Server::start();
    let sandbox = Sandbox::new();
    let password = nasty_password();
    let secrets = sandbox.path("secrets/mysql");
    let init: Vec<&Value> = built
        .iter()
        .filter(|o| {
            o["kind"] == "ConfigMap"
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-mysql-init"))
        })
        .collect();
    assert_eq!(init.len(), 11);
    for dir in [secrets.clone()].into_iter().chain(init.iter().map(|o| {
        let prefix = o["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches("-mysql-init");
        secrets.join(prefix)
    })) {
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("backup-password"), &password).expect("secret");
        std::fs::write(dir.join("exporter-password"), format!("{password}e")).expect("secret");
    }
    // The MySQL entrypoint: database from MYSQL_DATABASE with the server's defaults,
    // then the init files in name order, `.sql` piped, `.sh` sourced by bash.
    let socket = server.socket().display().to_string();
    let mut databases = Vec::new();
    for config in &init {
        let files = config["data"].as_object().expect("data");
        let init_sql = files["01-init.sql"].as_str().expect("sql");
        let database = init_sql
            .lines()
            .find_map(|l| l.strip_prefix("CREATE DATABASE IF NOT EXISTS `"))
            .and_then(|l| l.split('`').next())
            .expect("the init script names its database")
            .to_owned();
        server
            .sql(&format!("CREATE DATABASE IF NOT EXISTS `{database}`"))
            .expect("entrypoint's database");
        let backup_user = files["03-backup-user.sh"].as_str().expect("backup user");
        assert!(
            backup_user.contains(", SHOW_ROUTINE ON *.*"),
            "{backup_user}"
        );
        let entrypoint = format!(
            "set -e\n\
             docker_process_sql() {{ mariadb --no-defaults --socket={socket} -uroot --database={database} \"$@\"; }}\n\
             docker_process_sql <<'EOF_SQL'\n{init_sql}EOF_SQL\n\
             {}\n{}\n",
            files["02-exporter-user.sh"]
                .as_str()
                .expect("exporter user"),
            // MariaDB 10.11 has no SHOW_ROUTINE (MySQL 8.0.20+).
            backup_user.replace(", SHOW_ROUTINE ON *.*", " ON *.*"),
        );
        let out = sandbox.run(&bash, &entrypoint);
        assert!(
            out.status.success(),
            "init of {database}: {}",
            text(&out.stderr)
        );
        // The collation of the descriptor, although the database existed before.
        assert_eq!(
            server
                .sql(&format!("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{database}'"))
                .expect("collation")
                .trim(),
            "utf8mb4_unicode_ci",
            "{database}"
        );
        server
            .sql(&format!("CREATE TABLE `{database}`.items (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO `{database}`.items VALUES (1, 'één'), (2, 'two')"))
            .expect("data");
        databases.push(database);
    }
    // The scripts reach the server on loopback; MariaDB spells `--source-data` as
    // `--master-data`.
    let hosts: Vec<String> = built
        .iter()
        .filter(|o| o["kind"] == "Service" && o["metadata"]["labels"]["component"] == "database")
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(hosts.len(), 11);
    let local = |script: String| {
        let mut script = script.replace("--source-data=2", "--master-data=2");
        for host in &hosts {
            script = script.replace(
                &format!("--host={host}"),
                &format!("--host=127.0.0.1 --port={}", server.port),
            );
        }
        script
    };
    let dash = which("dash").unwrap_or_else(|| bash.clone());
    for database in &databases {
        let prefix = database.trim_end_matches("_db").replace('_', "-");
        let dump = local(script(
            &built,
            "CronJob",
            &format!("{prefix}-mysql-backup"),
            "dump",
        ));
        let out = sandbox.run(&dash, &dump);
        assert!(
            out.status.success(),
            "dump of {database}: {}",
            text(&out.stderr)
        );
        assert!(sandbox.path(&format!("backup/{database}.sql.gz")).is_file());
    }

    // Binary-log shipping: every closed log of every server, copied byte for byte.
    for step in ["rotate", "fetch"] {
        let shipping = local(script(&built, "CronJob", "mysql-binlog-shipping", step));
        let out = sandbox.run(&bash, &shipping);
        assert!(out.status.success(), "binlog {step}: {}", text(&out.stderr));
        // In between, mc's check step finds MinIO lacking every closed log.
        for database in &databases {
            let closed = sandbox.path(&format!("backup/{database}.closed"));
            std::fs::copy(&closed, sandbox.path(&format!("backup/{database}.wanted")))
                .expect("closed logs listed");
        }
    }
    let shipped = sandbox.path("backup/auth_db/binlog.000001");
    assert_eq!(
        std::fs::read(&shipped).expect("binlog.000001 shipped"),
        std::fs::read(server.dir.path().join("data/binlog.000001")).expect("server's log"),
    );

    // The restore test, on its own scratch server, from the dumps just taken (where
    // its fetch step would put them).
    sandbox.stand_in("mysqld", &mysqld_on_mariadb(server.as_root));
    let restore = script(&built, "CronJob", "mysql-restore-test", "restore");
    let out = sandbox.run(&bash, &restore);
    assert!(
        out.status.success(),
        "restore test failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report = text(&out.stdout);
    assert!(
        report.contains("restore test: auth_db: restored, 1 tables"),
        "{report}"
    );
    assert!(
        report.contains("every database restored and checked"),
        "{report}"
    );

    // A dump cut short fails the restore test, loudly.
    let cut = sandbox.path("backup/orders_db.sql.gz");
    std::fs::write(
        sandbox.path("backup/orders_db.sql"),
        "CREATE DATABASE orders_db;\n",
    )
    .expect("cut");
    let _ = std::fs::remove_file(&cut);
    let gz = Command::new("gzip")
        .arg(sandbox.path("backup/orders_db.sql"))
        .status()
        .expect("gzip");
    assert!(gz.success());
    for leftover in ["data", "mysqld.sock", "mysqld.pid"] {
        let _ = std::fs::remove_dir_all(sandbox.path(&format!("backup/{leftover}")));
        let _ = std::fs::remove_file(sandbox.path(&format!("backup/{leftover}")));
    }
    let out = sandbox.run(&bash, &restore);
    assert!(
        !out.status.success(),
        "a truncated dump passed the restore test"
    );
    assert!(
        text(&out.stderr).contains("restore test: orders_db: the dump is truncated"),
        "{}",
        text(&out.stderr)
    );
}

/// The backup alerts' expressions, evaluated by promtool on kube-state-metrics series:
/// a CronJob whose last run failed or never succeeded is reported, a healthy one is not;
/// an overdue or suspended one is reported as missed.
#[test]
fn backup_alerts_report_failed_never_successful_and_overdue_cron_jobs() {
    let Some(promtool) = which("promtool") else {
        skip(
            "backup_alerts_report_failed_never_successful_and_overdue_cron_jobs",
            "promtool not installed (apt-get install prometheus)",
            &[],
        );
        return;
    };
    let project = Scratch::new();
    let monitoring = objects(&project.run(&["build", "monitoring"]).code(0).stdout);
    let rules = monitoring
        .iter()
        .find(|o| o["kind"] == "PrometheusRule")
        .expect("PrometheusRule");
    let expr = |alert: &str| -> String {
        rules["spec"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .find(|r| r["alert"] == alert)
            .and_then(|r| r["expr"].as_str())
            .unwrap_or_else(|| panic!("alert {alert}"))
            .to_owned()
    };
    let series = |metric: &str, cronjob: &str, value: &str| {
        serde_json::json!({
            "series": format!("{metric}{{namespace=\"e-commerce-prod\", cronjob=\"{cronjob}\"}}"),
            "values": value,
        })
    };
    let tests = serde_json::json!({
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                // Failed: scheduled after its last success.
                series("kube_cronjob_status_last_schedule_time", "auth-mysql-backup", "1000x10"),
                series("kube_cronjob_status_last_successful_time", "auth-mysql-backup", "500x10"),
                // Healthy: succeeded after it was scheduled.
                series("kube_cronjob_status_last_schedule_time", "mysql-binlog-shipping", "1000x10"),
                series("kube_cronjob_status_last_successful_time", "mysql-binlog-shipping", "1030x10"),
                series("kube_cronjob_next_schedule_time", "mysql-binlog-shipping", "99999999x10"),
                series("kube_cronjob_spec_suspend", "mysql-binlog-shipping", "0x10"),
                // Never succeeded, and its next run is long overdue.
                series("kube_cronjob_status_last_schedule_time", "mysql-restore-test", "1000x10"),
                series("kube_cronjob_next_schedule_time", "mysql-restore-test", "-7200x10"),
                // Suspended.
                series("kube_cronjob_spec_suspend", "orders-mysql-backup", "1x10"),
                // Not a backup CronJob: never reported.
                series("kube_cronjob_status_last_schedule_time", "report-mailer", "1000x10"),
            ],
            "promql_expr_test": [
                {
                    "expr": expr("BackupJobFailed"),
                    "eval_time": "5m",
                    "exp_samples": [
                        {"labels": "{namespace=\"e-commerce-prod\", cronjob=\"auth-mysql-backup\"}", "value": 1000},
                        {"labels": "{namespace=\"e-commerce-prod\", cronjob=\"mysql-restore-test\"}", "value": 1000},
                    ],
                },
                {
                    "expr": format!("sort(count by (cronjob) ({}))", expr("BackupJobMissed")),
                    "eval_time": "5m",
                    "exp_samples": [
                        {"labels": "{cronjob=\"mysql-restore-test\"}", "value": 1},
                        {"labels": "{cronjob=\"orders-mysql-backup\"}", "value": 1},
                    ],
                },
            ],
        }],
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tests.yaml");
    std::fs::write(&file, tests.to_string()).expect("tests");
    let out = Command::new(promtool)
        .args(["test", "rules"])
        .arg(&file)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
