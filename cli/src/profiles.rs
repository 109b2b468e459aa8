//! Profiles of `nexudus login`: where they live (`$NEXUDUS_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/nexudus`, else `~/.config/nexudus`), and `config.toml`
//! there, which holds what is not secret (base URL, email, where the tokens
//! are kept, the default profile). The file is edited in place, so a
//! person's comments and order stay; a damaged file is reported with its
//! path and line and never written over.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{Document, DocumentMut, Item};

use crate::failure::{code, Failure};

/// The file's name in the config directory.
const FILE: &str = "config.toml";

/// What a new file starts with.
const HEADER: &str = "\
# Profiles of `nexudus login`. Secrets are not kept here: tokens are in the
# OS keyring or in tokens/PROFILE.json (mode 0600) beside this file.
";

/// Where a profile's tokens are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeper {
    /// The OS keyring.
    Keyring,
    /// `tokens/NAME.json` in the config directory.
    File,
}

impl Keeper {
    fn name(self) -> &'static str {
        match self {
            Keeper::Keyring => "keyring",
            Keeper::File => "file",
        }
    }
}

/// One profile's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// The API it signs in to.
    pub base_url: String,
    /// The account's email.
    pub email: String,
    /// Where its tokens are.
    pub keeper: Keeper,
}

/// The profiles of one config directory.
pub struct Profiles {
    dir: PathBuf,
    doc: DocumentMut,
    /// There was no file yet: the first save writes [`HEADER`] first.
    new: bool,
    profiles: BTreeMap<String, Profile>,
    default: Option<String>,
}

/// The config directory the environment names.
pub fn config_dir() -> Result<PathBuf, Failure> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("NEXUDUS_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_CONFIG_HOME").map(PathBuf::from) {
        if dir.is_absolute() {
            return Ok(dir.join("nexudus"));
        }
    }
    match var("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("nexudus")),
        None => Err(Failure::new(
            code::AUTH,
            "cannot tell where profiles are kept: HOME is not set",
        )
        .hint("set NEXUDUS_CONFIG_DIR to a directory")),
    }
}

/// A profile name is a file name too: letters, digits, `-`, `_` and `.`,
/// not starting with a dot.
pub fn check_name(name: &str) -> Result<(), Failure> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fine {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "{name:?} is not a profile name: use letters, digits, -, _ and ., up to 64"
        )))
    }
}

impl Profiles {
    /// The profiles in `dir` (none when it has no config file yet).
    pub fn load(dir: &Path) -> Result<Profiles, Failure> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(Failure::new(
                    code::AUTH,
                    format!("cannot read {}: {e}", path.display()),
                ))
            }
        };
        let damaged = |line: usize, what: &str| {
            Failure::new(
                code::AUTH,
                format!("{} is damaged: line {line}: {what}", path.display()),
            )
            .hint("fix it by hand (nexudus does not write over it), or move it away")
        };
        let parsed = Document::parse(text.clone())
            .map_err(|e| damaged(line_of(&text, e.span()), e.message().trim()))?;
        let (profiles, default) =
            read(&parsed).map_err(|(span, what)| damaged(line_of(&text, span), &what))?;
        Ok(Profiles {
            dir: dir.to_owned(),
            new: text.is_empty(),
            doc: parsed.into_mut(),
            profiles,
            default,
        })
    }

    /// The config directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The config file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The default profile's name.
    pub fn default_name(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// The profile `name`, if there is one.
    pub fn find(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// The profile `asked` names, else the default; a clear failure that
    /// lists the known ones when there is no such profile.
    pub fn chosen(&self, asked: Option<&str>) -> Result<&Profile, Failure> {
        let Some(name) = asked.or(self.default.as_deref()) else {
            return Err(Failure::new(code::AUTH, "no credentials").hint(
                "run `nexudus login`, or set NEXUDUS_TOKEN, or NEXUDUS_EMAIL with \
                 NEXUDUS_PASSWORD (or --password-stdin); or try --demo",
            ));
        };
        self.profiles.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                format!("run `nexudus login --profile {name}`")
            } else {
                format!(
                    "known profiles: {}; or run `nexudus login --profile {name}`",
                    known.join(", ")
                )
            };
            Failure::new(code::AUTH, format!("no profile {name:?}")).hint(hint)
        })
    }

    /// Adds or replaces `profile`; it becomes the default when there is
    /// none, or when `make_default`.
    pub fn set(&mut self, profile: Profile, make_default: bool) {
        let table = self.doc.entry("profiles").or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        if let Some(profiles) = table.as_table_like_mut() {
            let entry = profiles
                .entry(&profile.name)
                .or_insert_with(|| Item::Table(toml_edit::Table::new()));
            entry["base_url"] = toml_edit::value(&profile.base_url);
            entry["email"] = toml_edit::value(&profile.email);
            entry["secrets"] = toml_edit::value(profile.keeper.name());
        }
        if make_default || self.default.is_none() {
            self.doc["default"] = toml_edit::value(&profile.name);
            self.default = Some(profile.name.clone());
        }
        self.profiles.insert(profile.name.clone(), profile);
    }

    /// Writes the file (a temporary file renamed over it).
    pub fn save(&self) -> Result<(), Failure> {
        let path = self.path();
        let failed = |e: std::io::Error| {
            Failure::new(code::OTHER, format!("cannot write {}: {e}", path.display()))
        };
        private_dir(&self.dir).map_err(failed)?;
        let temporary = self.dir.join(format!(".{FILE}.{}.tmp", std::process::id()));
        let header = if self.new { HEADER } else { "" };
        write_private(&temporary, format!("{header}{}", self.doc).as_bytes())
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temporary);
                failed(e)
            })
    }
}

/// Writes a new file only its owner can read (mode 0600: the emails in it
/// are personal data), flushed to disk.
fn write_private(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, text)?;
    // On disk before the rename makes it the file: a crash then leaves the
    // old file or the new one, never an empty one.
    file.sync_all()
}

/// Creates `dir` (mode 0700) when missing; makes an existing one 0700 too,
/// since it holds the token files.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A span's fault: where, and what.
type Fault = (Option<Range<usize>>, String);

/// The profiles and the default of a parsed file, or the first fault.
#[allow(clippy::type_complexity)]
fn read(doc: &Document<String>) -> Result<(BTreeMap<String, Profile>, Option<String>), Fault> {
    let default = match doc.get("default") {
        None => None,
        Some(item) => Some(text(item, "default")?),
    };
    let mut profiles = BTreeMap::new();
    if let Some(item) = doc.get("profiles") {
        let table = item
            .as_table_like()
            .ok_or_else(|| (item.span(), "profiles must be a table".to_owned()))?;
        for (name, item) in table.iter() {
            if let Err(e) = check_name(name) {
                return Err((item.span(), e.message));
            }
            profiles.insert(name.to_owned(), profile(name, item)?);
        }
    }
    if let Some(name) = &default {
        if !profiles.contains_key(name) {
            let span = doc.get("default").and_then(Item::span);
            return Err((
                span,
                format!("default names {name:?}, which has no profile"),
            ));
        }
    }
    Ok((profiles, default))
}

fn profile(name: &str, item: &Item) -> Result<Profile, Fault> {
    let table = item
        .as_table_like()
        .ok_or_else(|| (item.span(), format!("profiles.{name} must be a table")))?;
    let field = |key: &str| {
        let value = table
            .get(key)
            .ok_or_else(|| (item.span(), format!("profiles.{name} has no {key}")))?;
        text(value, &format!("profiles.{name}.{key}"))
    };
    let keeper = match table.get("secrets") {
        None => Keeper::File,
        Some(value) => match text(value, "secrets")?.as_str() {
            "keyring" => Keeper::Keyring,
            "file" => Keeper::File,
            _ => {
                return Err((
                    value.span(),
                    format!("profiles.{name}.secrets must be \"keyring\" or \"file\""),
                ))
            }
        },
    };
    Ok(Profile {
        name: name.to_owned(),
        base_url: field("base_url")?,
        email: field("email")?,
        keeper,
    })
}

fn text(item: &Item, what: &str) -> Result<String, Fault> {
    item.as_str()
        .map(str::to_owned)
        .ok_or_else(|| (item.span(), format!("{what} must be a string")))
}

/// The line (from 1) a span starts on; 1 without a span.
fn line_of(text: &str, span: Option<Range<usize>>) -> usize {
    let start = span.map_or(0, |s| s.start.min(text.len()));
    text.as_bytes()[..start]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("nexudus-profiles-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn profile(name: &str) -> Profile {
        Profile {
            name: name.into(),
            base_url: format!("http://127.0.0.1/{name}"),
            email: "a@b.c".into(),
            keeper: Keeper::File,
        }
    }

    #[test]
    fn profiles_round_trip_and_keep_a_persons_comments() {
        let dir = dir("roundtrip");
        let mut profiles = Profiles::load(&dir).unwrap();
        assert!(profiles.default_name().is_none());
        profiles.set(profile("prod"), false);
        profiles.save().unwrap();
        let path = profiles.path();
        let edited = std::fs::read_to_string(&path)
            .unwrap()
            .replace("[profiles.prod]", "# the live tenant\n[profiles.prod]");
        std::fs::write(&path, edited).unwrap();

        let mut again = Profiles::load(&dir).unwrap();
        assert_eq!(again.default_name(), Some("prod"));
        again.set(profile("test"), false);
        again.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# the live tenant\n[profiles.prod]"),
            "{text}"
        );
        let last = Profiles::load(&dir).unwrap();
        assert_eq!(last.chosen(Some("test")).unwrap(), &profile("test"));
        assert_eq!(last.chosen(None).unwrap().name, "prod");
        let unknown = last.chosen(Some("staging")).unwrap_err();
        assert!(unknown.hint.unwrap().contains("prod, test"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_file_names_its_line_and_stays() {
        let dir = dir("damaged");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE);
        for (text, line) in [
            (
                "default = \"p\"\n[profiles.p]\nbase_url = 5\nemail = \"x\"\n",
                3,
            ),
            ("[profiles.p]\nbase_url = \"u\"\nemail = \n", 3),
            (
                "default = \"q\"\n[profiles.p]\nbase_url = \"u\"\nemail = \"e\"\n",
                1,
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Profiles::load(&dir).err().expect("refused");
            assert_eq!(e.code, code::AUTH);
            assert!(
                e.message.contains(&path.display().to_string()),
                "{}",
                e.message
            );
            assert!(e.message.contains(&format!("line {line}")), "{}", e.message);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn names_are_file_names() {
        for fine in ["default", "prod-2", "a.b_c"] {
            assert!(check_name(fine).is_ok());
        }
        for bad in ["", ".hidden", "a/b", "../x", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
