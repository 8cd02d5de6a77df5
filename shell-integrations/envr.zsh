# envr prompt hook for zsh. `envr hook zsh` prints this after setting _envr_py (an absolute interpreter path)
# and _envr_lib (the directory holding the envr package).
#
# Steady state costs no process: _envr_changed decides with builtins whether anything the core looked at
# moved. Only then does the core run; its output is plain assignments whose values it has already quoted.

_envr_boot='import sys; sys.path.insert(0, sys.argv[1]); from envr.lean import boot; boot()'

_envr_changed() {
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
  local rc=$?
  if _envr_changed; then
    if [[ -x ${_envr_py-} ]]; then
      local out
      out=$("$_envr_py" -I -c "$_envr_boot" "$_envr_lib" zsh)
      case $? in
        0) eval "$out" ;;
        130) ;;  # interrupted: try again at the next prompt
        *) _envr_pwd=$PWD _envr_seen=${ENVR_STATE-} ;;  # the core failed and said why
      esac
    elif [[ ${_envr_warned-} != 1 ]]; then
      _envr_warned=1
      print -ru2 -- "envr: ${_envr_py-} is missing; the envr hook is inactive until you reinstall envr"
    fi
  fi
  return $rc
}

typeset -ag precmd_functions
if (( ! ${precmd_functions[(I)_envr_hook]} )); then
  precmd_functions=(_envr_hook $precmd_functions)
fi
