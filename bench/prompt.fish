# One fish process of bench/run (fish --no-config): bench/prompt.sh's twin, same arguments and output.
#   fish --no-config bench/prompt.fish steady|enter|inside N TOOL [HOOK-COMMAND...]
# A prompt is `emit fish_prompt`, the event fish sends before drawing the prompt; a cd fires the PWD
# variable handlers by itself (mise's), as in an interactive shell. fish has no clock builtin: steady
# state reads `date` once before and once after the loop (outside the timed prompts). Each timed step of
# enter and inside is a `time` block (wall clock, fish's own, no process); fish writes its report to the
# shell's own stderr, which no redirection inside the script catches, so for these modes the script runs
# itself once more as a child with stderr to a file, then sums the reports by the STEP line before each.

set -l mode $argv[1]
set -g n $argv[2]
set -g tool $argv[3]
set -l hook $argv[4..-1]

if contains -- $mode enter inside; and not set -q BENCH_FISH_INNER
    set -l tmp (mktemp -d)
    BENCH_FISH_INNER=1 fish --no-config (status filename) $argv >$tmp/out 2>$tmp/err
    set -l code $status
    set -l step warm
    set -l total_warm 0
    set -l total_enter 0
    set -l total_leave 0
    set -l total_inside 0
    for line in (string split \n -- (string collect <$tmp/err))
        if string match -q 'STEP *' -- $line
            set step (string replace 'STEP ' '' -- $line)
        else if set -l f (string match -r -g '^Executed in +([0-9.]+) ([a-z]+)' -- $line)
            set -l scale 60000000
            switch $f[2]
                case micros
                    set scale 1
                case millis
                    set scale 1000
                case secs
                    set scale 1000000
            end
            set -l var total_$step
            set $var (math "$$var + $f[1] * $scale")
        else if string match -q 'bench:*' -- $line
            echo $line >&2
        end
    end
    rm -rf $tmp
    test $code -eq 0; or exit $code
    if test $mode = enter
        echo "RESULT enter" (math --scale 0 $total_enter) $n
        echo "RESULT leave" (math --scale 0 $total_leave) $n
        echo "RESULT cycle" (math --scale 0 $total_enter + $total_leave) $n
    else
        echo "RESULT inside" (math --scale 0 $total_inside) (math 2 \* $n)
    end
    exit 0
end

if test (count $hook) -gt 0
    $hook | source; or exit 1
end

set -g bins (string split -n : -- "$BENCH_BINS")

function expect_loaded
    test $tool = none; and return 0
    for d in $BENCH_PROJECT/bin $bins
        if test "$APP_ENV" != development; or not contains -- $d $PATH
            echo "bench: $tool did not load the project in fish ($argv[1]: APP_ENV=$APP_ENV, $d not on PATH)" >&2
            exit 1
        end
    end
end

function expect_unloaded
    if test -n "$APP_ENV"; or contains -- $BENCH_PROJECT/bin $PATH
        echo "bench: $tool did not unload the project in fish ($argv[1])" >&2
        exit 1
    end
end

# `step NAME DIR`: cd DIR and the prompt, timed (the report goes to stderr, after a STEP line naming it).
function step
    echo "STEP $argv[1]" >&2
    time begin
        cd $argv[2]
        emit fish_prompt
    end
end

switch $mode
    case steady
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
    case enter
        set -l outside $PWD
        emit fish_prompt
        expect_unloaded "outside, at start"
        for i in (seq -3 (math $n - 1))
            set -l e warm
            set -l l warm
            if test $i -ge 0
                set e enter
                set l leave
            end
            step $e $BENCH_PROJECT
            expect_loaded "after cd in"
            step $l $outside
            expect_unloaded "after cd out"
        end
        cd / # the end of the last timed step, for bench/procs.py
    case inside
        for i in 1 2 3
            emit fish_prompt
        end
        expect_loaded "in the project's root, at start"
        for i in (seq -3 (math $n - 1))
            set -l f warm
            test $i -ge 0; and set f inside
            step $f $BENCH_PROJECT/sub
            expect_loaded "after cd sub"
            step $f $BENCH_PROJECT
            expect_loaded "after cd back to the root"
        end
        cd /
    case '*'
        echo "bench: unknown mode $mode" >&2
        exit 2
end
