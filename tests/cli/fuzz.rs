//! Property tests over descriptor loading, validation and rendering: arbitrary bytes and
//! mutated valid descriptors never panic, and every rejection carries a location.
//! `PROPTEST_CASES` raises the number of cases for a long run.

use crate::support::repo;
use platgen::error::Error;
use platgen::model::Project;
use platgen::source::Source;
use platgen::template::Templates;
use proptest::prelude::*;
use std::sync::OnceLock;

fn shipped(file: &str) -> String {
    std::fs::read_to_string(repo().join("environments").join(file)).expect("shipped descriptor")
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| Templates::load(&repo()).expect("templates load"))
}

/// Loads the texts as the catalog and one environment, renders when valid, and checks
/// that every reported problem is located (`--> file:line:col`).
fn load_and_render(catalog: &str, environment: &str) {
    let catalog = Source::new("environments/platform.yaml", catalog);
    let env = Source::new("environments/staging.yaml", environment);
    match Project::from_sources(&repo(), &catalog, &[env]) {
        Ok(project) => {
            platgen::objects::tree(&project, templates()).expect("a valid project renders");
        }
        Err(Error::Descriptors(problems)) => {
            assert!(!problems.is_empty());
            for problem in problems {
                let located = problem.lines().any(|l| {
                    l.trim_start().starts_with("--> environments/")
                        && l.rsplit(':')
                            .take(2)
                            .all(|n| n.trim().parse::<usize>().is_ok())
                });
                assert!(located, "problem without a location:\n{problem}");
            }
        }
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

/// One edit of a text: what a person's typo or a broken merge does to a YAML file.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    Indent(usize),
    Dedent(usize),
    ReplaceValue(usize, String),
    InsertBytes(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop_oneof![
        Just(String::new()),
        Just("-1".to_owned()),
        Just("99999999999".to_owned()),
        Just("512Mb".to_owned()),
        Just("[".to_owned()),
        Just("{a: 1}".to_owned()),
        Just("~".to_owned()),
        Just("Not_A-Label".to_owned()),
        Just("auth_db".to_owned()),
        Just("true".to_owned()),
        "[a-z0-9_.-]{0,12}",
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::Indent),
        any::<usize>().prop_map(Mutation::Dedent),
        (any::<usize>(), token).prop_map(|(l, t)| Mutation::ReplaceValue(l, t)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(o, b)| Mutation::InsertBytes(o, b)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for m in mutations {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match m {
            Mutation::DeleteLine(i) => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::Indent(i) => lines[i % n].insert_str(0, "  "),
            Mutation::Dedent(i) => {
                let line = &mut lines[i % n];
                let cut = line.len().min(2).min(line.len() - line.trim_start().len());
                line.drain(..cut);
            }
            Mutation::ReplaceValue(i, token) => {
                let line = &mut lines[i % n];
                if let Some(colon) = line.find(": ") {
                    line.truncate(colon + 2);
                    line.push_str(token);
                }
            }
            Mutation::InsertBytes(offset, bytes) => {
                let line = &mut lines[offset % n];
                let at = (offset / n) % (line.len() + 1);
                if line.is_char_boundary(at) {
                    line.insert_str(at, &String::from_utf8_lossy(bytes));
                }
            }
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        load_and_render(&text, &shipped("staging.yaml"));
        load_and_render(&shipped("platform.yaml"), &text);
    }

    #[test]
    fn mutated_catalog_never_panics(mutations in proptest::collection::vec(mutation(), 1..4)) {
        load_and_render(&apply(&shipped("platform.yaml"), &mutations), &shipped("staging.yaml"));
    }

    #[test]
    fn mutated_environment_never_panics(mutations in proptest::collection::vec(mutation(), 1..4)) {
        load_and_render(&shipped("platform.yaml"), &apply(&shipped("production.yaml").replace("name: production", "name: staging").replace("e-commerce-prod", "e-commerce-staging"), &mutations));
    }
}
