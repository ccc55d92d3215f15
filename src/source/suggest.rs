//! Descriptor source text, "did you mean": the closest valid name to a misspelt one.

/// The closest candidate by edit distance, when it is close enough to be a plausible
/// typo: for "did you mean".
///
/// The distance counts insertions, deletions, substitutions and swaps of two adjacent
/// characters. A candidate qualifies when the distance is at most `max(1, len/3)`, `len`
/// being the word's length in characters, and below the longer one's length (so `x` does
/// not suggest `a`). Ties go to the earliest candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word: Vec<char> = word.chars().collect();
    let limit = (word.len() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let chars: Vec<char> = candidate.chars().collect();
        let d = edit_distance(&word, &chars);
        if d <= limit && d < word.len().max(chars.len()) && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn closest_hits_and_misses() {
        let fields = ["name", "port", "replicas", "resources", "image"];
        assert_eq!(closest("nme", fields), Some("name"));
        assert_eq!(closest("prot", fields), Some("port")); // swap
        assert_eq!(closest("replcia", fields), Some("replicas"));
        assert_eq!(closest("resorces", fields), Some("resources"));
        assert_eq!(closest("Image", fields), Some("image"));
        assert_eq!(closest("name", fields), Some("name"));
        assert_eq!(closest("database", fields), None);
        assert_eq!(closest("x", ["a", "b"]), None);
        assert_eq!(closest("", ["a"]), None);
        assert_eq!(closest("portt", Vec::<&str>::new()), None);
        assert_eq!(closest("imgae", fields), Some("image"));
        assert_eq!(closest("repl", fields), None);
    }
}
