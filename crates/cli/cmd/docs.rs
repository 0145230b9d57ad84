//! `jigsmith completions SHELL` and `jigsmith manpages DIR`: shell
//! completions and man pages generated from the clap definitions, so that
//! they never drift from the options; the .deb ships their output.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManpagesArgs {
    /// Directory to write jigsmith.1 and jigsmith-SUBCOMMAND.1 into.
    dir: PathBuf,
}

pub fn run_completions(a: CompletionsArgs, mut command: clap::Command) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(a.shell, &mut command, "jigsmith", &mut out);
    out.flush().context("writing the completion script")?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_manpages(a: ManpagesArgs, command: clap::Command) -> anyhow::Result<ExitCode> {
    fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    let command = command.version(env!("CARGO_PKG_VERSION"));
    let mut written = 0;
    write_page(&a.dir, "jigsmith", command.clone(), true)?;
    written += 1;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        let page = format!("jigsmith-{name}");
        let sub = sub
            .clone()
            .name(page.clone())
            .display_name(page.clone())
            .bin_name(format!("jigsmith {name}"))
            .version(env!("CARGO_PKG_VERSION"));
        write_page(&a.dir, &page, sub, false)?;
        written += 1;
    }
    eprintln!("jigsmith: wrote {written} man pages to {}", a.dir.display());
    Ok(ExitCode::SUCCESS)
}

fn write_page(
    dir: &std::path::Path,
    page: &str,
    command: clap::Command,
    top: bool,
) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(command)
        .title(page.to_ascii_uppercase())
        .section("1")
        .source(concat!("jigsmith ", env!("CARGO_PKG_VERSION")))
        .manual("jigsmith manual");
    let mut roff: Vec<u8> = Vec::new();
    man.render_title(&mut roff)?;
    man.render_name_section(&mut roff)?;
    man.render_synopsis_section(&mut roff)?;
    man.render_description_section(&mut roff)?;
    man.render_options_section(&mut roff)?;
    if top {
        man.render_subcommands_section(&mut roff)?;
    }
    let name = page.strip_prefix("jigsmith-").unwrap_or("");
    let examples = examples(name);
    if !examples.is_empty() {
        roff.extend_from_slice(b".SH EXAMPLES\n");
        for (what, how) in examples {
            roff.extend_from_slice(
                format!(
                    ".PP\n{}\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
                    text(what),
                    text(how)
                )
                .as_bytes(),
            );
        }
    }
    if top {
        roff.extend_from_slice(COMPAT.as_bytes());
    }
    roff.extend_from_slice(
        format!(
            ".SH EXIT STATUS\n0 success; 1 a file is missing or a checksum does not match; 2 any other error.\n\
             .SH SEE ALSO\n{}\n",
            see_also(page)
        )
        .as_bytes(),
    );
    man.render_version_section(&mut roff)?;
    let path = dir.join(format!("{page}.1"));
    fs::write(&path, roff).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

const COMPAT: &str = ".SH OLD TOOL NAMES\n\
Called through a link named like an old tool (jigdo\\-lite, jigit\\-mkimage, jigdump, parallel\\-sums, jigsum, \
jigsum\\-sha256, jigdo\\-gen\\-checksum\\-list, mkisofs, xorrisofs, genisoimage), jigsmith takes that \
tool's options. The Debian package installs such links in \\fI/usr/lib/jigsmith/compat/\\fR, so \
that\n.PP\n.RS 4\n.nf\nPATH=/usr/lib/jigsmith/compat:$PATH\n.fi\n.RE\n.PP\nmakes a script use \
jigsmith without conflicting with the packages of the old tools.\n";

fn see_also(page: &str) -> String {
    let mut refs = vec!["jigsmith(1)"];
    if page == "jigsmith" {
        refs = vec![
            "jigsmith\\-make\\-image(1)",
            "jigsmith\\-serve(1)",
            "jigsmith\\-mkisofs(1)",
        ];
    }
    refs.extend(["jigdo\\-file(1)", "jigit\\-mkimage(1)", "xorriso(1)"]);
    refs.join(", ")
}

/// Escapes text for roff: backslashes, minus signs, and a leading dot or quote.
fn text(s: &str) -> String {
    let escaped = s.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Worked examples per subcommand (`""`: the top page).
fn examples(subcommand: &str) -> &'static [(&'static str, &'static str)] {
    match subcommand {
        "" => &[
            (
                "Rebuild a Debian image from its .jigdo and template and a local mirror, checking every file:",
                "jigsmith make-image -j debian-12.5.0-amd64-DVD-1.jigdo -m Debian=/srv/mirror/debian -o debian-12.5.0-amd64-DVD-1.iso",
            ),
            (
                "Download an image from its .jigdo URL, using an old release's ISO as a seed:",
                "jigsmith get --seed debian-12.4.0-amd64-DVD-1.iso https://cdimage.debian.org/cdimage/release/current/amd64/jigdo-dvd/debian-12.5.0-amd64-DVD-1.jigdo",
            ),
            (
                "Offer every .jigdo under /srv/cdimage as its ISO over HTTP:",
                "jigsmith serve --listen [::]:8080 -m Debian=/srv/mirror/debian /srv/cdimage",
            ),
        ],
        "make-image" => &[
            (
                "Rebuild an image; the template is found next to the .jigdo:",
                "jigsmith make-image -j debian-12.5.0-amd64-netinst.jigdo -m Debian=/srv/mirror/debian -o debian-12.5.0-amd64-netinst.iso",
            ),
            (
                "Only the first 32 KiB (the system area), to standard output:",
                "jigsmith make-image -j x.jigdo -m Debian=/srv/mirror/debian --range 0-32767 | xxd | less",
            ),
            (
                "List the files that are missing from the mirror, build nothing:",
                "jigsmith make-image -j x.jigdo -m Debian=/srv/mirror/debian --missing -",
            ),
        ],
        "make-template" => &[(
            "Find the mirror's files in an existing ISO and write .jigdo and .template:",
            "jigsmith make-template --image x.iso --jigdo x.jigdo --template x.template -f md5.list -m Debian=/srv/mirror/debian",
        )],
        "get" => &[
            (
                "Download an image, unattended, 16 parts at a time:",
                "jigsmith get -o ~/isos/ https://cdimage.debian.org/cdimage/archive/11.9.0/amd64/jigdo-cd/debian-11.9.0-amd64-netinst.jigdo",
            ),
            (
                "Prefer a nearby mirror and read what an older ISO already holds:",
                "jigsmith get --mirror Debian=http://deb.debian.org/debian/ --seed old.iso x.jigdo",
            ),
        ],
        "serve" => &[
            (
                "Serve a cdimage tree on both address families, with the package mirror as the source:",
                "jigsmith serve --listen 0.0.0.0:8080 --listen [::]:8080 -m Debian=/srv/mirror/debian /srv/cdimage",
            ),
            (
                "Fetch a range of an image, and the directory index as JSON:",
                "curl -r 0-2047 http://localhost:8080/debian-12.5.0-amd64-netinst.iso | xxd\ncurl -H 'Accept: application/json' http://localhost:8080/",
            ),
            ("Pick up new .jigdo files at once:", "kill -HUP $(pidof jigsmith)"),
        ],
        "mount" => &[
            (
                "Show every image of a cdimage tree as a file, and boot one in qemu:",
                "jigsmith mount -m Debian=/srv/mirror/debian /srv/cdimage /mnt/images\nqemu-system-x86_64 -m 1G -cdrom /mnt/images/debian-12.5.0-amd64-netinst.iso",
            ),
            ("Unmount:", "jigsmith umount /mnt/images"),
        ],
        "mkisofs" => &[(
            "Write an ISO and, in the same pass, its .jigdo and template (debian-cd's JTE options):",
            "jigsmith mkisofs -r -J -o x.iso -md5-list md5.list -jigdo-jigdo x.jigdo -jigdo-template x.template -jigdo-map Debian=/srv/mirror/debian/ -jigdo-min-file-size 1024 CD1",
        )],
        "inspect" => &[("Show a template's data parts and entries:", "jigsmith inspect x.template")],
        "sums" => &[(
            "MD5 and SHA-256 of every .deb in a pool, on every core:",
            "jigsmith sums --md5 --sha256 pool/main/*/*/*.deb",
        )],
        "checksum-list" => &[(
            "A checksum list for mkisofs -md5-list:",
            "jigsmith checksum-list /srv/mirror/debian/pool > md5.list",
        )],
        "completions" => &[(
            "Install the bash completion for the current user:",
            "jigsmith completions bash > ~/.local/share/bash-completion/completions/jigsmith",
        )],
        "manpages" => &[("Write the man pages and read one:", "jigsmith manpages ~/.local/share/man/man1\nman jigsmith-serve")],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes() {
        assert_eq!(text("a-b \\x"), "a\\-b \\ex");
        assert_eq!(text(".hidden\n'quote"), "\\&.hidden\n\\&'quote");
    }
}
