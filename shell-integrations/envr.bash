# envr prompt hook for bash. `envr hook bash` prints this after setting _envr_py (an absolute interpreter
# path) and _envr_lib (the directory holding the envr package).
#
# The core (a Python process) runs only when the hook cannot decide with builtins. The hook alone handles:
# nothing moved (same $PWD and ENVR_STATE, watched files unchanged: a few stats), a `cd` within the project,
# leaving for a directory in no project (the revert the core wrote at load time, in _envr_leave), and
# re-entering a project this shell loaded before (a cached load whose checks still hold). Everything it evals
# was written by the core with every value quoted. State lives in unexported _envr_* variables, so a
# subshell, which inherits only the environment, asks the core.

# A broken or half-upgraded envr package says so in one line, not with a traceback at every prompt.
# _envr_py and _envr_lib come from `envr hook`; the rest from the core's output.
# shellcheck disable=SC2154
_envr_boot='import sys; sys.path.insert(0, sys.argv[1])
try: from envr.prompt.entry import boot
except Exception as e: sys.exit(f"envr: cannot load envr from {sys.argv[1]} ({type(e).__name__}: {e}); reinstall envr")
boot()'

# The nearest project at or above $PWD, as the core finds it (a regular file named envr.toml), and the
# envr.toml files below it that must stay absent: sets _envr_near and _envr_gone.
_envr_walk() {
  local d=$PWD
  _envr_near='' _envr_gone=()
  while :; do
    if [[ -f ${d%/}/envr.toml ]]; then
      _envr_near=$d
      return
    fi
    _envr_gone+=("${d%/}/envr.toml")
    [[ $d == / || -z $d ]] && return
    d=${d%/*}
    d=${d:-/}
  done
}

# PWD moved: decide without the core where that is exact. Returns 1 when the core must run.
_envr_moved() {
  local _envr_i
  _envr_walk
  if [[ $_envr_near != "${_envr_root-}" ]]; then
    if [[ -z $_envr_near ]]; then  # left the project for no project
      [[ -n ${_envr_leave-} || -z ${ENVR_STATE-} ]] || return 1  # loaded, but no revert here: the core's
      _envr_said=''
      [[ -z ${_envr_leave-} ]] || eval "$_envr_leave"
      _envr_root='' _envr_wproj=() _envr_leave='' _envr_seen=${ENVR_STATE-}
    elif [[ -z ${_envr_leave-} && -z ${ENVR_STATE-} ]]; then  # into a project from none: loaded here before?
      for ((_envr_i = 0; _envr_i < ${#_envr_c_root[@]}; _envr_i++)); do
        if [[ ${_envr_c_root[_envr_i]} == "$_envr_near" ]]; then
          eval "${_envr_c_test[_envr_i]}" || return 1
          eval "${_envr_c_enter[_envr_i]}"
          break
        fi
      done
      ((_envr_i < ${#_envr_c_root[@]})) || return 1
    else
      return 1
    fi
  fi
  _envr_pwd=$PWD
  _envr_absent=(${_envr_gone[@]+"${_envr_gone[@]}"})
}

_envr_changed() {
  [[ ${_envr_racy-1} == 0 && ${ENVR_STATE-} == "${_envr_seen-}" ]] || return 0
  [[ -d $PWD || -z ${_envr_root-} ]] || return 0  # the directory was deleted under the shell
  if [[ $PWD != "${_envr_pwd-}" ]]; then
    _envr_moved || return 0
  fi
  local _envr_f _envr_s _envr_i
  for _envr_f in ${_envr_absent[@]+"${_envr_absent[@]}"}; do
    [[ -f $_envr_f ]] && return 0
  done
  for ((_envr_i = 0; _envr_i + 1 < ${#_envr_wbase[@]}; _envr_i += 2)); do
    _envr_f=${_envr_wbase[_envr_i]} _envr_s=${_envr_wbase[_envr_i + 1]}
    if [[ -z $_envr_s ]]; then
      [[ -e $_envr_f ]] && return 0
    elif [[ $_envr_s == + ]]; then  # watched for its existence alone
      [[ -e $_envr_f ]] || return 0
    else
      [[ ! $_envr_f -nt $_envr_s && ! $_envr_f -ot $_envr_s ]] || return 0
    fi
  done
  for ((_envr_i = 0; _envr_i + 1 < ${#_envr_wproj[@]}; _envr_i += 2)); do
    _envr_f=${_envr_wproj[_envr_i]} _envr_s=${_envr_wproj[_envr_i + 1]}
    if [[ -z $_envr_s ]]; then
      [[ -e $_envr_f ]] && return 0
    elif [[ $_envr_s == + ]]; then  # watched for its existence alone
      [[ -e $_envr_f ]] || return 0
    else
      [[ ! $_envr_f -nt $_envr_s && ! $_envr_f -ot $_envr_s ]] || return 0
    fi
  done
  return 1
}

# PATH as a list: _envr_e gets PATH's entries (none for an unset or empty PATH, as the core splits it).
_envr_split() {
  _envr_e=()
  [[ -n ${PATH-} ]] || return 0
  # Word splitting on ':' with globbing off: one step, where a loop of ${x%%:*} costs per entry.
  local IFS=: _envr_noglob=0
  [[ $- == *f* ]] && _envr_noglob=1
  set -f
  # shellcheck disable=SC2206 # splitting is the point; globbing is off
  _envr_e=($PATH)
  ((_envr_noglob)) || set +f
  [[ $PATH == *: ]] && _envr_e+=("")  # a trailing empty entry, which splitting drops
  return 0
}

# _envr_addpath PRE... -- APP...: PATH becomes PRE, then PATH's entries, then APP.
_envr_addpath() {
  local pre=() e
  while (($#)) && [[ $1 != -- ]]; do pre+=("$1"); shift; done
  shift
  _envr_split
  local IFS=:
  _envr_e=(${pre[@]+"${pre[@]}"} ${_envr_e[@]+"${_envr_e[@]}"} "$@")
  export PATH="${_envr_e[*]}"
}

# _envr_unpath WAS_UNSET PRE... -- APP...: remove the first occurrence of each PRE and the last of each APP,
# keeping every entry the user added; an emptied PATH that was unset before is unset again.
_envr_unpath() {
  local was_unset=$1 e i j
  shift
  _envr_split
  while (($#)) && [[ $1 != -- ]]; do
    for ((i = 0; i < ${#_envr_e[@]}; i++)); do
      if [[ ${_envr_e[i]} == "$1" ]]; then
        _envr_e=("${_envr_e[@]:0:i}" "${_envr_e[@]:i+1}")
        break
      fi
    done
    shift
  done
  shift
  for e in "$@"; do
    for ((j = ${#_envr_e[@]} - 1; j >= 0; j--)); do
      if [[ ${_envr_e[j]} == "$e" ]]; then
        _envr_e=("${_envr_e[@]:0:j}" "${_envr_e[@]:j+1}")
        break
      fi
    done
  done
  if ((${#_envr_e[@]} == 0 && was_unset)); then
    unset PATH
  else
    local IFS=:
    PATH="${_envr_e[*]}"
  fi
}

_envr_quiet() { [[ -n ${ENVR_QUIET-} && $ENVR_QUIET != 0 ]]; }

# The unload line, after _envr_leave's code restored what it could; _envr_k names what the user changed.
_envr_left() {
  local line="envr: unloaded $1" names
  if ((${#_envr_k[@]})); then
    printf -v names '%s, ' "${_envr_k[@]}"
    line+="; kept ${names%, } as you changed"
    ((${#_envr_k[@]} == 1)) && line+=" it inside" || line+=" them inside"
  fi
  _envr_said=$line
  _envr_quiet || printf '%s\n' "$line" >&2
}

_envr_note() {
  [[ -z $1 ]] || _envr_quiet || printf '%s\n' "$1" >&2
}

# Remember how to enter ROOT again (at most 8 projects): _envr_cache_put ROOT TEST ENTER.
_envr_cache_put() {
  local i roots=() tests=() enters=()
  for ((i = 0; i < ${#_envr_c_root[@]}; i++)); do
    if [[ ${_envr_c_root[i]} != "$1" ]]; then
      roots+=("${_envr_c_root[i]}") tests+=("${_envr_c_test[i]}") enters+=("${_envr_c_enter[i]}")
    fi
  done
  _envr_c_root=("$1" ${roots[@]+"${roots[@]:0:7}"})
  _envr_c_test=("$2" ${tests[@]+"${tests[@]:0:7}"})
  _envr_c_enter=("$3" ${enters[@]+"${enters[@]:0:7}"})
}
_envr_c_root=() _envr_c_test=() _envr_c_enter=()

_envr_hook() {
  # Locals carry the _envr_ prefix: one named like a project's variable (rc, out, ...) would hide it from
  # the core started below and catch the eval's assignment to it.
  local _envr_rc=$? _envr_out _envr_status _envr_trap _envr_near _envr_gone _envr_e _envr_k
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
          _envr_pwd=$PWD _envr_seen=${ENVR_STATE-} _envr_racy=0 _envr_root=$'\x01'
          _envr_absent=() _envr_wbase=() _envr_wproj=() ;;
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
