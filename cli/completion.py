"""Shell completion scripts (bash, zsh, fish), generated from the flag schema the CLI parses with: commands, global
and per-command flags, driver names after `create -d`, each driver's flags once `-d NAME` is given, shell names after
`--shell`, swarm's subcommands, and machine names (from `machine-tui ls -q`, on the store given by -s) where a
machine name goes. zsh runs the bash function through its bashcompinit."""

from __future__ import annotations

from ..core.errors import MachineError

SHELLS = "bash zsh fish tcsh powershell cmd emacs"
SWARM_SUBCOMMANDS = "init join leave ls services drain activate"
# commands whose arguments are machine names (the others take none, a path, a shell or a command)
NAME_COMMANDS = {"active", "config", "env", "inspect", "ip", "kill", "provision", "regenerate-certs", "restart", "rm",
                 "ssh", "scp", "mount", "start", "status", "stop", "upgrade", "url", "version", "run", "swarm"}


class Schema:
    """What the CLI accepts, read from its own tables."""

    def __init__(self) -> None:
        from ..core.createflags import create_flags
        from ..core.service.catalog import driver_flags, driver_names
        from .commands import COMMANDS, global_opts
        from .parse import Opt

        self.global_opts = [o for o in global_opts("") if o.name not in ("help", "version")]
        self.commands = list(COMMANDS)
        self.opts = {c.name: list(c.opts) for c in COMMANDS}
        self.opts["create"] = [Opt(f, "d" if f.name == "driver" else "") for f in create_flags([])]
        if "swarm" in self.opts:
            from .swarm import _opts as swarm_opts

            self.opts["swarm"] = swarm_opts()
        self.drivers = driver_names()
        self.driver_flags = {d: [f.name for f in self._flags_of(driver_flags, d)] for d in self.drivers}

    @staticmethod
    def _flags_of(driver_flags, name: str) -> list:
        from ..core.errors import MachineError

        try:
            return driver_flags(name)
        except MachineError:  # a plugin on PATH that does not answer: its name completes, its flags do not
            return []

    @staticmethod
    def words(opts, values: bool | None = None) -> list[str]:
        """--name (and -x) of each option; only those taking a value, or only switches, when `values` says."""
        out = []
        for o in opts:
            if values is not None and (o.flag.kind != "bool") != values:
                continue
            out.append(f"--{o.name}")
            if o.short:
                out.append(f"-{o.short}")
        return out


def _case(entries: dict[str, list[str]]) -> str:
    return "\n".join(f'        {key}) echo "{" ".join(words)}" ;;' for key, words in entries.items() if words)


BASH = r"""# machine-tui bash completion: source <(machine-tui completion bash)
# generated from machine-tui's own flag tables: regenerate after an upgrade
_machine_tui_flags() {
    case "$1" in
__FLAGS__
    esac
}
_machine_tui_value_flags() {
    case "$1" in
__VALUE_FLAGS__
    esac
}
_machine_tui_driver_flags() {
    case "$1" in
__DRIVER_FLAGS__
    esac
}
_machine_tui() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" driver="" store="" i w
    (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
    local global_value_flags=" __GLOBAL_VALUE_FLAGS__ "
    local args=0
    for (( i=1; i<COMP_CWORD; i++ )); do
        w="${COMP_WORDS[i]}"
        if [[ -z "$cmd" ]]; then
            case "$w" in
                -s|--storage-path) store="${COMP_WORDS[i+1]}"; (( i++ )) ;;
                --storage-path=*|-s=*) store="${w#*=}" ;;
                -*) [[ "$global_value_flags" == *" $w "* ]] && (( i++ )) ;;
                *) cmd="$w" ;;
            esac
            continue
        fi
        case "$w" in
            --) COMPREPLY=( $(compgen -c -- "$cur") ); return ;;  # run's command follows
            -d|--driver) driver="${COMP_WORDS[i+1]}"; (( i++ )) ;;
            --driver=*|-d=*) driver="${w#*=}" ;;
            -*) [[ " $(_machine_tui_value_flags "$cmd") " == *" $w "* ]] && (( i++ )) ;;
            *) (( args++ )) ;;
        esac
    done
    if [[ -z "$cmd" ]]; then
        if [[ "$prev" == -s || "$prev" == --storage-path ]]; then
            COMPREPLY=( $(compgen -d -- "$cur") )
        elif [[ "$global_value_flags" == *" $prev "* ]]; then
            COMPREPLY=( $(compgen -f -- "$cur") )
        elif [[ "$cur" == -* ]]; then
            COMPREPLY=( $(compgen -W "__GLOBAL_FLAGS__" -- "$cur") )
        else
            COMPREPLY=( $(compgen -W "__COMMANDS__" -- "$cur") )
        fi
        return
    fi
    case "$prev" in
        -d|--driver) [[ "$cmd" == create ]] && COMPREPLY=( $(compgen -W "__DRIVERS__" -- "$cur") ); return ;;
        --shell) COMPREPLY=( $(compgen -W "__SHELLS__" -- "$cur") ); return ;;
    esac
    if [[ " $(_machine_tui_value_flags "$cmd") " == *" $prev "* ]]; then
        COMPREPLY=( $(compgen -f -- "$cur") )  # a flag's value: a path, a number, a word of the user's
        return
    fi
    if [[ "$cur" == -* ]]; then
        local flags
        flags="$(_machine_tui_flags "$cmd")"
        [[ "$cmd" == create && -n "$driver" ]] && flags="$flags $(_machine_tui_driver_flags "$driver")"
        COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
        return
    fi
    case "$cmd" in
        completion) (( args == 0 )) && COMPREPLY=( $(compgen -W "bash zsh fish" -- "$cur") ); return ;;
        swarm) if (( args == 0 )); then COMPREPLY=( $(compgen -W "__SWARM__" -- "$cur") ); return; fi ;;
        ssh) (( args > 0 )) && return ;;
        create|ls|help|build-image) [[ "$cmd" == help ]] && COMPREPLY=( $(compgen -W "__COMMANDS__" -- "$cur") )
            return ;;
    esac
    case " __NAME_COMMANDS__ " in
        *" $cmd "*)
            local names
            names="$("${COMP_WORDS[0]}" ${store:+-s "$store"} ls -q 2>/dev/null)"
            COMPREPLY=( $(compgen -W "$names" -- "$cur") ) ;;
    esac
}
complete -F _machine_tui machine-tui
"""

ZSH_HEAD = r"""#compdef machine-tui
# machine-tui zsh completion: source <(machine-tui completion zsh)
# the bash function, through zsh's own bashcompinit: one generated logic for both shells
autoload -U +X compinit && { (( ${+_comps} )) || compinit -u }
autoload -U +X bashcompinit && bashcompinit
"""

FISH_HEAD = r"""# machine-tui fish completion: machine-tui completion fish | source
# generated from machine-tui's own flag tables: regenerate after an upgrade
complete -c machine-tui -f
function __machine_tui_driver
    set -l words (commandline -opc)
    for i in (seq (count $words))
        if contains -- $words[$i] -d --driver
            set -l next (math $i + 1)
            test $next -le (count $words); and echo $words[$next]
        end
    end
end
function __machine_tui_store
    set -l words (commandline -opc)
    for i in (seq (count $words))
        if contains -- $words[$i] -s --storage-path
            set -l next (math $i + 1)
            test $next -le (count $words); and echo -- -s $words[$next]
        end
    end
end
"""


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bash_script(schema: Schema) -> str:
    commands = " ".join(c.name for c in schema.commands)
    flags = {name: schema.words(opts) for name, opts in schema.opts.items()}
    value_flags = {name: schema.words(opts, values=True) for name, opts in schema.opts.items()}
    text = BASH
    for key, value in (("__FLAGS__", _case(flags)), ("__VALUE_FLAGS__", _case(value_flags)),
                       ("__DRIVER_FLAGS__", _case({d: [f"--{n}" for n in names]
                                                   for d, names in schema.driver_flags.items()})),
                       ("__GLOBAL_VALUE_FLAGS__", " ".join(schema.words(schema.global_opts, values=True))),
                       ("__GLOBAL_FLAGS__", " ".join(schema.words(schema.global_opts))),
                       ("__COMMANDS__", commands), ("__DRIVERS__", " ".join(schema.drivers)),
                       ("__SHELLS__", SHELLS), ("__SWARM__", SWARM_SUBCOMMANDS),
                       ("__NAME_COMMANDS__", " ".join(sorted(NAME_COMMANDS)))):
        text = text.replace(key, value)
    return text


def fish_script(schema: Schema) -> str:
    lines = [FISH_HEAD]
    for o in schema.global_opts:
        lines.append(f"complete -c machine-tui -n __fish_use_subcommand -l {o.name}"
                     + (f" -s {o.short}" if o.short else "") + (" -r" if o.flag.kind != "bool" else "")
                     + f" -d {_fish_quote(o.flag.usage)}")
    for c in schema.commands:
        lines.append(f"complete -c machine-tui -n __fish_use_subcommand -a {c.name} -d {_fish_quote(c.usage)}")
    for name, opts in schema.opts.items():
        when = f'"__fish_seen_subcommand_from {name}"'
        for o in opts:
            if name == "create" and o.name == "driver":
                drivers = _fish_quote(" ".join(schema.drivers))
                lines.append(f"complete -c machine-tui -n {when} -l driver -s d -x -a {drivers}"
                             f" -d {_fish_quote(o.flag.usage)}")
                continue
            kind = " -x -a " + _fish_quote(SHELLS) if o.name == "shell" else (" -r" if o.flag.kind != "bool" else "")
            lines.append(f"complete -c machine-tui -n {when} -l {o.name}" + (f" -s {o.short}" if o.short else "")
                         + kind + f" -d {_fish_quote(o.flag.usage)}")
    for driver, names in schema.driver_flags.items():
        when = f'"__fish_seen_subcommand_from create; and test (__machine_tui_driver) = {driver}"'
        lines += [f"complete -c machine-tui -n {when} -l {n} -r" for n in names]
    lines.append('complete -c machine-tui -n "__fish_seen_subcommand_from completion" -x -a "bash zsh fish"')
    lines.append('complete -c machine-tui -n "__fish_seen_subcommand_from swarm; and not __fish_seen_subcommand_from '
                 f'{SWARM_SUBCOMMANDS}" -x -a "{SWARM_SUBCOMMANDS}"')
    lines.append(f'complete -c machine-tui -n "__fish_seen_subcommand_from {" ".join(sorted(NAME_COMMANDS))}" '
                 '-a "(machine-tui (__machine_tui_store) ls -q 2>/dev/null)"')
    return "\n".join(lines) + "\n"


def script(shell: str) -> str:
    if shell not in ("bash", "zsh", "fish"):
        raise MachineError(f"Error: Unknown shell {shell!r}: use bash, zsh or fish")
    schema = Schema()
    if shell == "fish":
        return fish_script(schema)
    bash = bash_script(schema)
    return ZSH_HEAD + bash.split("\n", 2)[2] if shell == "zsh" else bash
