"""Names a project's [env] may not set: envr's own settings, and variables the shells keep for themselves.

A project cannot change how envr works (D4): envr reads `ENVR_*` and the XDG base directories for itself, so
a project setting them could move envr's approvals, store and caches into the repository. And a project cannot
steer the shell the hook runs in (D11): the names below are the ones bash, zsh and fish set themselves,
guard as read-only, recompute on their own (so envr could neither set them nor take them back), run as code,
or read to decide where code comes from. tests/project/test_names.py derives the lists from the installed
shells and their manuals (`readonly -p`, `compgen -v`, zsh's `$parameters`, fish's `set -n`, bash(1),
zshparam(1), zshmisc(1)) and fails when a shell knows a name that is neither here nor in ALLOWED.

Kept as frozensets in code, not derived at run time: this module is read only when a project file is parsed
(a cache miss at the prompt, or `envr allow`), and must cost microseconds, not a shell start.
"""

from __future__ import annotations


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


ENVR_PREFIX = "ENVR_"
HOOK_PREFIXES = ("_envr", "__envr")  # the hooks' own variables
FISH_PREFIXES = ("fish_", "__fish")  # fish reads its settings (paths, colours, key bindings) from these

# Where envr keeps approvals, the store registry, caches and logs (dirs.py), and where fish reads its config.
XDG_BASE_DIRS = frozenset({"XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR"})

# Names the shells themselves know, that a project may still set. Each with the reason it is safe and useful.
ALLOWED: dict[str, str] = {
    "HOME": "tools are pointed at another home on purpose; envr reads its own directories from the environment "
    "before activation, so a project's HOME never moves envr's approvals or store",
    "USER": "identity read by tools; fish only fills it in when it is missing",
    "LOGNAME": "identity read by tools; zsh only fills it in when it is missing",
    "SHELL": "a program path, trusted like a [path] entry; bash only fills it in when it is missing",
    "HOSTNAME": "bash fills it in at start-up and never reads it again; servers read it as their bind address",
    "TERM": "the terminal type; zsh merely re-reads terminfo when it changes",
    "TERMINFO": "where terminfo lives; zsh merely re-reads it",
    "TERMINFO_DIRS": "where terminfo lives; zsh merely re-reads it",
    "TMPDIR": "where temporary files go; bash only documents it",
    "MANPATH": "where man pages are; zsh keeps its tied manpath array in step with the exported scalar",
    "LANG": "the locale: the shells re-read it, which is the point of setting it",
    "LC_ALL": "the locale (LC_ALL=C for a stable sort order is a common project setting)",
    "LC_COLLATE": "the locale",
    "LC_CTYPE": "the locale",
    "LC_MESSAGES": "the locale",
    "LC_NUMERIC": "the locale",
    "LC_TIME": "the locale",
}

# The shell runs the value as code, or runs code from where it points, behind the hook's back. A value in
# envr.toml is never run (README), so these are refused even though the user allowed the file. Prompt strings
# are among them: bash's promptvars (on by default) and zsh's prompt_subst expand $(...) in them at every prompt.
RUNS_CODE_BECAUSE: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "the shell runs it at every prompt (envr's own hook lives there)",
        _names(
            """
            PROMPT_COMMAND chpwd_functions periodic_functions precmd_functions preexec_functions
            zshaddhistory_functions zshexit_functions zsh_directory_name_functions PERIOD
            """
        ),
    ),
    (
        "the shell expands it at every prompt, running any $(...) in it (bash's promptvars, zsh's prompt_subst)",
        _names("PS0 PS1 PS2 PS3 PS4 PROMPT PROMPT2 PROMPT3 PROMPT4 RPROMPT RPROMPT2 RPS1 RPS2 SPROMPT")
        | _names("PROMPT_EOL_MARK PSVAR psvar prompt"),
    ),
    (
        "every new shell runs startup code from it (BASH_ENV and ENV are even expanded, $(...) included)",
        _names("BASH_ENV ENV ZDOTDIR"),
    ),
    (
        "the shell loads functions, modules or builtins from where it points",
        _names("FPATH fpath MODULE_PATH module_path BASH_LOADABLES_PATH fish_function_path fish_complete_path"),
    ),
    (
        "the shell runs commands from it, or acts on it, by itself (STTY: stty before every command; TMOUT: log out)",
        _names("STTY NULLCMD READNULLCMD TMOUT"),
    ),
)
RUNS_CODE = frozenset().union(*(names for _, names in RUNS_CODE_BECAUSE))

# bash: `readonly -p` and `compgen -v` of a bare bash, and every variable bash(1) lists under Shell Variables.
BASH = _names(
    """
    _ BASH BASHOPTS BASHPID BASH_ALIASES BASH_ARGC BASH_ARGV BASH_ARGV0 BASH_CMDS BASH_COMMAND BASH_COMPAT
    BASH_ENV BASH_EXECUTION_STRING BASH_LINENO BASH_LOADABLES_PATH BASH_MONOSECONDS BASH_REMATCH BASH_SOURCE
    BASH_SUBSHELL BASH_TRAPSIG BASH_VERSINFO BASH_VERSION BASH_XTRACEFD CDPATH CHILD_MAX COLUMNS COMPREPLY
    COMP_CWORD COMP_KEY COMP_LINE COMP_POINT COMP_TYPE COMP_WORDBREAKS COMP_WORDS COPROC DIRSTACK EMACS ENV
    EPOCHREALTIME EPOCHSECONDS EUID EXECIGNORE FCEDIT FIGNORE FUNCNAME FUNCNEST GLOBIGNORE GLOBSORT GROUPS
    HISTCMD HISTCONTROL HISTFILE HISTFILESIZE HISTIGNORE HISTSIZE HISTTIMEFORMAT HOME HOSTFILE HOSTNAME HOSTTYPE
    IFS IGNOREEOF INPUTRC INSIDE_EMACS LANG LC_ALL LC_COLLATE LC_CTYPE LC_MESSAGES LC_NUMERIC LC_TIME LINENO
    LINES MACHTYPE MAIL MAILCHECK MAILPATH MAPFILE OLDPWD OPTARG OPTERR OPTIND OSTYPE PATH PIPESTATUS
    POSIXLY_CORRECT PPID PROMPT_COMMAND PROMPT_DIRTRIM PS0 PS1 PS2 PS3 PS4 PWD RANDOM READLINE_ARGUMENT
    READLINE_LINE READLINE_MARK READLINE_POINT REPLY SECONDS SHELL SHELLOPTS SHLVL SRANDOM TERM TIMEFORMAT
    TMOUT TMPDIR UID auto_resume histchars
    """
)

# zsh: every parameter a bare `zsh -f` defines with all its modules loaded, the ones it marks special once set,
# every parameter zshparam(1) lists as set or used by the shell, and the hook arrays of zshmisc(1).
ZSH = _names(
    """
    _ ARGC ARGV0 BAUD CDPATH COLUMNS CORRECT_IGNORE CORRECT_IGNORE_FILE CPUTYPE DIRSTACKSIZE EGID ENV
    EPOCHREALTIME EPOCHSECONDS ERRNO EUID FCEDIT FIGNORE FPATH FUNCNEST GID HISTCHARS HISTCMD HISTFILE
    HISTORY_IGNORE HISTSIZE HOME HOST IFS KEYBOARD_HACK KEYTIMEOUT LANG LC_ALL LC_COLLATE LC_CTYPE LC_MESSAGES
    LC_NUMERIC LC_TIME LINENO LINES LISTMAX LOGCHECK LOGNAME MACHTYPE MAIL MAILCHECK MAILPATH MANPATH MATCH
    MBEGIN MEND MODULE_PATH NULLCMD OLDPWD OPTARG OPTIND OSTYPE PATH PERIOD POSTEDIT PPID PROMPT PROMPT2 PROMPT3
    PROMPT4 PROMPT_EOL_MARK PS1 PS2 PS3 PS4 PSVAR PWD RANDOM READNULLCMD REPLY REPORTMEMORY REPORTTIME RPROMPT
    RPROMPT2 RPS1 RPS2 SAVEHIST SECONDS SHLVL SPROMPT STTY TERM TERMINFO TERMINFO_DIRS TIMEFMT TMOUT TMPPREFIX
    TMPSUFFIX TRY_BLOCK_ERROR TRY_BLOCK_INTERRUPT TTY TTYIDLE UID USERNAME VENDOR WATCH WATCHFMT WORDCHARS ZBEEP
    ZCURSES_COLORS ZCURSES_COLOR_PAIRS ZDOTDIR ZFTP_SESSION ZLE_LINE_ABORTED ZLE_REMOVE_SUFFIX_CHARS
    ZLE_RPROMPT_INDENT ZLE_SPACE_SUFFIX_CHARS ZSH_ARGZERO ZSH_EVAL_CONTEXT ZSH_EXECUTION_STRING ZSH_NAME
    ZSH_PATCHLEVEL ZSH_SCRIPT ZSH_SUBSHELL ZSH_VERSION
    aliases argv builtins cdpath commands dirstack dis_aliases dis_builtins dis_functions dis_functions_source
    dis_galiases dis_patchars dis_reswords dis_saliases epochtime errnos fignore fpath funcfiletrace
    funcsourcetrace funcstack functions functions_source functrace galiases histchars history historywords
    jobdirs jobstates jobtexts keymaps langinfo mailpath manpath mapfile match mbegin mend module_path modules
    nameddirs options parameters patchars path pipestatus prompt psvar reply reswords saliases signals status
    sysparams termcap terminfo userdirs usergroups watch widgets zcurses_attrs zcurses_colors zcurses_keycodes
    zcurses_windows zgdbm_tied zle_bracketed_paste zle_highlight zsh_eval_context zsh_scheduled_events
    chpwd_functions periodic_functions precmd_functions preexec_functions zshaddhistory_functions
    zshexit_functions zsh_directory_name_functions
    """
)

# fish: what a bare fish defines (`set -n`) and what it refuses to set (read-only); fish_* by prefix.
FISH = _names(
    """
    _ CMD_DURATION COLUMNS EUID FISH_VERSION HOME IFS LINES PATH PWD SHLVL USER argv history hostname pipestatus
    status status_generation umask version
    """
)

RESERVED = (BASH | ZSH | FISH | RUNS_CODE) - ALLOWED.keys()


def refusal(name: str) -> str | None:
    """Why a project may not set name (the text after "envr must not set NAME: "), or None if it may."""
    if name.startswith(ENVR_PREFIX):
        return "envr reads ENVR_* for itself; set it in your shell, not in a project"
    if name in XDG_BASE_DIRS:
        return "envr reads it for itself (its approvals, store and caches live there); set it in your shell"
    if name == "PATH":
        return "use [path] prepend/append"
    if name.startswith(HOOK_PREFIXES):
        return "the hook keeps its own state in _envr* variables"
    if name.startswith(FISH_PREFIXES):
        return "fish reads fish_* variables as its own settings (where functions, completions and PATH come from)"
    if name not in RESERVED:
        return None
    for why, names in RUNS_CODE_BECAUSE:
        if name in names:
            return why
    shells = [shell for shell, names in (("bash", BASH), ("zsh", ZSH), ("fish", FISH)) if name in names]
    own = "keeps it for itself" if len(shells) == 1 else "keep it for themselves"
    return f"{' and '.join(shells)} {own} (a special or read-only variable), so envr could not set and revert it"
