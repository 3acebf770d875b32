//! `keryx man`: the manual page, generated from the clap definition (roff, section 1).
//!
//! `keryx man > keryx.1` prints the main page; `keryx man --out-dir DIR` writes it with one page
//! per subcommand (`keryx-post.1`, ...), as packagers install them.

use keryx_core::{Error, Result};

use crate::args::ManArgs;
use crate::commands::completions::{documented_command, write_stdout};
use crate::ui::OutputMode;

pub fn run(mode: OutputMode, args: ManArgs) -> Result<()> {
    let command = documented_command();
    let Some(dir) = args.out_dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|e| Error::input("cannot render the manual page").with_source(e))?;
        return write_stdout(&page);
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::input(format!("cannot create {}", dir.display())).with_source(e))?;
    clap_mangen::generate_to(command, &dir).map_err(|e| {
        Error::input(format!(
            "cannot write the manual pages to {}",
            dir.display()
        ))
        .with_source(e)
    })?;
    if !mode.quiet {
        eprintln!(
            "Wrote keryx.1 and a page per subcommand to {}; e.g. `man -l {}`.",
            dir.display(),
            dir.join("keryx.1").display()
        );
    }
    Ok(())
}
