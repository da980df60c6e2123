//! Helpers shared by the end-to-end tests: every scenario runs in every built mode.
#![allow(dead_code)]

use rwamr::{Config, Engine, Mode, Registry};

/// Runs `f` once per execution mode this build has.
pub fn each_mode(mut f: impl FnMut(Mode, Registry)) {
    for &mode in rwamr::built_modes() {
        let engine = Engine::new(Config::default().mode(mode)).expect("built mode");
        f(mode, Registry::new(&engine));
    }
}

/// Text format to binary; panics on a typo in the test itself.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("test module text")
}
