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

/// The module a `crate::a::b::c` path names: its longest prefix that is a file of `src/`.
fn module_of(src: &Path, path: &[&str]) -> Option<String> {
    (1..=path.len()).rev().find_map(|k| {
        let rel = path[..k].join("/");
        let exists =
            src.join(format!("{rel}.rs")).exists() || src.join(&rel).join("mod.rs").exists();
        exists.then(|| path[..k].join("::"))
    })
}

#[test]
fn no_module_imports_itself_through_another() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut graph: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for path in all {
        let rel = path.strip_prefix(&src).unwrap().with_extension("");
        let mut name = rel.to_string_lossy().replace('/', "::");
        if rel.starts_with("bin") || rel.ends_with("tests") {
            continue;
        }
        if let Some(parent) = name.strip_suffix("::mod") {
            name = parent.to_string();
        }
        let text = fs::read_to_string(&path).unwrap();
        let deps = graph.entry(name.clone()).or_default();
        for (_, code) in product_code(&text) {
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let path: Vec<&str> = rest
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap_or("")
                    .split("::")
                    .filter(|p| !p.is_empty())
                    .collect();
                if let Some(m) = module_of(&src, &path).filter(|m| *m != name) {
                    deps.insert(m);
                }
            }
        }
    }
    // A module that reaches itself again, by depth-first search from each.
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = std::collections::BTreeSet::new();
        while let Some((module, trail)) = stack.pop() {
            for dep in graph.get(&module).into_iter().flatten() {
                assert!(
                    dep != start,
                    "an import circle: {} -> {dep}",
                    trail.join(" -> ")
                );
                if seen.insert(dep.clone()) {
                    let mut next = trail.clone();
                    next.push(dep.clone());
                    stack.push((dep.clone(), next));
                }
            }
        }
    }
    assert!(graph.len() > 40);
}
