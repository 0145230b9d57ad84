//! File identifiers: ISO 9660 level 1-3 names (d-characters), Joliet UCS-2BE names, uniqueness and
//! the ECMA-119 9.3 ordering of directory records.

use std::cmp::Ordering;
use std::collections::HashSet;

/// Maps one character to a d-character (ECMA-119 7.4.1): upper case letters, digits and `_`.
fn d_char(c: char) -> u8 {
    match c {
        'a'..='z' => c.to_ascii_uppercase() as u8,
        'A'..='Z' | '0'..='9' | '_' => c as u8,
        _ => b'_',
    }
}

/// Splits `name` into (base, extension) at the last dot that is not the first character.
fn split_ext(name: &str) -> (&str, Option<&str>) {
    match name.rfind('.') {
        Some(i) if i > 0 => (name.get(..i).unwrap_or(name), name.get(i + 1..)),
        _ => (name, None),
    }
}

/// The ISO 9660 identifier of a directory or file before uniqueness is applied, as (base, ext).
fn iso_parts(name: &[u8], is_dir: bool, level: u8) -> (Vec<u8>, Option<Vec<u8>>) {
    let name = String::from_utf8_lossy(name);
    if is_dir {
        let max = if level == 1 { 8 } else { 31 };
        let mut base: Vec<u8> = name.chars().map(d_char).take(max).collect();
        if base.is_empty() {
            base.push(b'_');
        }
        return (base, None);
    }
    let (base, ext) = split_ext(&name);
    let base: Vec<u8> = base.chars().map(d_char).collect();
    let ext: Vec<u8> = ext
        .map(|e| e.chars().map(d_char).collect())
        .unwrap_or_default();
    let (base_max, ext_max) = if level == 1 {
        (8, 3)
    } else {
        // 30 characters for name + extension (ECMA-119 7.5.1); keep the extension when possible
        let ext_max = ext
            .len()
            .min(30usize.saturating_sub(base.len()).max(ext.len().min(8)));
        (30 - ext_max.min(29), ext_max.min(29))
    };
    let mut base: Vec<u8> = base.into_iter().take(base_max).collect();
    let ext: Vec<u8> = ext.into_iter().take(ext_max).collect();
    if base.is_empty() && ext.is_empty() {
        base.push(b'_');
    }
    (base, Some(ext))
}

fn iso_identifier(base: &[u8], ext: &Option<Vec<u8>>, omit_version: bool) -> Vec<u8> {
    let mut id = base.to_vec();
    if let Some(ext) = ext {
        id.push(b'.');
        id.extend_from_slice(ext);
        if !omit_version {
            id.extend_from_slice(b";1");
        }
    }
    id
}

/// Unique ISO 9660 identifiers for the entries `(name, is_dir)` of one directory, in input order.
pub(crate) fn iso_names(entries: &[(&[u8], bool)], level: u8, omit_version: bool) -> Vec<Vec<u8>> {
    let mut used = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for &(name, is_dir) in entries {
        let (base, ext) = iso_parts(name, is_dir, level);
        let mut id = iso_identifier(&base, &ext, omit_version);
        let base_max = if is_dir {
            if level == 1 {
                8
            } else {
                31
            }
        } else if level == 1 {
            8
        } else {
            30 - ext.as_ref().map_or(0, Vec::len)
        };
        let mut n = 0u32;
        while !used.insert(unversioned(&id).to_vec()) {
            n += 1;
            let digits = n.to_string();
            let keep = base_max.saturating_sub(digits.len()).min(base.len());
            let mut b = base.get(..keep).unwrap_or(&base).to_vec();
            b.extend_from_slice(digits.as_bytes());
            id = iso_identifier(&b, &ext, omit_version);
        }
        out.push(id);
    }
    out
}

fn unversioned(id: &[u8]) -> &[u8] {
    match id.iter().position(|&c| c == b';') {
        Some(i) => id.get(..i).unwrap_or(id),
        None => id,
    }
}

/// Joliet (UCS-2) characters not allowed in names (Joliet spec 3.3) are replaced by `_`.
fn joliet_char(c: char) -> u16 {
    match c {
        '*' | '/' | ':' | ';' | '?' | '\\' => u16::from(b'_'),
        c if (c as u32) < 0x20 => u16::from(b'_'),
        c => u16::try_from(c as u32).unwrap_or(u16::from(b'_')),
    }
}

/// Unique Joliet identifiers (UCS-2BE bytes) for the entries of one directory, in input order.
/// `max` is 64 (`-J`) or 103 (`-joliet-long`) characters, not counting `;1`.
pub(crate) fn joliet_names(
    entries: &[(&[u8], bool)],
    max: usize,
    omit_version: bool,
) -> Vec<Vec<u8>> {
    let mut used = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for &(name, is_dir) in entries {
        let name = String::from_utf8_lossy(name);
        let (base, ext) = if is_dir {
            (name.as_ref(), None)
        } else {
            split_ext(&name)
        };
        let base: Vec<u16> = base.chars().map(joliet_char).collect();
        let ext: Option<Vec<u16>> = ext.map(|e| e.chars().map(joliet_char).collect());
        let ext_len = ext.as_ref().map_or(0, |e| e.len() + 1);
        // keep short extensions when truncating so that file types stay recognisable
        let ext = if base.len() + ext_len > max && ext_len > max / 2 {
            None
        } else {
            ext
        };
        let ext_len = ext.as_ref().map_or(0, |e| e.len() + 1);
        let base_max = max.saturating_sub(ext_len).max(1);
        let build = |b: &[u16]| {
            let mut units: Vec<u16> = b.iter().copied().take(base_max).collect();
            if let Some(e) = &ext {
                units.push(u16::from(b'.'));
                units.extend(e);
            }
            units.truncate(max);
            units
        };
        let mut units = build(&base);
        let mut n = 0u32;
        while !used.insert(units.clone()) {
            n += 1;
            let digits: Vec<u16> = n.to_string().bytes().map(u16::from).collect();
            let keep = base_max.saturating_sub(digits.len()).min(base.len());
            let mut b: Vec<u16> = base.get(..keep).unwrap_or(&base).to_vec();
            b.extend(digits);
            units = build(&b);
        }
        if !is_dir && !omit_version {
            units.extend([u16::from(b';'), u16::from(b'1')]);
        }
        out.push(units.iter().flat_map(|u| u.to_be_bytes()).collect());
    }
    out
}

/// ECMA-119 9.3 order of file identifiers: name then extension, each compared as if padded with
/// spaces. Works on ISO bytes and on Joliet UCS-2BE bytes (whose ASCII is `00 xx`).
pub(crate) fn identifier_cmp(a: &[u8], b: &[u8], unit: usize) -> Ordering {
    let split = |id: &[u8]| -> (Vec<u16>, Vec<u16>) {
        let units: Vec<u16> = id
            .chunks(unit)
            .map(|c| {
                if unit == 2 {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                } else {
                    u16::from(c.first().copied().unwrap_or(0))
                }
            })
            .take_while(|&u| u != u16::from(b';'))
            .collect();
        match units.iter().rposition(|&u| u == u16::from(b'.')) {
            Some(i) => (
                units.get(..i).unwrap_or(&[]).to_vec(),
                units.get(i + 1..).unwrap_or(&[]).to_vec(),
            ),
            None => (units, Vec::new()),
        }
    };
    let padded_cmp = |x: &[u16], y: &[u16]| -> Ordering {
        let n = x.len().max(y.len());
        (0..n)
            .map(|i| {
                x.get(i)
                    .copied()
                    .unwrap_or(0x20)
                    .cmp(&y.get(i).copied().unwrap_or(0x20))
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    let (an, ae) = split(a);
    let (bn, be) = split(b);
    padded_cmp(&an, &bn).then_with(|| padded_cmp(&ae, &be))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(names: &[(&str, bool)], level: u8) -> Vec<String> {
        let e: Vec<(&[u8], bool)> = names.iter().map(|(n, d)| (n.as_bytes(), *d)).collect();
        iso_names(&e, level, false)
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }

    #[test]
    fn level1_names() {
        assert_eq!(
            iso(
                &[
                    ("readme.txt", false),
                    ("Makefile", false),
                    ("a dir.d", true),
                    (".bashrc", false)
                ],
                1
            ),
            ["README.TXT;1", "MAKEFILE.;1", "A_DIR_D", "_BASHRC.;1"]
        );
        assert_eq!(iso(&[("verylongname.html", false)], 1), ["VERYLONG.HTM;1"]);
        assert_eq!(
            iso(
                &[("verylongname1.html", false), ("verylongname2.html", false)],
                1
            ),
            ["VERYLONG.HTM;1", "VERYLON1.HTM;1"]
        );
    }

    #[test]
    fn level2_names() {
        let long = "x".repeat(200) + ".deb";
        let got = iso(&[(&long, false), (&long, false)], 2);
        assert_eq!(got[0], format!("{}.DEB;1", "X".repeat(27)));
        assert_eq!(got[1], format!("{}1.DEB;1", "X".repeat(26)));
        assert_eq!(iso(&[("ünïcode", true)], 3), ["_N_CODE"]);
    }

    #[test]
    fn joliet() {
        let e: Vec<(&[u8], bool)> = vec![("a:b.txt".as_bytes(), false), ("dir".as_bytes(), true)];
        let got = joliet_names(&e, 64, false);
        assert_eq!(
            got[0],
            "a_b.txt;1"
                .encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Vec<u8>>()
        );
        assert_eq!(
            got[1],
            "dir"
                .encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Vec<u8>>()
        );
        let long = "é".repeat(200) + ".iso";
        let got = joliet_names(&[(long.as_bytes(), false)], 103, true);
        assert_eq!(got[0].len(), 206);
        assert_eq!(
            &got[0][got[0].len() - 8..],
            &[0, b'.', 0, b'i', 0, b's', 0, b'o']
        );
    }

    #[test]
    fn ordering_pads_with_spaces() {
        assert_eq!(identifier_cmp(b"A.B;1", b"A.B1;1", 1), Ordering::Less);
        assert_eq!(identifier_cmp(b"A.;1", b"A_.;1", 1), Ordering::Less);
        assert_eq!(identifier_cmp(b"AB", b"A", 1), Ordering::Greater);
        assert_eq!(identifier_cmp(b"A.Z;1", b"AA.B;1", 1), Ordering::Less);
    }
}
