# envr prompt hook for zsh. `envr hook zsh` prints this after setting _envr_py (an absolute interpreter path)
# and _envr_lib (the directory holding the envr package).
#
# The core (a Python process) runs only when the hook cannot decide with builtins. The hook alone handles:
# nothing moved (same $PWD and ENVR_STATE, watched files unchanged), a `cd` within the project, leaving for a
# directory in no project (the revert the core wrote at load time, in _envr_leave), and re-entering a project
# this shell loaded before (a cached load whose checks still hold). Everything it evals was written by the
# core with every value quoted. State lives in unexported _envr_* parameters, so a subshell asks the core.

# A broken or half-upgraded envr package says so in one line, not with a traceback at every prompt.
_envr_boot='import sys; sys.path.insert(0, sys.argv[1])
try: from envr.prompt.entry import boot
except Exception as e: sys.exit(f"envr: cannot load envr from {sys.argv[1]} ({type(e).__name__}: {e}); reinstall envr")
boot()'

# Each function runs with zsh's default options (emulate -L), whatever the user set (ksh_arrays, nounset,
# warn_create_global, sh_word_split, ...); the core's output is written for those defaults too.

# The nearest project at or above $PWD (a regular file named envr.toml) and the envr.toml files below it that
# must stay absent: sets _envr_near and _envr_gone.
_envr_walk() {
  emulate -L zsh
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
  emulate -L zsh
  local _envr_i _envr_found=0
  _envr_walk
  if [[ $_envr_near != "${_envr_root-}" ]]; then
    if [[ -z $_envr_near ]]; then  # left the project for no project
      [[ -n ${_envr_leave-} || -z ${ENVR_STATE-} ]] || return 1  # loaded, but no revert here: the core's
      _envr_said=''
      [[ -z ${_envr_leave-} ]] || eval "$_envr_leave"
      _envr_root='' _envr_wproj=() _envr_leave='' _envr_seen=${ENVR_STATE-}
    elif [[ -z ${_envr_leave-} && -z ${ENVR_STATE-} ]]; then  # into a project from none: loaded here before?
      for ((_envr_i = 1; _envr_i <= ${#_envr_c_root}; _envr_i++)); do
        if [[ ${_envr_c_root[_envr_i]} == "$_envr_near" ]]; then
          eval "${_envr_c_test[_envr_i]}" || return 1
          eval "${_envr_c_enter[_envr_i]}"
          _envr_found=1
          break
        fi
      done
      ((_envr_found)) || return 1
    else
      return 1
    fi
  fi
  _envr_pwd=$PWD
  _envr_absent=("${_envr_gone[@]}")
}

_envr_changed() {
  emulate -L zsh
  [[ ${_envr_racy-1} == 0 && ${ENVR_STATE-} == "${_envr_seen-}" ]] || return 0
  [[ -d $PWD || -z ${_envr_root-} ]] || return 0  # the directory was deleted under the shell
  if [[ $PWD != "${_envr_pwd-}" ]]; then
    _envr_moved || return 0
  fi
  local _envr_f _envr_s
  for _envr_f in "${_envr_absent[@]}"; do
    [[ -f $_envr_f ]] && return 0
  done
  for _envr_f _envr_s in "${_envr_wbase[@]}" "${_envr_wproj[@]}"; do
    if [[ -z $_envr_s ]]; then
      [[ -e $_envr_f ]] && return 0
    elif [[ $_envr_s == + ]]; then  # watched for its existence alone
      [[ -e $_envr_f ]] || return 0
    else
      [[ -e $_envr_f && ! $_envr_f -nt $_envr_s && ! $_envr_f -ot $_envr_s ]] || return 0
    fi
  done
  return 1
}

# PATH as a list: _envr_e gets PATH's entries (none for an unset or empty PATH, as the core splits it).
_envr_split() {
  emulate -L zsh
  _envr_e=()
  [[ -n ${PATH-} ]] && _envr_e=("${(@s/:/)PATH}")
}

# _envr_addpath PRE... -- APP...: PATH becomes PRE, then PATH's entries, then APP.
_envr_addpath() {
  emulate -L zsh
  local -a pre
  while (($#)) && [[ $1 != -- ]]; do pre+=("$1"); shift; done
  shift
  _envr_split
  _envr_e=("${pre[@]}" "${_envr_e[@]}" "$@")
  export PATH="${(j/:/)_envr_e}"
}

# _envr_unpath WAS_UNSET PRE... -- APP...: remove the first occurrence of each PRE and the last of each APP,
# keeping every entry the user added; an emptied PATH that was unset before is unset again.
_envr_unpath() {
  emulate -L zsh
  local was_unset=$1 e i
  shift
  _envr_split
  while (($#)) && [[ $1 != -- ]]; do
    for ((i = 1; i <= ${#_envr_e}; i++)); do
      if [[ ${_envr_e[i]} == "$1" ]]; then
        _envr_e[i]=()
        break
      fi
    done
    shift
  done
  shift
  for e in "$@"; do
    for ((i = ${#_envr_e}; i >= 1; i--)); do
      if [[ ${_envr_e[i]} == "$e" ]]; then
        _envr_e[i]=()
        break
      fi
    done
  done
  if ((${#_envr_e} == 0 && was_unset)); then
    unset PATH
  else
    PATH="${(j/:/)_envr_e}"
  fi
}

_envr_quiet() { [[ -n ${ENVR_QUIET-} && $ENVR_QUIET != 0 ]]; }

# The unload line, after _envr_leave's code restored what it could; _envr_k names what the user changed.
_envr_left() {
  emulate -L zsh
  local line="envr: unloaded $1"
  if ((${#_envr_k})); then
    line+="; kept ${(j/, /)_envr_k} as you changed"
    ((${#_envr_k} == 1)) && line+=" it inside" || line+=" them inside"
  fi
  _envr_said=$line
  _envr_quiet || print -ru2 -- "$line"
}

_envr_note() {
  [[ -z $1 ]] || _envr_quiet || print -ru2 -- "$1"
  return 0
}

# Remember how to enter ROOT again (at most 8 projects): _envr_cache_put ROOT TEST ENTER.
_envr_cache_put() {
  emulate -L zsh
  local i
  local -a roots tests enters
  for ((i = 1; i <= ${#_envr_c_root}; i++)); do
    if [[ ${_envr_c_root[i]} != "$1" ]]; then
      roots+=("${_envr_c_root[i]}") tests+=("${_envr_c_test[i]}") enters+=("${_envr_c_enter[i]}")
    fi
  done
  _envr_c_root=("$1" "${(@)roots[1,7]}") _envr_c_test=("$2" "${(@)tests[1,7]}") _envr_c_enter=("$3" "${(@)enters[1,7]}")
}

_envr_hook() {
  # Locals carry the _envr_ prefix: one named like a project's variable (rc, out, ...) would hide it from
  # the core started below and catch the eval's assignment to it.
  local _envr_rc=$? _envr_out _envr_status _envr_near
  local -a _envr_gone _envr_e _envr_k
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
          _envr_pwd=$PWD _envr_seen=${ENVR_STATE-} _envr_racy=0 _envr_root=$'\x01'
          _envr_absent=() _envr_wbase=() _envr_wproj=() ;;
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
  typeset -ga _envr_c_root _envr_c_test _envr_c_enter _envr_absent _envr_wbase _envr_wproj
  _envr_c_root=() _envr_c_test=() _envr_c_enter=()
  typeset -ag precmd_functions
  if (( ! ${precmd_functions[(I)_envr_hook]} )); then
    precmd_functions=(_envr_hook "${precmd_functions[@]}")
  fi
}
