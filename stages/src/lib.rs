//! textpipe's built-in stages. Each stage is one module holding its options struct, its
//! logic and its tests; [`register`] adds them all to a registry, together with the two
//! kinds that run user code: `plugin` (shared libraries) and `exec` (child processes).
#![warn(missing_docs)]

mod bytes;
pub mod clean;
pub mod decode;
pub mod exec;
pub mod plugin;
mod plugin_crash;
pub mod segment;
pub mod summarise;
pub mod tag;
pub mod text;

use pipeline_core::Registry;

/// Registers every built-in stage.
pub fn register(reg: &mut Registry) {
    reg.add_stage(decode::factory());
    reg.add_stage(clean::factory());
    reg.add_stage(segment::factory());
    reg.add_stage(tag::factory());
    reg.add_stage(summarise::factory());
    reg.add_stage(plugin::factory());
    reg.add_stage(exec::factory());
}
