//! `--mirror LABEL=s3://bucket/prefix`: parts from an S3-compatible object
//! store, here moto's server (from PyPI) on a loopback port started by the
//! test. A corrupt object is refused and the next mirror used; a second
//! build comes from the cache of verified parts.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::{Jte, LABEL};
use crate::support::{jigsmith, md5_hex, require, temp_dir, KillOnDrop, Run};
use crate::tree::TreeBuilder;

/// moto's S3 server, killed when dropped.
struct Moto {
    _server: KillOnDrop,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            _server: KillOnDrop(child),
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Uploads every file under `root` to `bucket` under `prefix/`, with boto3.
    fn upload(&self, root: &Path, bucket: &str, prefix: &str, corrupt: Option<&str>) {
        let script = r#"
import os, sys, boto3
endpoint, root, bucket, prefix, corrupt = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
    s3.create_bucket(Bucket=bucket)
for d, _, files in os.walk(root):
    for f in files:
        path = os.path.join(d, f)
        rel = os.path.relpath(path, root)
        data = open(path, "rb").read()
        if rel == corrupt:
            data = bytes([data[0] ^ 0x5A]) + data[1:]
        s3.put_object(Bucket=bucket, Key=prefix + "/" + rel, Body=data)
"#;
        let status = Command::new("python3")
            .args(["-c", script, &self.endpoint])
            .arg(root)
            .args([bucket, prefix, corrupt.unwrap_or("")])
            .status()
            .unwrap();
        assert!(status.success(), "uploading to moto failed");
    }
}

#[test]
fn make_image_fetches_parts_from_an_s3_bucket() {
    require!(
        "xorriso",
        "jigdo-gen-checksum-list",
        "moto_server",
        "python3"
    );
    let tree = TreeBuilder::new(91)
        .file("pool/main/a/alpha_1.0_all.deb", 200_000)
        .file("pool/main/b/beta_1.0_all.deb", 90_000)
        .file("pool/main/c/gamma_1.0_all.deb", 150_000)
        .build();
    let iso = Jte::xorriso().build(&tree);
    let moto = Moto::start();
    moto.upload(
        &tree.root,
        "mirror",
        "bad",
        Some("pool/main/b/beta_1.0_all.deb"),
    );
    moto.upload(&tree.root, "mirror", "good", None);

    let out = temp_dir();
    let cache = out.path().join("cache");
    let image = out.path().join("from-s3.iso");
    let endpoint = moto.endpoint.clone();
    let build = || {
        let mut cmd = jigsmith(["make-image", "-j"]);
        cmd.arg(&iso.jigdo)
            .args(["--mirror", &format!("{LABEL}=s3://mirror/bad")])
            .args(["--mirror", &format!("{LABEL}=s3://mirror/good/")])
            .arg("--cache")
            .arg(&cache)
            .arg("-o")
            .arg(&image)
            .env("AWS_ENDPOINT", &endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1");
        cmd
    };
    let o = build().ok();
    assert_eq!(md5_hex(&image), md5_hex(&iso.iso));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("beta_1.0_all.deb") && err.contains("checksum"),
        "the corrupt object should be reported: {err}"
    );

    // With the store gone, the cache alone rebuilds it.
    drop(moto);
    std::fs::remove_file(&image).unwrap();
    build().ok();
    assert_eq!(md5_hex(&image), md5_hex(&iso.iso));
}
