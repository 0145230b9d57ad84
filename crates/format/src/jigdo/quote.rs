//! jigdo-file's shell-like quoting of `.jigdo` values (jigdo-file(1),
//! "FORMAT OF .JIGDO FILES").

/// Quotes `s` so that jigdo-file reads it back as one word; plain values stay bare.
pub fn quote_value(s: &str) -> String {
    let special = |c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '#' | '\\');
    if !s.is_empty() && !s.contains(special) {
        return s.to_string();
    }
    if !s.contains('\'') {
        return format!("'{s}'");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Splits a value into words as jigdo-file does: `'...'` keeps everything,
/// `"..."` keeps all but `\` escapes, a bare `\` escapes the next character,
/// and an unquoted `#` starts a comment. `None` if a quote is left open.
pub fn unquote_value(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn jigdo_file_examples() {
        assert_eq!(quote_value("Deb:t/a b=c#d.txt"), "'Deb:t/a b=c#d.txt'");
        assert_eq!(
            quote_value("Deb:t/q'u\"ote é.bin"),
            "\"Deb:t/q'u\\\"ote é.bin\""
        );
        assert_eq!(quote_value("Debian:pool/x.deb"), "Debian:pool/x.deb");
        assert_eq!(
            unquote_value("http://x/ --try-last").unwrap(),
            vec!["http://x/", "--try-last"]
        );
        assert_eq!(unquote_value("a\\ b # c").unwrap(), vec!["a b"]);
        assert_eq!(unquote_value("'open"), None);
    }

    proptest! {
        #[test]
        fn quote_round_trips(s in "\\PC{1,40}") {
            prop_assert_eq!(unquote_value(&quote_value(&s)), Some(vec![s]));
        }
    }
}
