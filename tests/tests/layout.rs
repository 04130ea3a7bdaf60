//! The module layout of the verifier: no import circle between sibling modules (issue 18).
//! (File and function sizes and RPC method names are checked workspace-wide in
//! `layout_limits.rs`.)

use casl2_tests::layout::{module_imports, sibling_cycles};
use std::path::{Path, PathBuf};

fn verifier_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifier/src")
}

#[test]
fn verifier_has_no_import_circle() {
    let cycles = sibling_cycles(&verifier_src());
    assert!(
        cycles.is_empty(),
        "import circles between sibling modules of verifier/src:\n  {}",
        cycles.join("\n  ")
    );
}

#[test]
fn the_scan_sees_the_verifier_modules() {
    let imports = module_imports(&verifier_src());
    let l1 = vec!["l1".to_string()];
    let fraud = vec!["fraud".to_string()];
    let anchor = vec!["l1".to_string(), "anchor".to_string()];
    assert!(imports.contains_key(&l1));
    assert!(imports[&anchor].contains(&vec!["consensus".to_string()]));
    // The L1 rules run the fraud games: l1 imports fraud, never the other way round.
    assert!(imports
        .iter()
        .any(|(m, t)| m.starts_with(&l1) && t.iter().any(|x| x.starts_with(&fraud))));
}

#[test]
fn the_scan_finds_a_circle() {
    let dir = std::env::temp_dir().join(format!("casl2-layout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(
        dir.join("a/mod.rs"),
        "use crate::b::X; // crate::c is a comment\nmod x;\nmod y;\n#[cfg(test)]\nmod tests {\n    use super::y;\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("a/x.rs"), "use super::{y::Z, w as v};\n").unwrap();
    std::fs::write(
        dir.join("a/y.rs"),
        "pub struct Z;\nconst S: &str = \"super::x\";\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.rs"),
        "pub struct X;\nfn f() { crate::a::x::g(); }\n",
    )
    .unwrap();
    let found = sibling_cycles(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found, vec!["crate: a -> b -> a".to_string()]);
}
