//! Descriptor and template stages, reading: YAML text into typed values, quickly.
//!
//! libyaml, through serde_yaml, read the 23 KB catalog in 1.4 ms at start-up, a seventh
//! of `platgen build production`, and the templates' output cost as much again.
//! Descriptors and templates are written in a small part of YAML: block mappings and
//! sequences, plain and quoted scalars on one line, flow collections on one line,
//! literal block scalars (`|`, `|-`), comments and `---`. This reader reads that part
//! (`build production` went from 6.6 to 5.6 ms: README, "fifth pass"), and resolves its
//! scalars exactly as serde_yaml does (YAML 1.2's core schema: `null`/`~`,
//! `true`/`True`/`TRUE`, `0x1f`, `.inf`, `007` a string, ...).
//!
//! It never reports an error. Anything else (anchors, tags, folded or multi-line
//! scalars, tabs, ...), and anything the type refuses, returns `None`: the caller reads
//! the text with serde_yaml, which gives the value or the located error. In debug
//! builds (every test) each document read is compared with serde_yaml's reading.

mod de;
mod read;
#[cfg(test)]
mod tests;

use serde::de::DeserializeOwned;

/// The one document of `text` as a `T`, or `None` when the text is not one document
/// this reader reads or `T` refuses it (serde_yaml then tells why).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    let [document] = <[T; 1]>::try_from(documents(text)?).ok()?;
    Some(document)
}

/// Every document of `text`, in order, as `T`s, or `None` as for [`from_str`].
pub fn documents<T: DeserializeOwned>(text: &str) -> Option<Vec<T>> {
    let (events, starts) = read::documents(text).ok()?;
    #[cfg(debug_assertions)]
    agrees_with_serde_yaml(text, &events, &starts);
    each(&events, &starts).map(document).collect()
}

/// Each document's events.
fn each<'e, 'a>(
    events: &'e [read::Event<'a>],
    starts: &'e [usize],
) -> impl Iterator<Item = &'e [read::Event<'a>]> {
    let ends = starts.iter().skip(1).copied().chain([events.len()]);
    starts
        .iter()
        .zip(ends)
        .map(|(&start, end)| &events[start..end])
}

fn document<T: DeserializeOwned>(events: &[read::Event<'_>]) -> Option<T> {
    let mut de = de::Deserializer::new(events);
    let value = T::deserialize(&mut de).ok()?;
    de.done().then_some(value)
}

/// Panics unless serde_yaml reads `text` into the same documents (as JSON values: what
/// each scalar resolved to, every key and entry).
#[cfg(debug_assertions)]
fn agrees_with_serde_yaml(text: &str, events: &[read::Event<'_>], starts: &[usize]) {
    use serde::Deserialize;
    let theirs: Result<Vec<serde_json::Value>, _> = serde_yaml::Deserializer::from_str(text)
        .map(serde_json::Value::deserialize)
        .collect();
    let mine: Option<Vec<serde_json::Value>> = each(events, starts).map(document).collect();
    match (theirs, mine) {
        (Ok(theirs), Some(mine)) => assert!(
            theirs == mine,
            "the quick YAML reader read\n{mine:?}\nwhere serde_yaml read\n{theirs:?}\nfrom\n{text}"
        ),
        (Err(_), None) => {}
        (Err(e), Some(_)) => {
            panic!("the quick YAML reader read what serde_yaml refuses ({e}):\n{text}")
        }
        // A number JSON cannot hold: nothing to compare.
        (Ok(_), None) => {}
    }
}
