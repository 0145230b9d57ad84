use super::*;
use jigsmith_checksum::{Algorithm, Hasher};
use proptest::prelude::*;

const LIBJTE: &str = "# JigsawDownload
# See <https://www.einval.com/~steve/software/jigdo/> for details about jigdo

[Jigdo]
Version=1.1
Generator=libjte-2.0.0

[Image]
Filename=stdio:x.iso
Template=http://localhost/x.template
Template-MD5Sum=f3Rgj44LCSoBbx22qw_vtw 
# Template Hex MD5Sum 7f74608f8e0b092a016f1db6ab0fefb7
# Image Hex SHA256Sum b3895273506ac7937d429c1e783645cac930b65314a179b88718e3aac163bbf8
# Image size 385024 bytes

[Parts]
HV-4xLkJOMDIryRNAAJdbg=Deb:t/a b=c#d.txt
fZy5cZ5WY9KqcnYC9V9TsA=Deb:t/q'u\"ote é.bin

[Servers]
";

#[test]
fn reads_libjte_output() {
    let j = Jigdo::parse(LIBJTE.as_bytes()).unwrap();
    assert_eq!(j.version, "1.1");
    let image = j.image.as_ref().unwrap();
    assert_eq!(image.template, "http://localhost/x.template");
    assert_eq!(
        image.template_md5.unwrap().to_hex(),
        "7f74608f8e0b092a016f1db6ab0fefb7"
    );
    assert_eq!(image.comment_value("Image size"), Some("385024 bytes"));
    assert_eq!(
        image.comment_value("Image Hex SHA256Sum"),
        Some("b3895273506ac7937d429c1e783645cac930b65314a179b88718e3aac163bbf8")
    );
    assert_eq!(j.parts.len(), 2);
    assert!(j.parts[0]
        .locations()
        .contains(&"Deb:t/a b=c#d.txt".to_string()));
    assert_eq!(
        j.parts[1].locations(),
        vec!["Deb:t/q'u\"ote é.bin".to_string()]
    );
}

#[test]
fn reads_jigdo_file_quoting() {
    let text = "[Jigdo]\nVersion=1.2\n[Servers]\nDeb=file:/tmp/x/ --try-last\n[Parts]\n\
        fZy5cZ5WY9KqcnYC9V9TsA=\"Deb:t/q'u\\\"ote é.bin\"\n\
        HV-4xLkJOMDIryRNAAJdbg='Deb:t/a b=c#d.txt'\n";
    let j = Jigdo::parse(text.as_bytes()).unwrap();
    assert_eq!(j.parts[0].locations()[0], "Deb:t/q'u\"ote é.bin");
    assert_eq!(j.parts[1].locations()[0], "Deb:t/a b=c#d.txt");
    assert_eq!(j.servers[0].location(), "file:/tmp/x/");
    assert_eq!(j.servers[0].options(), vec!["--try-last"]);
    assert_eq!(j.expand("Deb:t/x"), vec!["file:/tmp/x/t/x"]);
}

#[test]
fn fuzz_expand_label_loop_bomb() {
    // twenty `A=A:` lines used to take 20^8 steps (a fuzzing timeout)
    let mut text = String::from("[Jigdo]\nVersion=1.1\n[Servers]\n");
    text.push_str(&"A=A:\n".repeat(20));
    text.push_str("B=http://b/\nB=http://c/\n");
    let j = Jigdo::parse(text.as_bytes()).unwrap();
    let start = std::time::Instant::now();
    assert!(j.expand("A:x").is_empty());
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    // ordinary mirrors still all come back
    assert_eq!(j.expand("B:x"), vec!["http://b/x", "http://c/x"]);
}

#[test]
fn gzip_include_and_later_images() {
    use std::io::Write;
    let text = "[Jigdo]\nVersion=2.0\n[Image]\nFilename=a.iso\nTemplate=a.template\n\
        [Include other.jigdo]\n[Image]\nFilename=b.iso\n[Comment]\nanything = at all\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let j = Jigdo::from_reader(gz.finish().unwrap().as_slice()).unwrap();
    assert_eq!(j.image.unwrap().filename, "a.iso");
    assert_eq!(j.includes, vec!["other.jigdo"]);
}

#[test]
fn errors_name_the_line() {
    let e = Jigdo::parse(b"[Jigdo]\nVersion=1.1\n[Parts]\nnotachecksum=Deb:x\n").unwrap_err();
    assert!(e.to_string().starts_with("line 4:"), "{e}");
    let e = Jigdo::parse(b"[Jigdo]\n[Parts\n").unwrap_err();
    assert!(e.to_string().starts_with("line 2:"), "{e}");
    assert!(matches!(
        Jigdo::parse(b"hello\n"),
        Err(Error::JigdoSyntax { line: 1, .. })
    ));
    assert!(matches!(Jigdo::parse(b"\n\n"), Err(Error::NotAJigdo(_))));
    assert!(matches!(
        Jigdo::parse(b"[Jigdo]\n\xff\n"),
        Err(Error::JigdoEncoding { line: 2 })
    ));
    assert!(Jigdo::from_reader(&[0x1f, 0x8b, 8, 0, 1, 2][..]).is_err());
}

use crate::Error;

fn arb_digest(alg: Algorithm) -> impl Strategy<Value = Digest> {
    any::<[u8; 8]>().prop_map(move |seed| Hasher::digest(alg, &seed))
}

fn arb_jigdo() -> impl Strategy<Value = Jigdo> {
    let alg = prop_oneof![Just(Algorithm::Md5), Just(Algorithm::Sha256)];
    alg.prop_flat_map(|alg| {
        let name = "[^\\n\\r\\[]{1,30}";
        (
            proptest::collection::vec((arb_digest(alg), name), 0..6),
            proptest::collection::vec(
                ("[A-Za-z][A-Za-z0-9]{0,8}", "[a-z]{1,5}://[a-z./]{1,20}"),
                0..3,
            ),
            (
                "[a-z .]{1,20}",
                "[a-z .]{1,20}",
                proptest::option::of(arb_digest(Algorithm::Md5)),
            ),
        )
            .prop_map(move |(parts, servers, (filename, template, md5))| Jigdo {
                version: if alg == Algorithm::Md5 {
                    "1.1".into()
                } else {
                    "2.0".into()
                },
                generator: Some("jigsmith/0.1.0".into()),
                image: Some(ImageSection {
                    filename,
                    template,
                    template_md5: md5,
                    comments: vec!["Image size 5 bytes".into()],
                    ..ImageSection::default()
                }),
                parts: parts.iter().map(|(d, n)| PartEntry::new(*d, n)).collect(),
                servers: servers
                    .into_iter()
                    .map(|(label, url)| ServerEntry { label, raw: url })
                    .collect(),
                includes: vec![],
            })
    })
}

proptest! {
    #[test]
    fn write_then_parse_is_identity(j in arb_jigdo()) {
        let mut out = Vec::new();
        j.write(&mut out).unwrap();
        let back = Jigdo::parse(&out).unwrap();
        prop_assert_eq!(&back, &j);
        for (p, q) in back.parts.iter().zip(&j.parts) {
            prop_assert_eq!(&p.locations()[0], &unquote_value(&q.raw).unwrap()[0]);
        }
    }
}

#[test]
fn a_gzip_bomb_is_refused_plainly() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let line = [b'#'; 1 << 20];
    for _ in 0..65 {
        gz.write_all(&line).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let err = Jigdo::from_reader(bomb.as_slice()).unwrap_err();
    assert!(matches!(err, Error::JigdoTooLarge { .. }), "{err}");
    assert!(err.to_string().contains("64 MiB"), "{err}");
}
