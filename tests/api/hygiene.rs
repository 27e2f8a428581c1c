//! What can be seen of the server's secrets from outside its API: its environment, its memory,
//! its log, and what it does with a data directory someone has edited. Linux only: the process
//! is read through `/proc/<pid>/environ`, `/proc/<pid>/maps` and `/proc/<pid>/mem`, which the
//! test may read because it started the server as the same user.

use crate::helpers::TestServer;
use keynest_actors::model::{EnvId, VarId, Variable};
use keynest_actors::store::{self, keys, Changes, Store};
use serde_json::json;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    keynest_actors::crypto::random_bytes(&mut raw).expect("random");
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server's environment block as `/proc/<pid>/environ` shows it.
fn environ(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).expect("read environ");
    raw.split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

/// How often each needle occurs in the readable memory of process `pid`. Read in chunks; the
/// allocator reserves a large arena that is mostly untouched zero pages, skipped with one
/// comparison each so that this stays quick in a debug build.
fn count_in_memory(pid: u32, needles: &[&[u8]]) -> Vec<usize> {
    const CHUNK: usize = 1 << 20;
    let zeros = vec![0u8; CHUNK];
    let longest = needles.iter().map(|n| n.len()).max().unwrap_or(1);
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open mem");
    let mut counts = vec![0; needles.len()];
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (range, perms) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let label = parts.nth(3).unwrap_or("");
        // Anonymous memory, heap and stack only: the mapped binary and libraries hold no secret.
        if !perms.starts_with("rw") || label.starts_with('/') || label.starts_with("[v") {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let start = u64::from_str_radix(start, 16).expect("start");
        let end = u64::from_str_radix(end, 16).expect("end");
        // The tail of the previous chunk, so that a needle across a chunk edge is found once.
        let mut window: Vec<u8> = Vec::with_capacity(CHUNK + longest);
        let mut at = start;
        while at < end {
            let len = CHUNK.min((end - at) as usize);
            let mut chunk = vec![0u8; len];
            // Mappings can vanish or be unreadable (guard pages) between listing and reading.
            if mem.seek(SeekFrom::Start(at)).is_err() || mem.read_exact(&mut chunk).is_err() {
                break;
            }
            at += len as u64;
            if chunk[..] == zeros[..len] {
                window.clear();
                continue;
            }
            let carried = window.len();
            window.extend_from_slice(&chunk);
            for (n, needle) in needles.iter().enumerate() {
                // Only matches that end inside this chunk: those within the carried tail were
                // counted with the previous chunk.
                let skip = carried.saturating_sub(needle.len() - 1);
                counts[n] += window[skip..]
                    .windows(needle.len())
                    .filter(|w| w == needle)
                    .count();
            }
            let keep = window.len().saturating_sub(longest - 1);
            window.drain(..keep);
        }
    }
    counts
}

#[test]
fn the_master_key_variable_is_gone_from_the_servers_environment_and_memory() {
    let key = random_hex(32);
    let control = format!("kept-{}", random_hex(8));
    let server =
        TestServer::start_with_env(&[("KEYNEST_MASTER_KEY", &key), ("HYGIENE_CONTROL", &control)]);
    let env = environ(server.pid());
    assert!(
        env.contains(&format!("HYGIENE_CONTROL={control}")),
        "positive control: a variable set the same way stays; environment names: {:?}",
        env.iter().map(|e| e.split('=').next()).collect::<Vec<_>>()
    );
    assert!(
        !env.iter().any(|e| e.starts_with("KEYNEST_MASTER_KEY")),
        "KEYNEST_MASTER_KEY is still in /proc/<pid>/environ"
    );
    // The key given was the one used: the server works, and made no key file of its own.
    let (user, _, env_id) = server.user_with_env("keyholder");
    server.var(&user, env_id, "API_KEY", "sealed-under-the-given-key");
    assert!(!server.data_dir().join("master.key").exists());
    let counts = count_in_memory(server.pid(), &[key.as_bytes(), control.as_bytes()]);
    assert!(
        counts[1] >= 1,
        "positive control: the scan finds the control variable's text"
    );
    assert_eq!(
        counts[0], 0,
        "the master key's hex is nowhere in the server's memory"
    );
}

/// The start-up log line about a key file: names the file and the fix, never the key.
fn mode_warning<'a>(log: &'a str, file: &Path) -> Option<&'a str> {
    let name = file.display().to_string();
    log.lines()
        .find(|l| l.contains("WARN") && l.contains(&name) && l.contains("chmod 600"))
}

#[test]
fn a_master_key_file_others_can_read_or_write_is_warned_about_by_name() {
    let cases = [
        (0o644, true, "readable by everyone"),
        (0o660, true, "writable by the group"),
        (0o600, false, "owner only"),
        (0o400, false, "owner read-only"),
    ];
    for (mode, warned, what) in cases {
        let keys = tempfile::tempdir().expect("dir");
        let file = keys.path().join("master.key");
        let key = random_hex(32);
        std::fs::write(&file, &key).expect("write key");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let server = TestServer::start_with_env(&[(
            "KEYNEST_MASTER_KEY_FILE",
            file.to_str().expect("path"),
        )]);
        let log = server.log();
        assert_eq!(
            mode_warning(&log, &file).is_some(),
            warned,
            "key file {what} ({mode:03o}); log:\n{log}"
        );
        assert!(!log.contains(&key), "the log never holds the key");
    }
}

#[test]
fn the_generated_master_key_file_is_warned_about_once_others_can_read_it() {
    let mut server = TestServer::start();
    let file = server.data_dir().join("master.key");
    assert!(
        mode_warning(&server.log(), &file).is_none(),
        "created 0600: no warning"
    );
    // Serving (so its signal handling is in place) before it is asked to stop.
    server.register("owner");
    assert!(server.terminate().success());
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let server = server.start_again();
    assert!(
        mode_warning(&server.log(), &file).is_some(),
        "0640 is warned about; log:\n{}",
        server.log()
    );
}

/// Every way a value leaves the server, each read 20 times over one kept-alive connection.
#[test]
fn values_read_many_times_leave_few_copies_in_the_servers_memory() {
    let server = TestServer::start();
    let (user, project, env) = server.user_with_env("scrubbed");
    let value = format!("KNPROBE{}", random_hex(12));
    let var = server.var(&user, env, "PROBE", &value);
    let other = server.env(&user, project, "staging");
    let t = Some(user.token.as_str());
    let reads = [
        format!("/api/variables/{var}/"),
        format!("/api/environments/{env}/variables/"),
        format!("/api/variables/{var}/versions/"),
        format!("/api/environments/{env}/export/"),
        format!("/api/environments/{env}/export/?format=json"),
        format!("/api/environments/{env}/export/?format=yaml"),
    ];
    for _ in 0..20 {
        for path in &reads {
            let resp = server.get(path, t);
            assert!(resp.text.contains(&value), "{path}: {}", resp.text);
        }
        // Metadata, which is not scrubbed: the positive control below.
        server
            .get(&format!("/api/environments/{other}/"), t)
            .expect(200);
    }
    let counts = count_in_memory(server.pid(), &[value.as_bytes(), b"staging"]);
    assert!(counts[1] >= 1, "positive control: the scan finds metadata");
    // Before responses were written into zeroized buffers this was 50-60; what remains is
    // actix's write buffer and the request that created the value (README, "Security model").
    assert!(
        counts[0] <= 8,
        "{} copies of the value after 120 reads",
        counts[0]
    );
}

/// Stop the server, let `edit` change its store directly, and start it again.
fn edit_store(mut server: TestServer, edit: impl FnOnce(&Store, &mut Changes)) -> TestServer {
    // A graceful stop, so that every write acknowledged is in the store edited.
    assert!(server.terminate().success());
    {
        let store = server.open_store();
        let mut changes = Changes::new();
        edit(&store, &mut changes);
        store.apply(changes).expect("apply");
        store.flush_blocking().expect("flush");
    }
    if !crate::helpers::etcd::on() {
        wait_until_unlocked(&server.data_dir());
    }
    server.start_again()
}

/// Wait until no process holds sled's lock on the store in `dir` (as `/proc/locks` lists it): a
/// dropped `Store` lets go of it only once its flush thread has noticed, a moment later.
fn wait_until_unlocked(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(dir.join("db").join("db"))
        .expect("store file")
        .ino();
    let held = format!(":{inode} ");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string("/proc/locks")
        .expect("/proc/locks")
        .lines()
        .any(|l| l.contains(&held))
    {
        assert!(
            Instant::now() < deadline,
            "the store in {dir:?} stayed locked"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn raw(store: &Store, key: &[u8]) -> Vec<u8> {
    store.get_raw(key).expect("get").expect("record").to_vec()
}

#[test]
fn a_ciphertext_moved_to_another_variable_or_version_does_not_open() {
    let server = TestServer::start();
    let (user, project, prod) = server.user_with_env("mover");
    let dev = server.env(&user, project, "development");
    let t = Some(user.token.as_str());
    let x = server.var(&user, prod, "DB_PASSWORD", "prod-v1");
    server
        .patch(
            &format!("/api/variables/{x}/"),
            t,
            json!({"value": "prod-v2"}),
        )
        .expect(200);
    let z = server.var(&user, prod, "OTHER", "prod-other");
    let y = server.var(&user, dev, "DB_PASSWORD", "dev-only");
    let (x, y, z, prod_e, dev_e) = (VarId(x), VarId(y), VarId(z), EnvId(prod), EnvId(dev));

    let server = edit_store(server, |store, c| {
        // 1. Production's record, whole, under a development variable's key: its own ids still
        //    name production, so only where it is stored tells it is out of place.
        c.put_raw(keys::var(dev_e, y), raw(store, &keys::var(prod_e, x)));
        // 2. Version 2's ciphertext, whole record, stored as version 1 of the same variable.
        c.put_raw(keys::version(x, 1), raw(store, &keys::version(x, 2)));
        // 3. Another variable's sealed value in a record that is otherwise Z's own.
        let mut rec: Variable =
            store::decode(&raw(store, &keys::var(prod_e, z))).expect("decode z");
        let from: Variable = store::decode(&raw(store, &keys::var(prod_e, x))).expect("decode x");
        rec.sealed = from.sealed;
        c.put(keys::var(prod_e, z), &rec).expect("put z");
    });

    // Positive control: X's current record is untouched and still reads.
    let got = server
        .get(&format!("/api/variables/{}/", x.0), t)
        .expect(200);
    assert_eq!(got["decrypted_value"], "prod-v2");

    let refused = [
        (
            format!("/api/variables/{}/", y.0),
            "moved record, read by id",
        ),
        (
            format!("/api/environments/{dev}/variables/"),
            "moved record, listed",
        ),
        (
            format!("/api/environments/{dev}/export/"),
            "moved record, exported",
        ),
        (
            format!("/api/projects/{project}/compare/?source={prod}&target={dev}"),
            "moved record, compared",
        ),
        (format!("/api/variables/{}/", z.0), "swapped ciphertext"),
        (
            format!("/api/variables/{}/versions/", x.0),
            "version 2 stored as 1, listed",
        ),
    ];
    for (path, what) in refused {
        let resp = server.get(&path, t);
        assert!(
            !resp.text.contains("prod-v"),
            "{what}: a production value came out of {path}: {}",
            resp.text
        );
        assert_eq!(resp.status, 500, "{what}: {path} answered {}", resp.text);
    }
    let rollback = server.post(
        &format!("/api/variables/{}/rollback/", x.0),
        t,
        json!({"version": 1}),
    );
    assert_eq!(
        rollback.status, 500,
        "rollback to a moved version: {}",
        rollback.text
    );
    let got = server
        .get(&format!("/api/variables/{}/", x.0), t)
        .expect(200);
    assert_eq!(got["version"], 2, "the refused rollback wrote nothing");
}
