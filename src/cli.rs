//! The command line: clap types only, turned into a `commands::Request` before any I/O.

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use platgen::commands::Request;
use platgen::emit::Format;
use platgen::schema::Descriptor;
use std::path::PathBuf;

/// Generates the Kubernetes deployment of the e-commerce platform from typed descriptors.
#[derive(Debug, Parser)]
#[command(name = "platgen", version, about)]
pub struct Cli {
    /// Project root: the folder holding environments/ and templates/ [default: the
    /// nearest folder holding environments/platform.yaml, from the current one upwards].
    #[arg(long, global = true, value_name = "DIR", env = "PLATGEN_ROOT")]
    pub root: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one target (an environment or a shared component) as a YAML stream.
    Build {
        /// Target name, as `platgen targets` lists it.
        target: String,
        /// `yaml`: a YAML stream, as kustomize prints it; `json`: one JSON array of the objects.
        #[arg(long, value_enum, default_value_t = Output::Yaml)]
        output: Output,
    },
    /// List the targets: name, kind and kustomization folder, tab-separated.
    Targets,
    /// Check the descriptors, then the rendered objects of each target: references,
    /// policy, admission (quotas, LimitRanges, Pod Security, Gatekeeper) and (with
    /// --crd-schemas) custom resources; exit 1 on any finding.
    Validate {
        /// Targets to check, as `platgen targets` lists them [default: every target].
        targets: Vec<String>,
        /// Also validate every custom resource against DIR/<group>/<kind>_<version>.json.
        #[arg(long, value_name = "DIR", env = "PLATGEN_CRD_SCHEMAS")]
        crd_schemas: Option<PathBuf>,
    },
    /// Print which workloads of an environment may connect to which, on which ports, as
    /// the NetworkPolicies of every target allow it.
    Reachability {
        /// Environment name.
        environment: String,
    },
    /// Write the kustomize tree (base, overlays, manifests) that ArgoCD deploys.
    Write {
        /// Folder of the tree [default: <root>/k8s].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 and print a diff when the tree on disk is not current.
        #[arg(long)]
        check: bool,
    },
    /// Compare two targets or YAML files object by object; exit 1 when they differ.
    ///
    /// A path that exists is read as a YAML stream (a golden file, an earlier rendering);
    /// anything else names a target. Objects are matched by group, kind, namespace and
    /// name, each side's own namespace with the other's (so environments compare), and
    /// every changed object gets a unified diff. Secret values and credential-like
    /// environment values are masked. With --against-ref, LEFT is a target compared with
    /// what the descriptors of a Git revision build for it.
    #[command(
        override_usage = "platgen diff <LEFT> <RIGHT>\n       platgen diff <TARGET> --against-ref <REV>",
        group = clap::ArgGroup::new("new_side").args(["right", "against_ref"]).required(true),
    )]
    Diff {
        /// The old side: a target or a YAML file.
        left: String,
        /// The new side: a target or a YAML file (or --against-ref instead).
        right: Option<String>,
        /// Compare target LEFT as the descriptors at this Git revision build it with LEFT now.
        #[arg(long, value_name = "REV", conflicts_with = "right")]
        against_ref: Option<String>,
    },
    /// Print the JSON Schema of the descriptors: both kinds in one document, or one kind.
    Schema {
        #[arg(value_enum)]
        descriptor: Option<SchemaKind>,
    },
    /// Print the Secrets an environment's pods read, with CHANGE-ME values (no Vault).
    SecretsTemplate {
        /// Environment name.
        environment: String,
    },
    /// Set image tags in environments/<ENVIRONMENT>.yaml, keeping comments and order.
    SetImage {
        /// Environment name.
        environment: String,
        /// `<workload>=<tag>`, such as `auth-service=1.4.2`.
        #[arg(required = true, value_name = "WORKLOAD=TAG")]
        images: Vec<String>,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// What `build` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Yaml,
    Json,
}

/// Which descriptor `schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// environments/platform.yaml.
    Catalog,
    /// environments/<name>.yaml.
    Environment,
}

impl Cli {
    pub fn request(&self) -> Request {
        match &self.command {
            Command::Build { target, output } => Request::Build {
                target: target.clone(),
                format: match output {
                    Output::Yaml => Format::Yaml,
                    Output::Json => Format::Json,
                },
            },
            Command::Targets => Request::Targets,
            Command::Validate {
                targets,
                crd_schemas,
            } => Request::Validate {
                targets: targets.clone(),
                crd_schemas: crd_schemas.clone().filter(|d| !d.as_os_str().is_empty()),
            },
            Command::Reachability { environment } => Request::Reachability {
                environment: environment.clone(),
            },
            Command::Write { out, check } => Request::Write {
                out: out.clone(),
                check: *check,
            },
            Command::Diff {
                left,
                right,
                against_ref,
            } => Request::Diff {
                left: left.clone(),
                right: right.clone(),
                against_ref: against_ref.clone(),
            },
            Command::Schema { descriptor } => Request::Schema {
                descriptor: descriptor.map(|d| match d {
                    SchemaKind::Catalog => Descriptor::Catalog,
                    SchemaKind::Environment => Descriptor::Environment,
                }),
            },
            Command::SecretsTemplate { environment } => Request::SecretsTemplate {
                environment: environment.clone(),
            },
            Command::SetImage {
                environment,
                images,
            } => Request::SetImage {
                environment: environment.clone(),
                images: images.clone(),
            },
            Command::Completions { shell } => {
                let mut script = Vec::new();
                clap_complete::generate(*shell, &mut Cli::command(), "platgen", &mut script);
                Request::Print {
                    text: String::from_utf8_lossy(&script).into_owned(),
                }
            }
            Command::Man => {
                let mut page = Vec::new();
                clap_mangen::Man::new(Cli::command())
                    .render(&mut page)
                    .expect("writing to memory cannot fail");
                Request::Print {
                    text: String::from_utf8_lossy(&page).into_owned(),
                }
            }
        }
    }
}
