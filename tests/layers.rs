//! The layers of `src/` (CONTRIBUTING.md, "Where things live"): an import only ever points down
//! `base` < `hit` < `identity` < `event`, `rules` < `destination` < `config` < `pipeline` < `delivery` <
//! `operations` < `intake` < `check` < `edge`. Read from the source: every `crate::<layer>` a module's product code
//! names (its `#[cfg(test)]` part, comments and docs aside) must be of its own layer or one below.

use std::fs;
use std::path::Path;

const LAYERS: [(&str, u32); 13] = [
    ("base", 0),
    ("hit", 1),
    ("identity", 2),
    ("event", 3),
    ("rules", 3),
    ("destination", 4),
    ("config", 5),
    ("pipeline", 6),
    ("delivery", 7),
    ("operations", 8),
    ("intake", 9),
    ("check", 10),
    ("edge", 11),
];

fn rank(layer: &str) -> Option<u32> {
    LAYERS.iter().find(|(l, _)| *l == layer).map(|(_, r)| *r)
}

/// The product code of a file: up to its first `#[cfg(test)]`, without comments.
fn product_code(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
        .collect()
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_import_points_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for path in all {
        let rel = path.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        let Some(own) = rank(top.trim_end_matches(".rs")) else {
            continue; // lib.rs (the layer list) and bin/ (the CLI, above everything)
        };
        // A `tests.rs` is a module's `#[cfg(test)] mod tests`, which may run the layers above it.
        if path.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        checked += 1;
        let text = fs::read_to_string(&path).unwrap();
        for (line, code) in product_code(&text) {
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let layer: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                match rank(&layer) {
                    Some(r) if r <= own && !(own == 0 && top != layer) => {}
                    Some(_) => wrong.push(format!(
                        "src/{}:{line}: {top} names crate::{layer}",
                        rel.display()
                    )),
                    None => wrong.push(format!(
                        "src/{}:{line}: crate::{layer} is no layer",
                        rel.display()
                    )),
                }
            }
        }
    }
    assert!(checked > 40, "the tree was read ({checked} files)");
    assert!(
        wrong.is_empty(),
        "imports up the layers:\n{}",
        wrong.join("\n")
    );
}
