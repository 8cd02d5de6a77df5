# One zsh process of bench/run (zsh -f): bench/prompt.sh's twin, same arguments and output.
# A prompt is what zsh runs before showing PS1: every function in precmd_functions. A cd runs
# chpwd_functions by itself, as in an interactive shell.

zmodload zsh/datetime
mode=$1 n=$2 tool=$3
shift 3
if (( $# )); then
  eval "$("$@")" || exit 1
fi

prompt() {
  local f
  for f in $precmd_functions; do
    $f
  done
}

now() {  # microseconds since the epoch, without a process (zsh/datetime's epochtime: seconds, nanoseconds)
  us=$(( epochtime[1] * 1000000 + epochtime[2] / 1000 ))
}

bins=(${(s.:.)BENCH_BINS-})

expect_loaded() {
  [[ $tool == none ]] && return 0
  local d
  for d in $BENCH_PROJECT/bin $bins; do
    if [[ ${APP_ENV-} != development || :$PATH: != *:$d:* ]]; then
      print -ru2 -- "bench: $tool did not load the project in zsh ($1: APP_ENV=${APP_ENV-}, $d not on PATH)"
      exit 1
    fi
  done
}

expect_unloaded() {
  if [[ -n ${APP_ENV-} || :$PATH: == *:$BENCH_PROJECT/bin:* ]]; then
    print -ru2 -- "bench: $tool did not unload the project in zsh ($1)"
    exit 1
  fi
}

case $mode in
  steady)
    repeat 5 prompt
    expect_loaded "before the timed prompts"
    now; t0=$us
    repeat $n prompt
    now
    expect_loaded "after the timed prompts"
    print -r -- "RESULT steady $((us - t0)) $n"
    ;;
  enter)
    outside=$PWD
    prompt
    expect_unloaded "outside, at start"
    enter=0 leave=0
    for ((i = -3; i < n; i++)); do
      now; t0=$us
      cd $BENCH_PROJECT || exit 1
      prompt
      now; t1=$us
      expect_loaded "after cd in"
      now; t2=$us
      cd $outside || exit 1
      prompt
      now
      expect_unloaded "after cd out"
      if (( i >= 0 )); then
        (( enter += t1 - t0, leave += us - t2 ))
      fi
    done
    cd / || exit 1  # the end of the last timed step, for bench/procs.py
    print -r -- "RESULT enter $enter $n"
    print -r -- "RESULT leave $leave $n"
    print -r -- "RESULT cycle $(( enter + leave )) $n"
    ;;
  inside)
    repeat 3 prompt
    expect_loaded "in the project's root, at start"
    inside=0
    for ((i = -3; i < n; i++)); do
      now; t0=$us
      cd $BENCH_PROJECT/sub || exit 1
      prompt
      now; t1=$us
      expect_loaded "after cd sub"
      now; t2=$us
      cd $BENCH_PROJECT || exit 1
      prompt
      now
      expect_loaded "after cd back to the root"
      if (( i >= 0 )); then
        (( inside += t1 - t0 + us - t2 ))
      fi
    done
    cd / || exit 1
    print -r -- "RESULT inside $inside $(( 2 * n ))"
    ;;
  *)
    print -ru2 -- "bench: unknown mode $mode"
    exit 2
    ;;
esac
