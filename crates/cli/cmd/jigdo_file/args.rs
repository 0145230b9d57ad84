//! jigdo-file's command line: GNU getopt_long with permutation (options
//! anywhere, unambiguous prefixes of long options, `--` ends them), the
//! command as the first word that is not an option, and the names of the
//! image, .jigdo and .template deduced from each other as jigdo-file does.
//! Hand-written rather than clap because scripts rely on jigdo-file's exact
//! messages and exit code 3 for bad usage.

use std::ffi::OsString;

use jigsmith_checksum::Algorithm;

/// What jigdo-file does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    MakeTemplate,
    MakeImage,
    PrintMissing,
    PrintMissingAll,
    Verify,
    Scan,
    ListTemplate,
    Md5sum,
    Sha256sum,
}

/// Long name and abbreviation of each command, in the order jigdo-file
/// lists them in its "Invalid command" message.
const COMMANDS: [(&str, &str, Command); 9] = [
    ("make-template", "mt", Command::MakeTemplate),
    ("make-image", "mi", Command::MakeImage),
    ("print-missing", "pm", Command::PrintMissing),
    ("print-missing-all", "pma", Command::PrintMissingAll),
    ("verify", "ver", Command::Verify),
    ("scan", "sc", Command::Scan),
    ("list-template", "ls", Command::ListTemplate),
    ("md5sum", "md5", Command::Md5sum),
    ("sha256sum", "sha256", Command::Sha256sum),
];

/// `--report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Report {
    #[default]
    Default,
    NoProgress,
    Quiet,
    Grep,
}

/// Everything the command line says.
#[derive(Debug, Clone)]
pub struct Options {
    pub command: Command,
    pub image: Option<String>,
    pub jigdo: Option<String>,
    pub template: Option<String>,
    /// Names from the command line, in order.
    pub files: Vec<String>,
    /// `-T`/`--files-from` lists (`-` for stdin), read after `files`.
    pub files_from: Vec<String>,
    pub report: Report,
    pub force: bool,
    pub labels: Vec<String>,
    pub uris: Vec<String>,
    pub cache: Option<String>,
    pub level: u32,
    pub bzip2: bool,
    pub merge: Option<String>,
    pub min_length: u64,
    pub algorithm: Algorithm,
    pub check_files: bool,
    pub hex: bool,
    pub image_section: bool,
    pub servers_section: bool,
    pub greedy: bool,
    pub scan_whole_file: bool,
    pub match_exec: Option<String>,
}

/// The end of parsing: options to run with, or an exit code after a
/// message (help, version, usage error).
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Options>),
    Exit(u8),
}

/// `jigdo-file: Try ...` after a usage error; jigdo-file exits with 3.
pub fn try_help(bin: &str) -> u8 {
    eprintln!("{bin}: Try `{bin} -h' or `man jigdo-file' for more information");
    3
}

enum Opt {
    Flag(fn(&mut Options)),
    Value(fn(&mut Options, String) -> Result<(), String>),
    /// Options jigdo-file takes and jigsmith ignores (tuning, debugging).
    IgnoredValue,
    IgnoredFlag,
    Help,
    HelpAll,
    Version,
}

fn long_options() -> Vec<(&'static str, Opt)> {
    use Opt::*;
    vec![
        (
            "image",
            Value(|o, v| {
                o.image = Some(v);
                Ok(())
            }),
        ),
        (
            "jigdo",
            Value(|o, v| {
                o.jigdo = Some(v);
                Ok(())
            }),
        ),
        (
            "template",
            Value(|o, v| {
                o.template = Some(v);
                Ok(())
            }),
        ),
        (
            "files-from",
            Value(|o, v| {
                o.files_from.push(v);
                Ok(())
            }),
        ),
        ("report", Value(set_report)),
        ("force", Flag(|o| o.force = true)),
        ("no-force", Flag(|o| o.force = false)),
        (
            "label",
            Value(|o, v| {
                o.labels.push(v);
                Ok(())
            }),
        ),
        (
            "uri",
            Value(|o, v| {
                o.uris.push(v);
                Ok(())
            }),
        ),
        (
            "cache",
            Value(|o, v| {
                o.cache = Some(v);
                Ok(())
            }),
        ),
        ("no-cache", Flag(|o| o.cache = None)),
        ("cache-expiry", IgnoredValue),
        ("bzip2", Flag(|o| o.bzip2 = true)),
        ("gzip", Flag(|o| o.bzip2 = false)),
        (
            "merge",
            Value(|o, v| {
                o.merge = Some(v);
                Ok(())
            }),
        ),
        ("min-length", Value(set_min_length)),
        ("checksum-algorithm", Value(set_algorithm)),
        ("checksum-block-size", IgnoredValue),
        ("md5-block-size", IgnoredValue),
        ("readbuffer", IgnoredValue),
        ("check-files", Flag(|o| o.check_files = true)),
        ("no-check-files", Flag(|o| o.check_files = false)),
        ("scan-whole-file", Flag(|o| o.scan_whole_file = true)),
        ("no-scan-whole-file", Flag(|o| o.scan_whole_file = false)),
        ("greedy-matching", Flag(|o| o.greedy = true)),
        ("no-greedy-matching", Flag(|o| o.greedy = false)),
        ("image-section", Flag(|o| o.image_section = true)),
        ("no-image-section", Flag(|o| o.image_section = false)),
        ("servers-section", Flag(|o| o.servers_section = true)),
        ("no-servers-section", Flag(|o| o.servers_section = false)),
        ("debug", IgnoredFlag),
        ("no-debug", IgnoredFlag),
        (
            "match-exec",
            Value(|o, v| {
                o.match_exec = Some(v).filter(|s| !s.is_empty());
                Ok(())
            }),
        ),
        ("hex", Flag(|o| o.hex = true)),
        ("no-hex", Flag(|o| o.hex = false)),
        ("help", Help),
        ("help-all", HelpAll),
        ("version", Version),
    ]
}

fn short_option(c: char) -> Option<(&'static str, bool)> {
    // (long name, takes a value)
    Some(match c {
        'i' => ("image", true),
        'j' => ("jigdo", true),
        't' => ("template", true),
        'T' => ("files-from", true),
        'r' => ("report", true),
        'f' => ("force", false),
        'c' => ("cache", true),
        'C' => ("checksum-algorithm", true),
        'h' => ("help", false),
        'H' => ("help-all", false),
        'v' => ("version", false),
        _ => return None,
    })
}

fn set_report(o: &mut Options, v: String) -> Result<(), String> {
    o.report = match v.as_str() {
        "default" => Report::Default,
        "noprogress" => Report::NoProgress,
        "quiet" => Report::Quiet,
        "grep" => Report::Grep,
        _ => {
            return Err(
                "Invalid argument to --report (allowed: default noprogress quiet grep)".into(),
            )
        }
    };
    Ok(())
}

fn set_algorithm(o: &mut Options, v: String) -> Result<(), String> {
    o.algorithm = match v.as_str() {
        "md5" => Algorithm::Md5,
        "sha256" => Algorithm::Sha256,
        _ => return Err("Invalid argument to --checksum (allowed: md5 sha256)".into()),
    };
    Ok(())
}

fn set_min_length(o: &mut Options, v: String) -> Result<(), String> {
    let n = parse_bytes(&v).ok_or_else(|| format!("Invalid size specifier `{v}'"))?;
    // "There is a hard-wired absolute minimum of 256 bytes" (jigdo-file(1))
    o.min_length = n.max(256);
    Ok(())
}

/// A BYTES argument: a number with an optional `k`, `M` or `G`.
fn parse_bytes(v: &str) -> Option<u64> {
    let (num, mult) = if let Some(n) = v.strip_suffix('k') {
        (n, 1u64 << 10)
    } else if let Some(n) = v.strip_suffix('M') {
        (n, 1 << 20)
    } else if let Some(n) = v.strip_suffix('G') {
        (n, 1 << 30)
    } else {
        (v, 1)
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// Parses jigdo-file's argument list (without argv[0]); `bin` names the
/// program in messages.
pub fn parse(bin: &str, args: Vec<OsString>) -> Parsed {
    let mut o = Options {
        command: Command::Md5sum,
        image: None,
        jigdo: None,
        template: None,
        files: Vec::new(),
        files_from: Vec::new(),
        report: Report::Default,
        force: false,
        labels: Vec::new(),
        uris: Vec::new(),
        cache: None,
        level: 9,
        bzip2: false,
        merge: None,
        min_length: 1024,
        algorithm: Algorithm::Md5,
        check_files: true,
        hex: false,
        image_section: true,
        servers_section: true,
        greedy: true,
        scan_whole_file: false,
        match_exec: None,
    };
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let longs = long_options();
    let mut words = Vec::new();
    let mut i = 0;
    let mut exit = None;
    while let Some(arg) = args.get(i) {
        i += 1;
        if arg == "--" {
            words.extend(args.get(i..).unwrap_or_default().iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let exact = longs.iter().find(|(n, _)| *n == name);
            let found = match exact {
                Some(e) => Some(e),
                None => {
                    let prefixed: Vec<_> =
                        longs.iter().filter(|(n, _)| n.starts_with(name)).collect();
                    match prefixed.len() {
                        1 => prefixed.first().copied(),
                        0 => {
                            eprintln!("{bin}: unrecognized option '--{name}'");
                            return Parsed::Exit(try_help(bin));
                        }
                        _ => {
                            eprintln!("{bin}: option '--{name}' is ambiguous");
                            return Parsed::Exit(try_help(bin));
                        }
                    }
                }
            };
            let Some((long, opt)) = found else { continue };
            let value = match opt {
                Opt::Value(_) | Opt::IgnoredValue => match inline {
                    Some(v) => Some(v),
                    None => match args.get(i) {
                        Some(v) => {
                            i += 1;
                            Some(v.clone())
                        }
                        None => {
                            eprintln!("{bin}: option '--{long}' requires an argument");
                            return Parsed::Exit(try_help(bin));
                        }
                    },
                },
                _ => {
                    if inline.is_some() && *long != "debug" {
                        eprintln!("{bin}: option '--{long}' doesn't allow an argument");
                        return Parsed::Exit(try_help(bin));
                    }
                    None
                }
            };
            if let Some(code) = apply(bin, &mut o, opt, value) {
                exit.get_or_insert(code);
            }
            continue;
        }
        if arg.len() > 1 && arg.starts_with('-') {
            let chars: Vec<char> = arg.chars().skip(1).collect();
            let mut k = 0;
            while let Some(&c) = chars.get(k) {
                k += 1;
                if let Some(d) = c.to_digit(10) {
                    o.level = d;
                    continue;
                }
                let Some((long, takes)) = short_option(c) else {
                    eprintln!("{bin}: invalid option -- '{c}'");
                    return Parsed::Exit(try_help(bin));
                };
                let Some((_, opt)) = longs.iter().find(|(n, _)| *n == long) else {
                    continue;
                };
                let value = if takes {
                    let rest: String = chars.get(k..).unwrap_or_default().iter().collect();
                    k = chars.len();
                    if !rest.is_empty() {
                        Some(rest)
                    } else if let Some(v) = args.get(i) {
                        i += 1;
                        Some(v.clone())
                    } else {
                        eprintln!("{bin}: option requires an argument -- '{c}'");
                        return Parsed::Exit(try_help(bin));
                    }
                } else {
                    None
                };
                if let Some(code) = apply(bin, &mut o, opt, value) {
                    exit.get_or_insert(code);
                }
            }
            continue;
        }
        words.push(arg.clone());
    }
    if let Some(code) = exit {
        return Parsed::Exit(code);
    }
    let mut words = words.into_iter();
    let Some(command) = words.next() else {
        eprintln!("{bin}: Please specify a command");
        return Parsed::Exit(try_help(bin));
    };
    match COMMANDS
        .iter()
        .find(|(long, short, _)| command == *long || command == *short)
    {
        Some((_, _, c)) => o.command = *c,
        None => {
            let all: String = COMMANDS
                .iter()
                .flat_map(|(l, s, _)| [format!(" {l}"), format!(" {s}")])
                .collect();
            eprintln!("{bin}: Invalid command `{command}'\n(Must be one of:{all})");
            return Parsed::Exit(try_help(bin));
        }
    }
    o.files = words.collect();
    deduce_names(&mut o);
    Parsed::Run(Box::new(o))
}

/// Applies one option; `Some(code)` when jigdo-file would exit after parsing.
fn apply(bin: &str, o: &mut Options, opt: &Opt, value: Option<String>) -> Option<u8> {
    match opt {
        Opt::Flag(f) => f(o),
        Opt::Value(f) => {
            if let Err(msg) = f(o, value.unwrap_or_default()) {
                eprintln!("{bin}: {msg}");
                return Some(try_help(bin));
            }
        }
        Opt::IgnoredValue | Opt::IgnoredFlag => {}
        Opt::Help => {
            print!("{}", super::help::SHORT);
            return Some(0);
        }
        Opt::HelpAll => {
            print!("{}{}", super::help::SHORT_ALL, super::help::MORE);
            return Some(0);
        }
        Opt::Version => {
            // jigdo-lite reads the third word of this line as the version
            println!(
                "jigdo-file version 0.8.0 (jigsmith {})",
                env!("CARGO_PKG_VERSION")
            );
            return Some(0);
        }
    }
    None
}

/// "first stripping any extension from the supplied name and then appending
/// nothing (if deducing --image), `.jigdo' or `.template'" (jigdo-file(1));
/// a name that would equal its source is not deduced.
fn deduce(dest: &mut Option<String>, ext: &str, src: &str) {
    if dest.is_some() {
        return;
    }
    let leaf_start = src.rfind('/').map_or(0, |p| p + 1);
    let stem = src
        .get(leaf_start..)
        .and_then(|leaf| leaf.rfind('.'))
        .and_then(|dot| src.get(..leaf_start + dot))
        .unwrap_or(src);
    let name = format!("{stem}{ext}");
    if name != src {
        *dest = Some(name);
    }
}

fn deduce_names(o: &mut Options) {
    let usable = |n: &Option<String>| n.clone().filter(|n| n != "-");
    if let Some(image) = usable(&o.image) {
        deduce(&mut o.jigdo, ".jigdo", &image);
        deduce(&mut o.template, ".template", &image);
    } else if let Some(jigdo) = usable(&o.jigdo) {
        deduce(&mut o.image, "", &jigdo);
        deduce(&mut o.template, ".template", &jigdo);
    } else if let Some(template) = usable(&o.template) {
        deduce(&mut o.image, "", &template);
        deduce(&mut o.jigdo, ".jigdo", &template);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        match parse("jigdo-file", args.iter().map(OsString::from).collect()) {
            Parsed::Run(o) => *o,
            Parsed::Exit(c) => panic!("exit {c}"),
        }
    }

    #[test]
    fn options_anywhere_prefixes_and_clusters() {
        let o = run(&[
            "--rep=quiet",
            "mi",
            "-ifoo.iso",
            "--jigdo",
            "x.jigdo",
            "-f9",
            "dir//",
            "--",
            "-odd",
        ]);
        assert_eq!(o.command, Command::MakeImage);
        assert_eq!(o.report, Report::Quiet);
        assert_eq!(o.image.as_deref(), Some("foo.iso"));
        assert_eq!(o.template.as_deref(), Some("foo.template"));
        assert!(o.force);
        assert_eq!(o.level, 9);
        assert_eq!(o.files, ["dir//", "-odd"]);
    }

    #[test]
    fn names_are_deduced_as_jigdo_file_does() {
        let o = run(&["ver", "-j", "a.b/c.d.jigdo"]);
        assert_eq!(o.image.as_deref(), Some("a.b/c.d"));
        assert_eq!(o.template.as_deref(), Some("a.b/c.d.template"));
        let o = run(&["mi", "-t", "x"]);
        assert_eq!(o.image, None);
        let o = run(&["mi", "-i", "x"]);
        assert_eq!(o.template.as_deref(), Some("x.template"));
    }

    #[test]
    fn bad_usage_exits_3() {
        for bad in [
            &["foo"][..],
            &[],
            &["md5", "--bogus"],
            &["md5", "-r", "loud"],
        ] {
            let parsed = parse("jigdo-file", bad.iter().map(OsString::from).collect());
            assert!(matches!(parsed, Parsed::Exit(3)), "{bad:?}");
        }
    }

    #[test]
    fn bytes() {
        assert_eq!(parse_bytes("4k"), Some(4096));
        assert_eq!(parse_bytes("2M"), Some(2 << 20));
        assert_eq!(parse_bytes("x"), None);
    }
}
