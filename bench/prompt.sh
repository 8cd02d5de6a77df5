#!/usr/bin/env bash
# One bash process of bench/run: installs one tool's prompt hook and times prompts with bash's own clock.
#
#   bash --norc --noprofile bench/prompt.sh steady N TOOL [HOOK-COMMAND...]
#       in $PWD (inside the project), run the prompt until the hook has loaded, then time N prompts.
#   bash --norc --noprofile bench/prompt.sh enter N TOOL [HOOK-COMMAND...]
#       from $PWD (outside), N times: cd "$BENCH_PROJECT" + prompt (enter), cd back + prompt (leave).
#   bash --norc --noprofile bench/prompt.sh inside N TOOL [HOOK-COMMAND...]
#       in $PWD (the project's root, loaded), N times: cd "$BENCH_PROJECT/sub" + prompt, cd back + prompt.
# Each of enter and inside runs three untimed rounds first, so a tool that remembers a project it loaded
# before in the same shell can show it; the timed rounds are the shell having seen the project already.
#
# TOOL is a label (none, envr, direnv, mise); HOOK-COMMAND prints the hook to eval, exactly what a user
# puts in ~/.bashrc (`eval "$(envr hook bash)"`). A prompt is what bash runs before showing PS1: every
# PROMPT_COMMAND entry, evaluated. Prints "RESULT what microseconds count" lines for bench/run.
# The project is loaded when APP_ENV is set, $BENCH_PROJECT/bin is on PATH and so is each directory in
# $BENCH_BINS (colon-separated: the packages' tool directories); each timed step is checked outside its timing.

mode=$1 n=$2 tool=$3
shift 3
if (($#)); then
  eval "$("$@")" || exit 1
fi

prompt() {
  local pc
  for pc in ${PROMPT_COMMAND[@]+"${PROMPT_COMMAND[@]}"}; do
    eval "$pc"
  done
}

now() { # microseconds since the epoch, without a process
  us=${EPOCHREALTIME/[.,]/}
}

IFS=: read -r -a bins <<<"${BENCH_BINS-}"

# The project must really be loaded (or, for the baseline, not), or the timing means nothing.
expect_loaded() {
  if [[ $tool == none ]]; then
    return 0
  fi
  local d
  for d in "$BENCH_PROJECT/bin" ${bins[@]+"${bins[@]}"}; do
    if [[ ${APP_ENV-} != development || :$PATH: != *:$d:* ]]; then
      echo "bench: $tool did not load the project in bash ($1: APP_ENV=${APP_ENV-}, $d not on PATH)" >&2
      exit 1
    fi
  done
}

expect_unloaded() {
  if [[ -n ${APP_ENV-} || :$PATH: == *:$BENCH_PROJECT/bin:* ]]; then
    echo "bench: $tool did not unload the project in bash ($1)" >&2
    exit 1
  fi
}

case $mode in
  steady)
    for _ in 1 2 3 4 5; do prompt; done
    expect_loaded "before the timed prompts"
    now
    t0=$us
    for ((i = 0; i < n; i++)); do
      prompt
    done
    now
    expect_loaded "after the timed prompts"
    echo "RESULT steady $((us - t0)) $n"
    ;;
  enter)
    outside=$PWD
    prompt
    expect_unloaded "outside, at start"
    enter=0 leave=0
    for ((i = -3; i < n; i++)); do # three rounds of warm-up
      now
      t0=$us
      cd "$BENCH_PROJECT" || exit 1
      prompt
      now
      t1=$us
      expect_loaded "after cd in"
      now
      t2=$us
      cd "$outside" || exit 1
      prompt
      now
      expect_unloaded "after cd out"
      if ((i >= 0)); then
        enter=$((enter + t1 - t0))
        leave=$((leave + us - t2))
      fi
    done
    cd / || exit 1 # the end of the last timed step, for bench/procs.py
    echo "RESULT enter $enter $n"
    echo "RESULT leave $leave $n"
    echo "RESULT cycle $((enter + leave)) $n"
    ;;
  inside)
    for _ in 1 2 3; do prompt; done
    expect_loaded "in the project's root, at start"
    inside=0
    for ((i = -3; i < n; i++)); do
      now
      t0=$us
      cd "$BENCH_PROJECT/sub" || exit 1
      prompt
      now
      t1=$us
      expect_loaded "after cd sub"
      now
      t2=$us
      cd "$BENCH_PROJECT" || exit 1
      prompt
      now
      expect_loaded "after cd back to the root"
      if ((i >= 0)); then
        inside=$((inside + t1 - t0 + us - t2))
      fi
    done
    cd / || exit 1
    echo "RESULT inside $inside $((2 * n))"
    ;;
  *)
    echo "bench: unknown mode $mode" >&2
    exit 2
    ;;
esac
