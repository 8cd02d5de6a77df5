# envr prompt hook for zsh. `envr hook zsh` prints this after setting _envr_py (an absolute interpreter path)
# and _envr_lib (the directory holding the envr package).
#
# Steady state costs no process: _envr_changed decides with builtins whether anything the core looked at
# moved. Only then does the core run; its output is plain assignments whose values it has already quoted.

# A broken or half-upgraded envr package says so in one line, not with a traceback at every prompt.
_envr_boot='import sys; sys.path.insert(0, sys.argv[1])
try: from envr.prompt.entry import boot
except Exception as e: sys.exit(f"envr: cannot load envr from {sys.argv[1]} ({type(e).__name__}: {e}); reinstall envr")
boot()'

# Each function runs with zsh's default options (emulate -L), whatever the user set (ksh_arrays, nounset,
# warn_create_global, sh_word_split, ...); the core's output is written for those defaults too.
_envr_changed() {
  emulate -L zsh
  [[ $PWD == "${_envr_pwd-}" && ${ENVR_STATE-} == "${_envr_seen-}" ]] || return 0
  local f s
  for f in "${_envr_absent[@]}"; do
    [[ -e $f ]] && return 0
  done
  for f s in "${_envr_present[@]}"; do
    [[ -e $f && ! $f -nt $s && ! $f -ot $s ]] || return 0
  done
  return 1
}

_envr_hook() {
  # Locals carry the _envr_ prefix: one named like a project's variable (rc, out, ...) would hide it from
  # the core started below and catch the eval's assignment to it.
  local _envr_rc=$? _envr_out _envr_status
  emulate -L zsh  # also makes traps set here local to this function
  if _envr_changed; then
    if [[ -x ${_envr_py-} ]]; then
      # Ctrl-C while the core realises packages must reach the core (which then leaves the environment alone
      # and says so) without aborting this function and losing what it printed.
      trap : INT
      _envr_out=$("$_envr_py" -I -c "$_envr_boot" "$_envr_lib" zsh "${_envr_said-}")
      _envr_status=$?
      trap - INT
      case $_envr_status in
        0) eval "$_envr_out" ;;
        130) ;;  # interrupted: try again at the next prompt
        *)  # the core failed and said why; do not retry until something changes
          _envr_pwd=$PWD _envr_seen=${ENVR_STATE-}
          _envr_absent=() _envr_present=() ;;
      esac
    elif [[ ${_envr_warned-} != 1 ]]; then
      _envr_warned=1
      print -ru2 -- "envr: ${_envr_py-} is missing; the envr hook is inactive until you reinstall envr"
    fi
  fi
  return $_envr_rc
}

() {
  emulate -L zsh
  typeset -ag precmd_functions
  if (( ! ${precmd_functions[(I)_envr_hook]} )); then
    precmd_functions=(_envr_hook "${precmd_functions[@]}")
  fi
}
