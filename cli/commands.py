"""The command table: every command's name, help, options and the function that runs it, in one place
(docker-machine's commands.go). Handlers are named as "module:function" and imported only when their command runs."""

from __future__ import annotations

from ..core import VERSION, build_id
from ..core.errors import program_name
from ..core.flags import Flag
from ..core.verbs import VERBS
from .parse import Command, Opt

PROG = program_name()
def version_text() -> str:
    """"0.9.0, build 1a2b3c4d": read when asked (--version, help), not on every command's start."""
    return f"{VERSION}, build {build_id()}"


def __getattr__(name: str) -> str:
    if name == "VERSION_LINE":  # `machine-tui version 0.9.0, build ...`, as docker-machine words it
        return f"{PROG} version {version_text()}"
    raise AttributeError(name)


def _o(name, usage, kind="string", default="", env="", short=""):
    return Opt(Flag(name, usage, kind, default, env), short)


# `swarm`'s own commands: its --help and the list under `swarm COMMAND` say the same
SWARM_COMMANDS = """   create PREFIX -d DRIVER [--managers M] [--workers W] [DRIVER FLAGS]
                                             A new cluster: PREFIX1 its first manager, the others joining it
   init MANAGER [--advertise-addr ADDR]      Make MANAGER the first manager of a new swarm
   join MANAGER NAME... [--manager]          NAMEs join MANAGER's swarm (as workers, or managers)
   leave NAME... [--force]                   NAMEs leave their swarm (the manager forgets them)
   ls [MANAGER] [--json]                     The swarm's nodes: machine, role, leader, availability, status, engine
   services [MANAGER] [--json]               The swarm's services: replicas running and desired
   drain NAME / activate NAME                Move a node's tasks away / let it take tasks again
"""


def global_opts(store_default: str) -> list[Opt]:
    return [
        _o("debug", "Enable debug mode", "bool", False, "", "D"),
        _o("storage-path", "Configures storage path", "string", store_default, "MACHINE_STORAGE_PATH", "s"),
        _o("tls-ca-cert", "CA to verify remotes against", env="MACHINE_TLS_CA_CERT"),
        _o("tls-ca-key", "Private key to generate certificates", env="MACHINE_TLS_CA_KEY"),
        _o("tls-client-cert", "Client cert to use for TLS", env="MACHINE_TLS_CLIENT_CERT"),
        _o("tls-client-key", "Private key used in client TLS auth", env="MACHINE_TLS_CLIENT_KEY"),
        _o("github-api-token", "Token to use for requests to the Github API", env="MACHINE_GITHUB_API_TOKEN"),
        _o("native-ssh", "Use the native (Go-based) SSH implementation.", "bool", False, "MACHINE_NATIVE_SSH"),
        _o("bugsnag-api-token", "BugSnag API token for crash reporting", env="MACHINE_BUGSNAG_API_TOKEN"),
        _o("help", "show help", "bool", False, "", "h"),
        _o("version", "print the version", "bool", False, "", "v"),
    ]


def verb_command(name: str) -> Command:
    """A machine verb of the core's table as a command: its help, its options, one handler for them all."""
    verb = VERBS[name]
    return Command(name, verb.summary, MANY, [Opt(flag, short) for flag, short in verb.options] + FLEET_OPTS,
                   handler=f"verb:{name}")


# many machines at once: every machine ls --filter would list, and how many to work on together
FLEET_OPTS = [_o("filter", "Also every machine ls --filter FILTER lists, e.g. driver=qemu, name=web (machine-tui)",
                 "list"),
              _o("parallel", "How many machines to work on at once, 0 for all (machine-tui)", "int", 0)]
ONE = "Argument is a machine name."
MANY = "Argument(s) are one or more machine names."
JSON_OPT = _o("json", "Print the result as JSON (machine-tui)", "bool")
TIMEOUT_OPT = _o("timeout", "Timeout in seconds, default to 10s", "int", 10, "", "t")

COMMANDS = [
    Command("active", "Print which machine is active", "", [TIMEOUT_OPT], handler="local:cmd_active"),
    Command("config", "Print the connection config for machine", ONE,
            [_o("swarm", "Display the Swarm config instead of the Docker daemon", "bool")],
            handler="local:cmd_config"),
    Command("create", "Create a machine",
            "Run '{prog} create --driver name --help' to include the create flags for that driver in the help text.",
            handler="local:cmd_create"),
    Command("env", "Display the commands to set up the environment for the Docker client", ONE, [
        _o("swarm", "Display the Swarm config instead of the Docker daemon", "bool"),
        _o("shell", "Force environment to be configured for a specified shell: [fish, cmd, powershell, tcsh, emacs], "
                    "default is auto-detect"),
        _o("unset", "Unset variables instead of setting them", "bool", short="u"),
        _o("no-proxy", "Add machine IP to NO_PROXY environment variable", "bool"),
    ],
            handler="local:cmd_env"),
    Command("inspect", "Inspect information about a machine", ONE,
            [_o("format", "Format the output using the given go template.", short="f"), JSON_OPT],
            handler="local:cmd_inspect"),
    Command("ip", "Get the IP address of a machine", MANY, handler="local:cmd_ip"),
    verb_command("kill"),
    Command("ls", "List machines", "", [
        _o("quiet", "Enable quiet mode", "bool", short="q"),
        _o("filter", "Filter output based on conditions provided", "list", []),
        TIMEOUT_OPT,
        _o("format", "Pretty-print machines using a Go template", short="f"),
        JSON_OPT,
    ],
            handler="local:cmd_ls"),
    verb_command("provision"),
    verb_command("regenerate-certs"),
    verb_command("restart"),
    Command("rm", "Remove a machine", MANY, [
        _o("force", "Remove local configuration even if machine cannot be removed, also implies an automatic yes "
                    "(`-y`)", "bool", short="f"),
        _o("y", "Assumes automatic yes to proceed with remove, without prompting further user confirmation", "bool"),
    ],
            handler="local:cmd_rm"),
    Command("swarm", "Swarm mode across machines: init, join, leave, ls, services, drain, activate (machine-tui)",
            "Each engine is spoken to through its Docker API over the machine's TLS.\n\nCommands:\n" + SWARM_COMMANDS,
            skip_flag_parsing=True, handler="swarm:cmd_swarm"),
    Command("run", "Run a command on many machines at once (machine-tui)",
            "Arguments are machine names, then -- and the command: run web1 web2 -- uptime. "
            "Output lines start with the machine's name; the exit code is 1 when any machine failed.", [
                FLEET_OPTS[0],
                _o("parallel", "How many machines to run on at once", "int", 16),
                _o("group", "Print each machine's output as one block instead of prefixing each line", "bool"),
                _o("timeout", "Seconds the command may take on each machine", "int", 600, "", "t"),
                JSON_OPT,
            ], skip_flag_parsing=True, handler="remote:cmd_run"),
    Command("ssh", "Log into or run a command on a machine with SSH.", "Arguments are [machine-name] [command]",
            skip_flag_parsing=True,
            handler="remote:cmd_ssh"),
    Command("scp", "Copy files between machines", "Arguments are [[user@]machine:][path] [[user@]machine:][path].", [
        _o("recursive", "Copy files recursively (required to copy directories)", "bool", short="r"),
        _o("delta", "Reduce amount of data sent over network by sending only the differences (uses rsync)", "bool",
           short="d"),
        _o("quiet", "Disables the progress meter as well as warning and diagnostic messages from ssh", "bool",
           short="q"),
    ],
            handler="remote:cmd_scp"),
    Command("mount", "Mount or unmount a directory from a machine with SSHFS.",
            "Arguments are [machine:][path] [mountpoint]",
            [_o("unmount", "Unmount instead of mount", "bool", short="u")],
            handler="remote:cmd_mount"),
    verb_command("start"),
    Command("status", "Get the status of a machine", ONE, [JSON_OPT], handler="local:cmd_status"),
    verb_command("stop"),
    verb_command("upgrade"),
    Command("url", "Get the URL of a machine", ONE, handler="local:cmd_url"),
    Command("version", "Show the Docker Machine version or a machine docker version", "", handler="local:cmd_version"),
    Command("build-image", "Build machine-tui's fast local VM image for the qemu driver (machine-tui)",
            "Needs root, debootstrap, e2fsprogs and qemu-utils; prints the folder for --qemu-local-image.", [
                _o("cloud-init", "Also build cloud.qcow2, the same system configured by cloud-init", "bool"),
                _o("output", "Folder to keep images in (default: the store's cache/images)"),
            ],
            handler="local:cmd_build_image"),
    Command("drivers", "List the drivers a create can name: built in, from Python packages, plugin binaries "
            "(machine-tui)", "", handler="local:cmd_drivers"),
    Command("orphans", "List (and with --remove, remove) cloud resources tagged with this store that no machine owns "
            "(machine-tui)",
            "-d names the cloud, with the create flags that reach it (credentials, region); a create killed before "
            "it could write what it made leaves them.", skip_flag_parsing=True, handler="orphans:cmd_orphans"),
    Command("completion", "Print a shell completion script (bash, zsh, fish) (machine-tui)",
            "Argument is a shell: bash, zsh or fish. Example: source <(machine-tui completion bash)",
            handler="local:cmd_completion"),
    Command("app", "Open the full-screen app (what no command does on a terminal) (machine-tui)", "",
            handler="local:cmd_app"),
    Command("serve", "Serve the full-screen app to a browser (machine-tui)",
            "Prints a URL with a one-time token; each browser tab runs its own app on this store.", [
                _o("host", "Address to listen on (other than loopback, anyone who has the URL can use it)",
                   default="127.0.0.1"),
                _o("port", "TCP port to listen on", "int", 8000),
                _o("public-url", "The URL browsers reach this server by, when a proxy stands in front"),
            ], handler="serve:cmd_serve"),
    Command("help", "Shows a list of commands or help for one command", ""),
]
# a verb of the core's table that the list above does not place yet is a command all the same
COMMANDS += [verb_command(name) for name in VERBS if name not in {c.name for c in COMMANDS}]
COMMANDS_BY_NAME = {c.name: c for c in COMMANDS}


