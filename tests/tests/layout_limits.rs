//! The layout rules of `docs/architecture.md`, checked over the workspace's sources:
//!
//! - no source file over 800 lines;
//! - no function over 150 lines outside tests (test files, `tests*.rs` modules and
//!   `#[cfg(test)] mod … { }` blocks are exempt);
//! - no JSON-RPC method name written as a string literal outside the one `api` module of
//!   `lightclient` and the cascoind backend's table of the real node's methods.
//!
//! The scan is textual (a small lexer that knows comments, strings, raw strings and char
//! literals), so it needs no parser dependency; each failure names the file and line.

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 150;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// Every `.rs` file of the workspace's crates (not `target/`, not `node_modules/`).
fn sources() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = [
        "verifier",
        "lightclient",
        "fullnode",
        "cli",
        "wasm",
        "tests",
    ]
    .iter()
    .map(|d| root.join(d))
    .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | "pkg") {
                    stack.push(p);
                }
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(workspace_root())
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Whether the whole file is test code.
fn is_test_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel.split('/').any(|c| c == "tests") || name.starts_with("tests") || name == "tests.rs"
}

/// One token class of the lexer: what matters here is code vs. string literal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// A code character (outside comments and literals), with its line (1-based).
    Code(char, usize),
    /// A string literal's content, with the line it starts on.
    Str(String, usize),
}

/// Split Rust source into code characters and string literals, dropping comments and char
/// literals.
fn lex(src: &str) -> Vec<Piece> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            continue;
        }
        // Raw strings: r"…", r#"…"#, br"…".
        let raw_start = if ch == 'r' && matches!(next, Some('"') | Some('#')) {
            Some(i + 1)
        } else if ch == 'b' && next == Some('r') && matches!(c.get(i + 2), Some('"') | Some('#')) {
            Some(i + 2)
        } else {
            None
        };
        let ident_before = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        if let (Some(mut j), false) = (raw_start, ident_before) {
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) == Some(&'"') {
                let start_line = line;
                j += 1;
                let mut s = String::new();
                while j < c.len() {
                    if c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    if c[j] == '\n' {
                        line += 1;
                    }
                    s.push(c[j]);
                    j += 1;
                }
                out.push(Piece::Str(s, start_line));
                i = j;
                continue;
            }
        }
        if ch == '"' {
            let start_line = line;
            let mut j = i + 1;
            let mut s = String::new();
            while j < c.len() && c[j] != '"' {
                if c[j] == '\\' {
                    s.push(c[j]);
                    j += 1;
                }
                if j < c.len() {
                    if c[j] == '\n' {
                        line += 1;
                    }
                    s.push(c[j]);
                }
                j += 1;
            }
            out.push(Piece::Str(s, start_line));
            i = j + 1;
            continue;
        }
        if ch == '\'' {
            // A char literal ('x', '\n', '\u{1F600}', '{') — not a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            if c.get(i + 2) == Some(&'\'') {
                i += 3;
                continue;
            }
        }
        if ch == '\n' {
            line += 1;
        }
        out.push(Piece::Code(ch, line));
        i += 1;
    }
    out
}

/// The code characters as a string, with each character's line.
fn code_of(pieces: &[Piece]) -> (String, Vec<usize>) {
    let mut s = String::new();
    let mut lines = Vec::new();
    for p in pieces {
        match p {
            Piece::Code(ch, l) => {
                s.push(*ch);
                lines.push(*l);
            }
            Piece::Str(_, l) => {
                s.push('"');
                s.push('"');
                lines.push(*l);
                lines.push(*l);
            }
        }
    }
    (s, lines)
}

/// The index of the brace that closes the one opened at `open`.
fn matching(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, ch) in chars.iter().enumerate().skip(open) {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// Byte ranges (in chars) of `#[cfg(test)]` items' bodies.
fn test_blocks(chars: &[char]) -> Vec<(usize, usize)> {
    let s: String = chars.iter().collect();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = s[from..].find("#[cfg(test)]") {
        let at = from + k;
        let char_at = s[..at].chars().count();
        if let Some(open) = chars[char_at..].iter().position(|c| *c == '{' || *c == ';') {
            let open = char_at + open;
            if chars[open] == '{' {
                if let Some(close) = matching(chars, open) {
                    out.push((open, close));
                }
            }
        }
        from = at + "#[cfg(test)]".len();
    }
    out
}

/// Functions longer than the limit: (name, first line, lines).
fn long_functions(src: &str) -> Vec<(String, usize, usize)> {
    let pieces = lex(src);
    let (code, lines) = code_of(&pieces);
    let chars: Vec<char> = code.chars().collect();
    let tests = test_blocks(&chars);
    let mut out = Vec::new();
    let mut k = 0;
    while k + 3 < chars.len() {
        let is_fn = chars[k] == 'f'
            && chars[k + 1] == 'n'
            && chars[k + 2].is_whitespace()
            && (k == 0 || !(chars[k - 1].is_alphanumeric() || chars[k - 1] == '_'));
        if !is_fn {
            k += 1;
            continue;
        }
        let name: String = chars[k + 3..]
            .iter()
            .skip_while(|c| c.is_whitespace())
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect();
        // The body: the first `{` before any `;` (a declaration without a body has none).
        let mut j = k + 3;
        let mut body = None;
        while j < chars.len() {
            match chars[j] {
                ';' => break,
                '{' => {
                    body = Some(j);
                    break;
                }
                _ => j += 1,
            }
        }
        if let Some(open) = body {
            if let Some(close) = matching(&chars, open) {
                let in_test = tests.iter().any(|(a, b)| *a <= k && k <= *b);
                let n = lines[close] - lines[k] + 1;
                if !in_test && n > MAX_FN_LINES {
                    out.push((name, lines[k], n));
                }
            }
        }
        k += 3;
    }
    out
}

#[test]
fn no_source_file_is_over_800_lines() {
    let mut bad = Vec::new();
    for p in sources() {
        let n = std::fs::read_to_string(&p)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if n > MAX_FILE_LINES {
            bad.push(format!("{}: {n} lines", rel(&p)));
        }
    }
    assert!(
        bad.is_empty(),
        "files over {MAX_FILE_LINES} lines (split them by job):\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_function_outside_tests_is_over_150_lines() {
    let mut bad = Vec::new();
    for p in sources() {
        let r = rel(&p);
        if is_test_file(&r) {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap_or_default();
        for (name, line, n) in long_functions(&src) {
            bad.push(format!("{r}:{line}: fn {name} is {n} lines"));
        }
    }
    assert!(
        bad.is_empty(),
        "functions over {MAX_FN_LINES} lines:\n{}",
        bad.join("\n")
    );
}

/// The L1 methods of the Bitcoin-style RPC that casl2 speaks (the devnet answers them too).
const L1_METHODS: &[&str] = &[
    "getblock",
    "getblockhash",
    "getblockcount",
    "getblockheader",
    "getrawmempool",
    "generate",
    "sendrawtransaction",
    "getblockchaininfo",
];

/// Whether a string looks like a JSON-RPC method name of the node or the devnet L1.
fn looks_like_method(s: &str) -> bool {
    ["l2_", "eth_", "admin_"].iter().any(|p| {
        s.strip_prefix(p).is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    }) || L1_METHODS.contains(&s)
}

/// Where method names may be written: the api module, and the cascoind backend (the real
/// node's own methods).
fn may_name_methods(rel: &str) -> bool {
    rel.starts_with("lightclient/src/api") || rel.starts_with("lightclient/src/cascoind")
}

/// The method names the api module defines, and the L1 methods.
fn method_names(files: &[PathBuf]) -> std::collections::BTreeSet<String> {
    let mut names: std::collections::BTreeSet<String> =
        L1_METHODS.iter().map(|s| s.to_string()).collect();
    for p in files {
        if !rel(p).starts_with("lightclient/src/api") {
            continue;
        }
        let src = std::fs::read_to_string(p).unwrap_or_default();
        for piece in lex(&src) {
            if let Piece::Str(s, _) = piece {
                if looks_like_method(&s) {
                    names.insert(s);
                }
            }
        }
    }
    names
}

#[test]
fn rpc_method_names_are_written_only_in_the_api_module() {
    let files = sources();
    let names = method_names(&files);
    let mut bad = Vec::new();
    for p in &files {
        let r = rel(p);
        if is_test_file(&r) || may_name_methods(&r) || r.contains("/benches/") {
            continue;
        }
        let src = std::fs::read_to_string(p).unwrap_or_default();
        for piece in lex(&src) {
            if let Piece::Str(s, line) = piece {
                if names.contains(&s) {
                    bad.push(format!("{r}:{line}: \"{s}\""));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "RPC method names outside lightclient's api module (use its constants):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_scanner_sees_what_it_should() {
    let src = r#"
fn short() { let s = "}"; let c = '{'; }
// fn commented() {
fn long() {
    let a = r"{";
    /* { */
"#;
    let mut body = String::from(src);
    for _ in 0..160 {
        body.push_str("    let x = 1;\n");
    }
    body.push_str("}\n#[cfg(test)]\nmod tests {\n fn t() {\n");
    for _ in 0..160 {
        body.push_str("    let y = 2;\n");
    }
    body.push_str(" }\n}\n");
    let long = long_functions(&body);
    assert_eq!(long.len(), 1, "{long:?}");
    assert_eq!(long[0].0, "long");
    assert_eq!(long[0].1, 4);
    let strs: Vec<String> = lex("let m = \"l2_getbalance\"; // \"l2_x\"\n")
        .into_iter()
        .filter_map(|p| match p {
            Piece::Str(s, _) => Some(s),
            Piece::Code(..) => None,
        })
        .collect();
    assert_eq!(strs, vec!["l2_getbalance".to_string()]);
    assert!(looks_like_method("l2_getbalance"));
    assert!(looks_like_method("getrawmempool"));
    assert!(!looks_like_method("l2_blocks table"));
    assert!(!looks_like_method("l2_"));
}
