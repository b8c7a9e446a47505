//! `STAGECRAFT_CHROMIUM` set at build time turns on the headless-Chromium
//! test of the HTML report (`tests/html.rs`); without it that test is
//! ignored, so CI needs no browser.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(stagecraft_chromium)");
    println!("cargo::rerun-if-env-changed=STAGECRAFT_CHROMIUM");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("STAGECRAFT_CHROMIUM").is_some() {
        println!("cargo::rustc-cfg=stagecraft_chromium");
    }
}
