//! The commands, one module per command group: `envelope` (`kek
//! generate`, `seal`, `open`, `rewrap`, `inspect`), `http` (`key generate`,
//! `http sign|verify|base`), `client` (`client …`, `secret check`) and
//! `audit` (`audit …`; `verify-proof` reads proofs with `crate::proof`),
//! `hsm` (`hsm keygen|list`).

mod audit;
mod client;
mod envelope;
mod hsm;
mod http;

use crate::args::{
    AuditCommand, ClientCommand, Command, HsmCommand, HttpCommand, KekCommand, KeyCommand,
    SecretCommand,
};
use crate::error::Result;
use crate::proof;

/// Runs a command.
pub(crate) fn run(command: Command) -> Result<()> {
    match command {
        Command::Kek(KekCommand::Generate(args)) => envelope::kek_generate(&args),
        Command::Seal(args) => envelope::seal(&args),
        Command::Open(args) => envelope::open(&args),
        Command::Rewrap(args) => envelope::rewrap(&args),
        Command::Inspect(args) => envelope::inspect(&args),
        Command::Key(KeyCommand::Generate(args)) => http::key_generate(&args),
        Command::Http(HttpCommand::Sign(args)) => http::sign(&args),
        Command::Http(HttpCommand::Verify(args)) => http::verify(&args),
        Command::Http(HttpCommand::Base(args)) => http::base(&args),
        Command::Client(command) => match command {
            ClientCommand::Register(args) => client::register(&args),
            ClientCommand::Authenticate(args) => client::authenticate(&args),
            ClientCommand::RotateSecret(args) => client::rotate_secret(&args),
            ClientCommand::RevokeSecret(args) => client::revoke_secret(&args),
            ClientCommand::Show(args) => client::show(&args),
            ClientCommand::List(args) => client::list(&args),
            ClientCommand::KeyChallenge(args) => client::key_challenge(&args),
            ClientCommand::AddKey(args) => client::add_key(&args),
            ClientCommand::Assertion(args) => client::assertion(&args),
            ClientCommand::Suspend(args) => client::set_status(&args, true),
            ClientCommand::Reactivate(args) => client::set_status(&args, false),
        },
        Command::Secret(SecretCommand::Check(args)) => client::secret_check(&args),
        Command::Audit(command) => match command {
            AuditCommand::Keygen(args) => audit::keygen(&args),
            AuditCommand::Append(args) => audit::append(&args),
            AuditCommand::Checkpoint(args) => audit::checkpoint(&args),
            AuditCommand::Verify(args) => audit::verify(&args),
            AuditCommand::Prove(args) => audit::prove(&args),
            AuditCommand::Consistency(args) => audit::consistency(&args),
            AuditCommand::VerifyProof(args) => proof::verify_proof(&args),
        },
        Command::Hsm(HsmCommand::Keygen(args)) => hsm::keygen(&args),
        Command::Hsm(HsmCommand::List(args)) => hsm::list(&args),
    }
}
