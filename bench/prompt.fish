# One fish process of bench/run (fish --no-config): bench/prompt.sh's twin for steady state only.
#   fish --no-config bench/prompt.fish steady N TOOL [HOOK-COMMAND...]
# A prompt is `emit fish_prompt`, the event fish sends before drawing the prompt. fish has no clock
# builtin, so `date` reads the clock once before and once after the loop (outside the timed prompts).

set -l mode $argv[1]
set -g n $argv[2]
set -g tool $argv[3]
set -l hook $argv[4..-1]
if test (count $hook) -gt 0
    $hook | source; or exit 1
end

function expect_loaded
    test $tool = none; and return 0
    if test "$APP_ENV" != development; or not contains -- $BENCH_PROJECT/bin $PATH
        echo "bench: $tool did not load the project in fish ($argv[1])" >&2
        exit 1
    end
end

if test $mode != steady
    echo "bench: fish does only steady" >&2
    exit 2
end

for i in 1 2 3 4 5
    emit fish_prompt
end
expect_loaded "before the timed prompts"
set -l t0 (date +%s%N)
for i in (seq $n)
    emit fish_prompt
end
set -l t1 (date +%s%N)
expect_loaded "after the timed prompts"
echo "RESULT steady" (math --scale 0 "($t1 - $t0) / 1000") $n
