//! Links the `platgen` executable at a fixed address (`-no-pie`) on Linux: a
//! position-independent executable makes the dynamic loader apply some 23,000
//! relocations and touch a hundred pages at every start, half a millisecond of the
//! few that `platgen build` takes.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
