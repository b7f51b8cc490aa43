"""Shell completion scripts (bash, zsh, fish): commands, and machine names from `machine-tui ls -q`."""

from __future__ import annotations

from ..core.errors import MachineError

NAME_COMMANDS = ("active config env inspect ip kill provision regenerate-certs restart rm ssh scp mount start "
                 "status stop upgrade url version")

BASH = r"""# machine-tui bash completion: source <(machine-tui completion bash)
_machine_tui() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local cmds="__CMDS__"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=( $(compgen -W "$cmds" -- "$cur") )
        return
    fi
    case " __NAMECMDS__ " in
        *" ${COMP_WORDS[1]} "*)
            COMPREPLY=( $(compgen -W "$(machine-tui ls -q 2>/dev/null)" -- "$cur") ) ;;
    esac
}
complete -F _machine_tui machine-tui
"""

ZSH = r"""#compdef machine-tui
# machine-tui zsh completion: source <(machine-tui completion zsh)
_machine_tui() {
    if (( CURRENT == 2 )); then
        compadd -- __CMDS__
    elif [[ " __NAMECMDS__ " == *" ${words[2]} "* ]]; then
        compadd -- ${(f)"$(machine-tui ls -q 2>/dev/null)"}
    fi
}
compdef _machine_tui machine-tui
"""

FISH = r"""# machine-tui fish completion: machine-tui completion fish | source
complete -c machine-tui -f
complete -c machine-tui -n "__fish_use_subcommand" -a "__CMDS__"
complete -c machine-tui -n "__fish_seen_subcommand_from __NAMECMDS__" -a "(machine-tui ls -q 2>/dev/null)"
"""


def script(shell: str, commands: list[str]) -> str:
    templates = {"bash": BASH, "zsh": ZSH, "fish": FISH}
    if shell not in templates:
        raise MachineError(f"Error: Unknown shell {shell!r}: use bash, zsh or fish")
    return templates[shell].replace("__CMDS__", " ".join(commands)).replace("__NAMECMDS__", NAME_COMMANDS)
