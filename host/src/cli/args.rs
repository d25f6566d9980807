//! Values the commands parse from their arguments: ballots, classes, asset kinds and
//! locks, data fields and charter parameters.

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use cltd_runtime::{AssetKind, DataField, LockStatus, Parameter, StakeholderClass};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ChoiceArg {
    Yes,
    No,
    Abstain,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ClassArg {
    Resident,
    Community,
    Public,
    Worker,
    User,
    DataEthicsCouncil,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum KindArg {
    Dataset,
    CodeRepository,
    Platform,
    Domain,
    Server,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LockArg {
    Perpetual,
    Unlocked,
}

impl From<ClassArg> for StakeholderClass {
    fn from(c: ClassArg) -> Self {
        match c {
            ClassArg::Resident => StakeholderClass::Resident,
            ClassArg::Community => StakeholderClass::Community,
            ClassArg::Public => StakeholderClass::Public,
            ClassArg::Worker => StakeholderClass::Worker,
            ClassArg::User => StakeholderClass::User,
            ClassArg::DataEthicsCouncil => StakeholderClass::DataEthicsCouncil,
        }
    }
}

impl From<KindArg> for AssetKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Dataset => AssetKind::Dataset,
            KindArg::CodeRepository => AssetKind::CodeRepository,
            KindArg::Platform => AssetKind::Platform,
            KindArg::Domain => AssetKind::Domain,
            KindArg::Server => AssetKind::Server,
        }
    }
}

impl From<LockArg> for LockStatus {
    fn from(l: LockArg) -> Self {
        match l {
            LockArg::Perpetual => LockStatus::Perpetual,
            LockArg::Unlocked => LockStatus::Unlocked,
        }
    }
}

/// A dataset field from `NAME` or `NAME:personal`.
pub(crate) fn data_field(spec: &str) -> Result<DataField> {
    let (name, personal) = match spec.rsplit_once(':') {
        Some((name, "personal")) => (name, true),
        Some(_) => bail!("field `{spec}` must be NAME or NAME:personal"),
        None => (spec, false),
    };
    Ok(DataField {
        name: name.to_string(),
        personal,
    })
}

/// `--param KEY=VALUE` arguments as parameters.
pub(crate) fn params_of(args: &[String]) -> Result<Vec<Parameter>> {
    args.iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .with_context(|| format!("--param `{p}` must be KEY=VALUE"))?;
            Ok(Parameter {
                key: k.to_string(),
                value: v.to_string(),
            })
        })
        .collect()
}
