# envr prompt hook for bash. `envr hook bash` prints this after setting _envr_py (an absolute interpreter
# path) and _envr_lib (the directory holding the envr package).
#
# Steady state costs no process: _envr_changed decides with builtins ($PWD, ENVR_STATE, file tests) whether
# anything the core looked at moved. Only then does the core run, and its output is plain assignments whose
# values it has already quoted.

# A broken or half-upgraded envr package says so in one line, not with a traceback at every prompt.
# _envr_py and _envr_lib come from `envr hook`; _envr_absent/_envr_present from the core's output.
# shellcheck disable=SC2154
_envr_boot='import sys; sys.path.insert(0, sys.argv[1])
try: from envr.prompt.entry import boot
except Exception as e: sys.exit(f"envr: cannot load envr from {sys.argv[1]} ({type(e).__name__}: {e}); reinstall envr")
boot()'

_envr_changed() {
  [[ $PWD == "${_envr_pwd-}" && ${ENVR_STATE-} == "${_envr_seen-}" ]] || return 0
  local f s i
  for f in "${_envr_absent[@]}"; do
    [[ -e $f ]] && return 0
  done
  for ((i = 0; i + 1 < ${#_envr_present[@]}; i += 2)); do
    f=${_envr_present[i]}
    s=${_envr_present[i + 1]}
    [[ ! $f -nt $s && ! $f -ot $s ]] || return 0  # -ot is true for a missing $f
  done
  return 1
}

_envr_hook() {
  # Locals carry the _envr_ prefix: one named like a project's variable (rc, out, ...) would hide it from
  # the core started below and catch the eval's assignment to it.
  local _envr_rc=$? _envr_out _envr_status _envr_trap
  if _envr_changed; then
    if [[ -x ${_envr_py-} ]]; then
      # Ctrl-C while the core realises packages must reach the core (which then leaves the environment alone
      # and says so) without aborting this function and losing what it printed: trap INT for the call.
      _envr_trap=$(trap -p INT)
      trap : INT
      _envr_out=$("$_envr_py" -I -c "$_envr_boot" "$_envr_lib" bash "${_envr_said-}")
      _envr_status=$?
      eval "${_envr_trap:-trap - INT}"
      case $_envr_status in
        0) eval "$_envr_out" ;;
        130) ;;  # interrupted: try again at the next prompt
        *)  # the core failed and said why; do not retry until something changes
          _envr_pwd=$PWD _envr_seen=${ENVR_STATE-}
          _envr_absent=() _envr_present=() ;;
      esac
    elif [[ ${_envr_warned-} != 1 ]]; then
      _envr_warned=1
      printf 'envr: %s is missing; the envr hook is inactive until you reinstall envr\n' "${_envr_py-}" >&2
    fi
  fi
  return "$_envr_rc"
}

if [[ ${PROMPT_COMMAND[*]-} != *_envr_hook* ]]; then
  PROMPT_COMMAND="_envr_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
