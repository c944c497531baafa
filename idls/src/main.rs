//! `cargo run -p lever-idl`: rebuild every committed IDL (as `anchor idl build` does) and write it
//! to `idls/<name>.json`.

use anyhow::{Context, Result};

fn main() -> Result<()> {
    for (name, dir) in lever_idl::PROGRAMS {
        let idl = lever_idl::build(dir).with_context(|| format!("build the IDL of {dir}"))?;
        let path = lever_idl::committed_path(name);
        std::fs::write(&path, lever_idl::to_json(&idl)?)
            .with_context(|| format!("write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
