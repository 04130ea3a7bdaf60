//! A textual scan of a crate's module imports, to find import circles between sibling modules.
//!
//! Every `.rs` file under a crate's `src/` is a module (`lib.rs` the root, `x/mod.rs` and `x.rs`
//! the module `x`). Each `crate::…` and `super::…` path in non-test code (comments, strings and
//! `#[cfg(test)]` modules skipped) is an edge from the file's module to the deepest module the
//! path names. An edge between two modules that are not ancestor and descendant is an edge
//! between the two children of their closest common ancestor that hold them; a cycle among the
//! children of one module is an import circle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// A module path below the crate root (`[]` is the root).
pub type ModPath = Vec<String>;

/// The modules of the crate at `src` with the modules each one imports from.
pub fn module_imports(src: &Path) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut files = Vec::new();
    collect_files(src, src, &mut files);
    let modules: BTreeSet<ModPath> = files.iter().map(|(m, _)| m.clone()).collect();
    let test_only: BTreeSet<ModPath> = files
        .iter()
        .flat_map(|(m, text)| {
            test_child_modules(text)
                .into_iter()
                .map(move |c| child(m, &c))
        })
        .collect();
    let mut out: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (m, text) in &files {
        if test_only.iter().any(|t| m.starts_with(t)) {
            continue;
        }
        let code = strip_tests(&strip_comments_and_strings(text));
        let edges = out.entry(m.clone()).or_default();
        for path in paths(&code) {
            if let Some(target) = resolve(m, &path, &modules) {
                if target != *m {
                    edges.insert(target);
                }
            }
        }
    }
    out
}

/// The import circles between sibling modules of the crate at `src`, each as
/// `parent: a -> b -> … -> a`.
pub fn sibling_cycles(src: &Path) -> Vec<String> {
    let imports = module_imports(src);
    // Parent module -> (child -> children it imports from).
    let mut graphs: BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (from, targets) in &imports {
        for to in targets {
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common >= from.len() || common >= to.len() {
                continue; // ancestor and descendant
            }
            graphs
                .entry(from[..common].to_vec())
                .or_default()
                .entry(from[common].clone())
                .or_default()
                .insert(to[common].clone());
        }
    }
    let mut found = Vec::new();
    for (parent, g) in &graphs {
        let name = if parent.is_empty() {
            "crate".to_string()
        } else {
            parent.join("::")
        };
        for cycle in cycles(g) {
            found.push(format!("{name}: {}", cycle.join(" -> ")));
        }
    }
    found
}

fn child(m: &[String], name: &str) -> ModPath {
    let mut c = m.to_vec();
    c.push(name.to_string());
    c
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(ModPath, String)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_files(root, &p, out);
            continue;
        }
        if p.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let Ok(rel) = p.strip_prefix(root) else {
            continue;
        };
        let mut m: ModPath = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
            m.pop();
        }
        if let Ok(text) = fs::read_to_string(&p) {
            out.push((m, text));
        }
    }
}

/// Blank out comments, string literals and character literals (keeping line structure).
fn strip_comments_and_strings(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && is_raw_start(&b, i) {
            i += 1;
            let mut hashes = 0;
            while b.get(i) == Some(&'#') {
                hashes += 1;
                i += 1;
            }
            i += 1; // the quote
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && is_char_literal(&b, i) {
            i += 1;
            while i < b.len() && b[i] != '\'' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_raw_start(b: &[char], i: usize) -> bool {
    let prev_ident = i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_');
    if prev_ident {
        return false;
    }
    let mut j = i + 1;
    while b.get(j) == Some(&'#') {
        j += 1;
    }
    b.get(j) == Some(&'"')
}

/// `'x'` or `'\…'` (not a lifetime such as `'a`).
fn is_char_literal(b: &[char], i: usize) -> bool {
    match b.get(i + 1) {
        Some('\\') => true,
        Some(_) => b.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// Remove `#[cfg(test)]` (or `#[cfg(all(test, …))]`) inline modules.
fn strip_tests(code: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim();
        if is_test_cfg(l) {
            let mut j = i + 1;
            while j < lines.len() && lines[j].trim().starts_with("#[") {
                j += 1;
            }
            if j < lines.len() && is_mod_block(lines[j]) {
                // Skip to the brace that closes the module.
                let mut depth = 0i64;
                let mut k = j;
                'outer: while k < lines.len() {
                    for ch in lines[k].chars() {
                        match ch {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break 'outer;
                                }
                            }
                            _ => {}
                        }
                    }
                    k += 1;
                }
                i = k + 1;
                continue;
            }
        }
        out.push_str(lines[i]);
        out.push('\n');
        i += 1;
    }
    out
}

fn is_test_cfg(line: &str) -> bool {
    line.starts_with("#[cfg(") && line.contains("test")
}

fn is_mod_block(line: &str) -> bool {
    let t = line.trim();
    let t = t
        .strip_prefix("pub(crate) ")
        .or_else(|| t.strip_prefix("pub(super) "))
        .or_else(|| t.strip_prefix("pub "))
        .unwrap_or(t);
    t.starts_with("mod ") && t.contains('{')
}

/// Children declared `#[cfg(test)] mod name;` (files that only tests compile).
fn test_child_modules(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !is_test_cfg(l) {
            continue;
        }
        let mut j = i + 1;
        while j < lines.len() && lines[j].starts_with("#[") {
            j += 1;
        }
        if let Some(decl) = lines.get(j) {
            let d = decl
                .strip_prefix("pub(crate) ")
                .or_else(|| decl.strip_prefix("pub "))
                .unwrap_or(decl);
            if let Some(name) = d.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
                out.push(name.trim().to_string());
            }
        }
    }
    out
}

/// Every `crate::a::b…` and `super::…::a…` path, as its segments (`crate`/`super` included);
/// a brace group `crate::x::{a::b, c}` yields `crate::x::a::b` and `crate::x::c`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let b: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_' || b[i - 1] == ':');
        let rest: String = b[i..b.len().min(i + 7)].iter().collect();
        if at_word && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let (found, end) = read_path(&b, i, Vec::new());
            out.extend(found);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Read the path starting at `i` (segments so far in `prefix`); returns the paths and the
/// position after them.
fn read_path(b: &[char], mut i: usize, mut prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    loop {
        while b.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if b.get(i) == Some(&'{') {
            let mut out = Vec::new();
            i += 1;
            loop {
                while b.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                    i += 1;
                }
                match b.get(i) {
                    None => return (out, i),
                    Some('}') => return (out, i + 1),
                    _ => {}
                }
                let (found, end) = read_path(b, i, prefix.clone());
                out.extend(found);
                if end == i {
                    i += 1; // not a path (e.g. `self as x`): skip a character
                } else {
                    i = end;
                }
                // Skip an `as name` tail.
                while b.get(i).is_some_and(|c| *c != ',' && *c != '}') {
                    i += 1;
                }
            }
        }
        let start = i;
        while b.get(i).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
            i += 1;
        }
        if i == start {
            return (
                vec![prefix].into_iter().filter(|p| !p.is_empty()).collect(),
                i,
            );
        }
        prefix.push(b[start..i].iter().collect());
        if b.get(i) == Some(&':') && b.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// The deepest module of `modules` that `path` (as written in module `m`) names.
fn resolve(m: &ModPath, path: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let mut base: ModPath = Vec::new();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => rest = &path[1..],
        Some("super") => {
            base = m.clone();
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    let mut target = base.clone();
    for seg in rest {
        let next = child(&target, seg);
        if !modules.contains(&next) {
            break;
        }
        target = next;
    }
    Some(target)
}

/// The elementary cycles found by a depth-first search (each reported once, from its
/// smallest member).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in g.keys() {
        let mut stack = vec![start.clone()];
        walk(g, start, &mut stack, &mut found);
    }
    found.into_iter().collect()
}

fn walk(
    g: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    stack: &mut Vec<String>,
    found: &mut BTreeSet<Vec<String>>,
) {
    let Some(last) = stack.last().cloned() else {
        return;
    };
    for next in g.get(&last).into_iter().flatten() {
        if next == start {
            let mut c = stack.clone();
            // Report from the smallest member, so each cycle appears once.
            let min = c
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.cmp(b.1))
                .map_or(0, |(i, _)| i);
            c.rotate_left(min);
            c.push(c[0].clone());
            found.insert(c);
        } else if next.as_str() > start && !stack.contains(next) {
            stack.push(next.clone());
            walk(g, start, stack, found);
            stack.pop();
        }
    }
}
