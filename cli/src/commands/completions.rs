//! `keryx completions <shell>`: a completion script generated from the same clap definition that
//! parses the command line, so it can never offer a flag keryx does not take.

use std::io::Write;

use clap::builder::PossibleValuesParser;
use keryx_core::{Error, Result};

use crate::args::CompletionsArgs;

pub fn run(args: CompletionsArgs) -> Result<()> {
    let mut command = documented_command();
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    write_stdout(&script)
}

/// The command line as the completion scripts and the man page describe it: the parser's, with
/// the registered platforms offered where a platform is asked for. (Parsing keeps its free-form
/// `platform` so an unknown one gets keryx's own message listing the known ones.)
pub fn documented_command() -> clap::Command {
    let ids: Vec<&'static str> = keryx_core::registry().iter().map(|p| p.id()).collect();
    let with_all: Vec<&'static str> = ids.iter().copied().chain(["all"]).collect();
    let platforms = |values: Vec<&'static str>| {
        move |arg: clap::Arg| arg.value_parser(PossibleValuesParser::new(values.clone()))
    };
    crate::args::command()
        .mut_subcommand("auth", |c| c.mut_arg("platform", platforms(ids.clone())))
        .mut_subcommand("post", |c| c.mut_arg("platform", platforms(with_all)))
}

/// Writes generated text to stdout; a reader that stopped early (`| head`) is not an error.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::input("cannot write to standard output").with_source(e)),
    }
}
